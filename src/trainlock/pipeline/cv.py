"""Cross-validation: one task per (model, fold), preprocessing fitted once per fold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..envelope import Envelope
from . import metrics
from .families import PreprocessingKind, family_of
from .models import build_estimator
from .preprocess import preprocessor_for

#: one fold's (training rows, validation rows) matrices of each preprocessing kind the models read
FoldMatrices = dict[PreprocessingKind, tuple[Any, Any]]


@dataclass(frozen=True)
class FoldTask:
    """One fold's preprocessing, fitted on its training rows only and shared by every model."""

    settings: Any
    numeric: list[str]
    categorical: list[str]
    train: Any  # typed feature frame of the fold's training rows
    valid: Any
    kinds: tuple[PreprocessingKind, ...]  # the preprocessing kinds the declared families read
    seed: int
    threads: int = 1


def prepare_fold(task: FoldTask) -> FoldMatrices:
    matrices: FoldMatrices = {}
    with Envelope(task.seed, threads=task.threads):
        for kind in task.kinds:
            pre = preprocessor_for(kind, task.settings, task.numeric, task.categorical)
            matrices[kind] = (pre.fit_transform(task.train), pre.transform(task.valid))
    return matrices


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
    return family_of(task.family).cost * len(task.y_train)
