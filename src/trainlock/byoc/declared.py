"""Declared inputs and outputs of a wrapped command: files or folders, hashed by content.

A folder is described by every file below it, in sorted relative-path order (the file
system promises no order), and one SHA-256 over those names and hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import DataError
from ..hashing import canonical_hash, sha256_file
from ..store import LINEAGE_FILE

Role = Literal["input", "output"]


def describe(path: str, *, cwd: Path, role: Role) -> dict[str, Any]:
    """``{path, kind, sha256, size}`` of a file, or ``{path, kind, sha256, files}`` of a folder."""
    resolved = cwd / path
    flag = "--in" if role == "input" else "--out"
    if resolved.is_file():
        return {"path": path, "kind": "file", "size": resolved.stat().st_size, "sha256": sha256_file(resolved)}
    if resolved.is_dir():
        files = {}
        for item in sorted(p for p in resolved.rglob("*") if p.is_file()):
            relative = item.relative_to(resolved).as_posix()
            files[relative] = {"size": item.stat().st_size, "sha256": sha256_file(item)}
        digest = canonical_hash({name: entry["sha256"] for name, entry in files.items()})
        return {"path": path, "kind": "directory", "sha256": digest, "files": files}
    if role == "input":
        raise DataError(f"{flag} {path}: no such file or folder (from {cwd}); fix the path or create it first")
    raise DataError(f"{flag} {path}: the command exited 0 but did not write it; fix the command or the --out path")


def describe_all(paths: Sequence[str], *, cwd: Path, role: Role) -> dict[str, dict[str, Any]]:
    """Each declared path (as given) described, keyed and ordered by path."""
    return {path: describe(path, cwd=cwd, role=role) for path in sorted(dict.fromkeys(paths))}


def changed(recorded: dict[str, Any], *, cwd: Path) -> str | None:
    """Why the declared input ``recorded`` no longer matches what is on disk, or None."""
    try:
        now = describe(recorded["path"], cwd=cwd, role="input")
    except DataError as exc:
        return str(exc)
    if now["sha256"] == recorded["sha256"]:
        return None
    return f"--in {recorded['path']} has sha256 {now['sha256']}, the run recorded {recorded['sha256']}"


def run_folder_of(path: Path) -> Path | None:
    """The run folder holding ``path`` (or being it), if any: the run it came from."""
    for candidate in [path, *path.parents]:
        if (candidate / LINEAGE_FILE).is_file():
            return candidate
    return None
