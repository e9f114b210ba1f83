"""`trainlock env check --lock FILE`: compare the installed distributions with a pip-tools lock."""

from __future__ import annotations

import argparse
import sys

from ...errors import ExitCode
from ..common import Parents, Subparsers, add_search_path
from ..render import first_few, print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "check",
        parents=parents("json"),
        help="compare with a pip-tools lock",
        description="Report locked packages that are missing or installed at another "
        "version, and with --strict installed packages the lock does not name.",
    )
    parser.add_argument("--lock", required=True, metavar="FILE", help="the pip-tools lock, e.g. requirements.lock")
    parser.add_argument(
        "--strict", action="store_true", help="also fail on installed packages that are not in the lock"
    )
    add_search_path(parser)
    parser.set_defaults(func=run, command="env check")


def run(args: argparse.Namespace) -> int:
    from ...supply.envcheck import check_lock

    report = check_lock(args.lock, strict=args.strict, path=args.path)
    if args.json:
        print_json(report.to_dict())
    elif report.ok:
        extra = " and nothing else" if args.strict else ""
        print(f"environment matches {args.lock}: {report.locked} locked packages installed at their versions{extra}")
    else:
        for difference in report.differences:
            print(f"{difference.problem.upper():<8} {difference.describe()}")
        listed = first_few([d.describe() for d in report.differences])
        print(f"environment does not match {args.lock}: {listed}", file=sys.stderr)
    return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
