"""PyTorch guardrails for runs of your own code (``pip install 'trainlock[torch]'``).

The envelope already seeds torch and turns on deterministic algorithms, switches off
cuDNN benchmarking and TF32 when torch is imported before a run starts (import torch
first, then call ``trainlock.current_run()`` or enter ``trainlock.start()``). What it
cannot do from outside is here:

* :func:`seed_worker` and :func:`generator` for ``DataLoader`` — each worker process
  reseeds ``random`` and NumPy from its torch seed, and shuffling draws from a generator
  seeded by scope — as in PyTorch's reproducibility notes
  (https://pytorch.org/docs/stable/notes/randomness.html#dataloader);
* :func:`versions` — torch, CUDA and cuDNN versions and the flags in force, recorded in
  environment.json under ``frameworks``;
* :func:`state_dict_document` / :func:`load_state_dict` — ``run.save_model`` stores a
  module's state_dict through skops, so the file's bytes depend on the weights alone.

State-dict fingerprints come from :mod:`trainlock.fingerprint`; :func:`versions` and
:func:`state_dict_document` live in :mod:`trainlock.torch_state`, below the run API that
records them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import IntegrityError
from .seeds import SEED_SPACE, derive_seed
from .torch_state import STATE_DICT_FORMAT, state_dict_document, versions

__all__ = ["generator", "load_state_dict", "seed_worker", "state_dict_document", "versions"]


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: seed ``random`` and NumPy in each worker.

    torch seeds every worker from the loader's generator (base seed + worker id); the
    other libraries would otherwise start from copies of the parent's state.
    """
    seed = torch.initial_seed() % SEED_SPACE
    np.random.seed(seed)
    random.seed(seed)


def generator(scope: str = "dataloader", *, run: Any = None, seed: int | None = None) -> torch.Generator:
    """A ``torch.Generator`` seeded for ``scope``: from ``run`` (default: the current run) or a base ``seed``."""
    if seed is not None:
        derived = derive_seed(seed, scope)
    else:
        if run is None:
            from .byoc.api import current_run

            run = current_run()
        derived = run.seed_for(scope)
    return torch.Generator().manual_seed(derived)


def load_state_dict(path: str | Path, expected_sha256: str) -> dict[str, torch.Tensor]:
    """Read a state_dict saved by ``run.save_model``, after checking the file's recorded hash."""
    from .model_io import load_model

    document = load_model(Path(path), expected_sha256, [])
    if not isinstance(document, dict) or document.get("format") != STATE_DICT_FORMAT:
        raise IntegrityError(
            f"{path} is not a state_dict saved by trainlock; load it with trainlock.model_io.load_model"
        )
    return {
        key: torch.from_numpy(np.array(array)).to(getattr(torch, document["dtypes"][key].removeprefix("torch.")))
        for key, array in document["tensors"].items()
    }
