"""trainlock: same data + same config ⇒ the same model and predictions, with a proof.

The public API is small and imported lazily, so ``trainlock --help`` starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Envelope",
    "Run",
    "TrainlockError",
    "__version__",
    "current_run",
    "load_config",
    "predict",
    "start",
    "train",
    "verify",
]

_LAZY = {
    "TrainlockError": ("trainlock.errors", "TrainlockError"),
    "load_config": ("trainlock.pipeline.config", "load_config"),
    "train": ("trainlock.ops.train", "train"),
    "verify": ("trainlock.ops.verify", "verify"),
    "predict": ("trainlock.ops.predict", "predict"),
    "Envelope": ("trainlock.envelope", "Envelope"),
    # your own training code: the run handle, inside `trainlock run -- CMD` or in-process
    "Run": ("trainlock.byoc.api", "Run"),
    "current_run": ("trainlock.byoc.api", "current_run"),
    "start": ("trainlock.byoc.api", "start"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trainlock' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
