"""`trainlock diff RUN_A RUN_B`: explain how two runs differ."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, add_equivalence_options, store_of
from .render import print_json, render_diff


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "diff",
        parents=parents("store", "json"),
        help="explain how two runs differ",
        description="Compare two runs: data, config, seed, code, environment, then the first "
        "divergent step of the trace, fingerprints and metrics.",
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the first run: id (or unique prefix) in the store, or a folder")
    parser.add_argument("run_b", metavar="RUN_B", help="the second run, compared with RUN_A")
    add_equivalence_options(parser)
    parser.set_defaults(func=run, command="diff")


def run(args: argparse.Namespace) -> int:
    from ..ops.diff import diff

    report = diff(args.run_a, args.run_b, store=store_of(args), level=args.level, rtol=args.rtol, atol=args.atol)
    if args.json:
        print_json(report.to_dict())
    else:
        render_diff(report)
    return ExitCode.OK if report.equivalent else ExitCode.CHECK_FAILED
