"""Identity of a run: which code made it, and the strict / replicate keys."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import __version__
from .hashing import canonical_hash


@lru_cache(maxsize=1)
def code_identity() -> dict[str, str]:
    """trainlock's version and a SHA-256 over its own source files, in sorted path order.

    The version alone would not notice an edited checkout; the source hash does.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return {"version": __version__, "source_sha256": digest.hexdigest()}


def identity_keys(dataset_sha256: str, config_identity: dict[str, Any], code: dict[str, str]) -> dict[str, str]:
    """strict_key covers data, config (seed included) and code; replicate_key leaves the seed out."""
    without_seed = {key: value for key, value in config_identity.items() if key != "seed"}
    return {
        "strict_key": canonical_hash({"dataset": dataset_sha256, "config": config_identity, "code": code}),
        "replicate_key": canonical_hash({"dataset": dataset_sha256, "config": without_seed, "code": code}),
    }
