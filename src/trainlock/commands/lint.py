"""`trainlock lint PATH ...`: find code that breaks reproducibility."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode
from .common import Parents, Subparsers
from .render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "lint",
        parents=parents("json"),
        help="find code that breaks reproducibility",
        description="Scan Python files for hard-coded hyperparameters, estimators without random_state, "
        "unseeded global random generators, set iteration order, unsorted directory listings and "
        "wall-clock time or uuid4 flowing into training. Suppress a line with "
        "'# trainlock: ignore[CODE]'; choose rules under [tool.trainlock.lint] in pyproject.toml.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders")
    parser.set_defaults(func=run, command="lint")


def run(args: argparse.Namespace) -> int:
    from ..lint import lint_paths

    report = lint_paths(args.paths)
    if args.json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            print(finding)
        if report.findings:
            print(f"{len(report.findings)} finding(s) in {report.files} file(s)", file=sys.stderr)
    return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
