"""A stat cache for file hashes: (path, size, mtime_ns, inode, device) → sha256, in SQLite.

Re-verifying an unchanged multi-gigabyte dataset then costs one ``stat`` and one query.
Like git's index it guards against "racy" entries: a file modified within the clock
granularity of when it was hashed could change again without changing its stat, so an
entry is trusted only when the file's mtime is comfortably older than the hash.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .hashing import sha256_file

CACHE_FILE = "hashcache.sqlite"
#: an entry whose file changed less than this before it was hashed is re-hashed next time
RACY_WINDOW_NS = 2_000_000_000

ByteProgress = Callable[[int], None]


class HashCache:
    """File hashes keyed by stat; ``HashCache(None)`` hashes every time."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    @classmethod
    def for_store(cls, store: Path) -> HashCache:
        return cls(store / CACHE_FILE)

    def _db(self) -> sqlite3.Connection | None:
        # one short-lived connection per lookup: no handle outlives the call, and concurrent runs
        # sharing the store only ever wait on SQLite's own locks
        if self.path is None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                "inode INTEGER, device INTEGER, sha256 TEXT, hashed_ns INTEGER)"
            )
        except (sqlite3.Error, OSError):
            self.path = None  # a read-only or damaged store: fall back to hashing, never fail
            return None
        return connection

    def sha256(self, file: Path, progress: ByteProgress | None = None) -> str:
        db = self._db()
        try:
            return self._sha256(db, file, progress)
        finally:
            if db is not None:
                db.close()

    def _sha256(self, db: sqlite3.Connection | None, file: Path, progress: ByteProgress | None) -> str:
        absolute = str(Path(file).absolute())
        stat = os.stat(absolute)
        key = (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev)
        if db is not None:
            try:
                row = db.execute(
                    "SELECT size, mtime_ns, inode, device, sha256, hashed_ns FROM files WHERE path = ?", (absolute,)
                ).fetchone()
            except sqlite3.Error:
                row = None
            if row is not None and tuple(row[:4]) == key and row[1] < row[5] - RACY_WINDOW_NS:
                return str(row[4])
        hashed_ns = time.time_ns()
        digest = sha256_file(absolute, progress=progress)
        if db is not None:
            # the cache is an optimisation; a failed write only costs a re-hash later
            with contextlib.suppress(sqlite3.Error):
                db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", (absolute, *key, digest, hashed_ns)
                )
        return digest


def hash_files(paths: Iterable[Path], *, workers: int | None = None) -> dict[Path, str]:
    """SHA-256 of several files in parallel threads (hashlib releases the GIL on large reads)."""
    ordered = sorted(Path(p) for p in paths)
    if len(ordered) <= 1:
        return {path: sha256_file(path) for path in ordered}
    with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2))) as pool:
        return dict(zip(ordered, pool.map(sha256_file, ordered), strict=True))
