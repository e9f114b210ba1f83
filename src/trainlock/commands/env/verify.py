"""`trainlock env verify`: re-hash the installed files of every distribution against its RECORD."""

from __future__ import annotations

import argparse
import sys

from ...errors import ExitCode
from ..common import Parents, Subparsers, add_search_path
from ..render import first_few, print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=parents("json"),
        help="re-hash installed files against their RECORDs",
        description="Re-hash every file each installed distribution's RECORD lists "
        "and report modified or missing files (a tampered site-packages).",
    )
    add_search_path(parser)
    parser.set_defaults(func=run, command="env verify")


def run(args: argparse.Namespace) -> int:
    from ...supply.envcheck import verify_installed

    report = verify_installed(path=args.path)
    if args.json:
        print_json(report.to_dict())
        return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
    for finding in report.findings:
        print(f"{finding.problem.upper():<9} {finding.describe()}")
    for name in report.unverifiable:
        print(f"skipped   {name}: no RECORD (not installed from a wheel)")
    print(f"environment digest {report.digest}")
    if report.ok:
        print(f"verified: {report.files} files of {report.distributions} distributions match their RECORDs")
        return ExitCode.OK
    print(f"env verify failed: {first_few([f.describe() for f in report.findings])}", file=sys.stderr)
    return ExitCode.CHECK_FAILED
