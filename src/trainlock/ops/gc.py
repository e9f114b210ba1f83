"""`trainlock gc`: remove run folders that will never complete (crashed or killed runs)."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lineage import read_events
from ..runlock import is_running
from ..store import RunRef, list_runs

#: a run folder younger than this may belong to a run that is still starting up elsewhere
DEFAULT_GRACE_SECONDS = 24 * 3600


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "running": self.running, "recent": self.recent, "dry_run": self.dry_run}


def run_state(ref: RunRef, events: list[dict[str, Any]] | None = None) -> str:
    """complete, failed, running (its process still holds the run's lock) or incomplete."""
    if ref.complete:
        return "complete"
    events = read_events(ref.run_dir) if events is None else events
    if any(e.get("event") == "failed" for e in events):
        return "failed"
    return "running" if is_running(ref.run_dir) else "incomplete"


def _age_seconds(run_dir: Path) -> float:
    newest = max((p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()), default=run_dir.stat().st_mtime)
    return time.time() - newest


def gc(*, store: str | os.PathLike[str] | None = None, failed: bool = False, now: bool = False,
       grace_seconds: float = DEFAULT_GRACE_SECONDS, dry_run: bool = False) -> GcReport:
    """Remove incomplete run folders (and failed ones with ``failed=True``) older than the grace period.

    A run whose process is still alive on this host is never removed; ``now`` skips the grace period.
    """
    report = GcReport(dry_run=dry_run)
    wanted = {"incomplete", "failed"} if failed else {"incomplete"}
    for ref in list_runs(store):
        state = run_state(ref)
        if state == "running":
            report.running.append(ref.run_id)
            continue
        if state not in wanted:
            continue
        if not now and _age_seconds(ref.run_dir) < grace_seconds:
            report.recent.append(ref.run_id)
            continue
        if not dry_run:
            shutil.rmtree(ref.run_dir)
        report.removed.append(ref.run_id)
    return report
