"""`trainlock runs`: the runs of a store, with their status and headline metrics."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from ..lineage import read_events
from ..store import list_runs
from .gc import run_state


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    run_dir: str
    kind: str | None
    status: str  # complete, failed, running, incomplete
    started_utc: str | None
    seed: int | None
    model: str | None
    metric: str | None
    value: float | None
    parent: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def runs(*, store: str | os.PathLike[str] | None = None, kind: str | None = None) -> list[RunSummary]:
    summaries = []
    for ref in list_runs(store):
        events = read_events(ref.run_dir)
        started = next((e for e in events if e.get("event") == "started"), {})
        lineage: dict[str, Any] = {}
        if ref.complete:
            try:
                lineage = json.loads(ref.lineage_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                lineage = {}
        status = "complete" if lineage else run_state(ref, events)
        run_kind = lineage.get("kind") or started.get("command")
        if kind is not None and run_kind != kind:
            continue
        model = metric = value = None
        metrics_path = ref.run_dir / "metrics.json"
        if status == "complete" and metrics_path.is_file():
            try:
                document = json.loads(metrics_path.read_text(encoding="utf-8"))
                model = document.get("selected_model")
                metric = document.get("cv", {}).get("metric")
                value = document.get("test", {}).get(metric)
            except (OSError, ValueError):
                pass
        summaries.append(RunSummary(ref.run_id, str(ref.run_dir), run_kind, status, started.get("time_utc"),
                                    started.get("seed"), model, metric, value,
                                    lineage.get("parent") or started.get("parent")))
    return summaries
