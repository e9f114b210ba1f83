"""`trainlock export openlineage | mlflow`: parse, one library call, render.

Nothing heavy is imported here (openlineage-python and MLflow load inside the library
functions), so ``trainlock --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def register(subparsers: Any, *, common: argparse.ArgumentParser, reporting: argparse.ArgumentParser) -> None:
    export = subparsers.add_parser("export", parents=[common], help="export a run to OpenLineage or MLflow",
                                   description="Export a run's lineage, params, metrics and artifacts to another system.")
    export.set_defaults(handler=_usage, command="export", export_parser=export)
    targets = export.add_subparsers(title="targets", metavar="TARGET")

    openlineage = targets.add_parser(
        "openlineage", parents=[common, reporting], help="OpenLineage START and COMPLETE RunEvents",
        description="Emit the run as OpenLineage START and COMPLETE RunEvents: job = config name, input = the "
                    "dataset (version facet = its sha256), outputs = the model and the predictions. Without --url "
                    "or --out, print them as JSON Lines. Needs: pip install 'trainlock[openlineage]'.")
    openlineage.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    where = openlineage.add_mutually_exclusive_group()
    where.add_argument("--url", default=None, metavar="URL",
                       help="post to an OpenLineage HTTP endpoint, e.g. http://localhost:5000 (events go to /api/v1/lineage)")
    where.add_argument("--out", default=None, metavar="FILE", help="write the events to FILE as JSON Lines")
    openlineage.add_argument("--namespace", default="trainlock", help="the job namespace (default: trainlock)")
    openlineage.add_argument("--job", default=None, metavar="NAME", help="the job name (default: the config file's name)")
    openlineage.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="HTTP timeout for --url")
    openlineage.set_defaults(handler=_openlineage, command="export openlineage")

    mlflow = targets.add_parser(
        "mlflow", parents=[common, reporting], help="log the run to an MLflow tracking store",
        description="Log the run to MLflow: params (the flattened config), metrics, tags (run id, identity keys, "
                    "fingerprints) and artifacts. Exporting a run again finds the earlier MLflow run. "
                    "Needs: pip install 'trainlock[mlflow]'.")
    mlflow.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    mlflow.add_argument("--tracking-uri", required=True, metavar="URI",
                        help="the MLflow tracking URI, e.g. file:///path/mlruns or http://localhost:5000")
    mlflow.add_argument("--experiment", default="trainlock", metavar="NAME", help="the experiment (default: trainlock)")
    mlflow.set_defaults(handler=_mlflow, command="export mlflow")


def _usage(args: argparse.Namespace) -> int:
    args.export_parser.print_usage(sys.stderr)
    print("trainlock export: error: choose a target: openlineage or mlflow", file=sys.stderr)
    return EXIT_BAD_INPUT


def _openlineage(args: argparse.Namespace) -> int:
    from ..export.openlineage import export_openlineage

    result = export_openlineage(args.run, store=args.store, url=args.url, out=args.out, namespace=args.namespace,
                                job=args.job, timeout=args.timeout)
    if args.json:
        print(json.dumps({**result.to_dict(), "events": result.events}, indent=2, sort_keys=True))
    elif args.url is None and args.out is None:
        for event in result.events:
            print(json.dumps(event, sort_keys=True))
    else:
        where = f"posted to {args.url}" if args.url else f"written to {args.out}"
        print(f"run {result.run_id}: {len(result.events)} OpenLineage events (START, COMPLETE) {where}")
    return EXIT_OK


def _mlflow(args: argparse.Namespace) -> int:
    from ..export.mlflow import export_mlflow

    result = export_mlflow(args.run, tracking_uri=args.tracking_uri, store=args.store, experiment=args.experiment)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return EXIT_OK
    if result.created:
        print(f"run {result.run_id} exported to MLflow run {result.mlflow_run_id} (experiment {result.experiment_id}): "
              f"{result.params} params, {result.metrics} metrics, {result.artifacts} artifacts")
    else:
        print(f"run {result.run_id} was already exported as MLflow run {result.mlflow_run_id}; nothing logged")
    return EXIT_OK
