"""The store's tamper-evident ledger: ``<store>/ledger.jsonl``, one line per completed run.

Each line is the canonical JSON of ``{run_id, lineage_sha256, prev}``, where ``prev`` is
the SHA-256 of the previous line's bytes (UTF-8, without its newline) and ``null`` on
the first line. Editing, deleting or reordering a line breaks the chain at the line
after it; changing a run's lineage.json breaks its line's ``lineage_sha256``; deleting a
run folder leaves a line that names a missing run. The last line's hash (the head) is
what a reviewer can write down to notice a truncated or rewritten ledger later.

Appends hold an exclusive ``flock`` on ``<store>/.ledger.lock`` (a separate file, because
the ledger itself is replaced atomically on every append), so concurrent runs on one
machine never fork the chain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import atomic
from ..hashing import canonical_json, sha256_bytes, sha256_file
from ..store import LINEAGE_FILE, list_runs, resolve_store
from .errors import LedgerError

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = ".ledger.lock"
ENTRY_KEYS = frozenset({"run_id", "lineage_sha256", "prev"})


@contextmanager
def _exclusive(store: Path) -> Iterator[None]:
    import fcntl  # POSIX; trainlock's stores live on Linux and macOS file systems

    descriptor = os.open(store / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path} cannot be read ({exc}); restore it from a backup or move it aside") from None
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def line_hash(line: str) -> str:
    return sha256_bytes(line.encode("utf-8"))


def append(store: Path, run_id: str, lineage_sha256: str) -> dict[str, Any]:
    """Append a completed run to the store's ledger, chained to the line before it."""
    store.mkdir(parents=True, exist_ok=True)
    with _exclusive(store):
        path = store / LEDGER_FILE
        lines = _lines(path)
        entry = {"run_id": run_id, "lineage_sha256": lineage_sha256, "prev": line_hash(lines[-1]) if lines else None}
        lines.append(canonical_json(entry))
        atomic.write_text(path, "".join(line + "\n" for line in lines))
    return entry


def record_run(run_dir: Path) -> dict[str, Any]:
    """Append the run whose lineage.json was just written; its store is the folder holding it."""
    return append(run_dir.parent, run_dir.name, sha256_file(run_dir / LINEAGE_FILE))


# -- verify --store ------------------------------------------------------------------


ProblemKind = Literal["edited", "deleted", "reordered", "duplicate", "run_missing", "lineage_changed", "unlisted"]


@dataclass(frozen=True)
class LedgerProblem:
    kind: ProblemKind
    message: str
    line: int | None = None
    run_id: str | None = None


@dataclass
class LedgerReport:
    store: str
    entries: int = 0
    head: str | None = None
    problems: list[LedgerProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "entries": self.entries, "head": self.head, "ok": self.ok,
                "problems": [asdict(p) for p in self.problems]}


def verify_ledger(store: str | os.PathLike[str] | None = None) -> LedgerReport:
    """Walk the chain, then check every entry against its run folder and every run against the ledger."""
    store_dir = resolve_store(store)
    if not store_dir.is_dir():
        raise LedgerError(f"no store at {store_dir}; pass --store DIR of an existing run store")
    path = store_dir / LEDGER_FILE
    lines = _lines(path)
    report = LedgerReport(str(store_dir), len(lines), line_hash(lines[-1]) if lines else None)
    hashes = [line_hash(line) for line in lines]
    position = {digest: index for index, digest in enumerate(hashes)}
    listed: dict[str, int] = {}
    for index, line in enumerate(lines):
        number = index + 1
        entry = _parse(line)
        if entry is None:
            report.problems.append(LedgerProblem(
                "edited", f"ledger line {number} is not a ledger entry: it was edited", number))
            continue
        run_id = entry["run_id"]
        expected = hashes[index - 1] if index else None
        if entry["prev"] != expected:
            report.problems.append(_chain_break(number, run_id, entry["prev"], position))
        if run_id in listed:
            report.problems.append(LedgerProblem(
                "duplicate", f"run {run_id} is on ledger lines {listed[run_id]} and {number}: a line was copied",
                number, run_id))
            continue
        listed[run_id] = number
        problem = _run_problem(store_dir, number, run_id, entry["lineage_sha256"])
        if problem is not None:
            report.problems.append(problem)
    for ref in list_runs(store_dir):
        if ref.complete and ref.run_id not in listed:
            report.problems.append(LedgerProblem(
                "unlisted", f"run {ref.run_id} is complete but not in {LEDGER_FILE}: its ledger line was deleted",
                None, ref.run_id))
    return report


def _parse(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS or not isinstance(entry["run_id"], str):
        return None
    # a line re-serialised differently still parses; only the exact canonical form is the original
    return entry if canonical_json(entry) == line else None


def _chain_break(number: int, run_id: str, prev: Any, position: dict[str, int]) -> LedgerProblem:
    found = position.get(prev) if isinstance(prev, str) else None
    if found is not None:
        return LedgerProblem("reordered", f"ledger line {number} (run {run_id}) should follow line {found + 1}, "
                                          f"not line {number - 1}: lines were reordered", number, run_id)
    if number == 1:
        return LedgerProblem("deleted", f"ledger line 1 (run {run_id}) follows a line that is gone: "
                                        "the first lines were deleted", number, run_id)
    return LedgerProblem("edited", f"ledger line {number} (run {run_id}) does not follow line {number - 1}: "
                                   f"line {number - 1} was edited or a line after it was deleted", number, run_id)


def _run_problem(store: Path, number: int, run_id: str, lineage_sha256: Any) -> LedgerProblem | None:
    run_dir = store / run_id
    if "/" in run_id or "\\" in run_id or run_id in {"", ".", ".."} or not run_dir.is_dir():
        return LedgerProblem("run_missing", f"run {run_id} (ledger line {number}) is missing from the store: "
                                            "its folder was deleted", number, run_id)
    lineage = run_dir / LINEAGE_FILE
    if not lineage.is_file():
        return LedgerProblem("run_missing", f"run {run_id} (ledger line {number}) has no {LINEAGE_FILE}: "
                                            "it was deleted", number, run_id)
    if sha256_file(lineage) != lineage_sha256:
        return LedgerProblem("lineage_changed", f"run {run_id} (ledger line {number}): {LINEAGE_FILE} does not "
                                                "match its ledger entry: the lineage or the line was changed",
                             number, run_id)
    return None


def ledger_check(run_dir: Path, run_id: str) -> Any:
    """The check ``verify RUN`` adds when the run's store keeps a ledger: its line matches its lineage."""
    from ..ops.verify import Check

    path = run_dir.parent / LEDGER_FILE
    if not path.is_file():
        return Check("ledger entry", "skipped", detail=f"no {LEDGER_FILE} beside the run")
    recorded = [entry for entry in map(_parse, _lines(path)) if entry is not None and entry["run_id"] == run_id]
    if not recorded:
        return Check("ledger entry", "missing", detail=f"run {run_id} is not in {path}")
    actual = sha256_file(run_dir / LINEAGE_FILE)
    if recorded[-1]["lineage_sha256"] != actual:
        return Check("ledger entry", "changed", None, recorded[-1]["lineage_sha256"], actual,
                     f"{LINEAGE_FILE} does not match its line in {LEDGER_FILE}: the lineage was changed")
    return Check("ledger entry", "ok", None, recorded[-1]["lineage_sha256"], actual)
