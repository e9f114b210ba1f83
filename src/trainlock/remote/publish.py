"""Writing a run to a remote store: stage it in a local folder, then publish it.

A run is written in a local staging folder exactly as for a local store (atomic files,
events, lineage.json last; see :mod:`.store`). When the run ends, :func:`publish`
uploads every file to a temporary key under ``<store>/.trainlock-tmp/`` and copies it
into place (a server-side copy, so the final key only ever holds whole content, on any
backend), ``lineage.json`` last: a reader that sees lineage.json sees every file it
names. A run that fails is published too, without lineage.json, as a local store keeps
a failed run's folder. A crash while publishing leaves only temporary keys behind and a
run without lineage.json, which every command treats as incomplete.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from ..run import LINEAGE
from .claim import TMP_PREFIX
from .errors import RemoteStoreError, translated
from .location import RemoteLocation


def publish(store: RemoteLocation, run_id: str, run_dir: Path) -> None:
    """Upload a run folder: each file to a temporary key, then copied into place; lineage.json last."""
    files = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    # dotted names are local machinery (the liveness lock), not part of the run
    files = [f for f in files if not any(part.startswith(".") for part in f.split("/"))]
    ordered = [f for f in files if f != LINEAGE.name] + [f for f in files if f == LINEAGE.name]
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
