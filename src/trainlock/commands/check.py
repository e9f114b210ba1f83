"""`trainlock check CONFIG` (or `-- COMMAND`): perturb what must not matter and name what does."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode, TrainlockError
from .common import Parents, Subparsers, add_config_arguments
from .render import print_json

#: fragile decisions listed one by one; the rest are counted
FRAGILE_SHOWN = 20


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "check",
        parents=parents("json"),
        help="perturb what must not matter; name what does",
        description="Train CONFIG as a baseline and once per factor that must not matter (hash seed, threads, "
        "workers, working directory, locale, time zone, directory listing order); report each factor "
        "that changes the result.",
    )
    parser.add_argument(
        "config", metavar="CONFIG", nargs="?", help="a recipe config; or give -- COMMAND to check your own code"
    )
    parser.add_argument(
        "--in", dest="inputs", action="append", default=[], metavar="PATH", help="with -- COMMAND: an input"
    )
    parser.add_argument(
        "--out", dest="outputs", action="append", default=[], metavar="PATH", help="with -- COMMAND: an output"
    )
    add_config_arguments(parser, set_example="cv.n_splits=3")
    parser.add_argument(
        "--factors",
        default=None,
        metavar="A,B",
        help="only these factors (PYTHONHASHSEED, threads, workers, cwd, locale, timezone, listing)",
    )
    parser.add_argument(
        "--keep", default=None, metavar="DIR", help="keep the runs in this store instead of deleting them"
    )
    parser.set_defaults(func=run, command="check", wraps_command=True, wrapped=None)


def run(args: argparse.Namespace) -> int:
    from ..ops.check import check, check_command

    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    show = (
        None if args.json or not sys.stderr.isatty() else (lambda name: print(f"  training: {name}", file=sys.stderr))
    )
    if args.wrapped:
        report = check_command(
            args.wrapped,
            configs=[*([args.config] if args.config else []), *args.overlays],
            overrides=args.overrides,
            seed=args.seed,
            inputs=args.inputs,
            outputs=args.outputs,
            factors=factors,
            keep=args.keep,
            on_run=show,
        )
    elif args.config is None:
        raise TrainlockError("check needs a CONFIG, or a command after --, e.g. trainlock check -- python train.py")
    else:
        report = check(
            [args.config, *args.overlays],
            profiles=args.profile,
            overrides=args.overrides,
            seed=args.seed,
            factors=factors,
            keep=args.keep,
            on_run=show,
        )
    if args.json:
        print_json(report.to_dict())
        return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
    print(f"check of {' '.join(args.wrapped) if args.wrapped else args.config}: baseline run {report.baseline}")
    for result in report.factors:
        label = "equal" if result.equal else "DIFFERS"
        where = f": first divergent step {result.first_divergence}" if result.first_divergence else ""
        if result.error:
            where = f": {result.error}"
        print(f"  {label:<8} {result.factor:<15} ({result.setting}){where}")
    for decision in report.fragile[:FRAGILE_SHOWN]:
        margin = "n/a" if decision["margin"] is None else f"{decision['margin']:.3g}"
        print(f"  fragile  {decision['kind']:<15} {decision['subject']}: {decision['outcome']} (margin {margin})")
    if len(report.fragile) > FRAGILE_SHOWN:
        print(
            f"  fragile  and {len(report.fragile) - FRAGILE_SHOWN} more decisions; "
            "see the baseline's fragility.json (--keep DIR)"
        )
    differing = [r.factor for r in report.factors if not r.equal]
    if differing:
        print(
            f"nondeterminism found: {len(differing)} of {len(report.factors)} factors changed the result: "
            f"{', '.join(differing)}",
            file=sys.stderr,
        )
        return ExitCode.CHECK_FAILED
    print(f"deterministic: all {len(report.factors)} factors gave identical runs")
    return ExitCode.OK
