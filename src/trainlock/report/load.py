"""What a report shows of one run, read from its folder (and nothing written anywhere)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lineage import read_events, read_lineage
from ..errors import StorePathError
from ..store import RunRef, inside


@dataclass
class RunView:
    """One complete run's recorded facts; a file the run does not have is ``None`` or empty."""

    ref: RunRef
    lineage: dict[str, Any]
    events: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)
    threshold: dict[str, Any] = field(default_factory=dict)
    drift_baseline: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] = field(default_factory=dict)
    fragility: dict[str, Any] = field(default_factory=dict)
    config_text: str | None = None
    predictions: Any = None  # a pandas DataFrame (row, score, label, actual) when recorded

    @property
    def run_id(self) -> str:
        return self.ref.run_id

    @property
    def kind(self) -> str:
        return str(self.lineage.get("kind"))

    @property
    def started(self) -> dict[str, Any]:
        return next((e for e in self.events if e.get("event") == "started"), {})

    @property
    def task(self) -> str | None:
        return self.metrics.get("task") or self.schema.get("task")

    @property
    def seed(self) -> Any:
        return (self.lineage.get("seeds") or {}).get("base", self.started.get("seed"))


def load_run(ref: RunRef) -> RunView:
    lineage = read_lineage(ref.run_dir)
    view = RunView(ref, lineage, read_events(ref.run_dir))
    outputs = lineage.get("outputs") or {}
    for attribute, name in (("metrics", "metrics.json"), ("environment", "environment.json"), ("schema", "schema.json"),
                            ("threshold", "threshold.json"), ("drift_baseline", "drift_baseline.json"),
                            ("drift", "drift.json"), ("stability", "stability.json"), ("fragility", "fragility.json")):
        if name in outputs:
            setattr(view, attribute, _json(ref.run_dir, outputs[name].get("path", name)))
    config = lineage.get("config") or {}
    if config.get("path") and not config.get("run"):
        view.config_text = _text(ref.run_dir, config["path"])
    if "predictions.csv" in outputs:
        view.predictions = _predictions(ref.run_dir, outputs["predictions.csv"].get("path", "predictions.csv"))
    return view


def _text(run_dir: Path, relative: str) -> str | None:
    try:
        return inside(run_dir, relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, StorePathError):
        return None  # verify reports the missing or damaged file; the report shows what it can


def _json(run_dir: Path, relative: str) -> dict[str, Any]:
    text = _text(run_dir, relative)
    try:
        document = json.loads(text) if text is not None else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _predictions(run_dir: Path, relative: str) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(inside(run_dir, relative))
    except Exception:  # a damaged CSV fails pandas in many ways; verify names it, the report skips the charts
        return None
    return frame if {"score", "actual"} <= set(frame.columns) else None
