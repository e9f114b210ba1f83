"""Deterministic parallel map: results come back in task order, whatever ran where first.

Each task runs inside its own :class:`~trainlock.envelope.Envelope` with one numeric
thread, in the parent (``workers <= 1``) or in a worker process; the outcome of a task
depends only on its inputs, so every worker count gives bitwise identical results.
Tasks are submitted longest first so that the slowest one does not start last.

Where the workers come from matters as much as how many there are. A fresh worker
(joblib's loky, or any spawned process) re-imports scikit-learn, pandas and SciPy,
which costs over a second of CPU per worker: more than cross-validating a data set of a
few thousand rows takes, so ``--workers 2`` used to be *slower* than ``--workers 1``.
:func:`worker_pool` therefore forks its workers once per training, on Linux, after the
scientific stack is imported and before any other thread starts: a worker is ready in
milliseconds with every module loaded, and both the cross-validation tasks
(:func:`run_ordered`) and scikit-learn's own joblib calls (:func:`joblib_workers`, used
by calibration) run on the same processes. Where forking is unsafe (not Linux, other
threads already running, inside a daemonic worker such as Dask's), loky is used.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from joblib.parallel import ParallelBackendBase, SequentialBackend

from .errors import WorkerDied

T = TypeVar("T")
R = TypeVar("R")

#: the pool of the training running in this process, while :func:`worker_pool` is active
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def run_ordered(
    func: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int = 1,
    cost: Callable[[T], float] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[R]:
    if workers <= 1 or len(tasks) <= 1:
        results = []
        for index, task in enumerate(tasks):
            results.append(func(task))
            if on_done is not None:
                on_done(index)
        return results
    order = sorted(range(len(tasks)), key=lambda i: (-(cost(tasks[i]) if cost else 0.0), i))
    if _pool is not None:
        outcomes: Iterator[Any] = _pool.map(func, [tasks[i] for i in order])
    else:
        from joblib import Parallel, delayed

        runner = Parallel(n_jobs=workers, backend="loky", return_as="generator", inner_max_num_threads=1)
        outcomes = runner(delayed(func)(tasks[i]) for i in order)
    results_by_index: dict[int, Any] = {}
    for index, result in zip(order, outcomes, strict=True):
        results_by_index[index] = result
        if on_done is not None:
            on_done(index)
    return [results_by_index[i] for i in range(len(tasks))]


@contextlib.contextmanager
def worker_pool(workers: int, threads: int = 1) -> Iterator[None]:
    """Fork ``workers`` processes for the block, for :func:`run_ordered` and :func:`joblib_workers`.

    Call it after importing what the tasks need and before starting threads. Does nothing
    for one worker, inside an active pool, or where forking is unsafe (loky is used then).
    """
    global _pool, _pool_size
    if workers <= 1 or _pool is not None or not can_fork():
        yield
        return
    flush_before_fork()
    executor = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init_child_process,
        initargs=(os.getpid(), threads),
    )
    failed = False
    try:
        executor.submit(int).result()  # a fork pool starts every worker at its first task: now, while single-threaded
        _pool, _pool_size = executor, workers
        yield
    except BrokenProcessPool:
        failed = True
        raise WorkerDied(
            f"a worker process of --workers {workers} died mid-task (killed by a signal, often the out-of-memory "
            "killer); the run was not completed; retry with fewer --workers or more memory"
        ) from None
    except BaseException:
        failed = True
        raise
    finally:
        _pool, _pool_size = None, 0
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=not failed, cancel_futures=True)
        if failed:  # interrupted or failed: do not wait for tasks nobody will read
            for process in processes:
                if process.is_alive():
                    process.kill()


def worker_processes(workers: int) -> str:
    """How ``workers`` processes are provided right now: recorded with the run's envelope."""
    if workers <= 1:
        return "none"
    return "fork" if _pool is not None else "loky"


def joblib_workers() -> contextlib.AbstractContextManager[Any]:
    """A joblib configuration that runs scikit-learn's ``n_jobs`` work on the same workers as :func:`run_ordered`."""
    from joblib import parallel_config

    config: contextlib.AbstractContextManager[Any]
    if _pool is not None:
        config = parallel_config(backend=_PoolBackend(_pool, _pool_size))
    else:
        # the same loky settings as run_ordered, so that joblib reuses loky's pool instead of restarting it
        config = parallel_config(backend="loky", inner_max_num_threads=1)
    return config


def can_fork() -> bool:
    """Whether this process may fork children that start with everything it has imported."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon  # daemonic processes may not have children
        and threading.active_count() == 1  # forking copies locks other threads may hold
    )


def flush_before_fork() -> None:
    """Empty the standard streams' buffers: a buffered line would be written again by every child when it exits."""
    sys.stdout.flush()
    sys.stderr.flush()


def init_child_process(parent_pid: int, threads: int) -> None:
    """Set up a forked worker or helper: it obeys the parent, not the terminal, and dies with it."""
    global _worker_limits
    # Ctrl-C reaches the whole process group: the parent alone decides what an interrupt ends
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the CLI turns SIGTERM into an exception; a worker that is stopped must just end, silently
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    from threadpoolctl import threadpool_limits

    _worker_limits = threadpool_limits(limits=threads)


_worker_limits: Any = None


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive a killed training: it would keep its memory and CPU busy for nothing."""
    import ctypes

    PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>; no library exposes prctl, so ctypes calls libc directly
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _call_pickled(payload: bytes) -> Any:
    import pickle

    return pickle.loads(payload)()


class _PoolBackend(ParallelBackendBase):  # type: ignore[misc]
    """joblib's documented custom-backend interface over the training's forked pool.

    The pool outlives each ``Parallel`` call, so ``terminate`` leaves it running; work
    nested inside a worker runs sequentially, as every worker has one numeric thread.
    """

    supports_retrieve_callback = True

    def __init__(self, pool: ProcessPoolExecutor, size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._executor = pool
        self._size = size

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        return self._size

    def submit(self, func: Callable[[], Any], callback: Callable[[Future[Any]], None] | None = None) -> Future[Any]:
        import cloudpickle

        # scikit-learn passes objects the standard pickle refuses (its array namespace module);
        # cloudpickle, which loky uses too, sends them by reference
        future = self._executor.submit(_call_pickled, cloudpickle.dumps(func))
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, future: Future[Any]) -> Any:
        return future.result()

    def get_nested_backend(self) -> tuple[Any, None]:
        return SequentialBackend(nesting_level=(self.nesting_level or 0) + 1), None
