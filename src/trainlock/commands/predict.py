"""`trainlock predict RUN DATA`: score new data with a verified run's model, as a run of its own."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "predict",
        parents=parents("store", "json"),
        help="score new data with a run's model",
        description="Verify the run's model, enforce its schema, score DATA and report drift.",
    )
    parser.add_argument("run", metavar="RUN", help="run id or run folder of a train run")
    parser.add_argument("data", metavar="DATA", help="CSV or Parquet file with the training columns")
    parser.add_argument(
        "--out", default=None, metavar="FILE", help="also write the predictions to FILE (.csv or .parquet)"
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        metavar="DIR",
        help="write the run folder at DIR (absent or empty), e.g. a DVC stage's output",
    )
    parser.set_defaults(func=run, command="predict", enveloped=True)


def run(args: argparse.Namespace) -> int:
    from ..ops.predict import predict

    result = predict(args.run, args.data, store=store_of(args), out=args.out, argv=args.argv, run_dir=args.run_dir)
    if args.json:
        print_json(
            {
                "run_id": result.run_id,
                "run_dir": str(result.run_dir),
                "parent": result.parent,
                "n": len(result.predictions),
                "out": str(result.out) if result.out else None,
                "drift": result.drift,
            }
        )
        return ExitCode.OK
    print(f"predict run {result.run_id}: {len(result.predictions)} rows scored with the model of {result.parent}")
    print(f"  predictions  {result.out or result.run_dir / 'predictions.csv'}")
    drift = result.drift
    if "class_rate_shift" in drift:
        print(
            f"  positive rate {drift['predicted_positive_rate']:.3f} "
            f"(training class rate {drift['class_rate_baseline']:.3f})"
        )
    if drift["drifted"]:
        print(
            f"  drift        {', '.join(drift['drifted'])} (|z| > {drift['z_limit']:g} or category shift); "
            f"see {result.run_dir / 'drift.json'}"
        )
    else:
        print("  drift        none detected")
    return ExitCode.OK
