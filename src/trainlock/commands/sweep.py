"""`trainlock sweep CONFIG --seeds SPEC`: one run per seed and grid point, and each metric's stability."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, add_config_arguments, store_of
from .render import print_json

#: the metrics whose stability the text output lists (the JSON has every one)
SHOWN_METRICS = ("roc_auc", "average_precision", "f1", "precision", "recall", "rmse", "mae", "r2")


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "sweep",
        parents=parents("store", "json"),
        help="one run per seed and grid point, with stability",
        description="Train CONFIG once per (seed, grid point), locally or on a Dask cluster, "
        "and report each metric's stability across seeds.",
    )
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    add_config_arguments(parser, set_example="cv.n_splits=3 (in every run)", seed=False)
    parser.add_argument("--seeds", required=True, metavar="SPEC", help="seeds, e.g. 1-10 or 1,2,5")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="a grid axis (repeatable)")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes")
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a Dask scheduler address, or local:N for a LocalCluster of N workers",
    )
    parser.set_defaults(func=run, command="sweep", enveloped=True)


def run(args: argparse.Namespace) -> int:
    from ..ops.sweep import parse_seeds, sweep

    result = sweep(
        [args.config, *args.overlays],
        seeds=parse_seeds(args.seeds),
        grid=args.grid,
        profiles=args.profile,
        overrides=args.overrides,
        store=store_of(args),
        workers=args.workers,
        scheduler=args.scheduler,
        argv=args.argv,
    )
    if args.json:
        print_json(
            {"run_id": result.run_id, "run_dir": str(result.run_dir), "runs": result.runs, "groups": result.groups}
        )
        return ExitCode.OK
    print(f"sweep {result.run_id}: {len(result.runs)} runs in {result.run_dir.parent}")
    for group in result.groups:
        point = ", ".join(f"{k}={v}" for k, v in group["point"].items()) or "base config"
        print(
            f"  group {group['replicate_key'][:12]} ({point}): seeds {group['seeds']}, "
            f"{group['distinct_models']} distinct models, selected {', '.join(group['selected_models'])}"
        )
        for name, stats in group["metrics"].items():
            if name in SHOWN_METRICS:
                print(
                    f"    {name:<18} {stats['mean']:.4f} ± {stats['std']:.4f}  "
                    f"[{stats['min']:.4f}, {stats['max']:.4f}]  95% CI {stats['ci95'][0]:.4f}-{stats['ci95'][1]:.4f}"
                )
    print(f"  report   {result.run_dir / 'stability.json'}")
    return ExitCode.OK
