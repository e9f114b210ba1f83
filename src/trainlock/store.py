"""Run ids, run folders and the store that holds them.

A run id is ``YYYYMMDDTHHMMSSZ-<6 hex>`` (UTC). It is claimed with an atomic
``mkdir`` so that concurrent runs into one store never share a folder.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IncompleteRunError, RunNotFoundError, StorePathError

DEFAULT_STORE = "runs"
STORE_ENV = "TRAINLOCK_STORE"
RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
LINEAGE_FILE = "lineage.json"
EVENTS_FILE = "events.jsonl"

if TYPE_CHECKING:
    from .remote.location import RemoteStore


def _chosen_store(store: Any) -> str:
    chosen = store if store not in (None, "") else os.environ.get(STORE_ENV) or DEFAULT_STORE
    # a RemoteStore (a URL with --storage-option) is not path-like; its str() is its URL
    return os.fspath(chosen) if isinstance(chosen, (str, os.PathLike)) else str(chosen)


def remote_store(store: Any) -> RemoteStore | None:
    """The object-storage store that ``store`` (or ``$TRAINLOCK_STORE``) names, or None for a folder."""
    from .remote.location import RemoteStore, is_url

    if isinstance(store, RemoteStore):
        return store
    text = _chosen_store(store)
    return RemoteStore.parse(text) if is_url(text) else None


def resolve_store(store: str | os.PathLike[str] | None) -> Path:
    """The store folder: the argument, else ``$TRAINLOCK_STORE``, else ``./runs``.

    An object-storage URL is refused here: the commands that support one (train, verify,
    reproduce, diff, runs, report, export) go through :func:`remote_store` first.
    """
    remote = remote_store(store)
    if remote is not None:
        raise StorePathError(
            f"store '{remote.url}' is on object storage, which this command does not support; pass --store DIR "
            "(train, verify RUN, reproduce, diff, runs, report and export accept URL stores)"
        )
    return Path(_chosen_store(store))


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-xxxxxx``: sorting ids sorts runs by start time, also within one second.

    The suffix's first three hex digits are the fraction of the second (in 1/4096 s), the
    last three are random so that runs started at the same instant still get distinct ids.
    """
    now = now or datetime.now(timezone.utc)
    fraction = now.microsecond * 4096 // 1_000_000
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{fraction:03x}{secrets.token_hex(2)[:3]}"


def claim_run_dir(store: Path) -> tuple[str, Path]:
    """Create a new, empty run folder under ``store`` and return its id and path."""
    store = store.absolute()
    store.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        run_id = new_run_id()
        run_dir = store / run_id
        try:
            os.mkdir(run_dir)
        except FileExistsError:
            continue  # another process claimed this id in the same second; draw again
        return run_id, run_dir
    raise StorePathError(f"could not claim a new run folder in {store} after 100 attempts; check the store is writable")


#: created with O_EXCL in a fixed run folder: of two runs given the same --run-dir, exactly one wins
CLAIM_FILE = ".trainlock-claim"


def claim_fixed_run_dir(path: str | os.PathLike[str]) -> tuple[str, Path]:
    """Claim the folder ``path`` (absent or empty) as a run folder; its name is the run id.

    For tools such as DVC that declare a stage's output at a fixed path. The folder
    name serves as the run id so that ``find_run`` on the path and a sibling's
    ``parent`` link agree.
    """
    run_dir = Path(path).absolute()
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
    return run_dir.name, run_dir


@dataclass(frozen=True)
class RunRef:
    run_id: str
    run_dir: Path
    #: the object store a run was materialised from (its run_dir is then a local mirror copy)
    origin: RemoteStore | None = field(default=None, compare=False, repr=False)

    @property
    def lineage_path(self) -> Path:
        return self.run_dir / LINEAGE_FILE

    @property
    def complete(self) -> bool:
        return self.lineage_path.is_file()


def find_run(ref: str, store: str | os.PathLike[str] | None = None, *, require_complete: bool = True) -> RunRef:
    """Look ``ref`` up as a run folder path, else as a run id (or unique id prefix) in the store."""
    candidate = Path(ref)
    if candidate.is_dir() and (candidate / EVENTS_FILE).exists() or (candidate / LINEAGE_FILE).is_file():
        run = RunRef(candidate.name, candidate)
    elif (remote := remote_store(store)) is not None:
        from .remote.materialise import find_remote_run

        run = find_remote_run(ref, remote)
    else:
        store_dir = resolve_store(store)
        if "/" in ref or "\\" in ref or ref in {"", ".", ".."}:
            raise RunNotFoundError(f"no run folder at '{ref}'; pass a run folder path or a run id from 'trainlock runs'")
        matches = sorted(p for p in store_dir.glob(f"{glob_escape(ref)}*") if p.is_dir() and RUN_ID_PATTERN.match(p.name))
        exact = [p for p in matches if p.name == ref]
        if exact:
            matches = exact
        if not matches:
            raise RunNotFoundError(
                f"no run '{ref}' in store {store_dir}; list runs with 'trainlock runs --store {store_dir}' or pass a run folder path"
            )
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches[:5])
            raise RunNotFoundError(f"run id prefix '{ref}' is ambiguous in {store_dir}: {names}; give more characters")
        run = RunRef(matches[0].name, matches[0])
    if require_complete and not run.complete:
        raise IncompleteRunError(
            f"run {run.run_id} has no lineage.json: it crashed or is still running; it cannot be verified or used"
        )
    return run


def list_runs(store: str | os.PathLike[str] | None = None) -> list[RunRef]:
    """Every run folder in the store, oldest first (run ids sort by time)."""
    store_dir = resolve_store(store)
    if not store_dir.is_dir():
        return []
    return [RunRef(p.name, p) for p in sorted(store_dir.iterdir()) if p.is_dir() and RUN_ID_PATTERN.match(p.name)]


def inside(run_dir: Path, relative: str) -> Path:
    """Join a path recorded in lineage onto its run folder, refusing any escape."""
    if not relative or Path(relative).is_absolute():
        raise StorePathError(f"recorded path '{relative}' must be relative to the run folder")
    root = run_dir.resolve()
    joined = (root / relative).resolve()
    if joined != root and root not in joined.parents:
        raise StorePathError(f"recorded path '{relative}' escapes the run folder {run_dir}")
    return joined


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
