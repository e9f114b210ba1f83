"""`trainlock reproduce`: re-run a recorded run from its folder alone and compare the two."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..byoc.command import rerun
from ..errors import DataError, TrainlockError
from ..pipeline.config import load_snapshot
from ..pipeline.data import dataset_sha256
from ..progress import Progress
from ..run import SNAPSHOT
from ..store import Store
from .diff import Change, DiffReport, Level, diff_folders, environment_changes
from .train import train_resolved

#: environment differences that void the promise of bitwise equality
BITWISE_RELEVANT = ("python", "machine", "platform", "cpu", "threadpools")


@dataclass
class ReproduceResult:
    original: str
    run_id: str
    run_dir: Path
    report: DiffReport
    environment_warnings: list[Change] = field(default_factory=list)


def reproduce(
    run: str,
    *,
    store: Store,
    data_path: str | os.PathLike[str] | None = None,
    workers: int = 1,
    level: Level = "exact",
    rtol: float = 1e-9,
    atol: float = 0.0,
    progress: Progress | None = None,
    argv: list[str] | None = None,
) -> ReproduceResult:
    """Re-run ``run`` into a new run of the same store and compare the two; the original is never written."""
    original = store.find(run)
    lineage = original.lineage()
    if lineage.kind == "run":  # a wrapped command: run it again with its recorded config and envelope
        if original.origin is not None:
            raise TrainlockError(
                f"run {original.run_id} wraps a command; reproduce it from a local store, not {store.location}"
            )
        rerun_result = rerun(original, lineage, store=store, argv=argv)
        new = store.find(str(rerun_result.run_dir))
    elif lineage.kind == "train":
        assert lineage.dataset is not None
        resolved = load_snapshot(original.file(lineage.config.path if lineage.config else SNAPSHOT))
        recorded = lineage.dataset
        path = Path(data_path) if data_path is not None else Path(recorded.path)
        if not path.is_file():
            raise DataError(
                f"dataset {path} recorded by run {original.run_id} is not there; pass --data PATH to a copy of it"
            )
        actual = dataset_sha256(path, cache=store.hash_cache)
        if actual != recorded.sha256:
            raise DataError(
                f"dataset {path} has sha256 {actual}, but run {original.run_id} was trained on sha256 "
                f"{recorded.sha256}; restore the original data or pass --data PATH to an identical copy"
            )
        trained = train_resolved(
            resolved,
            store=store,
            workers=workers,
            progress=progress,
            argv=argv,
            command="reproduce",
            parent=original.run_id,
            data_path=path,
        )
        new = store.find(str(trained.run_dir))
    else:
        raise TrainlockError(f"run {original.run_id} is a {lineage.kind} run; reproduce re-runs train and run runs")
    report = diff_folders(original, new, store=store, level=level, rtol=rtol, atol=atol)
    warnings = [
        c for c in environment_changes(original, new) if c.key in BITWISE_RELEVANT or c.key.startswith("package ")
    ]
    return ReproduceResult(original.run_id, new.run_id, new.path, report, warnings)
