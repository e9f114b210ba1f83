"""Claiming a run id on object storage, so that concurrent runs into one store never collide.

A local store claims an id with an atomic ``mkdir``. Object storage has no folders, so a
run id is claimed by creating ``<store>/<run_id>/.trainlock-claim``, exclusively:

* **Conditional put** (``If-None-Match: *``), where the backend honours it (AWS S3 since
  2024, MinIO, moto): the store itself guarantees that of two writers of one key exactly
  one succeeds; the other gets ``412 Precondition Failed`` and draws another id.
* **Claim object + check** otherwise: write a claim holding a random token, wait for
  :data:`SETTLE_SECONDS`, read it back; whoever's token is there owns the id. On a
  strongly consistent store (S3 has been since 2020) the last writer wins and every
  claimer reads the same token, as long as no claimer stalls longer than the settle time
  between its existence check and its write. This is why the conditional put is preferred.

Which one a store gets is decided once per process by :func:`_honours_if_none_match`: it
creates a scratch key twice with the condition. Some S3-compatible servers accept the
header and ignore it; the probe catches those, which a first successful write would not.
Either way, the 24 random bits in every id make even an attempted collision rare.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from ..run import RUN_ID_PATTERN, new_run_id
from .errors import RemoteStoreError, translated
from .location import RemoteLocation

CLAIM_OBJECT = ".trainlock-claim"
#: temporary keys (probes, files being published) live under this prefix of the store, outside every run
TMP_PREFIX = ".trainlock-tmp"
#: the claim-and-check protocol's wait between writing a claim and reading it back
SETTLE_SECONDS = 1.0
ATTEMPTS = 100

#: S3 error codes meaning "someone else holds this key": the condition failed, or a
#: concurrent conditional write to the same key is in flight (AWS answers 409 then)
_LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


def claim_run_id(store: RemoteLocation, *, draw: Callable[[], str] = new_run_id, attempts: int = ATTEMPTS) -> str:
    """Claim a fresh run id in ``store`` and return it; its claim object marks the run as started."""
    fs = store.filesystem()
    exclusive = _honours_if_none_match(store)
    with translated(store, "claim a run id in"):
        for _ in range(attempts):
            run_id = draw()
            if not RUN_ID_PATTERN.match(run_id):
                raise ValueError(f"drawn run id {run_id!r} is not a run id")
            key = store.key(run_id, CLAIM_OBJECT)
            body = _claim_body(run_id)
            if _run_exists(fs, store, run_id):
                continue  # a run copied in by hand has no claim object, but its id is taken all the same
            won = _create_exclusive(fs, key, body) if exclusive else _claim_and_check(fs, key, body)
            if won:
                return run_id
    raise RemoteStoreError(
        f"could not claim a new run id in {store.url} after {attempts} attempts; check that the store is writable"
    )


def _claim_body(run_id: str) -> bytes:
    document = {
        "run_id": run_id,
        "token": secrets.token_hex(16),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": time.time(),
    }
    return json.dumps(document, sort_keys=True).encode("utf-8")


def _run_exists(fs: Any, store: RemoteLocation, run_id: str) -> bool:
    prefix = store.key(run_id)
    fs.invalidate_cache(prefix)  # another process may have written since this one last listed
    try:
        return bool(fs.ls(prefix, detail=False))
    except FileNotFoundError:
        return False


def _create_exclusive(fs: Any, key: str, body: bytes) -> bool:
    try:
        fs.pipe_file(key, body, mode="create")
    except FileExistsError:
        return False
    except OSError as exc:
        if _lost_race(exc):
            return False
        raise
    return True


def _claim_and_check(fs: Any, key: str, body: bytes) -> bool:
    fs.invalidate_cache(key)
    if fs.exists(key):
        return False
    fs.pipe_file(key, body)
    time.sleep(SETTLE_SECONDS)  # let a racer that checked before our write land its own write first
    fs.invalidate_cache(key)
    return bool(fs.cat_file(key) == body)


def _lost_race(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    status = str((response.get("ResponseMetadata") or {}).get("HTTPStatusCode", ""))
    return code in _LOST_RACE_CODES or status in _LOST_RACE_CODES


@functools.lru_cache(maxsize=16)
def _honours_if_none_match(store: RemoteLocation) -> bool:
    """Create one scratch key twice with ``If-None-Match: *``: only a backend refusing the second write honours it."""
    from .location import S3_PROTOCOLS

    if store.protocol not in S3_PROTOCOLS:
        return False  # fsspec exposes conditional creation (mode="create") for s3 only
    fs = store.filesystem()
    key = store.key(TMP_PREFIX, f"probe-{secrets.token_hex(8)}")
    try:
        fs.pipe_file(key, b"probe", mode="create")
    except Exception:  # the header is refused (old server or botocore): use claim-and-check, which reports real faults
        return False
    try:
        fs.pipe_file(key, b"probe", mode="create")
    except FileExistsError:
        return True
    except OSError as exc:
        return _lost_race(exc)
    finally:
        with contextlib.suppress(Exception):  # a leftover probe under .trainlock-tmp is harmless
            fs.rm_file(key)
    return False  # the second write was accepted: the header is ignored
