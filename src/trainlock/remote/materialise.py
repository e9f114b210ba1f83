"""Reading a remote store through a local mirror of its run folders.

The reading commands (verify, diff, reproduce, report, export) work on local run folders.
For a remote run they get a copy in ``<cache>/stores/<digest>/<run_id>/``, brought up to
date on every use: each object's identity (ETag, generation, mtime: whatever the backend
lists) is compared with the one recorded when it was downloaded, and a changed or new
object is downloaded again. A local file that no longer matches what was downloaded, or
whose object is gone, is replaced or removed, so the mirror shows the store as it is: a
tampered object reaches ``verify`` as a changed file, a deleted one as a missing file.
The store is the truth; the mirror (and its run index) only saves downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import RunNotFoundError
from ..hashing import sha256_file
from ..run import EVENTS, LINEAGE, METRICS, RUN_ID_PATTERN, RunFolder, inside, match_run_id
from .claim import CLAIM_OBJECT
from .errors import translated
from .location import RemoteLocation

MANIFESTS = ".manifests"
#: what `trainlock runs` needs of each run (see index.summarize)
SUMMARY_FILES = frozenset({LINEAGE.name, EVENTS.name, METRICS.name})
#: the lineage entries that may live in a parent run (a predict run's model, config, threshold)
PARENT_ENTRIES = ("config", "model", "threshold", "dataset")
_CHUNK = 1 << 20


def remote_run_ids(store: RemoteLocation) -> list[str]:
    fs = store.filesystem()
    with translated(store, "list"):
        fs.invalidate_cache(store.root)
        try:
            names = fs.ls(store.root, detail=False)
        except FileNotFoundError:
            return []  # an empty prefix does not exist on object storage: a store with no runs yet
    return sorted(name for name in (n.rstrip("/").rsplit("/", 1)[-1] for n in names) if RUN_ID_PATTERN.match(name))


def find_remote_run(ref: str, store: RemoteLocation) -> RunFolder:
    """Look ``ref`` (a run id or unique prefix) up in the remote store and materialise it."""
    ids = remote_run_ids(store)
    run_id = match_run_id(ref, ids, store.url)
    run_dir = materialise_run(store, run_id)
    for parent in _parents(run_dir):
        if parent in ids:
            materialise_run(store, parent)  # predict runs name files in their parent run, read beside them
    return RunFolder(run_dir, origin=store.run_url(run_id))


def materialise_run(
    store: RemoteLocation,
    run_id: str,
    *,
    listing: dict[str, dict[str, Any]] | None = None,
    only: Iterable[str] | None = None,
) -> Path:
    """Bring the mirror copy of one run up to date with the store (``only`` those files, when given)."""
    if not RUN_ID_PATTERN.match(run_id):
        raise RunNotFoundError(f"'{run_id}' is not a run id")
    run_dir = store.mirror / run_id
    fs = store.filesystem()
    wanted = set(only) if only is not None else None
    with translated(store, f"read run {run_id} from"), _locked(store):
        if listing is None:
            listing = _run_listing(fs, store, run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(store, run_id)
        updated: dict[str, dict[str, Any]] = {}
        for relative, info in sorted(listing.items()):
            target = inside(run_dir, relative)
            known = manifest.get(relative)
            if wanted is not None and relative not in wanted:
                if known is not None and target.is_file():
                    updated[relative] = known  # not asked for now: keep what an earlier full copy fetched
                continue
            token = _identity(info)
            if known is not None and token is not None and known["token"] == token and _unchanged(target, known):
                updated[relative] = known
                continue
            updated[relative] = {"token": token, **_download(fs, store.key(run_id, relative), target)}
        for path in sorted(run_dir.rglob("*"), reverse=True):
            relative = path.relative_to(run_dir).as_posix()
            if path.is_file() and relative not in listing:
                path.unlink()  # gone from the store: verify must see it missing, not a stale copy
        _write_manifest(store, run_id, updated)
    return run_dir


def sync_summaries(store: RemoteLocation) -> Path:
    """Mirror what `trainlock runs` reads of every run, drop runs the store no longer has; return the mirror."""
    fs = store.filesystem()
    ids = remote_run_ids(store)
    with translated(store, "list"):
        fs.invalidate_cache(store.root)
        objects = fs.find(store.root, detail=True) if ids else {}
    by_run: dict[str, dict[str, dict[str, Any]]] = {run_id: {} for run_id in ids}
    prefix = store.root + "/"
    for name, info in objects.items():
        run_id, _, relative = name[len(prefix) :].partition("/") if name.startswith(prefix) else ("", "", "")
        if run_id in by_run and relative and not _hidden(relative):
            by_run[run_id][relative] = info
    for run_id in ids:
        materialise_run(store, run_id, listing=by_run[run_id], only=SUMMARY_FILES)
    mirror = store.mirror
    mirror.mkdir(parents=True, exist_ok=True)
    for entry in sorted(os.scandir(mirror), key=lambda e: e.name):
        if entry.is_dir() and RUN_ID_PATTERN.match(entry.name) and entry.name not in by_run:
            shutil.rmtree(entry.path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(_manifest_path(store, entry.name))
    return mirror


def adopt(store: RemoteLocation, run_id: str, staged: Path) -> Path:
    """Move a run folder just published from ``staged`` into the mirror, recording what the store now holds."""
    fs = store.filesystem()
    run_dir = store.mirror / run_id
    with translated(store, f"list run {run_id} in"), _locked(store):
        listing = _run_listing(fs, store, run_id)
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(run_dir))
        manifest = {}
        for relative, info in sorted(listing.items()):
            path = inside(run_dir, relative)
            if path.is_file():
                stat = path.stat()
                manifest[relative] = {
                    "token": _identity(info),
                    "sha256": sha256_file(path),
                    "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns,
                }
        _write_manifest(store, run_id, manifest)
    return run_dir


# -- helpers ----------------------------------------------------------------------------


def _run_listing(fs: Any, store: RemoteLocation, run_id: str) -> dict[str, dict[str, Any]]:
    prefix = store.key(run_id)
    fs.invalidate_cache(prefix)
    try:
        found = fs.find(prefix, detail=True)
    except FileNotFoundError:
        return {}
    listing = {}
    for name, info in found.items():
        relative = name[len(prefix) + 1 :] if name.startswith(prefix + "/") else ""
        if relative and not _hidden(relative) and info.get("type", "file") == "file":
            listing[relative] = info
    return listing


def _hidden(relative: str) -> bool:
    # the claim object and any dotted name: never part of a run's content (describe_outputs skips them too)
    return relative == CLAIM_OBJECT or any(part.startswith(".") for part in relative.split("/"))


def _identity(info: dict[str, Any]) -> str | None:
    """What the backend says identifies this version of an object; None if it says nothing but the size."""
    keys = ("ETag", "etag", "VersionId", "generation", "md5Hash", "crc32c", "mtime", "LastModified", "last_modified")
    parts = [f"{key}={info[key]}" for key in keys if info.get(key) not in (None, "")]
    return "|".join([*parts, f"size={info.get('size')}"]) if parts else None


def _unchanged(path: Path, known: dict[str, Any]) -> bool:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return stat.st_size == known.get("size") and stat.st_mtime_ns == known.get("mtime_ns")


def _download(fs: Any, key: str, target: Path) -> dict[str, Any]:
    """Stream one object to ``target`` through a temporary file; return its sha256, size and mtime."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, fs.open(key, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    stat = target.stat()
    return {"sha256": digest.hexdigest(), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _parents(run_dir: Path) -> list[str]:
    try:
        lineage = json.loads((run_dir / LINEAGE.name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(lineage, dict):
        return []
    named = {(lineage.get(entry) or {}).get("run") for entry in PARENT_ENTRIES if isinstance(lineage.get(entry), dict)}
    return sorted(p for p in named | {lineage.get("parent")} if isinstance(p, str) and RUN_ID_PATTERN.match(p))


def _manifest_path(store: RemoteLocation, run_id: str) -> Path:
    return store.mirror / MANIFESTS / f"{run_id}.json"


def _read_manifest(store: RemoteLocation, run_id: str) -> dict[str, dict[str, Any]]:
    try:
        document = json.loads(_manifest_path(store, run_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _write_manifest(store: RemoteLocation, run_id: str, manifest: dict[str, dict[str, Any]]) -> None:
    path = _manifest_path(store, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, manifest)


@contextlib.contextmanager
def _locked(store: RemoteLocation) -> Iterator[None]:
    """One process at a time updates a mirror (two commands reading one store at once)."""
    import fcntl

    store.mirror.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(store.mirror / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
