"""Metric functions by name, for CV selection and test-set reporting."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from ..errors import ConfigError

#: metrics where a smaller value is better; selection maximises the negation
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
NEEDS_LABELS = frozenset({"accuracy", "balanced_accuracy", "f1"})


def score(metric: str, y_true: np.ndarray, scores: np.ndarray, labels: np.ndarray, *, probabilistic: bool) -> float:
    """One metric; ``scores`` are positive-class scores, ``labels`` the predicted labels."""
    if metric == "roc_auc":
        return float(skm.roc_auc_score(y_true, scores))
    if metric == "average_precision":
        return float(skm.average_precision_score(y_true, scores))
    if metric == "accuracy":
        return float(skm.accuracy_score(y_true, labels))
    if metric == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y_true, labels))
    if metric == "f1":
        return float(skm.f1_score(y_true, labels, zero_division=0))
    if metric == "log_loss":
        if not probabilistic:
            raise ConfigError(
                "cv.metric log_loss needs probabilities, but a model gives decision scores (svm); choose roc_auc"
            )
        return float(skm.log_loss(y_true, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1]))
    if metric == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y_true, scores)))
    if metric == "mae":
        return float(skm.mean_absolute_error(y_true, scores))
    if metric == "r2":
        return float(skm.r2_score(y_true, scores))
    raise ConfigError(f"unknown metric '{metric}'")


def selection_value(metric: str, value: float) -> float:
    return -value if metric in LOWER_IS_BETTER else value


def classification_report(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, *, probabilistic: bool
) -> dict[str, Any]:
    labels = (scores >= threshold).astype(int)
    report = {
        "roc_auc": float(skm.roc_auc_score(y_true, scores)) if len(np.unique(y_true)) > 1 else None,
        "average_precision": float(skm.average_precision_score(y_true, scores)) if y_true.any() else None,
        "accuracy": float(skm.accuracy_score(y_true, labels)),
        "precision": float(skm.precision_score(y_true, labels, zero_division=0)),
        "recall": float(skm.recall_score(y_true, labels, zero_division=0)),
        "f1": float(skm.f1_score(y_true, labels, zero_division=0)),
        "positive_rate": float(labels.mean()) if len(labels) else 0.0,
        "n": len(y_true),
    }
    if probabilistic:
        clipped = np.clip(scores, 1e-15, 1 - 1e-15)
        report["log_loss"] = float(skm.log_loss(y_true, clipped, labels=[0, 1]))
        report["brier"] = float(skm.brier_score_loss(y_true, scores))
    return report


def regression_report(y_true: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, predictions))),
        "mae": float(skm.mean_absolute_error(y_true, predictions)),
        "r2": float(skm.r2_score(y_true, predictions)),
        "n": len(y_true),
    }
