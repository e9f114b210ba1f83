"""A run store on object storage, with the same interface as a local folder's (``trainlock.store.Store``).

A run is written in a private local staging folder named by an id claimed on the store
(:mod:`.claim`) and published when it ends (:mod:`.publish`); reading commands work on
a local mirror copy, brought up to date on every look-up (:mod:`.materialise`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import Check
from ..errors import StorePathError
from ..hashcache import CACHE_FILE, HashCache
from ..index import RunIndex, RunSummary
from ..run import RUN_ID_PATTERN, RunFolder, folder_at
from .claim import claim_run_id
from .errors import RemoteStoreError
from .location import RemoteLocation
from .materialise import adopt, find_remote_run, sync_summaries
from .publish import publish


@dataclass
class _StagedClaim:
    """A run being written in a local staging folder; published to the store when it ends."""

    store: RemoteLocation
    folder: RunFolder
    staging_root: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.store.run_url(self.folder.run_id)

    def release(self, *, completed: bool) -> RunFolder:
        run_id = self.folder.run_id
        try:
            # a failed run is published too, without lineage.json, as a local store keeps a failed run's folder
            publish(self.store, run_id, self.folder.path)
        except RemoteStoreError as exc:
            if completed:
                raise RemoteStoreError(f"{exc}; run {run_id} completed and is kept at {self.folder.path}") from None
            raise
        local_copy = adopt(self.store, run_id, self.folder.path)
        shutil.rmtree(self.staging_root, ignore_errors=True)
        return RunFolder(local_copy, origin=self.url)


@dataclass(frozen=True)
class RemoteStore:
    """The store at an fsspec URL such as ``s3://bucket/prefix``."""

    where: RemoteLocation

    @classmethod
    def open(cls, url: str, storage_options: Sequence[str] = ()) -> RemoteStore:
        return cls(RemoteLocation.parse(url, storage_options))

    @property
    def location(self) -> str:
        return self.where.url

    @property
    def local_root(self) -> Path:
        return self.where.mirror

    @property
    def hash_cache(self) -> HashCache:
        return HashCache(self.where.mirror / CACHE_FILE)

    def claim(self, fixed: str | os.PathLike[str] | None = None) -> _StagedClaim:
        if fixed is not None:
            raise StorePathError(
                f"--run-dir writes a local folder, but the store is {self.location}; use a folder store with --run-dir"
            )
        run_id = claim_run_id(self.where)
        staging = self.where.mirror / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f"{run_id}.", dir=staging))
        (root / run_id).mkdir()
        return _StagedClaim(self.where, RunFolder(root / run_id), root)

    def record_completed(self, folder: RunFolder, lineage_sha256: str) -> None:
        """Object stores keep no ledger: a shared append-only file needs a lock the store cannot give."""

    def ledger_check(self, folder: RunFolder, lineage_sha256: str) -> Check:
        return Check("ledger entry", "skipped", detail=f"the object store {self.location} keeps no ledger")

    def find(self, ref: str, *, require_complete: bool = True) -> RunFolder:
        folder = folder_at(ref) or find_remote_run(ref, self.where)
        return folder.require_complete() if require_complete else folder

    def runs(self) -> list[RunFolder]:
        mirror = sync_summaries(self.where)
        return [
            RunFolder(path, origin=self.where.run_url(path.name))
            for path in sorted(mirror.iterdir())
            if RUN_ID_PATTERN.match(path.name) and path.is_dir()
        ]

    def summaries(self, *, rebuild: bool = False) -> list[RunSummary]:
        # the index of a mirror of the files a summary reads, synchronised with the store first
        index = RunIndex(sync_summaries(self.where))
        return index.rebuild() if rebuild else index.summaries()

    def contains(self, folder: RunFolder) -> bool:
        return folder.path.resolve().parent == self.where.mirror.resolve()
