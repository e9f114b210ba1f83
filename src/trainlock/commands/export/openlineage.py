"""`trainlock export openlineage RUN`: the run as OpenLineage START and COMPLETE RunEvents."""

from __future__ import annotations

import argparse
import json

from ...errors import ExitCode
from ..common import Parents, Subparsers, store_of
from ..render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "openlineage",
        parents=parents("store", "json"),
        help="OpenLineage START and COMPLETE RunEvents",
        description="Emit the run as OpenLineage START and COMPLETE RunEvents: job = config name, input = the "
        "dataset (version facet = its sha256), outputs = the model and the predictions. Without --url "
        "or --out, print them as JSON Lines. Needs: pip install 'trainlock[openlineage]'.",
    )
    parser.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="post to an OpenLineage HTTP endpoint, e.g. http://localhost:5000 (events go to /api/v1/lineage)",
    )
    where.add_argument("--out", default=None, metavar="FILE", help="write the events to FILE as JSON Lines")
    parser.add_argument("--namespace", default="trainlock", help="the job namespace (default: trainlock)")
    parser.add_argument("--job", default=None, metavar="NAME", help="the job name (default: the config file's name)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="HTTP timeout for --url")
    parser.set_defaults(func=run, command="export openlineage")


def run(args: argparse.Namespace) -> int:
    from ...export.openlineage import export_openlineage

    result = export_openlineage(
        args.run,
        store=store_of(args),
        url=args.url,
        out=args.out,
        namespace=args.namespace,
        job=args.job,
        timeout=args.timeout,
    )
    if args.json:
        print_json({**result.to_dict(), "events": result.events})
    elif args.url is None and args.out is None:
        for event in result.events:  # JSON Lines: one compact document a line
            print(json.dumps(event, sort_keys=True))
    else:
        where = f"posted to {args.url}" if args.url else f"written to {args.out}"
        print(f"run {result.run_id}: {len(result.events)} OpenLineage events (START, COMPLETE) {where}")
    return ExitCode.OK
