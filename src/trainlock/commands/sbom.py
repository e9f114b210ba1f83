"""`trainlock sbom RUN`: write a CycloneDX or SPDX SBOM of a run."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "sbom",
        parents=parents("store"),
        help="write a CycloneDX or SPDX SBOM of a run",
        description="Write a CycloneDX 1.6 or SPDX 2.3 JSON document of a run: its "
        "packages with purls, its dataset, config and model with SHA-256 "
        "hashes, and how they relate. Needs: pip install 'trainlock[sbom]'.",
    )
    parser.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    parser.add_argument(
        "--format", choices=("cyclonedx", "spdx"), default="cyclonedx", help="the SBOM standard (default: cyclonedx)"
    )
    parser.add_argument("--out", default=None, metavar="FILE", help="write to FILE instead of standard output")
    parser.set_defaults(func=run, command="sbom")


def run(args: argparse.Namespace) -> int:
    from ..atomic import dumps_json
    from ..supply.sbom import sbom

    result = sbom(args.run, store=store_of(args), format=args.format, out=args.out)
    if result.path is None:
        sys.stdout.write(dumps_json(result.document))
    else:
        print(f"wrote {result.format} SBOM of run {result.run_id} to {result.path} ({result.components} components)")
    return ExitCode.OK
