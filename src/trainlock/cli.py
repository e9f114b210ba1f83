"""The command line: parse, make one library call, render. The only place that prints or exits.

Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 3 an internal error (a bug:
rerun with --debug and report the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from . import __version__
from .errors import TrainlockError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
#: fragile decisions `check` lists one by one; the rest are counted
FRAGILE_SHOWN = 20

#: modules that add more commands: each has ``register(subparsers, *, common, reporting)``, adds its
#: parsers with ``set_defaults(handler=..., command=...)`` (plus ``enveloped=True`` for a command that
#: computes and must run inside the process envelope), and imports nothing heavy at module level
COMMAND_MODULES: tuple[str, ...] = ("trainlock.commands.byoc", "trainlock.commands.supply", "trainlock.commands.view",
                                    "trainlock.commands.export")

#: commands that compute and therefore run inside the process envelope (re-exec once)
ENVELOPED_COMMANDS = frozenset({"train", "predict", "reproduce", "sweep"})


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; ``argv=None`` means the real command line (and allows re-executing)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    options, wrapped = split_wrapped_command(arguments)
    args = parser.parse_args(options)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    if wrapped is not None:
        if not getattr(args, "wraps_command", False):
            parser.error(f"'trainlock {args.command}' takes no command after --")
        args.wrapped = wrapped
    if argv is None and (args.command in ENVELOPED_COMMANDS or getattr(args, "enveloped", False)):
        _reexec_into_envelope(arguments)
    previous_handler = _terminate_as_interrupt()
    try:
        return _run_handler(args)
    finally:
        if previous_handler is not None:
            import signal

            signal.signal(signal.SIGTERM, previous_handler)


def split_wrapped_command(arguments: list[str]) -> tuple[list[str], list[str] | None]:
    """Everything after the first ``--`` is a command to wrap (``run``, ``check``), not our options."""
    if "--" not in arguments:
        return arguments, None
    index = arguments.index("--")
    return arguments[:index], arguments[index + 1:]


def _run_handler(args: argparse.Namespace) -> int:
    try:
        from .store import open_store

        args.store = open_store(args.store, getattr(args, "storage_options", ()) or ())
        return int(args.handler(args) or EXIT_OK)
    except TrainlockError as exc:
        if args.debug:
            raise
        print(f"trainlock: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # a bare KeyboardInterrupt (Ctrl-C) has no text; Terminated says which signal
        print(f"trainlock: {str(exc) or 'interrupted (Ctrl-C)'}; any run in progress was recorded as failed", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the one boundary: anything else is a bug, shown briefly
        if args.debug:
            raise
        print(f"trainlock: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run in progress records a `failed` event."""


def _terminate_as_interrupt() -> Any:
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("terminated by SIGTERM")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner's worker thread)
        return None


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


def _reexec_into_envelope(arguments: list[str]) -> None:
    """Set the variables that only work before start-up, by re-executing this command once."""
    from .envelope import REEXEC_MARKER, process_env_changes

    changes = process_env_changes()
    if not changes:
        return
    env = {**os.environ, **changes, REEXEC_MARKER: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "trainlock", *arguments], env)


# -- parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    common.add_argument("--store", metavar="DIR", default=None,
                        help="run store folder or object-storage URL, e.g. s3://bucket/prefix "
                             "(default: $TRAINLOCK_STORE or ./runs)")
    common.add_argument("--storage-option", dest="storage_options", action="append", default=[], metavar="KEY=VALUE",
                        help="an fsspec option for a URL store, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable)")
    reporting = argparse.ArgumentParser(add_help=False)
    reporting.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    parser = argparse.ArgumentParser(
        prog="trainlock", parents=[common],
        description="Reproducible, auditable training: same data + same config => same model, with a proof.",
    )
    parser.add_argument("--version", action="version", version=f"trainlock {__version__}")
    parser.set_defaults(command=None, debug=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    train = sub.add_parser("train", parents=[common, reporting], help="train a config into a new run folder",
                           description="Train the tabular recipe of CONFIG and write a verifiable run folder.")
    train.add_argument("config", metavar="CONFIG", help="YAML config file")
    train.add_argument("--config", dest="overlays", action="append", default=[], metavar="MORE",
                       help="another config file merged on top (repeatable, in order)")
    train.add_argument("--profile", action="append", default=[], metavar="P", help="apply a named profile of the config")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override one value, e.g. --set models.random_forest.n_estimators=100")
    train.add_argument("--seed", type=int, default=None, metavar="N", help="override the base seed")
    train.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes for CV and calibration (results are identical for every N)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--run-dir", default=None, metavar="DIR",
                       help="write the run folder at DIR (absent or empty), e.g. a DVC stage's output")
    train.add_argument("--parent", default=None, metavar="RUN", help="the run this one builds on, e.g. the one that prepared its data")
    train.set_defaults(handler=_train, command="train")

    verify = sub.add_parser("verify", parents=[common, reporting], help="re-check every hash of a run",
                            description="Re-hash every input and output a run's lineage names, re-derive its fingerprints.")
    verify.add_argument("run", metavar="RUN", nargs="?", default=None,
                        help="run id (or unique prefix) in the store, or a run folder path; "
                             "without RUN, walk the store's ledger (verify --store DIR)")
    verify.add_argument("--data", default=None, metavar="PATH", help="check the dataset at PATH instead of its recorded path")
    verify.add_argument("--workdir", default=None, metavar="DIR",
                        help="for a wrapped command's run: check its --in/--out files below DIR (a moved copy of "
                             "the folder it ran in) instead of the recorded working directory")
    verify.add_argument("--rehash", action="store_true", help="re-read the dataset even when the stat cache knows it")
    verify.add_argument("--env", action="store_true", help="also compare the running environment with the run's recorded one")
    verify.add_argument("--pubkey", default=None, metavar="KEY",
                        help="also check the run's attestation.dsse.json: its Ed25519 signature and every signed file")
    verify.set_defaults(handler=_verify, command="verify")

    predict = sub.add_parser("predict", parents=[common, reporting], help="score new data with a run's model",
                             description="Verify the run's model, enforce its schema, score DATA and report drift.")
    predict.add_argument("run", metavar="RUN", help="run id or run folder of a train run")
    predict.add_argument("data", metavar="DATA", help="CSV or Parquet file with the training columns")
    predict.add_argument("--out", default=None, metavar="FILE", help="also write the predictions to FILE (.csv or .parquet)")
    predict.add_argument("--run-dir", default=None, metavar="DIR",
                         help="write the run folder at DIR (absent or empty), e.g. a DVC stage's output")
    predict.set_defaults(handler=_predict, command="predict")

    comparing = argparse.ArgumentParser(add_help=False)
    comparing.add_argument("--level", choices=("exact", "numeric", "different"), default="exact",
                           help="equivalence required for exit 0 (default: exact)")
    comparing.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance for --level numeric")
    comparing.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for --level numeric")

    diff = sub.add_parser("diff", parents=[common, reporting, comparing], help="explain how two runs differ",
                          description="Compare two runs: data, config, seed, code, environment, then the first "
                                      "divergent step of the trace, fingerprints and metrics.")
    diff.add_argument("run_a", metavar="RUN_A")
    diff.add_argument("run_b", metavar="RUN_B")
    diff.set_defaults(handler=_diff, command="diff")

    reproduce = sub.add_parser("reproduce", parents=[common, reporting, comparing], help="re-run a run and compare",
                               description="Re-run a recorded train run from its folder alone (config snapshot, "
                                           "seed, envelope, hash-checked dataset) and diff the two runs.")
    reproduce.add_argument("run", metavar="RUN")
    reproduce.add_argument("--data", default=None, metavar="PATH", help="a moved copy of the dataset (still hash-checked)")
    reproduce.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bar")
    reproduce.set_defaults(handler=_reproduce, command="reproduce")

    check = sub.add_parser("check", parents=[common, reporting], help="perturb what must not matter; name what does",
                           description="Train CONFIG as a baseline and once per factor that must not matter "
                                       "(hash seed, threads, workers, working directory, locale, time zone, "
                                       "directory listing order); report each factor that changes the result.")
    check.add_argument("config", metavar="CONFIG", nargs="?", help="a recipe config; or give -- COMMAND to check your own code")
    check.add_argument("--config", dest="overlays", action="append", default=[], metavar="MORE")
    check.add_argument("--in", dest="inputs", action="append", default=[], metavar="PATH", help="with -- COMMAND: an input")
    check.add_argument("--out", dest="outputs", action="append", default=[], metavar="PATH", help="with -- COMMAND: an output")
    check.add_argument("--profile", action="append", default=[], metavar="P")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    check.add_argument("--seed", type=int, default=None, metavar="N")
    check.add_argument("--factors", default=None, metavar="A,B",
                       help="only these factors (PYTHONHASHSEED, threads, workers, cwd, locale, timezone, listing)")
    check.add_argument("--keep", default=None, metavar="DIR", help="keep the runs in this store instead of deleting them")
    check.set_defaults(handler=_check, command="check", wraps_command=True)

    sweep = sub.add_parser("sweep", parents=[common, reporting], help="one run per seed and grid point, with stability",
                           description="Train CONFIG once per (seed, grid point), locally or on a Dask cluster, "
                                       "and report each metric's stability across seeds.")
    sweep.add_argument("config", metavar="CONFIG")
    sweep.add_argument("--config", dest="overlays", action="append", default=[], metavar="MORE")
    sweep.add_argument("--profile", action="append", default=[], metavar="P")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sweep.add_argument("--seeds", required=True, metavar="SPEC", help="seeds, e.g. 1-10 or 1,2,5")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="a grid axis (repeatable)")
    sweep.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a Dask scheduler address, or local:N for a LocalCluster of N workers")
    sweep.set_defaults(handler=_sweep, command="sweep")

    runs = sub.add_parser("runs", parents=[common, reporting], help="list the runs of a store")
    runs.add_argument("--kind", default=None, help="only runs of this kind (train, predict, sweep, ...)")
    runs.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                      help="filter, e.g. --where model=knn --where status=complete (repeatable)")
    runs.add_argument("--group-by", choices=("replicate",), default=None, help="group replicates (runs differing only by seed)")
    runs.add_argument("--limit", type=int, default=None, metavar="N", help="only the newest N runs")
    runs.set_defaults(handler=_runs, command="runs")

    index = sub.add_parser("index", parents=[common], help="maintain the run index of a store")
    index.add_argument("--rebuild", action="store_true", required=True, help="rebuild the index from the run folders")
    index.set_defaults(handler=_index, command="index")

    gc = sub.add_parser("gc", parents=[common, reporting], help="remove run folders that never completed",
                        description="Remove incomplete run folders (crashed or killed runs) older than a grace period. "
                                    "A run whose process is alive on this host is never removed.")
    gc.add_argument("--incomplete", action="store_true", required=True, help="remove incomplete runs (required)")
    gc.add_argument("--failed", action="store_true", help="also remove runs that recorded a failure")
    gc.add_argument("--now", action="store_true", help="skip the grace period")
    gc.add_argument("--grace", type=float, default=24.0, metavar="HOURS", help="grace period in hours (default 24)")
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed")
    gc.set_defaults(handler=_gc, command="gc")

    for module_name in COMMAND_MODULES:
        import importlib

        importlib.import_module(module_name).register(sub, common=common, reporting=reporting)
    return parser


# -- handlers -----------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    from .ops.train import train

    result = train(
        [args.config, *args.overlays], profiles=args.profile, overrides=args.overrides, seed=args.seed,
        store=args.store, workers=args.workers, progress=_progress(args), argv=["trainlock", *sys.argv[1:]],
        run_dir=args.run_dir, parent=args.parent,
    )
    if args.json:
        document = {"run_id": result.run_id, "run_dir": str(result.run_dir)}
        if result.url is not None:  # an object-storage store: where the run was published
            document["url"] = result.url
        _print_json(document)
        return EXIT_OK
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
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from .ops.verify import verify

    if args.run is None:
        from .commands.supply import verify_store

        return verify_store(args)
    from .ops.verify import ledger_provider

    providers: list[Any] = [ledger_provider]
    if args.env:
        from .supply.envcheck import environment_checks

        providers.append(environment_checks)
    if args.pubkey is not None:
        from .supply.attest import attestation_provider

        providers.append(attestation_provider(args.pubkey))
    report = verify(args.run, store=args.store, data_path=args.data, workdir=args.workdir, rehash=args.rehash,
                    providers=providers)
    if args.json:
        _print_json(report.to_dict())
    else:
        for check in report.checks:
            label = {"ok": "ok", "skipped": "skipped", "changed": "CHANGED", "missing": "MISSING"}[check.status]
            detail = f"  ({check.detail})" if check.detail and check.status != "ok" else ""
            print(f"{label:<8} {check.name}{detail}")
        if report.ok:
            print(f"verified: run {report.run_id} matches its lineage ({len(report.checks)} checks)")
        else:
            # a check without a file (ledger, environment, signature) needs its detail to say which
            names = ", ".join(f"{c.path or c.name} {c.status}" + (f": {c.detail}" if c.path is None and c.detail else "")
                              for c in report.failures)
            print(f"verify failed: run {report.run_id}: {names}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _predict(args: argparse.Namespace) -> int:
    from .ops.predict import predict

    result = predict(args.run, args.data, store=args.store, out=args.out, argv=["trainlock", *sys.argv[1:]],
                     run_dir=args.run_dir)
    if args.json:
        _print_json({"run_id": result.run_id, "run_dir": str(result.run_dir), "parent": result.parent,
                     "n": int(len(result.predictions)), "out": str(result.out) if result.out else None,
                     "drift": result.drift})
        return EXIT_OK
    print(f"predict run {result.run_id}: {len(result.predictions)} rows scored with the model of {result.parent}")
    print(f"  predictions  {result.out or result.run_dir / 'predictions.csv'}")
    drift = result.drift
    if "class_rate_shift" in drift:
        print(f"  positive rate {drift['predicted_positive_rate']:.3f} (training class rate {drift['class_rate_baseline']:.3f})")
    if drift["drifted"]:
        print(f"  drift        {', '.join(drift['drifted'])} (|z| > {drift['z_limit']:g} or category shift); see {result.run_dir / 'drift.json'}")
    else:
        print("  drift        none detected")
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from .ops.diff import diff

    report = diff(args.run_a, args.run_b, store=args.store, level=args.level, rtol=args.rtol, atol=args.atol)
    if args.json:
        _print_json(report.to_dict())
    else:
        _render_diff(report)
    return EXIT_OK if report.equivalent else EXIT_CHECK_FAILED


def _reproduce(args: argparse.Namespace) -> int:
    from .ops.reproduce import reproduce

    result = reproduce(args.run, store=args.store, data_path=args.data, workers=args.workers, level=args.level,
                       rtol=args.rtol, atol=args.atol, progress=_progress(args), argv=["trainlock", *sys.argv[1:]])
    if args.json:
        _print_json({"original": result.original, "run_id": result.run_id, "run_dir": str(result.run_dir),
                     "environment_warnings": [vars(c) for c in result.environment_warnings],
                     "diff": result.report.to_dict()})
    else:
        print(f"reproduced run {result.original} as {result.run_id} ({result.run_dir})")
        if result.environment_warnings:
            listed = "; ".join(f"{c.key}: {c.a} -> {c.b}" for c in result.environment_warnings[:8])
            print(f"warning: the environment differs, so bitwise equality is not promised: {listed}", file=sys.stderr)
        _render_diff(result.report)
    return EXIT_OK if result.report.equivalent else EXIT_CHECK_FAILED


def _render_diff(report: Any) -> None:
    print(f"{report.run_a} vs {report.run_b}: {report.level}")
    for cause in report.causes:
        print(f"  cause     {cause}")
    for change in report.dataset:
        print(f"  dataset   {change.key}: {change.a} -> {change.b}")
    if report.seed is not None:
        print(f"  seed      {report.seed.a} -> {report.seed.b}")
    for change in report.config:
        print(f"  config    {change.key}: {change.a!r} -> {change.b!r}")
    for change in report.code:
        print(f"  code      {change.key}: {change.a} -> {change.b}")
    for change in report.environment[:20]:
        print(f"  env       {change.key}: {change.a} -> {change.b}")
    step = report.first_divergence
    if step is not None:
        measure = ""
        if step.max_abs is not None:
            measure = (f" (max abs {step.max_abs:.3g}, max rel {step.max_rel:.3g}, {step.max_ulp} ulp, "
                       f"{step.n_differing} of {step.n_values} values differ)")
        print(f"  diverges  at step {step.step}: {step.status}{measure}")
        later = [s.step for s in report.steps if s.status != "equal"][1:]
        if later:
            print(f"  then      {len(later)} later steps differ: {', '.join(later[:6])}{' ...' if len(later) > 6 else ''}")
    shared = [key for key in ("strict_key", "replicate_key") if key not in {c.key for c in report.identity}]
    if report.identity:
        print(f"  identity  differs in {', '.join(c.key for c in report.identity)}"
              + (f"; shares {', '.join(shared)}" if shared else ""))
    for change in report.fingerprints:
        print(f"  fprint    {change.key}: {str(change.a)[:16]} -> {str(change.b)[:16]}")
    for change in report.metrics[:10]:
        print(f"  metric    {change.key}: {change.a} -> {change.b}")
    verdict = "equivalent" if report.equivalent else "not equivalent"
    print(f"{verdict} at level {report.requested}")


def _check(args: argparse.Namespace) -> int:
    from .ops.check import check

    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    show = None if args.json or not sys.stderr.isatty() else (lambda name: print(f"  training: {name}", file=sys.stderr))
    wrapped = getattr(args, "wrapped", None)
    if wrapped:
        from .ops.check import check_command

        report = check_command(wrapped, configs=[*([args.config] if args.config else []), *args.overlays],
                               overrides=args.overrides, seed=args.seed, inputs=args.inputs, outputs=args.outputs,
                               factors=factors, keep=args.keep, on_run=show)
    elif args.config is None:
        raise TrainlockError("check needs a CONFIG, or a command after --, e.g. trainlock check -- python train.py")
    else:
        report = check([args.config, *args.overlays], profiles=args.profile, overrides=args.overrides, seed=args.seed,
                       factors=factors, keep=args.keep, on_run=show)
    if args.json:
        _print_json(report.to_dict())
        return EXIT_OK if report.ok else EXIT_CHECK_FAILED
    print(f"check of {' '.join(wrapped) if wrapped else args.config}: baseline run {report.baseline}")
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
        print(f"  fragile  and {len(report.fragile) - FRAGILE_SHOWN} more decisions; see the baseline's fragility.json (--keep DIR)")
    differing = [r.factor for r in report.factors if not r.equal]
    if differing:
        print(f"nondeterminism found: {len(differing)} of {len(report.factors)} factors changed the result: "
              f"{', '.join(differing)}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"deterministic: all {len(report.factors)} factors gave identical runs")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    from .ops.sweep import parse_seeds, sweep

    result = sweep([args.config, *args.overlays], seeds=parse_seeds(args.seeds), grid=args.grid,
                   profiles=args.profile, overrides=args.overrides, store=args.store, workers=args.workers,
                   scheduler=args.scheduler, argv=["trainlock", *sys.argv[1:]])
    if args.json:
        _print_json({"run_id": result.run_id, "run_dir": str(result.run_dir), "runs": result.runs, "groups": result.groups})
        return EXIT_OK
    print(f"sweep {result.run_id}: {len(result.runs)} runs in {result.run_dir.parent}")
    for group in result.groups:
        point = ", ".join(f"{k}={v}" for k, v in group["point"].items()) or "base config"
        print(f"  group {group['replicate_key'][:12]} ({point}): seeds {group['seeds']}, "
              f"{group['distinct_models']} distinct models, selected {', '.join(group['selected_models'])}")
        for name, stats in group["metrics"].items():
            if name in ("roc_auc", "average_precision", "f1", "precision", "recall", "rmse", "mae", "r2"):
                print(f"    {name:<18} {stats['mean']:.4f} ± {stats['std']:.4f}  "
                      f"[{stats['min']:.4f}, {stats['max']:.4f}]  95% CI {stats['ci95'][0]:.4f}-{stats['ci95'][1]:.4f}")
    print(f"  report   {result.run_dir / 'stability.json'}")
    return EXIT_OK


def _gc(args: argparse.Namespace) -> int:
    from .ops.gc import gc

    report = gc(store=args.store, failed=args.failed, now=args.now, grace_seconds=args.grace * 3600, dry_run=args.dry_run)
    if args.json:
        _print_json(report.to_dict())
        return EXIT_OK
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report.removed)} run folder(s){': ' + ', '.join(report.removed) if report.removed else ''}")
    if report.running:
        print(f"kept {len(report.running)} running: {', '.join(report.running)}")
    if report.recent:
        print(f"kept {len(report.recent)} younger than the grace period (use --now): {', '.join(report.recent)}")
    return EXIT_OK


def _runs(args: argparse.Namespace) -> int:
    from .ops.runs import group_by_replicate, runs

    summaries = runs(store=args.store, kind=args.kind, where=args.where, limit=args.limit)
    if args.group_by == "replicate":
        groups = group_by_replicate(summaries)
        if args.json:
            _print_json([group.to_dict() for group in groups])
            return EXIT_OK
        print(f"{'replicate key':<14} {'runs':>5} {'seeds':<20} metric")
        for group in groups:
            spread = f"{group.mean:.4f} ± {group.std:.4f}" if group.std is not None else (f"{group.mean:.4f}" if group.mean is not None else "")
            seeds = ",".join(map(str, group.seeds))
            print(f"{(group.replicate_key or '-')[:12]:<14} {len(group.runs):>5} {seeds[:20]:<20} {group.metric or ''} {spread}")
        return EXIT_OK
    if args.json:
        _print_json([summary.to_dict() for summary in summaries])
        return EXIT_OK
    if not summaries:
        print("no runs in the store")
        return EXIT_OK
    print(f"{'run id':<24} {'time (UTC)':<20} {'kind':<9} {'status':<10} {'seed':>6} {'model':<24} metric")
    for s in summaries:
        metric = f"{s.metric} {s.value:.4f}" if s.metric and isinstance(s.value, float) else ""
        seed = "" if s.seed is None else str(s.seed)
        started = (s.started_utc or "")[:19].replace("T", " ")
        print(f"{s.run_id:<24} {started:<20} {s.kind or '':<9} {s.status:<10} {seed:>6} {s.model or '':<24} {metric}")
    return EXIT_OK


def _index(args: argparse.Namespace) -> int:
    from .ops.runs import runs

    summaries = runs(store=args.store, rebuild=True)
    print(f"rebuilt the index of {len(summaries)} runs")
    return EXIT_OK


# -- rendering helpers --------------------------------------------------------------


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def _progress(args: argparse.Namespace) -> Any:
    if args.quiet or args.json or not sys.stderr.isatty():
        return None
    return _RichProgress()


class _RichProgress:
    """A progress bar on stderr, shown only on a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


Handler = Callable[[argparse.Namespace], int]
