"""`trainlock export mlflow RUN`: log the run to an MLflow tracking store."""

from __future__ import annotations

import argparse

from ...errors import ExitCode
from ..common import Parents, Subparsers, store_of
from ..render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "mlflow",
        parents=parents("store", "json"),
        help="log the run to an MLflow tracking store",
        description="Log the run to MLflow: params (the flattened config), metrics, tags (run id, identity keys, "
        "fingerprints) and artifacts. Exporting a run again finds the earlier MLflow run. "
        "Needs: pip install 'trainlock[mlflow]'.",
    )
    parser.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    parser.add_argument(
        "--tracking-uri",
        required=True,
        metavar="URI",
        help="the MLflow tracking URI, e.g. file:///path/mlruns or http://localhost:5000",
    )
    parser.add_argument("--experiment", default="trainlock", metavar="NAME", help="the experiment (default: trainlock)")
    parser.set_defaults(func=run, command="export mlflow")


def run(args: argparse.Namespace) -> int:
    from ...export.mlflow import export_mlflow

    result = export_mlflow(args.run, tracking_uri=args.tracking_uri, store=store_of(args), experiment=args.experiment)
    if args.json:
        print_json(result.to_dict())
        return ExitCode.OK
    if result.created:
        print(
            f"run {result.run_id} exported to MLflow run {result.mlflow_run_id} (experiment {result.experiment_id}): "
            f"{result.params} params, {result.metrics} metrics, {result.artifacts} artifacts"
        )
    else:
        print(f"run {result.run_id} was already exported as MLflow run {result.mlflow_run_id}; nothing logged")
    return ExitCode.OK
