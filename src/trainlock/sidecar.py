"""A forked helper process for a training's bookkeeping, on a core the training leaves idle.

Writing a run costs about a second that has nothing to do with training: importing
skops (which imports every scikit-learn module to list its default trusted types),
serialising the model, listing the installed distributions. Done by the training
process it adds straight to a run's wall time; done on a thread it made runs *slower*
(measured: the thread competes with model fitting for the GIL). A process forked once
per training, while the training process is still single-threaded, does it beside the
training instead, with everything already imported.

The protocol cannot deadlock on a full pipe: at most one request is outstanding, and
its reply is read before the next request is sent. Whatever goes wrong with the helper
(it could not be forked, it died, it could not take the task's arguments, the task
failed there) the task runs again in the calling process, where it succeeds or fails
exactly as it would have without a helper.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .parallel import can_fork, flush_before_fork, init_child_process

R = TypeVar("R")

_STOP = None  # the request that ends the helper

#: a larger request (a very large model) runs in the caller: in the helper it would hold the
#: pickled bytes, a copy of the model and the file's bytes at once, and a training that fitted
#: in memory must not be killed for its bookkeeping; beside such a fit the saved second is noise
MAX_REQUEST_BYTES = 256 * 2**20


class Pending(Generic[R]):
    """A task started on the sidecar (or deferred to the caller); :meth:`result` waits for it."""

    def __init__(self, sidecar: Sidecar, func: Callable[..., R], args: tuple[Any, ...], sent: bool) -> None:
        self._sidecar = sidecar
        self._func = func
        self._args = args
        self._sent = sent
        self._done = False
        self._value: Any = None

    def result(self) -> R:
        if not self._done:
            reply = self._sidecar._receive() if self._sent else None
            # None: not sent, the helper died, or the task failed there; running it here gives the
            # caller the real outcome (the same value, or the error with its own traceback)
            self._value = reply[1] if reply is not None else self._func(*self._args)
            self._done = True
            self._args = ()  # let a large argument (a model) be freed
        return self._value  # type: ignore[no-any-return]


class Sidecar:
    """One helper process; without one (:meth:`inline`) every task runs in the caller when its result is asked for."""

    def __init__(self, connection: Any = None, process: Any = None, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self._connection = connection
        self._process = process
        self._max_request_bytes = max_request_bytes
        self._outstanding: Pending[Any] | None = None

    @classmethod
    def inline(cls) -> Sidecar:
        return cls()

    @property
    def forked(self) -> bool:
        return self._connection is not None

    def start(self, func: Callable[..., R], *args: Any) -> Pending[R]:
        """Start ``func(*args)`` (a module-level function) on the helper; the caller goes on meanwhile."""
        if self._outstanding is not None:
            self._outstanding.result()  # one request at a time: see the module docstring
            self._outstanding = None
        sent = self._send((func, args))
        pending = Pending(self, func, args, sent)
        if sent:
            self._outstanding = pending
        return pending

    def _send(self, request: Any) -> bool:
        if self._connection is None:
            return False
        try:
            payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # e.g. a model holding a lambda: the caller serialises it itself
            return False
        if len(payload) > self._max_request_bytes:
            return False
        try:
            self._connection.send_bytes(payload)
        except OSError:
            self.close(failed=True)  # the helper is gone: inline from now on
            return False
        return True

    def _receive(self) -> tuple[str, Any] | None:
        self._outstanding = None
        if self._connection is None:
            return None
        try:
            reply: tuple[str, Any] = pickle.loads(self._connection.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):
            self.close(failed=True)  # the helper is gone: inline from now on
            return None
        return reply if reply[0] == "ok" else None

    def close(self, failed: bool = False) -> None:
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is None:
            return
        if not failed:
            with contextlib.suppress(OSError):
                connection.send_bytes(pickle.dumps(_STOP))
        connection.close()
        if failed:
            process.kill()
        process.join(timeout=5 if failed else 30)  # it ends on _STOP at once; never hang a finished training on it
        if process.is_alive():
            process.kill()
            process.join()


@contextlib.contextmanager
def sidecar(threads: int = 1, max_request_bytes: int = MAX_REQUEST_BYTES) -> Iterator[Sidecar]:
    """Fork the helper for the block, where forking is safe (else tasks run inline).

    Fork it before any thread starts and before anything the helper must not inherit,
    such as a run's liveness lock.
    """
    if not can_fork():
        yield Sidecar.inline()
        return
    flush_before_fork()
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(
        target=_serve, args=(theirs, ours, os.getpid(), threads), daemon=True, name="trainlock-sidecar"
    )
    process.start()
    theirs.close()
    helper = Sidecar(ours, process, max_request_bytes)
    failed = False
    try:
        yield helper
    except BaseException:
        failed = True
        raise
    finally:
        helper.close(failed=failed)


def _serve(connection: Any, parents_end: Any, parent_pid: int, threads: int) -> None:
    parents_end.close()
    init_child_process(parent_pid, threads)
    while True:
        try:
            payload = connection.recv_bytes()
        except (EOFError, OSError):
            break
        try:
            # unpickling is part of the task: a class the helper cannot import (a module the
            # training found after the fork) fails it quietly, and the caller runs it inline
            request = pickle.loads(payload)
            if request is _STOP:
                break
            func, args = request
            reply = pickle.dumps(("ok", func(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # any failure: the caller reruns the task and meets the error itself
            reply = pickle.dumps(("failed", None))
        request = func = args = payload = None  # let a large argument (a model) be freed before the next
        try:
            connection.send_bytes(reply)
        except OSError:
            break
    connection.close()
