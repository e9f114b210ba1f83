"""`trainlock train`: run the recipe and leave a complete, verifiable run folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__, atomic, environment, runlock
from ..config import ResolvedConfig, load_config
from ..envelope import Envelope, envelope_threads
from ..environment import Software
from ..hashcache import HashCache
from ..lineage import EventLog, invocation, write_lineage
from ..model_io import MODEL_FILE, dump_model, skops_io
from ..parallel import worker_pool, worker_processes
from ..pipeline.families import family_of
from ..predictions import PREDICTIONS_FILE, write_predictions
from ..progress import NullProgress, Progress
from ..seeds import SeedLedger
from ..sidecar import Pending, Sidecar, sidecar
from ..store import claim_fixed_run_dir, claim_run_dir, remote_store, resolve_store
from ._outputs import describe_outputs

SNAPSHOT_FILE = "config.snapshot.yaml"
METRICS_FILE = "metrics.json"
SCHEMA_FILE = "schema.json"
THRESHOLD_FILE = "threshold.json"
DRIFT_BASELINE_FILE = "drift_baseline.json"
ENVIRONMENT_FILE = "environment.json"
TRACE_VALUES_FILE = "trace_values.json"
FRAGILITY_FILE = "fragility.json"


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    #: where the run was published, for a run trained into an object-storage store (run_dir is then its local copy)
    url: str | None = None


def train(
    config_paths: Sequence[str | os.PathLike[str]],
    *,
    profiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    parent: str | None = None,
) -> TrainResult:
    """Resolve the config and train it into a new run folder of the store (or the empty folder ``run_dir``)."""
    resolved = load_config(config_paths, profiles=profiles, overrides=overrides, seed=seed)
    if parent is not None:
        from ..store import find_run

        parent = find_run(parent, store).run_id
    return train_resolved(resolved, store=store, workers=workers, progress=progress, argv=argv,
                          parent=parent, fixed_run_dir=run_dir)


def train_resolved(
    resolved: ResolvedConfig,
    *,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    command: str = "train",
    parent: str | None = None,
    data_path: Path | None = None,
    fixed_run_dir: str | os.PathLike[str] | None = None,
) -> TrainResult:
    from ..errors import ConfigError
    from ..pipeline.models import check_available

    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, found {workers}")
    check_available(resolved.config.models.selected())
    remote = remote_store(store) if fixed_run_dir is None else None
    if remote is not None:  # train into a local staging folder named by the claimed id, publish it at the end
        from ..remote.publish import staged_run

        with staged_run(remote) as staged:
            result = train_resolved(resolved, workers=workers, progress=progress, argv=argv, command=command,
                                    parent=parent, data_path=data_path, fixed_run_dir=staged.run_dir)
        assert staged.local_copy is not None
        return replace(result, run_dir=staged.local_copy, url=staged.url)
    from ..pipeline import recipe  # noqa: F401  (imported before the workers fork, so that they start with it loaded)

    # the helper and the workers are forked before the run is claimed: they must not inherit its
    # liveness lock; the helper first, as the worker pool starts threads
    threads = envelope_threads()
    with sidecar(threads=threads) as helper, worker_pool(workers, threads=threads):
        bookkeeping = helper.start(_prepare_bookkeeping)
        if fixed_run_dir is not None:  # a path fixed by a pipeline tool such as DVC
            run_id, run_dir = claim_fixed_run_dir(fixed_run_dir)
        else:
            run_id, run_dir = claim_run_dir(resolve_store(store))
        with runlock.hold(run_dir):
            return _train_in(run_id, run_dir, resolved, workers=workers, progress=progress, argv=argv,
                             command=command, parent=parent, data_path=data_path, helper=helper,
                             bookkeeping=bookkeeping)


def _prepare_bookkeeping() -> Software:
    """Run on the sidecar while the model trains: what writing the run needs that training does not."""
    skops_io()  # imported now, so that the model file is written without waiting for it
    return environment.software()


def _train_in(run_id: str, run_dir: Path, resolved: ResolvedConfig, *, workers: int, progress: Progress | None,
              argv: list[str] | None, command: str, parent: str | None, data_path: Path | None,
              helper: Sidecar, bookkeeping: Pending[Software]) -> TrainResult:
    from ..pipeline.data import load_dataset
    from ..pipeline.recipe import run_recipe

    config = resolved.config
    events = EventLog.for_run(run_dir)
    events.emit(
        "started", **invocation(command, argv), config_sha256=resolved.sha256, seed=config.seed,
        trainlock=__version__, run_id=run_id, workers=workers, parent=parent,
        config_files=[Path(source).name for source in resolved.sources],  # names the job in exports
    )
    try:
        atomic.write_text(run_dir / SNAPSHOT_FILE, resolved.snapshot)
        seeds = SeedLedger(config.seed)
        with Envelope(config.seed, threads=envelope_threads()) as envelope:
            dataset = load_dataset(config, path=data_path, cache=HashCache.for_store(run_dir.parent))
            events.emit("step", step="data", sha256=dataset.sha256, path=str(dataset.path))
            result = run_recipe(config, dataset, seeds, workers=workers,
                                progress=_EventProgress(events, progress or NullProgress()))
            envelope_record = envelope.record()
        installed = bookkeeping.result()
        model_written = helper.start(dump_model, result.model, run_dir / MODEL_FILE)  # beside the writes below
        atomic.write_json(run_dir / METRICS_FILE, result.metrics)
        atomic.write_json(run_dir / SCHEMA_FILE, result.schema)
        if result.threshold is not None:
            atomic.write_json(run_dir / THRESHOLD_FILE, result.threshold)
        atomic.write_json(run_dir / DRIFT_BASELINE_FILE, result.drift_baseline)
        atomic.write_json(run_dir / FRAGILITY_FILE, result.fragility)
        family_of(result.metrics["selected_model"]).write_artefacts(run_dir, result.model, result.schema)
        write_predictions(result.predictions, run_dir / PREDICTIONS_FILE)
        atomic.write_json(run_dir / TRACE_VALUES_FILE, result.trace.kept, compact=True)
        envelope_record["workers"] = workers
        envelope_record["worker_processes"] = worker_processes(workers)
        atomic.write_json(run_dir / ENVIRONMENT_FILE, environment.collect(envelope_record, installed))
        trusted_types = model_written.result()
        events.emit("completed", model=result.metrics["selected_model"], fingerprint=result.model_fingerprint)
        lineage = _lineage(run_id, run_dir, resolved, dataset, result, seeds, trusted_types, parent)
        write_lineage(run_dir, lineage)
    except BaseException as exc:
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        message = str(exc) or type(exc).__name__
        events.emit("failed", error=f"interrupted: {message}" if interrupted else message,
                    error_type=type(exc).__name__, interrupted=interrupted)
        raise
    return TrainResult(run_id, run_dir, result.metrics, lineage)


def _lineage(run_id: str, run_dir: Path, resolved: ResolvedConfig, dataset: Any, result: Any,
             seeds: SeedLedger, trusted_types: list[str], parent: str | None) -> dict[str, Any]:
    from ..identity import code_identity, identity_keys

    outputs = describe_outputs(run_dir)
    code = code_identity()

    def entry(name: str) -> dict[str, str] | None:
        return {"path": name, "sha256": outputs[name]["sha256"]} if name in outputs else None

    model = entry(MODEL_FILE)
    assert model is not None
    return {
        "run_id": run_id,
        "kind": "train",
        "parent": parent,
        "dataset": {"path": str(dataset.path), "sha256": dataset.sha256},
        "config": entry(SNAPSHOT_FILE),
        "model": {**model, "format": "skops", "trusted_types": trusted_types},
        "threshold": entry(THRESHOLD_FILE),
        "outputs": outputs,
        "fingerprints": {"model": result.model_fingerprint, "predictions": result.predictions_sha256},
        "trace": result.trace.steps,
        "identity": identity_keys(dataset.sha256, resolved.identity, code),
        "seeds": {"base": seeds.base_seed, "derived": seeds.issued()},
        "code": code,
    }


class _EventProgress:
    """Forward progress to the user's display and record each step as an event."""

    def __init__(self, events: EventLog, inner: Progress) -> None:
        self.events = events
        self.inner = inner

    def start(self, total: int, description: str) -> None:
        self.inner.start(total, description)

    def advance(self, description: str) -> None:
        self.events.emit("step", step=description)
        self.inner.advance(description)

    def close(self) -> None:
        self.inner.close()
