"""The report and web UI leaves of trainlock's one exception tree (rooted in ``trainlock.errors``)."""

from __future__ import annotations

from ..errors import TrainlockError

# -- bad input: exit 2 -------------------------------------------------------------


class ReportError(TrainlockError, ValueError):
    """A report cannot be made as asked (too few runs to compare, an unusable output path)."""


class ReportExtraMissing(TrainlockError, ImportError):
    """matplotlib, which draws the charts (the ``report`` extra), is not installed."""
