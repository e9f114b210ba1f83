"""The export leaves of trainlock's one exception tree (rooted in ``trainlock.errors``)."""

from __future__ import annotations

from ..errors import TrainlockError


class ExportError(TrainlockError, RuntimeError):
    """An export target (an OpenLineage endpoint, an MLflow tracking store) refused the run or could not be reached."""
