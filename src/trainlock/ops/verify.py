"""`trainlock verify`: re-check every hash a run's lineage records."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import TrainlockError
from ..hashcache import HashCache, hash_files
from ..hashing import sha256_file
from ..lineage import read_lineage
from ..store import find_run, inside

Status = Literal["ok", "changed", "missing", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    path: str | None = None
    expected: str | None = None
    actual: str | None = None
    detail: str | None = None


@dataclass
class VerifyReport:
    run_id: str
    run_dir: str
    kind: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status in ("ok", "skipped") for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status not in ("ok", "skipped")]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_dir": self.run_dir, "kind": self.kind, "ok": self.ok,
                "checks": [asdict(check) for check in self.checks]}


def verify(run: str, *, store: str | os.PathLike[str] | None = None, data_path: str | None = None,
           rehash: bool = False, env: bool = False, pubkey: str | os.PathLike[str] | None = None) -> VerifyReport:
    """Re-hash every input and output named in lineage.json and re-derive the fingerprints.

    The dataset's hash comes from the store's stat cache when the file is unchanged;
    ``rehash=True`` reads it again whatever the cache says. The run's line in the store's
    ledger must match its lineage.json. ``env=True`` also compares the running environment
    with the recorded one; ``pubkey`` also checks the run's signed attestation.
    """
    from ..supply.attest import attestation_checks
    from ..supply.envcheck import environment_checks
    from ..supply.ledger import ledger_check

    ref = find_run(run, store)
    lineage = read_lineage(ref.run_dir)
    report = VerifyReport(ref.run_id, str(ref.run_dir), str(lineage.get("kind")))
    changed_files: set[str] = set()
    present = [inside(ref.run_dir, o.get("path", n)) for n, o in lineage["outputs"].items()]
    hashes = hash_files(p for p in present if p.is_file())  # all outputs at once, in parallel
    for name, output in sorted(lineage["outputs"].items()):
        check = _file_check(f"output {name}", ref.run_dir, output.get("path", name), output.get("sha256"),
                            output.get("size"), hashes)
        if check.status != "ok":
            changed_files.add(output.get("path", name))
        report.checks.append(check)
    for entry in ("config", "model", "threshold"):
        report.checks.extend(_named_entry_check(entry, lineage, ref.run_dir))
        report.checks.extend(_parent_entry_check(entry, lineage, ref.run_dir))
    if lineage.get("dataset"):
        cache = HashCache(None) if rehash else HashCache.for_store(ref.run_dir.parent)
        report.checks.append(_dataset_check(lineage, data_path, cache))
    if lineage.get("kind") == "train":
        report.checks.append(_model_fingerprint_check(lineage, ref.run_dir, changed_files))
    if (lineage.get("fingerprints") or {}).get("predictions"):
        report.checks.append(_predictions_check(lineage, ref.run_dir, changed_files))
    report.checks.append(ledger_check(ref.run_dir, ref.run_id))
    if env:
        report.checks.extend(environment_checks(ref.run_dir))
    if pubkey is not None:
        report.checks.extend(attestation_checks(ref.run_dir, ref.run_id, pubkey))
    return report


def _file_check(name: str, run_dir: Path, relative: str, expected: str | None, size: int | None = None,
                known: dict[Path, str] | None = None) -> Check:
    path = inside(run_dir, relative)
    if not path.is_file():
        return Check(name, "missing", relative, expected, None, "file is missing")
    actual = (known or {}).get(path) or sha256_file(path)
    if actual != expected:
        actual_size = path.stat().st_size
        detail = f"size {actual_size}, recorded {size}" if size is not None and size != actual_size else "content changed"
        return Check(name, "changed", relative, expected, actual, detail)
    return Check(name, "ok", relative, expected, actual)


def _named_entry_check(entry: str, lineage: dict[str, Any], run_dir: Path) -> list[Check]:
    record = lineage.get(entry)
    if not record or record.get("run"):
        return []  # an entry that lives in another run is checked there (_parent_entry_check)
    output = lineage["outputs"].get(record["path"])
    if output is None or output.get("sha256") != record.get("sha256"):
        return [Check(f"{entry} entry", "changed", record.get("path"), record.get("sha256"),
                      output.get("sha256") if output else None, "lineage entry disagrees with outputs")]
    return []


def _dataset_check(lineage: dict[str, Any], data_path: str | None, cache: HashCache) -> Check:
    dataset = lineage.get("dataset") or {}
    path = Path(data_path or dataset.get("path", ""))
    if not path.is_file():
        return Check("dataset", "missing", str(path), dataset.get("sha256"), None,
                     "dataset not found at its recorded path; pass --data PATH to check a moved copy")
    actual = cache.sha256(path)
    status: Status = "ok" if actual == dataset.get("sha256") else "changed"
    return Check("dataset", status, str(path), dataset.get("sha256"), actual, None if status == "ok" else "content changed")


def _model_fingerprint_check(lineage: dict[str, Any], run_dir: Path, changed: set[str]) -> Check:
    from ..fingerprint import fingerprint
    from ..model_io import load_run_model

    model = lineage["model"]
    expected = lineage["fingerprints"].get("model")
    if model["path"] in changed:
        # never deserialise a model whose bytes are not the recorded ones
        return Check("model fingerprint", "skipped", model["path"], expected, None, "model file changed; not loaded")
    try:
        loaded = load_run_model(run_dir, lineage)
        actual = fingerprint(loaded)
    except TrainlockError as exc:
        return Check("model fingerprint", "changed", model["path"], expected, None, str(exc))
    status: Status = "ok" if actual == expected else "changed"
    return Check("model fingerprint", status, model["path"], expected, actual)


def _predictions_check(lineage: dict[str, Any], run_dir: Path, changed: set[str]) -> Check:
    from ..predictions import PREDICTIONS_FILE, predictions_fingerprint, read_predictions

    expected = lineage["fingerprints"].get("predictions")
    path = inside(run_dir, PREDICTIONS_FILE)
    if not path.is_file():
        return Check("predictions fingerprint", "missing", PREDICTIONS_FILE, expected, None, "file is missing")
    try:
        actual = predictions_fingerprint(read_predictions(path))
    except Exception as exc:  # a damaged CSV can fail pandas in many ways; all mean "changed"
        return Check("predictions fingerprint", "changed", PREDICTIONS_FILE, expected, None, f"unreadable: {type(exc).__name__}")
    status: Status = "ok" if actual == expected else "changed"
    return Check("predictions fingerprint", status, PREDICTIONS_FILE, expected, actual)


def _parent_entry_check(entry: str, lineage: dict[str, Any], run_dir: Path) -> list[Check]:
    """A predict run names its parent's model, config and threshold: check them in the parent."""
    record = lineage.get(entry)
    if not record or not record.get("run"):
        return []
    parent = record["run"]
    try:
        parent_ref = find_run(str(run_dir.parent / parent))
    except TrainlockError:
        return [Check(f"parent {entry}", "missing", record.get("path"), record.get("sha256"), None,
                      f"parent run {parent} not found beside this run")]
    return [_file_check(f"parent {entry}", parent_ref.run_dir, record.get("path", ""), record.get("sha256"))]
