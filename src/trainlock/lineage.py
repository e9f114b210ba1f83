"""The on-disk formats of a run: ``lineage.json`` (a typed, versioned model) and ``events.jsonl``.

``lineage.json`` is written last and atomically: its presence marks a run complete, and
its content is the proof that ``verify`` re-checks. The format is :class:`Lineage`.
To change it, bump :data:`SCHEMA_VERSION`, keep a reader for every older version in
:data:`READERS` (each turns an old document into today's model), and add a golden run
folder of the new version under ``tests/data/golden/`` (never regenerate an old one).

Versions:

* 1 — the first generation. A predict run had no ``code`` entry; a wrapped run's ``--in``
  and ``--out`` files were recorded but nothing re-checked them.
* 2 — every kind has the same shape: ``parents``, ``declared_inputs``, ``declared_outputs``
  and ``code`` are always present, and ``verify`` re-hashes every file they name.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import IncompleteRunError, IntegrityError

#: version of the lineage.json layout written today; :data:`READERS` reads every version ever written
SCHEMA_VERSION = 2

RunKind = Literal["train", "predict", "sweep", "run"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Record):
    """A file the run depends on: in this run folder, or in the run ``run`` when that is set."""

    path: str
    sha256: str
    run: str | None = None


class ModelRef(FileRef):
    format: str = "skops"
    #: the types skops may build when loading the file; recorded, so that loading trusts nothing else
    trusted_types: list[str] = []


class OutputFile(_Record):
    """A file of the run folder itself."""

    path: str
    size: int
    sha256: str


class FileDigest(_Record):
    size: int
    sha256: str


class DeclaredFile(_Record):
    """A file or folder outside the run folder that a run read (``--in``) or wrote (``--out``)."""

    #: as given, relative to the command's working directory (or absolute)
    path: str
    kind: Literal["file", "directory"]
    sha256: str
    size: int | None = None
    #: a folder's files by relative path, so that a change names the file inside it
    files: dict[str, FileDigest] | None = None


class CommandRecord(_Record):
    argv: list[str]
    cwd: str
    #: recorded by ``trainlock.start()`` inside the user's own process: there is no command to re-run
    in_process: bool = False


class Identity(_Record):
    #: data, config (seed included) and code
    strict_key: str
    #: the same without the seed: runs that differ only by seed share it
    replicate_key: str


class Seeds(_Record):
    base: int | None = None
    derived: dict[str, int] = {}


class Lineage(_Record):
    """The proof of one run; every kind of run has this shape."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    kind: RunKind
    name: str | None = None
    #: the run this one derives from (a predict's model, a reproduction's original), else None
    parent: str | None = None
    #: every run this one read from, the parent first
    parents: list[str] = []
    dataset: FileRef | None = None
    config: FileRef | None = None
    model: ModelRef | None = None
    threshold: FileRef | None = None
    #: every file of the run folder but lineage.json, by relative path
    outputs: dict[str, OutputFile]
    command: CommandRecord | None = None
    declared_inputs: dict[str, DeclaredFile] = {}
    declared_outputs: dict[str, DeclaredFile] = {}
    fingerprints: dict[str, str] = {}
    #: the ordered checkpoints: ``{step, sha256[, structure]}``
    trace: list[dict[str, str]] = []
    identity: Identity | None = None
    seeds: Seeds = Seeds()
    code: dict[str, Any] | None = None
    #: a wrapped run's models and artefacts, by name (what ``trainlock.current_run()`` recorded)
    models: dict[str, dict[str, Any]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    #: the runs a sweep made
    children: list[str] = []

    def to_json(self) -> dict[str, Any]:
        """The document as written to lineage.json (every field, ``null`` where absent)."""
        return self.model_dump(mode="json")


# -- readers, one per schema version ----------------------------------------------------

Reader = Callable[[dict[str, Any]], Lineage]


def _read_v1(document: dict[str, Any]) -> Lineage:
    upgraded = dict(document)
    upgraded["schema_version"] = 1
    parent = upgraded.get("parent")
    upgraded.setdefault("parents", [parent] if parent else [])
    if upgraded.get("identity") == {}:
        upgraded["identity"] = None  # a v1 sweep wrote an empty identity
    return Lineage.model_validate(upgraded)


def _read_v2(document: dict[str, Any]) -> Lineage:
    return Lineage.model_validate(document)


READERS: dict[int, Reader] = {1: _read_v1, 2: _read_v2}


def parse_lineage(text: str, source: Path) -> Lineage:
    """Parse and validate a lineage.json document of any version this trainlock reads."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{source} is not valid JSON ({exc}); the lineage was damaged") from None
    if not isinstance(document, dict):
        raise IntegrityError(f"{source} does not hold a JSON object; the lineage was damaged")
    version = document.get("schema_version")
    reader = READERS.get(version) if isinstance(version, int) else None
    if reader is None:
        raise IntegrityError(
            f"{source} has schema_version {version!r}; this trainlock reads {sorted(READERS)}; upgrade trainlock"
        )
    try:
        return reader(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<top level>"
        raise IntegrityError(f"{source}: {where}: {first['msg']}; the lineage was damaged") from None


def read_lineage(path: Path) -> Lineage:
    """Read the lineage.json at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IncompleteRunError(f"{path} is missing: the run did not complete; it cannot be used") from None
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"{path} is not UTF-8 text ({exc}); the lineage was damaged") from None
    return parse_lineage(text, path)


# -- events.jsonl -------------------------------------------------------------------------

EventName = Literal["started", "step", "completed", "failed"]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

    def emit(self, event: EventName, **fields: Any) -> dict[str, Any]:
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


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of an events.jsonl file, in order; an absent file has none."""
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a damaged line is reported by verify through the file's hash
            if isinstance(event, dict):
                events.append(event)
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
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return commit.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER")
