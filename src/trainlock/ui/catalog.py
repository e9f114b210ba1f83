"""The runs of a store as the web UI sees them: read from the run folders, never written.

``trainlock runs`` keeps its SQLite index in the store; the UI promises never to write to the
store, so it summarises the folders itself (with :func:`trainlock.index.summarize`) and keeps
the summaries of complete runs in memory, keyed by the stat of their lineage.json: a changed or
replaced run is read again, an unchanged one costs one ``stat``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import IncompleteRunError, RunNotFoundError, StorePathError
from ..index import RunSummary, summarize
from ..store import LINEAGE_FILE, RUN_ID_PATTERN, RunRef, inside

#: the query keys a listing can be filtered by, each compared with the summary's field as text
FILTERS = ("kind", "status", "model", "seed")


@dataclass(frozen=True)
class Listing:
    runs: list[RunSummary]
    kinds: list[str]
    statuses: list[str]
    models: list[str]
    total: int


class Catalog:
    def __init__(self, store: Path) -> None:
        self.store = store.absolute()
        self._cache: dict[str, tuple[tuple[int, int, int], RunSummary]] = {}
        self._lock = threading.Lock()

    def summaries(self) -> list[RunSummary]:
        """Every run of the store, oldest first (run ids sort by time)."""
        try:
            names = sorted(e.name for e in os.scandir(self.store) if e.is_dir() and RUN_ID_PATTERN.match(e.name))
        except FileNotFoundError:
            return []
        with self._lock:
            cached = dict(self._cache)
        found, fresh = [], {}
        for name in names:
            signature = _signature(self.store / name)
            hit = cached.get(name)
            if hit is not None and signature is not None and hit[0] == signature:
                summary = hit[1]
            else:
                summary = summarize(RunRef(name, self.store / name))
            if summary.status == "complete" and signature is not None:
                fresh[name] = (signature, summary)  # a running run's status changes without its files changing
            found.append(summary)
        with self._lock:
            self._cache = fresh
        return found

    def listing(self, query: Mapping[str, str]) -> Listing:
        """The runs matching the filters in ``query`` (``FILTERS`` exactly, ``q`` as a substring of id or model)."""
        everything = self.summaries()
        wanted = {key: query[key] for key in FILTERS if query.get(key)}
        text = (query.get("q") or "").strip().lower()
        selected = [s for s in everything
                    if all(str(getattr(s, key)) == value for key, value in wanted.items())
                    and (not text or text in s.run_id.lower() or text in (s.model or "").lower())]
        return Listing(selected, _values(everything, "kind"), _values(everything, "status"), _values(everything, "model"),
                       len(everything))

    def ref(self, run_id: str) -> RunRef:
        """The complete run ``run_id`` of this store; the id is checked before it touches the file system."""
        if not RUN_ID_PATTERN.fullmatch(run_id):
            raise RunNotFoundError(f"'{run_id}' is not a run id (YYYYMMDDTHHMMSSZ-xxxxxx)")
        try:
            run_dir = inside(self.store, run_id)
        except StorePathError:
            raise RunNotFoundError(f"'{run_id}' is not a run of this store") from None
        ref = RunRef(run_id, run_dir)
        if not run_dir.is_dir():
            raise RunNotFoundError(f"no run {run_id} in this store")
        if not ref.complete:
            raise IncompleteRunError(f"run {run_id} has no lineage.json: it crashed or is still running")
        return ref


def _signature(run_dir: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(run_dir / LINEAGE_FILE)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _values(summaries: list[RunSummary], field: str) -> list[str]:
    return sorted({str(getattr(s, field)) for s in summaries if getattr(s, field) is not None})
