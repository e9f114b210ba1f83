"""`trainlock gc`: remove run folders that will never complete (crashed or killed runs)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import Store, require_local

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


def _age_seconds(run_dir: Path) -> float:
    newest = max((p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()), default=run_dir.stat().st_mtime)
    return time.time() - newest


def gc(
    *,
    store: Store,
    failed: bool = False,
    now: bool = False,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    dry_run: bool = False,
) -> GcReport:
    """Remove incomplete run folders (and failed ones with ``failed=True``) older than the grace period.

    A run whose process is still alive on this host is never removed; ``now`` skips the grace period.
    """
    require_local(store, "gc")  # removing folders of an object store would only remove its local mirror
    report = GcReport(dry_run=dry_run)
    wanted = {"incomplete", "failed"} if failed else {"incomplete"}
    for ref in store.runs():
        state = ref.state()
        if state == "running":
            report.running.append(ref.run_id)
            continue
        if state not in wanted:
            continue
        if not now and _age_seconds(ref.path) < grace_seconds:
            report.recent.append(ref.run_id)
            continue
        if not dry_run:
            shutil.rmtree(ref.path)
        report.removed.append(ref.run_id)
    return report
