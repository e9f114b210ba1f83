"""Choosing the decision threshold from out-of-fold scores, never from the test set."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, target_precision: float | None) -> dict[str, Any]:
    """The lowest threshold whose precision reaches the target (most recall), else the best F1.

    Ties resolve to the first candidate in ascending threshold order, so the choice is
    a pure function of the scores.
    """
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if target_precision is not None:
        reaching = np.flatnonzero(precision >= target_precision)
        if reaching.size:
            index, reached, strategy = int(reaching[0]), True, "target_precision"
        else:
            index, reached, strategy = int(np.argmax(precision)), False, "target_precision"
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        index, reached, strategy = int(np.argmax(f1)), True, "max_f1"
    return {
        "threshold": float(thresholds[index]),
        "strategy": strategy,
        "target_precision": target_precision,
        "reached": reached,
        "oof_precision": float(precision[index]),
        "oof_recall": float(recall[index]),
        "n_oof": len(y_true),
    }
