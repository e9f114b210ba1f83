"""Prediction files: written with repr-exact floats, fingerprinted by value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import atomic
from .hashing import array_hash, canonical_hash


def predictions_fingerprint(frame: pd.DataFrame) -> str:
    """Hash of the scores and labels, equal before and after a CSV round trip."""
    parts: dict[str, Any] = {"score": array_hash(frame["score"].to_numpy(dtype="float64"))}
    if "label" in frame.columns:
        parts["label"] = [str(value) for value in frame["label"].tolist()]
    return canonical_hash(parts)


def write_predictions(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in {".parquet", ".pq"}:
        import io

        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        atomic.write_bytes(path, buffer.getvalue())
        return
    # pandas writes float64 with repr, the shortest text that reads back to the same bits
    atomic.write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def read_predictions(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)
