"""``trainlock verify --store``: walk a store's ledger (:mod:`trainlock.ledger`) line by line.

The chain is checked from the first line to the head, every entry against its run folder,
and every complete run folder against the ledger, so that an edited, deleted, reordered
or copied line, a changed lineage, a deleted run and a deleted line are each named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import LedgerError
from ..hashing import sha256_file
from ..ledger import LEDGER_FILE, line_hash, parse_line
from ..run import LINEAGE, RUN_ID_PATTERN
from ..store import LocalStore

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
        return {
            "store": self.store,
            "entries": self.entries,
            "head": self.head,
            "ok": self.ok,
            "problems": [asdict(p) for p in self.problems],
        }


def verify_ledger(store: LocalStore) -> LedgerReport:
    """Walk the chain, then check every entry against its run folder and every run against the ledger."""
    if not store.root.is_dir():
        raise LedgerError(f"no store at {store.root}; pass --store DIR of an existing run store")
    lines = store.ledger.lines()
    report = LedgerReport(str(store.root), len(lines), line_hash(lines[-1]) if lines else None)
    hashes = [line_hash(line) for line in lines]
    position = {digest: index for index, digest in enumerate(hashes)}
    listed: dict[str, int] = {}
    for index, line in enumerate(lines):
        number = index + 1
        entry = parse_line(line)
        if entry is None:
            report.problems.append(
                LedgerProblem("edited", f"ledger line {number} is not a ledger entry: it was edited", number)
            )
            continue
        run_id = entry["run_id"]
        expected = hashes[index - 1] if index else None
        if entry["prev"] != expected:
            report.problems.append(_chain_break(number, run_id, entry["prev"], position))
        if run_id in listed:
            report.problems.append(
                LedgerProblem(
                    "duplicate",
                    f"run {run_id} is on ledger lines {listed[run_id]} and {number}: a line was copied",
                    number,
                    run_id,
                )
            )
            continue
        listed[run_id] = number
        problem = _run_problem(store, number, run_id, entry["lineage_sha256"])
        if problem is not None:
            report.problems.append(problem)
    for folder in store.runs():
        if folder.complete and folder.run_id not in listed:
            report.problems.append(
                LedgerProblem(
                    "unlisted",
                    f"run {folder.run_id} is complete but not in {LEDGER_FILE}: its ledger line was deleted",
                    None,
                    folder.run_id,
                )
            )
    return report


def _chain_break(number: int, run_id: str, prev: Any, position: dict[str, int]) -> LedgerProblem:
    found = position.get(prev) if isinstance(prev, str) else None
    if found is not None:
        return LedgerProblem(
            "reordered",
            f"ledger line {number} (run {run_id}) should follow line {found + 1}, "
            f"not line {number - 1}: lines were reordered",
            number,
            run_id,
        )
    if number == 1:
        return LedgerProblem(
            "deleted",
            f"ledger line 1 (run {run_id}) follows a line that is gone: the first lines were deleted",
            number,
            run_id,
        )
    return LedgerProblem(
        "edited",
        f"ledger line {number} (run {run_id}) does not follow line {number - 1}: "
        f"line {number - 1} was edited or a line after it was deleted",
        number,
        run_id,
    )


def _run_problem(store: LocalStore, number: int, run_id: str, lineage_sha256: Any) -> LedgerProblem | None:
    if not RUN_ID_PATTERN.match(run_id) or not (store.root / run_id).is_dir():
        return LedgerProblem(
            "run_missing",
            f"run {run_id} (ledger line {number}) is missing from the store: its folder was deleted",
            number,
            run_id,
        )
    lineage = store.root / run_id / LINEAGE.name
    if not lineage.is_file():
        return LedgerProblem(
            "run_missing", f"run {run_id} (ledger line {number}) has no {LINEAGE.name}: it was deleted", number, run_id
        )
    if sha256_file(lineage) != lineage_sha256:
        return LedgerProblem(
            "lineage_changed",
            f"run {run_id} (ledger line {number}): {LINEAGE.name} does not "
            "match its ledger entry: the lineage or the line was changed",
            number,
            run_id,
        )
    return None
