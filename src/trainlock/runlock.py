"""Liveness of a run: its process holds an exclusive flock on ``<run>/.running`` while it works.

The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
run folder without lineage.json whose lock can be taken belongs to a run that died. A pid
check could be fooled by pid reuse; the lock cannot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".running"


@contextlib.contextmanager
def hold(run_dir: Path) -> Iterator[None]:
    """Mark the run as running for the duration of the block."""
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def is_running(run_dir: Path) -> bool:
    path = run_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also releases a lock we just took
    return False
