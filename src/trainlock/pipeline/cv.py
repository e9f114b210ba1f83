"""Cross-validation: one task per (model, fold), preprocessing fitted once per fold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..envelope import Envelope
from . import metrics
from .models import FAMILY_COST, build_estimator


@dataclass(frozen=True)
class FoldTask:
    """One fold's preprocessing, fitted on its training rows only and shared by every model."""

    settings: Any
    numeric: list[str]
    categorical: list[str]
    train: Any  # typed feature frame of the fold's training rows
    valid: Any
    rulefit: bool  # also the unscaled, named-column matrices rulefit reads
    seed: int
    threads: int = 1


@dataclass(frozen=True)
class FoldMatrices:
    scaled: tuple[np.ndarray, np.ndarray]
    rulefit: tuple[Any, Any] | None


def prepare_fold(task: FoldTask) -> FoldMatrices:
    from .preprocess import build_preprocessor
    from .rulefit import rulefit_preprocessor

    with Envelope(task.seed, threads=task.threads):
        pre = build_preprocessor(task.settings, task.numeric, task.categorical)
        scaled = (pre.fit_transform(task.train), pre.transform(task.valid))
        named = None
        if task.rulefit:
            own = rulefit_preprocessor(task.settings, task.numeric, task.categorical)
            named = (own.fit_transform(task.train), own.transform(task.valid))
    return FoldMatrices(scaled, named)


@dataclass(frozen=True)
class CvTask:
    family: str
    fold: int
    params: Any
    seed: int
    classification: bool
    metric: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    threads: int = 1


@dataclass(frozen=True)
class CvResult:
    family: str
    fold: int
    scores: np.ndarray
    probabilistic: bool
    value: float


def model_scores(model: Any, X: Any) -> tuple[np.ndarray, bool]:
    """Positive-class scores: probabilities when the model has them, else decision values."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, 1].astype("float64"), True
    return np.asarray(model.decision_function(X)).astype("float64"), False


def fit_and_score(task: CvTask) -> CvResult:
    with Envelope(task.seed, threads=task.threads):
        model = build_estimator(task.family, task.params, task.seed, task.classification)
        model.fit(task.X_train, task.y_train)
        if task.classification:
            scores, probabilistic = model_scores(model, task.X_valid)
            # predicting labels costs a second pass over the fold: only for metrics that need them
            labels = np.asarray(model.predict(task.X_valid)) if task.metric in metrics.NEEDS_LABELS else scores
        else:
            scores, probabilistic = np.asarray(model.predict(task.X_valid), dtype="float64"), False
            labels = scores
        value = metrics.score(task.metric, task.y_valid, scores, labels, probabilistic=probabilistic)
    return CvResult(task.family, task.fold, scores, probabilistic, value)


def task_cost(task: CvTask) -> float:
    return FAMILY_COST.get(task.family, 1.0) * len(task.y_train)
