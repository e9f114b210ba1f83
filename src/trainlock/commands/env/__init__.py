"""`trainlock env check | verify`: check the Python environment against a lock or its RECORDs."""

from __future__ import annotations

import argparse
import sys

from ...errors import ExitCode
from ..common import Parents, Subparsers
from . import check, verify

#: the sub-commands, in the order `trainlock env --help` lists them
COMMANDS = (check, verify)


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "env",
        parents=parents("json"),
        help="check the Python environment against a lock or its RECORDs",
        description="Compare the installed distributions with a pip-tools lock, or re-hash "
        "their installed files against their RECORDs.",
    )
    parser.set_defaults(func=run, command="env", group_parser=parser)
    checks = parser.add_subparsers(title="checks", metavar="CHECK")
    for module in COMMANDS:
        module.register(checks, parents)


def run(args: argparse.Namespace) -> int:
    """`trainlock env` without a check: its help."""
    args.group_parser.print_help(sys.stderr)
    return ExitCode.BAD_INPUT
