"""One exception tree for everything trainlock reports to a user.

Every message says what was found and what to do about it; the CLI prints
``str(error)`` as a single line and chooses the exit code from the class.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status of the ``trainlock`` command, defined here once."""

    OK = 0
    #: a check ran and found a difference (verify mismatch, runs differ, lint findings), or a worker died
    CHECK_FAILED = 1
    #: bad input or usage
    BAD_INPUT = 2
    #: a bug: rerun with --debug and report the traceback
    INTERNAL = 3
    #: Ctrl-C (128 + SIGINT), as a shell reports it
    INTERRUPTED = 130
    #: SIGTERM (128 + SIGTERM)
    TERMINATED = 143


class TrainlockError(Exception):
    """Root of every error trainlock raises on purpose."""

    #: exit code the CLI uses for this kind of problem
    exit_code: ExitCode = ExitCode.BAD_INPUT


# -- bad input: exit 2 -------------------------------------------------------------


class ConfigError(TrainlockError, ValueError):
    """The configuration is invalid: unknown key, wrong type, out-of-range value."""


class DataError(TrainlockError, ValueError):
    """The data file is missing, unreadable, or does not fit the recipe."""


class SchemaError(DataError):
    """Prediction input does not match the frozen training schema."""


class RunNotFoundError(TrainlockError, LookupError):
    """No run with that id or folder exists in the store."""


class IncompleteRunError(TrainlockError):
    """The run folder has no lineage.json: the run crashed or is still running."""


class StorePathError(TrainlockError, ValueError):
    """A path would escape the run store or the run folder."""


class LedgerError(TrainlockError, ValueError):
    """The store's ledger cannot be read or appended to (no store, unreadable file)."""


class MissingExtraError(TrainlockError, ImportError):
    """An optional dependency group (an extra) needed by this command is not installed."""


class FingerprintError(TrainlockError, TypeError):
    """No semantic fingerprint function is registered for a model type."""


class EnvelopeError(TrainlockError, RuntimeError):
    """The deterministic execution envelope could not be established (strict mode)."""


# -- failed checks: exit 1 ---------------------------------------------------------


class CheckFailed(TrainlockError):
    """A check ran and found a difference (verify mismatch, runs differ)."""

    exit_code = ExitCode.CHECK_FAILED


class IntegrityError(CheckFailed):
    """A file's hash does not match the hash recorded in lineage.json."""


class WorkerDied(TrainlockError, RuntimeError):
    """A worker process of ``--workers N`` died mid-task (killed by a signal, e.g. out of memory)."""

    exit_code = ExitCode.CHECK_FAILED
