"""`trainlock reproduce`: re-run a recorded run from its folder alone and compare the two."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..config import load_snapshot
from ..errors import DataError, TrainlockError
from ..hashcache import HashCache
from ..lineage import read_lineage
from ..pipeline.data import dataset_sha256
from ..progress import Progress
from ..store import find_run, inside
from .diff import Change, DiffReport, Level, diff_refs, environment_changes
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
    store: str | os.PathLike[str] | None = None,
    data_path: str | os.PathLike[str] | None = None,
    workers: int = 1,
    level: Level = "exact",
    rtol: float = 1e-9,
    atol: float = 0.0,
    progress: Progress | None = None,
    argv: list[str] | None = None,
) -> ReproduceResult:
    original = find_run(run, store)
    lineage = read_lineage(original.run_dir)
    if lineage.get("kind") == "run":  # a wrapped command: run it again with its recorded config and envelope
        if original.origin is not None:
            raise TrainlockError(f"run {original.run_id} wraps a command; reproduce it from a local store, "
                                 f"not {original.origin.url}")
        from ..byoc.command import rerun

        rerun_result = rerun(original, lineage, argv=argv)
        report = diff_refs(original, find_run(str(rerun_result.run_dir)), level=level, rtol=rtol, atol=atol)
        warnings = [c for c in environment_changes(original.run_dir, rerun_result.run_dir)
                    if c.key in BITWISE_RELEVANT or c.key.startswith("package ")]
        return ReproduceResult(original.run_id, rerun_result.run_id, rerun_result.run_dir, report, warnings)
    if lineage.get("kind") != "train":
        raise TrainlockError(f"run {original.run_id} is a {lineage.get('kind')} run; reproduce re-runs train and run runs")
    snapshot = lineage.get("config") or {}
    resolved = load_snapshot(inside(original.run_dir, snapshot.get("path", "config.snapshot.yaml")))
    recorded = lineage["dataset"]
    path = Path(data_path) if data_path is not None else Path(recorded["path"])
    if not path.is_file():
        raise DataError(f"dataset {path} recorded by run {original.run_id} is not there; pass --data PATH to a copy of it")
    actual = dataset_sha256(path, cache=HashCache.for_store(original.run_dir.parent))
    if actual != recorded["sha256"]:
        raise DataError(
            f"dataset {path} has sha256 {actual}, but run {original.run_id} was trained on sha256 {recorded['sha256']}; "
            "restore the original data or pass --data PATH to an identical copy"
        )
    # beside the original: in its object store when it came from one (its run_dir is then a mirror copy)
    new = train_resolved(resolved, store=original.origin or original.run_dir.parent, workers=workers,
                         progress=progress, argv=argv, command="reproduce", parent=original.run_id, data_path=path)
    new_ref = find_run(str(new.run_dir))
    report = diff_refs(original, new_ref, level=level, rtol=rtol, atol=atol)
    warnings = [c for c in environment_changes(original.run_dir, new.run_dir)
                if c.key in BITWISE_RELEVANT or c.key.startswith("package ")]
    return ReproduceResult(original.run_id, new.run_id, new.run_dir, report, warnings)
