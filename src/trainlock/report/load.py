"""What a report shows of one run: its folder's documents, read once through the folder's readers.

A report is made of many sections, and a comparison of several runs; each reads the same
few documents. :class:`RunView` holds them, read once by :func:`load_run` with the
:class:`~trainlock.run.RunFolder` readers (an absent or damaged document reads as empty:
``verify``, shown beside them, names the damage). Nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import StorePathError
from ..lineage import Lineage
from ..run import (
    DRIFT,
    DRIFT_BASELINE,
    ENVIRONMENT,
    FRAGILITY,
    METRICS,
    PREDICTIONS,
    SCHEMA,
    STABILITY,
    THRESHOLD,
    RunFile,
    RunFolder,
)

#: the JSON documents a report shows, by the view's attribute
_DOCUMENTS: dict[str, RunFile] = {
    "metrics": METRICS,
    "environment": ENVIRONMENT,
    "schema": SCHEMA,
    "threshold": THRESHOLD,
    "drift_baseline": DRIFT_BASELINE,
    "drift": DRIFT,
    "stability": STABILITY,
    "fragility": FRAGILITY,
}


@dataclass(frozen=True, eq=False)  # holds a DataFrame: compared by identity
class RunView:
    """One complete run's recorded facts; a document the run does not record is empty, a file ``None``."""

    folder: RunFolder
    lineage: Lineage
    events: list[dict[str, Any]]
    started: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)
    threshold: dict[str, Any] = field(default_factory=dict)
    drift_baseline: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] = field(default_factory=dict)
    fragility: dict[str, Any] = field(default_factory=dict)
    config_text: str | None = None
    predictions: pd.DataFrame | None = None  # (row, score, label, actual) when recorded

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def kind(self) -> str:
        return self.lineage.kind

    @property
    def task(self) -> str | None:
        return self.metrics.get("task") or self.schema.get("task")

    @property
    def seed(self) -> Any:
        base = self.lineage.seeds.base
        return base if base is not None else self.started.get("seed")


def load_run(folder: RunFolder) -> RunView:
    """Read what the report shows of the complete run in ``folder``: only the files its lineage records."""
    lineage = folder.lineage()
    recorded = lineage.outputs
    documents = {
        attribute: folder.read_json_object(entry) for attribute, entry in _DOCUMENTS.items() if entry.name in recorded
    }
    config_text = None
    if lineage.config is not None and lineage.config.run is None:
        config_text = _text(folder, lineage.config.path)
    predictions = _predictions(folder) if PREDICTIONS.name in recorded else None
    return RunView(
        folder,
        lineage,
        folder.events(),
        folder.started(),
        **documents,
        config_text=config_text,
        predictions=predictions,
    )


def _text(folder: RunFolder, relative: str) -> str | None:
    try:
        return folder.read_text(relative)
    except (OSError, UnicodeDecodeError, StorePathError):
        return None  # verify reports the missing or damaged file; the report shows what it can


def _predictions(folder: RunFolder) -> pd.DataFrame | None:
    try:
        frame = pd.read_csv(folder.file(PREDICTIONS))
    except Exception:  # a damaged CSV fails pandas in many ways; verify names it, the report skips the charts
        return None
    return frame if {"score", "actual"} <= set(frame.columns) else None
