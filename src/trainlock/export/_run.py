"""What both exporters read of a run folder: its lineage, events, config and metrics, plus a job name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import TrainlockError
from ..lineage import read_events, read_lineage
from ..store import RunRef, find_run, inside

#: the config file a reproduced run records: its job is the original's
SNAPSHOT_STEM = "config.snapshot"


@dataclass(frozen=True)
class RunRecord:
    ref: RunRef
    lineage: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def started(self) -> dict[str, Any]:
        return next((e for e in self.events if e.get("event") == "started"), {})

    @property
    def completed_time(self) -> str | None:
        times = [e.get("time_utc") for e in self.events if e.get("event") == "completed"]
        return times[-1] if times else (self.events[-1].get("time_utc") if self.events else None)

    def config(self) -> dict[str, Any]:
        entry = self.lineage.get("config") or {}
        if not entry.get("path") or entry.get("run"):
            return {}
        document = yaml.safe_load(inside(self.ref.run_dir, entry["path"]).read_text(encoding="utf-8"))
        return document if isinstance(document, dict) else {}

    def json_file(self, relative: str) -> dict[str, Any]:
        path = inside(self.ref.run_dir, relative)
        if not path.is_file():
            return {}
        document = json.loads(path.read_text(encoding="utf-8"))
        return document if isinstance(document, dict) else {}


def load_run(run: str, store: Any) -> RunRecord:
    ref = find_run(run, store)
    return RunRecord(ref, read_lineage(ref.run_dir), read_events(ref.run_dir))


def job_name(record: RunRecord) -> str:
    """The stem of the config file the run was trained from; a reproduced run takes its original's."""
    seen: set[str] = set()
    current: RunRecord | None = record
    while current is not None and current.ref.run_id not in seen:
        seen.add(current.ref.run_id)
        files = current.started.get("config_files") or []
        stem = Path(str(files[0])).stem if files else None
        if stem and stem != SNAPSHOT_STEM:
            return stem
        current = _parent(current)
    return f"trainlock-{record.lineage.get('kind') or 'run'}"


def _parent(record: RunRecord) -> RunRecord | None:
    parent = record.lineage.get("parent")
    if not isinstance(parent, str):
        return None
    try:  # parents live beside their children (the mirror holds them too for a remote store)
        return load_run(str(record.ref.run_dir.parent / Path(parent).name), None)
    except TrainlockError:
        return None


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to ``a.b.c`` keys, sorted; lists stay values."""
    if not isinstance(document, dict):
        return {prefix: document} if prefix else {}
    flat: dict[str, Any] = {}
    for key in sorted(document, key=str):
        flat.update(flatten(document[key], f"{prefix}.{key}" if prefix else str(key)))
    return flat
