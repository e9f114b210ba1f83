"""`trainlock index --rebuild`: rebuild the run index of a store from its run folders."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "index",
        parents=parents("store"),
        help="maintain the run index of a store",
        description="Rebuild the store's run index (what 'trainlock runs' reads) by reading every run folder again, "
        "e.g. after copying run folders into the store by hand.",
    )
    parser.add_argument("--rebuild", action="store_true", required=True, help="rebuild the index from the run folders")
    parser.set_defaults(func=run, command="index")


def run(args: argparse.Namespace) -> int:
    from ..ops.runs import runs

    summaries = runs(store=store_of(args), rebuild=True)
    print(f"rebuilt the index of {len(summaries)} runs")
    return ExitCode.OK
