"""A store's tamper-evident ledger: ``<store>/ledger.jsonl``, one line per completed run.

Each line is the canonical JSON of ``{run_id, lineage_sha256, prev}``, where ``prev`` is
the SHA-256 of the previous line's bytes (UTF-8, without its newline) and ``null`` on
the first line. Editing, deleting or reordering a line breaks the chain at the line
after it; changing a run's lineage.json breaks its line's ``lineage_sha256``; deleting a
run folder leaves a line that names a missing run. The last line's hash (the head) is
what a reviewer can write down to notice a truncated or rewritten ledger later.

Appends hold an exclusive ``flock`` on ``<store>/.ledger.lock`` (a separate file, because
the ledger itself is replaced atomically on every append), so concurrent runs on one
machine never fork the chain. Walking the whole chain is ``trainlock verify --store``
(:mod:`trainlock.supply.ledger`); this module appends and answers for one run.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import atomic
from .checks import Check
from .errors import LedgerError
from .hashing import canonical_json, sha256_bytes

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = ".ledger.lock"
ENTRY_KEYS = frozenset({"run_id", "lineage_sha256", "prev"})


def line_hash(line: str) -> str:
    return sha256_bytes(line.encode("utf-8"))


def parse_line(line: str) -> dict[str, Any] | None:
    """A ledger entry, or None for a line that is not one exactly as written."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS or not isinstance(entry["run_id"], str):
        return None
    # a line re-serialised differently still parses; only the exact canonical form is the original
    return entry if canonical_json(entry) == line else None


@dataclass(frozen=True)
class Ledger:
    """The ledger of the store at ``root``."""

    root: Path

    @property
    def path(self) -> Path:
        return self.root / LEDGER_FILE

    def lines(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"{self.path} cannot be read ({exc}); restore it from a backup or move it aside"
            ) from None
        if not text:
            return []
        return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")

    def append(self, run_id: str, lineage_sha256: str) -> dict[str, Any]:
        """Append a completed run, chained to the line before it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._exclusive():
            lines = self.lines()
            entry = {
                "run_id": run_id,
                "lineage_sha256": lineage_sha256,
                "prev": line_hash(lines[-1]) if lines else None,
            }
            lines.append(canonical_json(entry))
            atomic.write_text(self.path, "".join(line + "\n" for line in lines))
        return entry

    def check(self, run_id: str, lineage_sha256: str, *, in_store: bool = True) -> Check:
        """``verify RUN``'s ledger check: the run's latest line records this lineage.

        A run folder outside the store (a path given to ``verify``) may never have been
        recorded here; its absence is then reported as skipped, not as a deletion.
        """
        if not self.path.is_file():
            return Check("ledger entry", "skipped", detail=f"no {LEDGER_FILE} in the store {self.root}")
        recorded = [entry for entry in map(parse_line, self.lines()) if entry is not None and entry["run_id"] == run_id]
        if not recorded:
            if not in_store:
                return Check("ledger entry", "skipped", detail=f"run folder is outside the store {self.root}")
            return Check("ledger entry", "missing", detail=f"run {run_id} is not in {self.path}")
        expected = recorded[-1]["lineage_sha256"]
        if expected != lineage_sha256:
            return Check(
                "ledger entry",
                "changed",
                None,
                expected,
                lineage_sha256,
                f"lineage.json does not match its line in {LEDGER_FILE}: the lineage was changed",
            )
        return Check("ledger entry", "ok", None, expected, lineage_sha256)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        descriptor = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock
