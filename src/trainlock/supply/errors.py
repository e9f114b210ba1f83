"""The supply-chain leaves of trainlock's one exception tree (rooted in ``trainlock.errors``)."""

from __future__ import annotations

from ..errors import LedgerError, MissingExtraError, TrainlockError

__all__ = ["ContainerRecipeError", "KeyFileError", "LedgerError", "LockFileError", "MissingExtraError"]

# -- bad input: exit 2 -------------------------------------------------------------


class LockFileError(TrainlockError, ValueError):
    """A requirements lock file is missing, unreadable, or holds an unpinned requirement."""


class KeyFileError(TrainlockError, ValueError):
    """A signing or verification key file is missing, of the wrong kind, or would be overwritten."""


class ContainerRecipeError(TrainlockError, ValueError):
    """The container recipe cannot be written as asked (unpinned base image, bad platform, existing file)."""
