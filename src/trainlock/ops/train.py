"""`trainlock train`: run the recipe and leave a complete, verifiable run folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import environment
from ..envelope import Envelope, envelope_threads
from ..environment import Software
from ..errors import ConfigError
from ..hashing import sha256_file
from ..identity import code_identity, identity_keys
from ..lineage import FileRef, Identity, Lineage, ModelRef, Seeds
from ..model_io import dump_model, skops_io
from ..parallel import worker_pool, worker_processes
from ..pipeline.config import ResolvedConfig, load_config
from ..pipeline.families import family_of
from ..pipeline.models import check_available
from ..predictions import write_predictions
from ..progress import NullProgress, Progress
from ..run import (
    DRIFT_BASELINE,
    ENVIRONMENT,
    FRAGILITY,
    METRICS,
    MODEL,
    PREDICTIONS,
    SCHEMA,
    SNAPSHOT,
    THRESHOLD,
    TRACE_VALUES,
    RunRecorder,
)
from ..seeds import SeedLedger
from ..sidecar import Pending, Sidecar, sidecar
from ..store import Store


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    lineage: Lineage
    #: where the run was published, for a run trained into an object-storage store (run_dir is then its local copy)
    url: str | None = None


def train(
    config_paths: Sequence[str | os.PathLike[str]],
    *,
    store: Store,
    profiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    parent: str | None = None,
) -> TrainResult:
    """Resolve the config and train it into a new run folder of the store (or the empty folder ``run_dir``)."""
    resolved = load_config(config_paths, profiles=profiles, overrides=overrides, seed=seed)
    if parent is not None:
        parent = store.find(parent).run_id
    return train_resolved(
        resolved, store=store, workers=workers, progress=progress, argv=argv, parent=parent, fixed_run_dir=run_dir
    )


def train_resolved(
    resolved: ResolvedConfig,
    *,
    store: Store,
    workers: int = 1,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    command: str = "train",
    parent: str | None = None,
    data_path: Path | None = None,
    fixed_run_dir: str | os.PathLike[str] | None = None,
) -> TrainResult:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, found {workers}")
    check_available(resolved.config.models.selected())
    from ..pipeline import recipe  # noqa: F401  (imported before the workers fork, so that they start with it loaded)

    # the helper and the workers are forked before the run is claimed: they must not inherit its
    # liveness lock; the helper first, as the worker pool starts threads
    threads = envelope_threads()
    with sidecar(threads=threads) as helper, worker_pool(workers, threads=threads):
        bookkeeping = helper.start(_prepare_bookkeeping)
        recorder = RunRecorder(store, "train", fixed=fixed_run_dir)
        with recorder:
            metrics, lineage = _train_in(
                recorder,
                resolved,
                store=store,
                workers=workers,
                progress=progress,
                argv=argv,
                command=command,
                parent=parent,
                data_path=data_path,
                helper=helper,
                bookkeeping=bookkeeping,
            )
    assert recorder.result is not None
    return TrainResult(lineage.run_id, recorder.result.path, metrics, lineage, recorder.result.origin)


def _prepare_bookkeeping() -> Software:
    """Run on the sidecar while the model trains: what writing the run needs that training does not."""
    skops_io()  # imported now, so that the model file is written without waiting for it
    return environment.software()


def _train_in(
    recorder: RunRecorder,
    resolved: ResolvedConfig,
    *,
    store: Store,
    workers: int,
    progress: Progress | None,
    argv: list[str] | None,
    command: str,
    parent: str | None,
    data_path: Path | None,
    helper: Sidecar,
    bookkeeping: Pending[Software],
) -> tuple[dict[str, Any], Lineage]:
    from ..pipeline.data import load_dataset
    from ..pipeline.recipe import run_recipe

    config = resolved.config
    folder = recorder.folder
    recorder.start(
        command,
        argv,
        config_sha256=resolved.sha256,
        seed=config.seed,
        workers=workers,
        parent=parent,
        config_files=[Path(source).name for source in resolved.sources],  # names the job in exports
    )
    folder.write_text(SNAPSHOT, resolved.snapshot)
    seeds = SeedLedger(config.seed)
    with Envelope(config.seed, threads=envelope_threads()) as envelope:
        dataset = load_dataset(config, path=data_path, cache=store.hash_cache)
        recorder.emit("step", step="data", sha256=dataset.sha256, path=str(dataset.path))
        result = run_recipe(
            config, dataset, seeds, workers=workers, progress=_EventProgress(recorder, progress or NullProgress())
        )
        envelope_record = envelope.record()
    installed = bookkeeping.result()
    model_written = helper.start(dump_model, result.model, folder.file(MODEL))  # beside the writes below
    folder.write_json(METRICS, result.metrics)
    folder.write_json(SCHEMA, result.schema)
    if result.threshold is not None:
        folder.write_json(THRESHOLD, result.threshold)
    folder.write_json(DRIFT_BASELINE, result.drift_baseline)
    folder.write_json(FRAGILITY, result.fragility)
    family_of(result.metrics["selected_model"]).write_artefacts(folder.path, result.model, result.schema)
    write_predictions(result.predictions, folder.file(PREDICTIONS))
    folder.write_json(TRACE_VALUES, result.trace.kept, compact=True)
    envelope_record["workers"] = workers
    envelope_record["worker_processes"] = worker_processes(workers)
    folder.write_json(ENVIRONMENT, environment.collect(envelope_record, installed))
    trusted_types = model_written.result()
    code = code_identity()
    snapshot = FileRef(path=SNAPSHOT.name, sha256=sha256_file(folder.file(SNAPSHOT)))
    threshold = (
        FileRef(path=THRESHOLD.name, sha256=sha256_file(folder.file(THRESHOLD)))
        if result.threshold is not None
        else None
    )
    lineage = recorder.complete(
        {"model": result.metrics["selected_model"], "fingerprint": result.model_fingerprint},
        parent=parent,
        parents=[parent] if parent else [],
        dataset=FileRef(path=str(dataset.path), sha256=dataset.sha256),
        config=snapshot,
        model=ModelRef(
            path=MODEL.name, sha256=sha256_file(folder.file(MODEL)), format="skops", trusted_types=trusted_types
        ),
        threshold=threshold,
        fingerprints={"model": result.model_fingerprint, "predictions": result.predictions_sha256},
        trace=result.trace.steps,
        identity=Identity(**identity_keys(dataset.sha256, resolved.identity, code)),
        seeds=Seeds(base=seeds.base_seed, derived=seeds.issued()),
        code=code,
    )
    return result.metrics, lineage


class _EventProgress:
    """Forward progress to the user's display and record each step as an event."""

    def __init__(self, recorder: RunRecorder, inner: Progress) -> None:
        self.recorder = recorder
        self.inner = inner

    def start(self, total: int, description: str) -> None:
        self.inner.start(total, description)

    def advance(self, description: str) -> None:
        self.recorder.emit("step", step=description)
        self.inner.advance(description)

    def close(self) -> None:
        self.inner.close()
