"""What both exporters derive from a run folder beyond its readers: the config, the end time and a job name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import TrainlockError
from ..lineage import Lineage
from ..run import SNAPSHOT, RunFolder
from ..store import Store

#: the config file a reproduced run records: its job is the original's
SNAPSHOT_STEM = Path(SNAPSHOT.name).stem


def run_config(folder: RunFolder, lineage: Lineage) -> dict[str, Any]:
    """The resolved config the run recorded in its own folder (empty when it names a parent's)."""
    entry = lineage.config
    if entry is None or not entry.path or entry.run is not None:
        return {}
    document = yaml.safe_load(folder.read_text(entry.path))
    return document if isinstance(document, dict) else {}


def completed_time(folder: RunFolder) -> str | None:
    """When the run ended: its last ``completed`` event, else its last event."""
    ended = folder.completed() or (folder.events() or [{}])[-1]
    time_utc = ended.get("time_utc")
    return str(time_utc) if time_utc is not None else None


def job_name(folder: RunFolder, lineage: Lineage, *, store: Store) -> str:
    """The stem of the config file the run was trained from; a reproduced run takes its original's.

    The original is found through its parent link, in ``store``.
    """
    seen: set[str] = set()
    current: tuple[RunFolder, Lineage] | None = (folder, lineage)
    while current is not None and current[0].run_id not in seen:
        seen.add(current[0].run_id)
        files = current[0].started().get("config_files") or []
        stem = Path(str(files[0])).stem if files else None
        if stem and stem != SNAPSHOT_STEM:
            return stem
        current = _parent(current[1], store)
    return f"trainlock-{lineage.kind}"


def _parent(lineage: Lineage, store: Store) -> tuple[RunFolder, Lineage] | None:
    if lineage.parent is None:
        return None
    try:
        parent = store.find(lineage.parent)
        return parent, parent.lineage()
    except TrainlockError:
        return None  # a parent gone from the store: the job is named by what the run itself says


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to ``a.b.c`` keys, sorted; lists stay values."""
    if not isinstance(document, dict):
        return {prefix: document} if prefix else {}
    flat: dict[str, Any] = {}
    for key in sorted(document, key=str):
        flat.update(flatten(document[key], f"{prefix}.{key}" if prefix else str(key)))
    return flat
