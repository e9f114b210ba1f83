"""The on-disk formats of a run: lineage.json and events.jsonl, declared in one place.

``lineage.json`` is written last and atomically: its presence marks a run complete,
and its content is the proof that ``verify`` re-checks. Bump :data:`SCHEMA_VERSION`
when a field changes meaning, and keep a reader for every older version (golden
files live in ``tests/data/``, never regenerated).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import atomic
from .errors import IncompleteRunError, IntegrityError
from .store import EVENTS_FILE, LINEAGE_FILE

#: version of the lineage.json layout; readers accept every version listed in READERS
SCHEMA_VERSION = 1

#: the named entries every train lineage carries, readable by the seed project's consumers
NAMED_ENTRIES = ("dataset", "config", "model", "threshold")

RunKind = str  # "train", "predict"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_lineage(run_dir: Path) -> dict[str, Any]:
    """Read and check the shape of a run's lineage.json."""
    path = run_dir / LINEAGE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IncompleteRunError(f"{path} is missing: the run did not complete; it cannot be used") from None
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc}); the lineage was damaged") from None
    if not isinstance(document, dict):
        raise IntegrityError(f"{path} does not hold a JSON object; the lineage was damaged")
    version = document.get("schema_version")
    reader = READERS.get(version)
    if reader is None:
        raise IntegrityError(
            f"{path} has schema_version {version!r}; this trainlock reads {sorted(READERS)}; upgrade trainlock"
        )
    return reader(document, path)


def _read_v1(document: dict[str, Any], path: Path) -> dict[str, Any]:
    for key in ("run_id", "kind", "outputs", "fingerprints", "trace", "identity", "seeds"):
        if key not in document:
            raise IntegrityError(f"{path} lacks the '{key}' field; the lineage was damaged")
    if not isinstance(document["outputs"], dict):
        raise IntegrityError(f"{path}: 'outputs' is not an object; the lineage was damaged")
    return document


READERS = {1: _read_v1}


def write_lineage(run_dir: Path, lineage: dict[str, Any]) -> None:
    from .supply.ledger import record_run

    atomic.write_json(run_dir / LINEAGE_FILE, {**lineage, "schema_version": SCHEMA_VERSION})
    # the completion point of every run kind, so the store's ledger learns of each run here
    record_run(run_dir)


@dataclass
class EventLog:
    """events.jsonl: one JSON object per line.

    Each event is one ``write`` of one whole line to a file opened with O_APPEND, which
    POSIX makes atomic for regular files: a reader sees whole lines only (and skips a
    line a crash could cut short). Rewriting the file per event, as the atomic-file rule
    would have it, cost ~9 ms an event; the boundary events (started, completed, failed)
    are still fsynced so that the record of a run's outcome is durable.
    """

    path: Path

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time_utc": utc_now(), **fields}
        line = (json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            if event != "step":
                os.fsync(fd)
        finally:
            os.close(fd)
        return record

    @classmethod
    def for_run(cls, run_dir: Path) -> EventLog:
        return cls(run_dir / EVENTS_FILE)


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / EVENTS_FILE
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a damaged line is reported by verify through the file's hash
    return events


def invocation(command: str, argv: list[str] | None) -> dict[str, Any]:
    """What the started event records about who ran what, where."""
    cwd = Path.cwd()
    commit, dirty = git_state(cwd)
    return {
        "command": command,
        "argv": list(argv) if argv is not None else list(sys.argv),
        "cwd": str(cwd),
        "git_commit": commit,
        "git_dirty": dirty,
        "user": _user(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }


def git_state(directory: Path) -> tuple[str | None, bool | None]:
    """The commit and dirty flag of the repository containing ``directory``, if any."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=10, check=False
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory, capture_output=True, text=True, timeout=30, check=False,
        )
        return commit.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER")
