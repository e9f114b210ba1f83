"""Canonical forms and SHA-256 hashes: the one place trainlock decides what "the same" means.

Everything recorded in lineage is hashed through these functions, so two runs can
only disagree on a hash when they disagree on content.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: read size for streaming file hashes; large buffers keep hashlib at disk speed
CHUNK_SIZE = 4 * 1024 * 1024


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], progress: Any = None) -> str:
    """Stream a file through SHA-256 without holding it in memory; ``progress(n)`` gets byte counts."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            read = handle.readinto(buffer)
            if not read:
                break
            digest.update(view[:read])
            if progress is not None:
                progress(read)
    return digest.hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, after normalising floats and containers."""
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(obj: Any) -> str:
    """SHA-256 of :func:`canonical_json`; the only way trainlock hashes a structure."""
    return sha256_bytes(canonical_json(obj).encode("utf-8"))


def _canonical(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        # -0.0 and 0.0 are the same number; repr keeps every bit otherwise.
        return 0.0 if value == 0.0 else value
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": array_hash(obj)}
    if isinstance(obj, Mapping):
        return {str(key): _canonical(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(item) for item in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(item) for item in obj), key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(obj, Path):
        return obj.as_posix()
    raise TypeError(f"cannot hash a value of type {type(obj).__name__} canonically")


def array_hash(array: Any) -> str:
    """SHA-256 over an array's dtype, shape and values.

    Numeric arrays are hashed in little-endian C order with -0.0 folded into 0.0 and
    every NaN replaced by one canonical NaN, so equal values give equal hashes on any
    platform. Object arrays (strings, mixed) are hashed element by element.
    """
    arr = np.asarray(array)
    digest = hashlib.sha256()
    header = {"dtype": _dtype_name(arr.dtype), "shape": list(arr.shape)}
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    if arr.dtype.kind in "fc":
        canonical = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        canonical = canonical + canonical.dtype.type(0)  # -0.0 + 0.0 == +0.0, keeps NaN
        if arr.dtype.kind == "c":
            canonical = canonical.view(canonical.real.dtype)
        nan_mask = np.isnan(canonical)
        if nan_mask.any():
            canonical = canonical.copy()
            canonical[nan_mask] = np.nan
        digest.update(canonical.tobytes())
    elif arr.dtype.kind in "iub":
        digest.update(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())
    elif arr.dtype.kind in "US":
        for item in arr.ravel().tolist():
            encoded = str(item).encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "little") + encoded)
    elif arr.dtype.kind in "mM":
        digest.update(np.ascontiguousarray(arr.view("i8"), dtype="<i8").tobytes())
    else:
        for item in arr.ravel().tolist():
            encoded = canonical_json(item).encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()


def _dtype_name(dtype: np.dtype) -> str:
    # Byte order is normalised above, so it must not leak into the header either.
    if dtype.kind in "US":
        return "str"
    if dtype.kind == "O":
        return "object"
    return dtype.newbyteorder("=").str.lstrip("<>=|") if dtype.kind != "b" else "bool"


def frame_hash(frame: Any) -> str:
    """SHA-256 over a DataFrame's column names, dtypes and values, column by column."""
    parts = {"columns": [str(column) for column in frame.columns], "n_rows": len(frame)}
    column_hashes = []
    for column in frame.columns:
        series = frame[column]
        values = series.to_numpy()
        if values.dtype.kind == "O" or str(series.dtype) in {"string", "str", "category"}:
            missing = series.isna().to_numpy()
            values = np.array(
                [None if gone else str(item) for item, gone in zip(series.tolist(), missing, strict=True)],
                dtype=object,
            )
        column_hashes.append({"dtype": str(series.dtype), "values": array_hash(values)})
    parts["data"] = column_hashes
    return canonical_hash(parts)


def value_hash(obj: Any) -> str:
    """Hash an array, frame, or plain structure by its canonical form."""
    if hasattr(obj, "columns") and hasattr(obj, "dtypes"):
        return frame_hash(obj)
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):
        return array_hash(obj)
    return canonical_hash(obj)
