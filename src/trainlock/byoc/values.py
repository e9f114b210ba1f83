"""What a checkpoint records about a value: a canonical hash, and its numbers when it has some.

Arrays, frames and tensors are hashed by dtype, shape and values; plain structures
(dicts, lists, scalars) canonically; fitted models by their semantic fingerprint. The
numbers are kept (as :class:`trainlock.trace.Trace` does for the recipe) so that
``trainlock diff`` can measure how far two runs drifted apart, not just that they did.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..hashing import array_hash, canonical_hash, frame_hash
from ..trace import MAX_KEPT_VALUES

#: what Trace.record needs: (value for the structure hash, keep argument, digest)
Parts = tuple[Any, Any, str]


def checkpoint_parts(obj: Any) -> Parts:
    if _is_frame(obj):
        return None, _numbers_of_frame(obj), frame_hash(obj)
    if is_tensor(obj):
        array = tensor_to_numpy(obj)
        return None, _numbers(array), canonical_hash({"torch_dtype": str(obj.dtype), "values": array_hash(array)})
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        return None, _numbers(array), array_hash(array)
    if _is_plain(obj):
        plain = _to_plain(obj)
        return plain, True, canonical_hash(plain)
    from ..fingerprint import fingerprint

    return None, None, fingerprint(obj)


def is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "dtype")


def is_torch_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def tensor_to_numpy(tensor: Any) -> np.ndarray:
    tensor = tensor.detach().cpu()
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError):
        # bfloat16 and float8 have no NumPy dtype; widening is exact and the torch dtype is
        # hashed beside the values, so two dtypes never share a hash
        torch = sys.modules["torch"]
        if tensor.is_floating_point():
            return tensor.to(torch.float64).numpy()
        if tensor.is_complex():
            return tensor.to(torch.complex128).numpy()
        return tensor.to(torch.int64).numpy()


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "dtypes") and hasattr(value, "to_numpy")


def _numbers(array: np.ndarray) -> np.ndarray | None:
    if array.dtype.kind not in "iufb" or array.size > MAX_KEPT_VALUES:
        return None
    return array


def _numbers_of_frame(frame: Any) -> np.ndarray | None:
    if frame.size > MAX_KEPT_VALUES:
        return None
    try:
        return frame.to_numpy(dtype="float64")
    except (TypeError, ValueError):
        return None  # text or categorical columns: the hash alone stands for them


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, np.generic, np.ndarray)) or is_tensor(value):
        return True
    if isinstance(value, Mapping):
        return all(_is_plain(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    return False


def _to_plain(value: Any) -> Any:
    if is_tensor(value):
        return {"torch_dtype": str(value.dtype), "values": tensor_to_numpy(value)}
    if isinstance(value, Mapping):
        return {str(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iufcb":
        return value.tolist()  # text arrays: their items, so the numbers split out are real numbers
    return value
