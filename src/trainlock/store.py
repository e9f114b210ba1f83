"""The store that holds runs: a folder (:class:`LocalStore`) or an object-storage URL (``RemoteStore``).

A store is built once, at the command line's boundary (:func:`open_store`), and handed
to every verb: it owns run ids and claims, look-up and listing, the hash cache, the run
index and the ledger. Nothing derives a store from a run folder's parent, so a run
written at a fixed ``--run-dir`` (a DVC stage's output) still records its ledger line and
hash cache entries in the store it was given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .checks import Check
from .errors import StorePathError
from .hashcache import CACHE_FILE, HashCache
from .index import RunIndex, RunSummary
from .ledger import Ledger
from .remote.store import RemoteStore
from .run import (
    FOLDER_NAME_PATTERN,
    RUN_ID_PATTERN,
    ClaimedFolder,
    RunFolder,
    claim_fixed_folder,
    folder_at,
    match_run_id,
    new_run_id,
)

DEFAULT_STORE = "runs"
STORE_ENV = "TRAINLOCK_STORE"
#: ``scheme://...``; a Windows drive letter (``C:\``) has no ``//`` and stays a folder
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


class Store(Protocol):
    """What every verb may ask of a store."""

    @property
    def location(self) -> str:
        """The folder or URL, as a user would pass it to ``--store``."""
        ...

    @property
    def local_root(self) -> Path:
        """The local folder whose sub-folders are this store's run folders (an object store's mirror)."""
        ...

    @property
    def hash_cache(self) -> HashCache: ...

    def claim(self, fixed: str | os.PathLike[str] | None = None) -> ClaimedFolder:
        """A new, empty run folder (at ``fixed`` when given: absent or empty, its name the run id)."""
        ...

    def record_completed(self, folder: RunFolder, lineage_sha256: str) -> None:
        """Add a run whose lineage.json was just written to the ledger."""
        ...

    def ledger_check(self, folder: RunFolder, lineage_sha256: str) -> Check: ...

    def find(self, ref: str, *, require_complete: bool = True) -> RunFolder:
        """A run by folder path, id or unique id prefix."""
        ...

    def runs(self) -> list[RunFolder]:
        """Every run folder, oldest first (run ids sort by time), made current for listing."""
        ...

    def contains(self, folder: RunFolder) -> bool:
        """Whether ``folder`` is one of this store's own run folders."""
        ...

    def summaries(self, *, rebuild: bool = False) -> list[RunSummary]:
        """Every run's summary, oldest first, from the run index (refreshed from the folders)."""
        ...


@dataclass(frozen=True)
class _LocalClaim:
    folder: RunFolder

    def release(self, *, completed: bool) -> RunFolder:
        return self.folder


@dataclass(frozen=True)
class LocalStore:
    """A store in a local folder: ``<root>/<run_id>/`` plus the ledger, hash cache and index."""

    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def local_root(self) -> Path:
        return self.root

    @property
    def hash_cache(self) -> HashCache:
        return HashCache(self.root / CACHE_FILE)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.root)

    def claim(self, fixed: str | os.PathLike[str] | None = None) -> ClaimedFolder:
        if fixed is not None:
            return _LocalClaim(claim_fixed_folder(fixed))
        root = self.root.absolute()
        root.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            run_dir = root / new_run_id()
            try:
                os.mkdir(run_dir)
            except FileExistsError:
                continue  # another process claimed this id in the same instant; draw again
            return _LocalClaim(RunFolder(run_dir))
        raise StorePathError(
            f"could not claim a new run folder in {root} after 100 attempts; check the store is writable"
        )

    def record_completed(self, folder: RunFolder, lineage_sha256: str) -> None:
        self.ledger.append(folder.run_id, lineage_sha256)

    def ledger_check(self, folder: RunFolder, lineage_sha256: str) -> Check:
        return self.ledger.check(folder.run_id, lineage_sha256, in_store=self.contains(folder))

    def find(self, ref: str, *, require_complete: bool = True) -> RunFolder:
        folder = folder_at(ref)
        if folder is None and FOLDER_NAME_PATTERN.match(ref):
            folder = folder_at(str(self.root / ref))  # a run written at a fixed --run-dir in the store
        if folder is None:
            folder = RunFolder(self.root / match_run_id(ref, [p.name for p in self._folders()], self.location))
        return folder.require_complete() if require_complete else folder

    def runs(self) -> list[RunFolder]:
        return [RunFolder(path) for path in self._folders()]

    def contains(self, folder: RunFolder) -> bool:
        return folder.path.resolve().parent == self.root.resolve()

    def summaries(self, *, rebuild: bool = False) -> list[RunSummary]:
        index = RunIndex(self.root)
        return index.rebuild() if rebuild else index.summaries()

    def _folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if RUN_ID_PATTERN.match(p.name) and p.is_dir())


def require_local(store: Store, what: str) -> LocalStore:
    """The store as a folder, for the commands that only a folder supports."""
    if not isinstance(store, LocalStore):
        raise StorePathError(
            f"store '{store.location}' is on object storage, which {what} does not support; pass --store DIR"
        )
    return store


def open_store(where: str | os.PathLike[str] | None = None, storage_options: Sequence[str] = ()) -> Store:
    """The store that ``--store`` names: the argument, else ``$TRAINLOCK_STORE``, else ``./runs``."""
    chosen = os.fspath(where) if where not in (None, "") else os.environ.get(STORE_ENV) or DEFAULT_STORE
    assert isinstance(chosen, str)
    if is_url(chosen):
        return RemoteStore.open(chosen, storage_options)
    if storage_options:
        raise StorePathError(
            "--storage-option applies to object-storage stores; "
            "pass --store s3://BUCKET/PREFIX (or set TRAINLOCK_STORE)"
        )
    return LocalStore(Path(chosen))
