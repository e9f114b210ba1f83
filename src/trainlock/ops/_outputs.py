"""Shared by the verbs that write runs: describing a run folder's files for lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..hashing import sha256_file
from ..store import LINEAGE_FILE


def describe_outputs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every file in the run folder except lineage.json, by relative path, sorted."""
    outputs = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(run_dir).as_posix()
        if relative == LINEAGE_FILE or path.name.startswith("."):
            continue
        outputs[relative] = {"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)}
    return outputs
