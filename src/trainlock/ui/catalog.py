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

from ..errors import IncompleteRunError, RunNotFoundError
from ..index import RunSummary, summarize
from ..run import LINEAGE, RUN_ID_PATTERN, RunFolder
from ..store import Store

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
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[tuple[int, int, int], RunSummary]] = {}
        self._lock = threading.Lock()

    def summaries(self) -> list[RunSummary]:
        """Every run of the store, oldest first (run ids sort by time)."""
        with self._lock:
            cached = dict(self._cache)
        found, fresh = [], {}
        for folder in self.store.runs():
            signature = _signature(folder)
            hit = cached.get(folder.run_id)
            fresh_hit = hit is not None and signature is not None and hit[0] == signature
            summary = hit[1] if fresh_hit and hit is not None else summarize(folder)
            if summary.status == "complete" and signature is not None:
                fresh[folder.run_id] = (signature, summary)  # a running run's status changes without its files changing
            found.append(summary)
        with self._lock:
            self._cache = fresh
        return found

    def listing(self, query: Mapping[str, str]) -> Listing:
        """The runs matching the filters in ``query`` (``FILTERS`` exactly, ``q`` as a substring of id or model)."""
        everything = self.summaries()
        wanted = {key: query[key] for key in FILTERS if query.get(key)}
        text = (query.get("q") or "").strip().lower()
        selected = [
            s
            for s in everything
            if all(str(getattr(s, key)) == value for key, value in wanted.items())
            and (not text or text in s.run_id.lower() or text in (s.model or "").lower())
        ]
        return Listing(
            selected,
            _values(everything, "kind"),
            _values(everything, "status"),
            _values(everything, "model"),
            len(everything),
        )

    def folder(self, run_id: str) -> RunFolder:
        """The complete run ``run_id`` of this store; the id is checked before the store looks it up.

        Only a whole run id is accepted (no prefix, no path), and only a run folder of this
        store itself: the store's look-up would also take a folder path.
        """
        if not RUN_ID_PATTERN.fullmatch(run_id):
            raise RunNotFoundError(f"'{run_id}' is not a run id (YYYYMMDDTHHMMSSZ-xxxxxx)")
        try:
            folder = self.store.find(run_id, require_complete=False)
        except RunNotFoundError:
            raise RunNotFoundError(f"no run {run_id} in this store") from None
        if not self.store.contains(folder):  # a folder of that name below the working directory
            raise RunNotFoundError(f"no run {run_id} in this store")
        if not folder.complete:
            raise IncompleteRunError(f"run {run_id} has no {LINEAGE.name}: it crashed or is still running")
        return folder


def _signature(folder: RunFolder) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(folder.file(LINEAGE))
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _values(summaries: list[RunSummary], field: str) -> list[str]:
    return sorted({str(getattr(s, field)) for s in summaries if getattr(s, field) is not None})
