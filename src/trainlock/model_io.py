"""Model files: skops format, written byte-for-byte reproducibly, loaded only after checks.

skops names array files and object ids after ``id(obj)`` and stamps zip entries with
the current time, so two identical models would give different bytes; and it stores an
object shared by two attributes once, so the same model assembled in one process or
returned from worker processes (where nothing is shared) would differ too. We rewrite
the archive canonically — every object occurrence numbered in order of appearance, data
files named by their content's SHA-256 (equal arrays stored once), fixed timestamps,
stored uncompressed so no zlib version can change the bytes — which keeps it a valid
skops file and makes its SHA-256 a property of the model's values alone.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from . import atomic
from .errors import IntegrityError
from .hashing import sha256_file
from .lineage import Lineage
from .run import RunFolder

#: packages whose types a trainlock model may contain; anything else must be a scikit-learn
#: estimator class from a module the run's config names (``models.custom``), so a forged
#: lineage cannot talk the loader into instantiating arbitrary types
TRUSTED_PREFIXES = ("sklearn.", "trainlock.", "numpy.", "scipy.", "lightgbm.", "xgboost.", "builtins.", "collections.")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKOPS_IMPORT = threading.Lock()


def skops_io() -> Any:
    """``skops.io``, imported without letting it import PyTorch.

    On import skops lists its default trusted types by walking every scikit-learn module,
    which imports ``sklearn.externals.array_api_compat.torch`` and with it PyTorch when
    installed: seconds spent for types a tabular model never contains. Hiding torch for
    the duration of that import (unless the user's code already imported it) costs nothing.
    """
    with _SKOPS_IMPORT:  # another thread (the web UI serves on threads) may be importing it: wait for the whole module
        return _import_skops_io()


def _import_skops_io() -> Any:
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    # a finder, not sys.modules["torch"] = None: SciPy's array-API helpers look torch up in
    # sys.modules while scikit-learn imports, and a None entry there is an AttributeError
    hider = None if "torch" in sys.modules else _HideTorch()
    if hider is not None:
        sys.meta_path.insert(0, hider)
    try:
        import skops.io as sio
    finally:
        if hider is not None:
            sys.meta_path.remove(hider)
    return sio


class _HideTorch:
    """A meta-path finder under which `import torch` fails fast, as if torch were not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def dump_model(model: Any, path: Path) -> list[str]:
    """Write ``model`` to ``path``; return the non-default types the file needs trusted."""
    sio = skops_io()

    raw = sio.dumps(model)
    canonical = canonicalize_skops(raw)
    atomic.write_bytes(path, canonical)
    return sorted(sio.get_untrusted_types(data=canonical))


def canonicalize_skops(raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        schema = json.loads(source.read("schema.json"))
        files: dict[str, bytes] = {}
        _renumber(schema, source, files, iter(range(1, 2**62)))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
            # compact separators keep json on its C encoder: indentation would make it pure Python
            _write_entry(
                target, "schema.json", json.dumps(schema, sort_keys=False, separators=(",", ":")).encode("utf-8")
            )
            for name, data in files.items():
                _write_entry(target, name, data)
    return out.getvalue()


def _renumber(node: Any, source: zipfile.ZipFile, files: dict[str, bytes], counter: Any) -> None:
    if isinstance(node, dict):
        if "__id__" in node:
            node["__id__"] = next(counter)
        name = node.get("file")
        if isinstance(name, str) and "__loader__" in node:
            data = source.read(name)
            content_name = f"{sha256_bytes_of(data)}{Path(name).suffix}"
            files.setdefault(content_name, data)
            node["file"] = content_name
        for value in node.values():
            _renumber(value, source, files, counter)
    elif isinstance(node, list):
        for item in node:
            _renumber(item, source, files, counter)


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever system wrote it
    archive.writestr(info, data)


def load_model(path: Path, expected_sha256: str, trusted_types: list[str], custom_modules: tuple[str, ...] = ()) -> Any:
    """Load a model only if its bytes match the recorded hash and it needs no unrecorded types.

    Never ``trusted=True``: the file may only instantiate the types recorded at training time,
    and only those from :data:`TRUSTED_PREFIXES` or estimator classes of ``custom_modules``.
    """
    sio = skops_io()

    if not path.is_file():
        raise IntegrityError(f"model file {path} is missing; the run is damaged, retrain or restore it")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise IntegrityError(
            f"model file {path} has sha256 {actual}, lineage records {expected_sha256}; "
            "refusing to load a changed model"
        )
    data = path.read_bytes()
    if sha256_bytes_of(data) != expected_sha256:  # the file changed between hashing and reading
        raise IntegrityError(f"model file {path} changed while it was read; refusing to load it")
    try:
        needed = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a crafted file can fail skops' own parsing in many ways
        raise IntegrityError(
            f"model file {path} is not a valid skops file ({type(exc).__name__}); refusing to load it"
        ) from None
    unexpected = sorted(needed - set(trusted_types))
    if unexpected:
        raise IntegrityError(
            f"model file {path} needs types that were not recorded at training time: {', '.join(unexpected)}; "
            "refusing to load it"
        )
    unsafe = sorted(name for name in needed if not _allowed_type(name, custom_modules))
    if unsafe:
        raise IntegrityError(
            f"model file {path} needs types trainlock never writes: {', '.join(unsafe)}; refusing to load it"
        )
    try:
        return sio.loads(data, trusted=sorted(needed))
    except Exception as exc:  # a damaged but hash-matching file (forged lineage) fails inside skops
        raise IntegrityError(f"model file {path} cannot be loaded ({type(exc).__name__}); refusing to use it") from None


def _allowed_type(name: str, custom_modules: tuple[str, ...]) -> bool:
    if name.startswith(TRUSTED_PREFIXES):
        return True
    module_name, _, class_name = name.rpartition(".")
    if module_name not in custom_modules:
        return False
    import importlib

    from sklearn.base import BaseEstimator

    try:
        candidate = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return False
    return isinstance(candidate, type) and issubclass(candidate, BaseEstimator)


def custom_modules_of(snapshot: dict[str, Any]) -> tuple[str, ...]:
    """Modules of the custom estimators a config snapshot declares."""
    custom = ((snapshot.get("models") or {}).get("custom") or {}) if isinstance(snapshot, dict) else {}
    return tuple(
        sorted({str(m.get("estimator", "")).partition(":")[0] for m in custom.values() if isinstance(m, dict)})
    )


def sha256_bytes_of(data: bytes) -> str:
    from .hashing import sha256_bytes

    return sha256_bytes(data)


def load_run_model(folder: RunFolder, lineage: Lineage) -> Any:
    """Load a train run's model after checking its hash, its config snapshot's hash and its types."""
    import yaml

    entry = lineage.model
    if entry is None:
        raise IntegrityError(f"run {lineage.run_id} is a {lineage.kind} run and records no model")
    custom: tuple[str, ...] = ()
    config = lineage.config
    if config is not None and config.path:
        snapshot_path = folder.file(config.path)
        if not snapshot_path.is_file() or sha256_file(snapshot_path) != config.sha256:
            raise IntegrityError(f"{snapshot_path} does not match its recorded sha256; refusing to load the model")
        custom = custom_modules_of(yaml.safe_load(snapshot_path.read_text(encoding="utf-8")) or {})
    return load_model(folder.file(entry.path), entry.sha256, entry.trusted_types, custom)
