"""Writing a run to a remote store: stage it in a local folder, then publish it.

Training writes a local run folder exactly as for a local store (atomic files, events,
lineage.json last), in a private staging folder. When the run ends, :func:`publish`
uploads every file to a temporary key under ``<store>/.trainlock-tmp/`` and copies it
into place (a server-side copy, so the final key only ever holds whole content, on any
backend), ``lineage.json`` last: a reader that sees lineage.json sees every file it
names. A run that fails is published too, without lineage.json, as a local store keeps
a failed run's folder. A crash while publishing leaves only temporary keys behind and a
run without lineage.json, which every command treats as incomplete.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..store import LINEAGE_FILE
from .claim import TMP_PREFIX, claim_run_id
from .errors import RemoteStoreError, translated
from .location import RemoteStore


@dataclass
class StagedRun:
    run_id: str
    run_dir: Path
    url: str
    #: the mirror copy of the run once published (a run folder the reading commands accept)
    local_copy: Path | None = None


@contextlib.contextmanager
def staged_run(store: RemoteStore) -> Iterator[StagedRun]:
    """Claim a run id in ``store``, give a local folder to write the run in, publish it when the block ends."""
    from .materialise import adopt

    run_id = claim_run_id(store)
    staging = store.mirror / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{run_id}.", dir=staging))
    staged = StagedRun(run_id, root / run_id, store.run_url(run_id))
    staged.run_dir.mkdir()
    try:
        yield staged
    except BaseException:
        # record the failed run in the store as a local store would; the run's own error is what to report
        with contextlib.suppress(Exception):
            publish(store, run_id, staged.run_dir)
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        publish(store, run_id, staged.run_dir)
    except RemoteStoreError as exc:
        raise RemoteStoreError(f"{exc}; run {run_id} completed and is kept at {staged.run_dir}") from None
    staged.local_copy = adopt(store, run_id, staged.run_dir)
    shutil.rmtree(root, ignore_errors=True)


def publish(store: RemoteStore, run_id: str, run_dir: Path) -> None:
    """Upload a run folder: each file to a temporary key, then copied into place; lineage.json last."""
    files = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    # dotted names are local machinery (the liveness lock), not part of the run
    files = [f for f in files if not any(part.startswith(".") for part in f.split("/"))]
    ordered = [f for f in files if f != LINEAGE_FILE] + [f for f in files if f == LINEAGE_FILE]
    fs = store.filesystem()
    scratch = store.key(TMP_PREFIX, f"{run_id}.{secrets.token_hex(6)}")
    with translated(store, f"publish run {run_id} to"):
        for relative in ordered:
            local = run_dir / relative
            temporary = f"{scratch}/{relative}"
            fs.put_file(str(local), temporary)
            uploaded = fs.info(temporary).get("size")
            if uploaded != local.stat().st_size:
                raise RemoteStoreError(
                    f"could not publish run {run_id} to {store.url}: {relative} arrived with {uploaded} bytes of "
                    f"{local.stat().st_size}; run the command again"
                )
            fs.copy(temporary, store.key(run_id, relative))
            fs.rm_file(temporary)
