"""What trainlock records about PyTorch: the versions and flags in force, and state_dicts as plain data.

Used by runs of your own code (``run.save_model`` of a module, ``frameworks`` in
environment.json) and by :mod:`trainlock.fingerprint`, and re-exported by
:mod:`trainlock.torch` for user code. Importing this module does not import torch: its
functions are only reached once the caller has torch (a tensor or a module in hand).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

STATE_DICT_FORMAT = "torch.state_dict"


def tensor_to_numpy(tensor: torch.Tensor) -> npt.NDArray[Any]:
    """A tensor's values as a NumPy array on the CPU, detached from autograd.

    bfloat16 and float8 have no NumPy dtype: they widen to float64 (complex to complex128,
    the rest to int64). Widening is exact, and callers hash or record the torch dtype beside
    the values, so two dtypes never share a hash.
    """
    tensor = tensor.detach().cpu()
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError):
        torch = sys.modules["torch"]
        if tensor.is_complex():
            return tensor.to(torch.complex128).numpy()
        if tensor.is_floating_point():
            return tensor.to(torch.float64).numpy()
        return tensor.to(torch.int64).numpy()


def versions() -> dict[str, Any]:
    """torch, CUDA and cuDNN versions and the determinism flags in force now."""
    import torch

    cudnn = torch.backends.cudnn
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": bool(torch.cuda.is_available()),
        "cudnn": cudnn.version() if cudnn.is_available() else None,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(cudnn.deterministic),
        "cudnn_benchmark": bool(cudnn.benchmark),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(cudnn.allow_tf32),
        "num_threads": torch.get_num_threads(),
    }


def state_dict_document(module: torch.nn.Module) -> dict[str, Any]:
    """A module's state_dict as plain data skops stores byte-reproducibly: arrays, dtypes, type name."""
    state = module.state_dict()
    kind = type(module)
    return {
        "format": STATE_DICT_FORMAT,
        "module": f"{kind.__module__}.{kind.__qualname__}",
        "dtypes": {key: str(state[key].dtype) for key in sorted(state)},
        "tensors": {key: np.ascontiguousarray(tensor_to_numpy(state[key])) for key in sorted(state)},
    }
