"""`trainlock train CONFIG`: train the tabular recipe into a new, verifiable run folder."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, add_config_arguments, store_of
from .render import print_json, progress_of


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "train",
        parents=parents("store", "json", quiet="no progress bar"),
        help="train a config into a new run folder",
        description="Train the tabular recipe of CONFIG and write a verifiable run folder.",
    )
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    add_config_arguments(parser, set_example="models.random_forest.n_estimators=100")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes for CV and calibration (results are identical for every N)",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        metavar="DIR",
        help="write the run folder at DIR (absent or empty), e.g. a DVC stage's output",
    )
    parser.add_argument(
        "--parent", default=None, metavar="RUN", help="the run this one builds on, e.g. the one that prepared its data"
    )
    parser.set_defaults(func=run, command="train", enveloped=True)


def run(args: argparse.Namespace) -> int:
    from ..ops.train import train

    result = train(
        [args.config, *args.overlays],
        profiles=args.profile,
        overrides=args.overrides,
        seed=args.seed,
        store=store_of(args),
        workers=args.workers,
        progress=progress_of(args),
        argv=args.argv,
        run_dir=args.run_dir,
        parent=args.parent,
    )
    if args.json:
        document = {"run_id": result.run_id, "run_dir": str(result.run_dir)}
        if result.url is not None:  # an object-storage store: where the run was published
            document["url"] = result.url
        print_json(document)
        return ExitCode.OK
    metrics = result.metrics
    metric = metrics["cv"]["metric"]
    row = metrics["cv"]["table"][metrics["selected_model"]]
    print(f"run {result.run_id} complete")
    print(f"  folder   {result.url or result.run_dir}")
    print(f"  model    {metrics['selected_model']} (cv {metric} {row['mean']:.4f} ± {row['std']:.4f})")
    test = metrics["test"]
    headline = ", ".join(f"{key} {value:.4f}" for key, value in test.items() if isinstance(value, float))
    print(f"  test     {headline}")
    print(f"  verify   trainlock verify {result.run_id}" + (f" --store {args.store}" if args.store else ""))
    return ExitCode.OK
