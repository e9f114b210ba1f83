"""The run folder and the one life cycle every kind of run goes through.

A :class:`RunFolder` is a run's folder: its files are the named entries of
:data:`MANIFEST`, read through typed readers and written atomically. A
:class:`RunRecorder` owns a run from its claim to its lineage, the same way for every kind
(train, predict, sweep, reproduce, ``run -- CMD``, a DVC stage's fixed ``--run-dir``)::

    claim → liveness lock → ``started`` → files, written atomically → inputs and outputs hashed
          → ``completed`` → ``lineage.json`` (last: the completion mark) → ledger line

and any exception before the lineage is written records ``failed`` (``interrupted`` for a
signal) and propagates. The store that claims the folder and keeps the ledger is handed
in; this module knows it only as the small :class:`RunHome` protocol, so the store can sit
above it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

from . import __version__, atomic, runlock
from .errors import DataError, IncompleteRunError, RunNotFoundError, StorePathError
from .hashing import canonical_hash, sha256_file
from .lineage import (
    DeclaredFile,
    EventLog,
    EventName,
    FileDigest,
    Lineage,
    OutputFile,
    RunKind,
    invocation,
    read_events,
    read_lineage,
)

# -- run ids ---------------------------------------------------------------------------------

RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
#: a --run-dir folder's name is its run id: a plain, bounded name
FOLDER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-xxxxxx``: sorting ids sorts runs by start time, also within one second.

    The suffix's first three hex digits are the fraction of the second (in 1/4096 s), the
    last three are random so that runs started at the same instant still get distinct ids.
    """
    now = now or datetime.now(UTC)
    fraction = now.microsecond * 4096 // 1_000_000
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{fraction:03x}{secrets.token_hex(2)[:3]}"


# -- the manifest: every file a run folder may hold ---------------------------------------

FileFormat = Literal["json", "jsonl", "yaml", "csv", "skops", "text", "sql", "markdown", "bytes"]


@dataclass(frozen=True)
class RunFile:
    """A named entry of a run folder."""

    name: str
    format: FileFormat
    what: str


LINEAGE = RunFile("lineage.json", "json", "the proof; written last, its presence marks the run complete")
EVENTS = RunFile("events.jsonl", "jsonl", "started, step, completed or failed, one JSON object per line")
SNAPSHOT = RunFile("config.snapshot.yaml", "yaml", "the resolved config, canonical")
ENVIRONMENT = RunFile("environment.json", "json", "Python, platform, CPU, packages, thread pools, envelope")
METRICS = RunFile("metrics.json", "json", "CV table, selection, calibration, test metrics (or a run's logged metrics)")
SCHEMA = RunFile("schema.json", "json", "frozen feature schema, target, classes")
THRESHOLD = RunFile("threshold.json", "json", "the decision threshold and how it was chosen")
DRIFT_BASELINE = RunFile("drift_baseline.json", "json", "per-feature statistics predict compares new data with")
DRIFT = RunFile("drift.json", "json", "a predict run's drift report")
FRAGILITY = RunFile("fragility.json", "json", "every threshold decision of the training with its margin")
TRACE_VALUES = RunFile("trace_values.json", "json", "numbers kept per trace step, for diff")
MODEL = RunFile("model.skops", "skops", "the model; never loaded before its hash is verified")
PREDICTIONS = RunFile("predictions.csv", "csv", "test predictions (train) or scored rows (predict)")
SWEEP = RunFile("sweep.json", "json", "a sweep's runs")
STABILITY = RunFile("stability.json", "json", "a sweep's metric spread per replicate group")
STDOUT = RunFile("stdout.log", "bytes", "a wrapped command's standard output")
STDERR = RunFile("stderr.log", "bytes", "a wrapped command's standard error")
REPRODUCTION = RunFile("reproduction.json", "json", "what a reproduction found")

MANIFEST: Mapping[str, RunFile] = {
    entry.name: entry
    for entry in (
        LINEAGE,
        EVENTS,
        SNAPSHOT,
        ENVIRONMENT,
        METRICS,
        SCHEMA,
        THRESHOLD,
        DRIFT_BASELINE,
        DRIFT,
        FRAGILITY,
        TRACE_VALUES,
        MODEL,
        PREDICTIONS,
        SWEEP,
        STABILITY,
        STDOUT,
        STDERR,
        REPRODUCTION,
    )
}

#: hidden machinery of a run folder (liveness lock, claim mark, hand-over file): never part of the run
HIDDEN_PREFIX = "."
#: a --run-dir folder is claimed by creating this file exclusively: of two runs given one folder, one wins
CLAIM_FILE = ".trainlock-claim"


RunState = Literal["complete", "failed", "running", "incomplete"]


def _name(entry: RunFile | str) -> str:
    return entry.name if isinstance(entry, RunFile) else entry


# -- the folder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: where its files are and how to read them."""

    path: Path
    #: where the run lives when ``path`` is a local copy of a run in an object store
    origin: str | None = field(default=None, compare=False)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def complete(self) -> bool:
        return (self.path / LINEAGE.name).is_file()

    def file(self, entry: RunFile | str) -> Path:
        """The path of a file of the run, refusing any that would escape the folder."""
        return inside(self.path, _name(entry))

    def has(self, entry: RunFile | str) -> bool:
        return self.file(entry).is_file()

    # -- typed readers ---------------------------------------------------------------------
    def lineage(self) -> Lineage:
        return read_lineage(self.path / LINEAGE.name)

    def require_complete(self) -> RunFolder:
        if not self.complete:
            raise IncompleteRunError(
                f"run {self.run_id} has no lineage.json: it crashed or is still running; it cannot be verified or used"
            )
        return self

    def state(self, events: list[dict[str, Any]] | None = None) -> RunState:
        """complete, failed, running (its process still holds the run's liveness lock) or incomplete."""
        if self.complete:
            return "complete"
        events = self.events() if events is None else events
        if any(event.get("event") == "failed" for event in events):
            return "failed"
        return "running" if runlock.is_running(self.path) else "incomplete"

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.path / EVENTS.name)

    def started(self) -> dict[str, Any]:
        """The run's ``started`` event (empty when the run has none)."""
        return started_event(self.events())

    def completed(self) -> dict[str, Any]:
        """The run's last ``completed`` event (empty when the run has none)."""
        return next((event for event in reversed(self.events()) if event.get("event") == "completed"), {})

    def read_text(self, entry: RunFile | str) -> str:
        return self.file(entry).read_text(encoding="utf-8")

    def read_json(self, entry: RunFile | str) -> Any:
        return json.loads(self.read_text(entry))

    def read_json_object(self, entry: RunFile | str) -> dict[str, Any]:
        """A JSON object file; an absent, unreadable or non-object file reads as ``{}``.

        For displays (report, UI, index) that show what they can: ``verify`` names the damage.
        """
        try:
            document = self.read_json(entry)
        except (OSError, ValueError, StorePathError):
            return {}
        return document if isinstance(document, dict) else {}

    def metrics(self) -> dict[str, Any]:
        return self.read_json_object(METRICS)

    def schema(self) -> dict[str, Any]:
        return self.read_json_object(SCHEMA)

    def environment(self) -> dict[str, Any]:
        return self.read_json_object(ENVIRONMENT)

    # -- atomic writers --------------------------------------------------------------------
    def write_json(self, entry: RunFile | str, document: Any, *, compact: bool = False) -> Path:
        target = self._target(entry)
        atomic.write_json(target, document, compact=compact)
        return target

    def write_text(self, entry: RunFile | str, text: str) -> Path:
        target = self._target(entry)
        atomic.write_text(target, text)
        return target

    def write_bytes(self, entry: RunFile | str, data: bytes) -> Path:
        target = self._target(entry)
        atomic.write_bytes(target, data)
        return target

    def _target(self, entry: RunFile | str) -> Path:
        target = self.file(entry)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def describe_files(self) -> dict[str, OutputFile]:
        """Every file of the folder but lineage.json and hidden machinery, by relative path, sorted."""
        outputs = {}
        for path in sorted(p for p in self.path.rglob("*") if p.is_file()):
            relative = path.relative_to(self.path).as_posix()
            if relative == LINEAGE.name or any(part.startswith(HIDDEN_PREFIX) for part in relative.split("/")):
                continue
            outputs[relative] = OutputFile(path=relative, size=path.stat().st_size, sha256=sha256_file(path))
        return outputs


def started_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``started`` event among a run's events (empty when there is none)."""
    return next((event for event in events if event.get("event") == "started"), {})


def inside(run_dir: Path, relative: str) -> Path:
    """Join a path recorded in lineage onto its run folder, refusing any escape."""
    if not relative or Path(relative).is_absolute():
        raise StorePathError(f"recorded path '{relative}' must be relative to the run folder")
    root = run_dir.resolve()
    joined = (root / relative).resolve()
    if joined != root and root not in joined.parents:
        raise StorePathError(f"recorded path '{relative}' escapes the run folder {run_dir}")
    return joined


#: longest run reference accepted (an id is 23 characters; a folder path may be longer)
MAX_REF_LENGTH = 4096


def folder_at(ref: str) -> RunFolder | None:
    """The run folder at the path ``ref``, when it names one (it holds events.jsonl or lineage.json)."""
    if len(ref) > MAX_REF_LENGTH:
        raise RunNotFoundError(f"run reference of {len(ref)} characters is too long; pass a run id or a folder path")
    candidate = Path(ref)
    if (candidate / LINEAGE.name).is_file() or (candidate.is_dir() and (candidate / EVENTS.name).exists()):
        return RunFolder(candidate)
    return None


def match_run_id(ref: str, ids: Sequence[str], location: str) -> str:
    """The one run id that ``ref`` names (exactly, or as a unique prefix) among ``ids``."""
    if "/" in ref or "\\" in ref or ref in {"", ".", ".."}:
        raise RunNotFoundError(f"no run folder at '{ref}'; pass a run folder path or a run id from 'trainlock runs'")
    if len(ref) > len("YYYYmmddTHHMMSSZ-xxxxxx"):
        raise RunNotFoundError(
            f"'{ref[:40]}...' is not a run id (YYYYmmddTHHMMSSZ-xxxxxx) and no run folder is there; "
            f"list runs with 'trainlock runs --store {location}'"
        )
    matches = [run_id for run_id in ids if run_id == ref] or [run_id for run_id in ids if run_id.startswith(ref)]
    if not matches:
        raise RunNotFoundError(
            f"no run '{ref}' in store {location}; list runs with 'trainlock runs --store {location}' "
            "or pass a run folder path"
        )
    if len(matches) > 1:
        names = ", ".join(matches[:5])
        raise RunNotFoundError(f"run id prefix '{ref}' is ambiguous in {location}: {names}; give more characters")
    return matches[0]


def claim_fixed_folder(path: str | os.PathLike[str]) -> RunFolder:
    """Claim the folder ``path`` (absent or empty) as a run folder; its name is the run id.

    For tools such as DVC that declare a stage's output at a fixed path. The folder name
    serves as the run id, so that a look-up by path and a child's ``parent`` link agree.
    """
    run_dir = Path(path).absolute()
    if not FOLDER_NAME_PATTERN.match(run_dir.name):
        raise StorePathError(
            f"--run-dir {path}: the folder's name is the run id, so it must be 1-128 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise StorePathError(f"--run-dir {path} is a file; pass a folder that does not exist yet or is empty")
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(run_dir / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        raise StorePathError(
            f"--run-dir {path} already holds a run (or one is being written); remove the folder or choose another"
        ) from None
    others = sorted(entry.name for entry in run_dir.iterdir() if entry.name != CLAIM_FILE)
    if others:
        os.unlink(run_dir / CLAIM_FILE)
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise StorePathError(f"--run-dir {path} is not empty (it holds {shown}); remove it or choose an empty folder")
    return RunFolder(run_dir)


# -- declared inputs and outputs of a run ------------------------------------------------

DeclaredRole = Literal["input", "output"]


def describe_declared(path: str, *, cwd: Path, role: DeclaredRole) -> DeclaredFile:
    """A file (its size and SHA-256) or a folder (every file below it, sorted, and one SHA-256 over them).

    The file system promises no order, so a folder's files are sorted by relative path.
    """
    resolved = cwd / path
    if resolved.is_file():
        return DeclaredFile(path=path, kind="file", size=resolved.stat().st_size, sha256=sha256_file(resolved))
    if resolved.is_dir():
        files = {}
        for item in sorted(p for p in resolved.rglob("*") if p.is_file()):
            files[item.relative_to(resolved).as_posix()] = FileDigest(
                size=item.stat().st_size, sha256=sha256_file(item)
            )
        digest = canonical_hash({name: entry.sha256 for name, entry in files.items()})
        return DeclaredFile(path=path, kind="directory", sha256=digest, files=files)
    flag = "--in" if role == "input" else "--out"
    if role == "input":
        raise DataError(f"{flag} {path}: no such file or folder (from {cwd}); fix the path or create it first")
    raise DataError(f"{flag} {path}: the command exited 0 but did not write it; fix the command or the --out path")


def describe_all_declared(
    paths: list[str] | tuple[str, ...], *, cwd: Path, role: DeclaredRole
) -> dict[str, DeclaredFile]:
    """Each declared path (as given) described, keyed and ordered by path."""
    return {path: describe_declared(path, cwd=cwd, role=role) for path in sorted(dict.fromkeys(paths))}


def declared_difference(recorded: DeclaredFile, now: DeclaredFile) -> str | None:
    """What differs between a recorded file or folder and what is there now: the first file, named."""
    if recorded.sha256 == now.sha256:
        return None
    if recorded.kind != now.kind:
        return f"was a {recorded.kind}, is now a {now.kind}"
    if recorded.files is None or now.files is None:
        size = f"size {now.size}, recorded {recorded.size}" if recorded.size != now.size else "content changed"
        return size
    for name in sorted(set(recorded.files) | set(now.files)):
        before, after = recorded.files.get(name), now.files.get(name)
        if before is None:
            return f"{name} was added"
        if after is None:
            return f"{name} is missing"
        if before.sha256 != after.sha256:
            return f"{name} changed"
    return "content changed"


# -- the life cycle ------------------------------------------------------------------------


class ClaimedFolder(Protocol):
    """A run folder a store has claimed for one run."""

    @property
    def folder(self) -> RunFolder: ...

    def release(self, *, completed: bool) -> RunFolder:
        """The run has ended: publish it where the store needs it; return the folder to read it from."""
        ...


class RunHome(Protocol):
    """What a recorder needs of the store a run goes into."""

    def claim(self, fixed: str | os.PathLike[str] | None = None) -> ClaimedFolder: ...

    def record_completed(self, folder: RunFolder, lineage_sha256: str) -> None:
        """Add a completed run to the store's ledger."""
        ...


class RunRecorder:
    """Owns one run folder from its claim to its lineage (or its failure); used as ``with``.

    ``start`` emits the ``started`` event, ``complete`` seals the run. Leaving the block
    with an exception before ``complete`` wrote the lineage records ``failed``; the
    exception propagates either way.
    """

    def __init__(self, home: RunHome, kind: RunKind, *, fixed: str | os.PathLike[str] | None = None) -> None:
        self.home = home
        self.kind = kind
        self._fixed = fixed
        self._claimed: ClaimedFolder | None = None
        self._stack = contextlib.ExitStack()
        self.lineage: Lineage | None = None
        #: where to read the run after the block (a local copy for an object store)
        self.result: RunFolder | None = None

    @property
    def folder(self) -> RunFolder:
        if self._claimed is None:
            raise RuntimeError("RunRecorder.folder used outside its with-block")
        return self._claimed.folder

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def events(self) -> EventLog:
        return EventLog(self.folder.path / EVENTS.name)

    def __enter__(self) -> RunRecorder:
        self._claimed = self.home.claim(self._fixed)
        # `trainlock gc` leaves a run alone while its process holds this lock
        self._stack.enter_context(runlock.hold(self._claimed.folder.path))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        assert self._claimed is not None
        if error is not None and self.lineage is None:
            self.failed(error)
        self._stack.close()
        if error is None:
            self.result = self._claimed.release(completed=self.lineage is not None)
        else:
            with contextlib.suppress(Exception):  # the run's own error is the one to report
                self._claimed.release(completed=False)

    def start(self, command: str, argv: list[str] | None, **fields: Any) -> dict[str, Any]:
        return self.emit(
            "started", **invocation(command, argv), trainlock=__version__, run_id=self.run_id, kind=self.kind, **fields
        )

    def emit(self, event: EventName, **fields: Any) -> dict[str, Any]:
        return self.events.emit(event, **fields)

    def failed(self, error: BaseException | str, **fields: Any) -> None:
        if isinstance(error, BaseException):
            interrupted = isinstance(error, (KeyboardInterrupt, SystemExit))
            message = str(error) or type(error).__name__
            fields.update(
                error=f"interrupted: {message}" if interrupted else message,
                error_type=type(error).__name__,
                interrupted=interrupted,
            )
        else:
            fields.setdefault("interrupted", False)
            fields["error"] = error
        self.emit("failed", **fields)

    def complete(self, summary: Mapping[str, Any] | None = None, **lineage: Any) -> Lineage:
        """Seal the run: ``completed``, every file hashed, lineage.json written last, the ledger told.

        ``lineage`` holds the kind's own fields of :class:`Lineage`; ``outputs`` is filled here.
        """
        self.emit("completed", **(summary or {}))
        document = Lineage(run_id=self.run_id, kind=self.kind, outputs=self.folder.describe_files(), **lineage)
        path = self.folder.write_json(LINEAGE, document.to_json())
        self.lineage = document
        # an explicit step, after the completion mark: the ledger lists complete runs only
        self.home.record_completed(self.folder, sha256_file(path))
        return document
