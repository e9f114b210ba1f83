"""Deterministic parallel map: results come back in task order, whatever ran where first.

Each task runs inside its own :class:`~trainlock.envelope.Envelope` with one numeric
thread, in the parent (``workers <= 1``) or in a joblib process; the outcome of a task
depends only on its inputs, so every worker count gives bitwise identical results.
Tasks are submitted longest first so that the slowest one does not start last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
    from joblib import Parallel, delayed

    order = sorted(range(len(tasks)), key=lambda i: (-(cost(tasks[i]) if cost else 0.0), i))
    results_by_index: dict[int, Any] = {}
    runner = Parallel(n_jobs=workers, backend="loky", return_as="generator", inner_max_num_threads=1)
    for index, result in zip(order, runner(delayed(func)(tasks[i]) for i in order)):
        results_by_index[index] = result
        if on_done is not None:
            on_done(index)
    return [results_by_index[i] for i in range(len(tasks))]
