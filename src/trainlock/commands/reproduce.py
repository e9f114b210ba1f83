"""`trainlock reproduce RUN`: re-run a recorded train run from its folder alone and diff the two runs."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode
from .common import Parents, Subparsers, add_equivalence_options, store_of
from .render import print_json, progress_of, render_diff

#: environment differences the warning names; the diff lists them all
WARNED = 8


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        parents=parents("store", "json", quiet="no progress bar"),
        help="re-run a run and compare",
        description="Re-run a recorded train run from its folder alone (config snapshot, "
        "seed, envelope, hash-checked dataset) and diff the two runs.",
    )
    parser.add_argument(
        "run", metavar="RUN", help="the train run to re-run: id (or unique prefix) in the store, or a folder"
    )
    parser.add_argument("--data", default=None, metavar="PATH", help="a moved copy of the dataset (still hash-checked)")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes")
    add_equivalence_options(parser)
    parser.set_defaults(func=run, command="reproduce", enveloped=True)


def run(args: argparse.Namespace) -> int:
    from ..ops.reproduce import reproduce

    result = reproduce(
        args.run,
        store=store_of(args),
        data_path=args.data,
        workers=args.workers,
        level=args.level,
        rtol=args.rtol,
        atol=args.atol,
        progress=progress_of(args),
        argv=args.argv,
    )
    if args.json:
        print_json(
            {
                "original": result.original,
                "run_id": result.run_id,
                "run_dir": str(result.run_dir),
                "environment_warnings": [vars(c) for c in result.environment_warnings],
                "diff": result.report.to_dict(),
            }
        )
    else:
        print(f"reproduced run {result.original} as {result.run_id} ({result.run_dir})")
        if result.environment_warnings:
            listed = "; ".join(f"{c.key}: {c.a} -> {c.b}" for c in result.environment_warnings[:WARNED])
            print(f"warning: the environment differs, so bitwise equality is not promised: {listed}", file=sys.stderr)
        render_diff(result.report)
    return ExitCode.OK if result.report.equivalent else ExitCode.CHECK_FAILED
