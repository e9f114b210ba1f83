"""`trainlock export openlineage | mlflow`: export a run to another system."""

from __future__ import annotations

import argparse
import sys

from ...errors import ExitCode
from ..common import Parents, Subparsers
from . import mlflow, openlineage

#: the targets, in the order `trainlock export --help` lists them
COMMANDS = (openlineage, mlflow)


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "export",
        parents=parents("store", "json"),
        help="export a run to OpenLineage or MLflow",
        description="Export a run's lineage, params, metrics and artifacts to another system.",
    )
    parser.set_defaults(func=run, command="export", group_parser=parser)
    targets = parser.add_subparsers(title="targets", metavar="TARGET")
    for module in COMMANDS:
        module.register(targets, parents)


def run(args: argparse.Namespace) -> int:
    """`trainlock export` without a target."""
    args.group_parser.print_usage(sys.stderr)
    print("trainlock export: error: choose a target: openlineage or mlflow", file=sys.stderr)
    return ExitCode.BAD_INPUT
