"""The deterministic execution envelope.

Two layers:

* process variables that only work before the interpreter (or a numeric library)
  starts — ``PYTHONHASHSEED`` and the thread counts of OpenMP/BLAS — are put in place
  by the CLI re-executing itself once (:func:`process_env_changes`);
* everything that can be set at run time — numeric thread pools (threadpoolctl), the
  global seeds of ``random`` and NumPy, and PyTorch's flags when PyTorch is already
  imported — is set by :class:`Envelope`, which restores every global it touched on
  exit, like threadpoolctl's own limiter.

Parallelism comes from processes (``--workers``), each with one numeric thread, so the
result never depends on how many threads a BLAS happens to use.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import EnvelopeError

F = TypeVar("F", bound=Callable[..., Any])

#: variables the CLI sets before re-executing itself; a value already set by the user is
#: kept (``trainlock check`` varies PYTHONHASHSEED on purpose) and recorded as found
PROCESS_ENV_DEFAULTS: Mapping[str, str] = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    # MKL: the same code path on every CPU, so results do not depend on the ISA dispatch
    "MKL_CBWR": "COMPATIBLE",
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
}
REEXEC_MARKER = "TRAINLOCK_ENVELOPE_REEXEC"
#: numeric threads per process inside the envelope; 1 unless set (``trainlock check`` varies it)
THREADS_ENV = "TRAINLOCK_THREADS"


def envelope_threads(environ: Mapping[str, str] | None = None) -> int:
    """The envelope's numeric thread count: ``$TRAINLOCK_THREADS`` or 1."""
    text = (os.environ if environ is None else environ).get(THREADS_ENV, "1")
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise EnvelopeError(f"{THREADS_ENV}={text!r} is not a positive integer; unset it or set e.g. {THREADS_ENV}=1")
    return threads


def process_env_changes(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process variables that are unset now and must be set by re-executing."""
    environ = os.environ if environ is None else environ
    if environ.get(REEXEC_MARKER) == "1":
        return {}
    return {name: value for name, value in PROCESS_ENV_DEFAULTS.items() if name not in environ}


def process_env_record() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in sorted(PROCESS_ENV_DEFAULTS)}


class Envelope:
    """Seeds, thread limits and framework flags for the duration of a block.

    Works as ``with Envelope(seed=...)`` and as a decorator. ``strict=True`` raises
    :class:`EnvelopeError` when a setting cannot be established; otherwise the problem
    is recorded in :meth:`record` and raised as a warning.
    """

    #: how many envelopes are active in this process (nested ones skip process-wide checks)
    _depth = 0
    _controller: Any = None

    def __init__(self, seed: int, *, threads: int = 1, strict: bool = False) -> None:
        self.seed = int(seed)
        self.threads = int(threads)
        self.strict = strict
        self.problems: list[str] = []
        self._saved: dict[str, Any] = {}
        self._limiter: Any = None
        self._active = False

    # -- context manager -----------------------------------------------------------
    def __enter__(self) -> Envelope:
        if self._active:
            raise EnvelopeError("this envelope is already active; create a new Envelope for a nested block")
        self._active = True
        self.problems = []
        self._saved["random"] = random.getstate()
        import numpy as np

        self._saved["numpy"] = np.random.get_state()
        random.seed(self.seed)
        np.random.seed(self.seed)
        try:
            self._limit_threads()
            self._set_torch()
            if Envelope._depth == 0:  # a process-wide fact: checked once, by the outermost envelope
                self._check_hash_seed()
        except BaseException:
            self._restore()  # a strict failure leaves the globals as they were
            raise
        Envelope._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        Envelope._depth -= 1
        self._restore()

    def _restore(self) -> None:
        import numpy as np

        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None
        self._restore_torch()
        np.random.set_state(self._saved.pop("numpy"))
        random.setstate(self._saved.pop("random"))
        self._active = False

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with Envelope(self.seed, threads=self.threads, strict=self.strict):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    # -- pieces --------------------------------------------------------------------
    def _limit_threads(self) -> None:
        from threadpoolctl import ThreadpoolController

        # finding the loaded thread pools walks the process's shared libraries (milliseconds);
        # nested envelopes (one per CV task) reuse what the outermost one found
        if Envelope._depth == 0 or Envelope._controller is None:
            Envelope._controller = ThreadpoolController()
        self._limiter = Envelope._controller.limit(limits=self.threads)
        if Envelope._depth > 0:
            return  # the outermost envelope already checked that the pools obey the limit
        ignoring = [
            f"{pool.get('internal_api')} ({pool.get('num_threads')} threads)"
            for pool in ThreadpoolController().info()
            if pool.get("num_threads", self.threads) > self.threads
        ]
        if ignoring:
            self._problem(f"thread pools ignore the limit of {self.threads}: {', '.join(sorted(ignoring))}")

    def _check_hash_seed(self) -> None:
        if os.environ.get("PYTHONHASHSEED") in (None, "random"):
            self._problem("PYTHONHASHSEED is not fixed; run through the trainlock CLI, which sets it")

    def _set_torch(self) -> None:
        torch = sys.modules.get("torch")  # seed what is there: never import a framework
        if torch is None:
            return
        self._saved["torch"] = {
            "rng": torch.random.get_rng_state(),
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "threads": torch.get_num_threads(),
        }
        torch.manual_seed(self.seed)
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_num_threads(self.threads)

    def _restore_torch(self) -> None:
        saved = self._saved.pop("torch", None)
        torch = sys.modules.get("torch")
        if saved is None or torch is None:
            return
        torch.random.set_rng_state(saved["rng"])
        torch.use_deterministic_algorithms(saved["deterministic"])
        torch.backends.cudnn.benchmark = saved["cudnn_benchmark"]
        torch.backends.cudnn.deterministic = saved["cudnn_deterministic"]
        torch.backends.cuda.matmul.allow_tf32 = saved["tf32_matmul"]
        torch.backends.cudnn.allow_tf32 = saved["tf32_cudnn"]
        torch.set_num_threads(saved["threads"])

    def _problem(self, message: str) -> None:
        if self.strict:
            raise EnvelopeError(f"strict envelope: {message}")
        self.problems.append(message)
        warnings.warn(f"trainlock envelope: {message}", RuntimeWarning, stacklevel=3)

    def record(self) -> dict[str, Any]:
        """What the envelope set, for environment.json."""
        return {
            "seed": self.seed,
            "threads": self.threads,
            "strict": self.strict,
            "process_env": process_env_record(),
            "torch": "torch" in sys.modules,
            "problems": list(self.problems),
        }
