"""The run index: an SQLite cache of run summaries in ``<store>/index.sqlite`` (WAL mode).

The run folders are the truth; the index only saves re-reading them. Each row carries the
stat signature of the run's lineage.json, and every listing compares it with the folder,
so an edited, stale, half-written or corrupt index never shows wrong data: rows that do
not match are refreshed from the folder, and an unreadable index file is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .run import LINEAGE, METRICS, RUN_ID_PATTERN, RunFolder, started_event

INDEX_FILE = "index.sqlite"
#: bump when the row layout changes; an index of another version is rebuilt
INDEX_VERSION = 2


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
    config_sha256: str | None = None
    replicate_key: str | None = None
    strict_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(folder: RunFolder) -> RunSummary:
    """Read one run folder into a summary (the slow path the index saves)."""
    events = folder.events()
    started = started_event(events)
    lineage: dict[str, Any] = {}
    if folder.complete:
        # the raw document: a listing shows what a damaged lineage still says; verify judges it
        lineage = folder.read_json_object(LINEAGE)
    status = "complete" if lineage else folder.state(events)
    model = metric = value = None
    if status == "complete" and folder.has(METRICS):
        document = folder.metrics()
        model = document.get("selected_model")
        metric = (document.get("cv") or {}).get("metric")
        value = (document.get("test") or {}).get(metric)
    identity = lineage.get("identity") or {}
    return RunSummary(
        folder.run_id,
        str(folder.path),
        lineage.get("kind") or started.get("command"),
        status,
        started.get("time_utc"),
        started.get("seed"),
        model,
        metric,
        value if isinstance(value, float) else None,
        lineage.get("parent") or started.get("parent"),
        started.get("config_sha256"),
        identity.get("replicate_key"),
        identity.get("strict_key"),
    )


def _signature(lineage_path: str) -> str | None:
    try:
        stat = os.stat(lineage_path)
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"


class RunIndex:
    def __init__(self, store: Path) -> None:
        self.store = store
        self.path = store / INDEX_FILE

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        # one JSON document per run: decoding it is one call, where a column per field cost one per field
        connection.execute(
            "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, summary TEXT, signature TEXT, checksum TEXT)"
        )
        row = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None:
            connection.execute("INSERT INTO meta VALUES ('version', ?)", (str(INDEX_VERSION),))
        elif row[0] != str(INDEX_VERSION):
            raise sqlite3.DatabaseError(f"index version {row[0]}")
        connection.execute("PRAGMA quick_check").fetchone()
        return connection

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            self.drop()  # corrupt, foreign or old: the folders are the truth, start again
            return self._connect()

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def rebuild(self) -> list[RunSummary]:
        self.drop()
        return self.summaries()

    def summaries(self) -> list[RunSummary]:
        """Every run of the store, oldest first, refreshed from any folder the index does not match."""
        if not self.store.is_dir():
            return []
        names = sorted(
            entry.name for entry in os.scandir(self.store) if entry.is_dir() and RUN_ID_PATTERN.match(entry.name)
        )
        try:
            return self._list(names)
        except sqlite3.DatabaseError:
            self.drop()
            return self._list(names)

    def _list(self, names: list[str]) -> list[RunSummary]:
        connection = self._open()
        try:
            cached = {
                row[0]: row[1:] for row in connection.execute("SELECT run_id, summary, signature, checksum FROM runs")
            }
            summaries: list[RunSummary] = []
            updates: list[tuple[str, str, str, str]] = []
            store = os.fspath(self.store)  # plain strings: 10,000 pathlib joins cost more than the stats
            for name in names:
                signature = _signature(os.path.join(store, name, LINEAGE.name))
                row = cached.get(name)
                if (
                    row is not None
                    and signature is not None
                    and row[1] == signature
                    and row[2] == _checksum(name, row[0], signature)
                ):
                    summaries.append(RunSummary(**json.loads(row[0])))
                    continue
                summary = summarize(RunFolder(self.store / name))
                summaries.append(summary)
                # only complete runs are cached: a running run's status changes without its files changing
                if summary.status == "complete" and signature is not None:
                    document = json.dumps(summary.to_dict(), sort_keys=True)
                    updates.append((name, document, signature, _checksum(name, document, signature)))
            present: set[str] = set(names)
            stale = [(name,) for name in cached if name not in present]
            if updates or stale:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)", updates)
                connection.executemany("DELETE FROM runs WHERE run_id = ?", stale)
                connection.execute("COMMIT")
            return summaries
        finally:
            connection.close()


def _checksum(run_id: str, summary: str, signature: str) -> str:
    """Guards each row against edits: a row that does not match its checksum is re-read."""
    import hashlib

    return hashlib.sha256(f"{run_id}\0{summary}\0{signature}".encode()).hexdigest()
