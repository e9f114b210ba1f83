"""Drift baseline at training time, and the comparison of a prediction batch against it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: |z| of a batch mean above which a feature is reported as drifted
DRIFT_Z = 3.0


def baseline(
    typed: pd.DataFrame, numeric: list[str], categorical: list[str], target: np.ndarray, task: str
) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for column in numeric:
        values = typed[column].to_numpy(dtype="float64")
        present = values[~np.isnan(values)]
        features[column] = {
            "kind": "numeric",
            "mean": float(present.mean()) if present.size else None,
            "std": float(present.std(ddof=1)) if present.size > 1 else None,
            "min": float(present.min()) if present.size else None,
            "max": float(present.max()) if present.size else None,
            "missing_rate": float(np.isnan(values).mean()),
        }
    for column in categorical:
        series = typed[column]
        counts = series.dropna().value_counts()
        total = int(counts.sum())
        features[column] = {
            "kind": "categorical",
            "frequencies": {str(k): float(v / total) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
            "missing_rate": float(series.isna().mean()),
        }
    result: dict[str, Any] = {"n_samples": len(typed), "features": features}
    if task == "classification":
        result["class_rate"] = float(np.mean(target))
    else:
        result["target_mean"] = float(np.mean(target))
        result["target_std"] = float(np.std(target, ddof=1))
    return result


def compare(
    base: dict[str, Any], typed: pd.DataFrame, predicted_positive_rate: float | None, *, z_limit: float = DRIFT_Z
) -> dict[str, Any]:
    """Per-feature z-score of the batch mean (in standard errors), category shifts, class-rate shift."""
    n = len(typed)
    report: dict[str, Any] = {"n_samples": n, "z_limit": z_limit, "features": {}, "drifted": []}
    for column, stats in sorted(base["features"].items()):
        if column not in typed.columns:
            continue
        if stats["kind"] == "numeric":
            values = typed[column].to_numpy(dtype="float64")
            present = values[~np.isnan(values)]
            entry: dict[str, Any] = {
                "kind": "numeric",
                "batch_mean": float(present.mean()) if present.size else None,
                "missing_rate": float(np.isnan(values).mean()) if n else 0.0,
            }
            if present.size and stats["std"] not in (None, 0.0) and stats["mean"] is not None:
                shift = (entry["batch_mean"] - stats["mean"]) / stats["std"]
                entry["shift_in_std"] = float(shift)
                entry["z"] = float(shift * math.sqrt(present.size))
            else:
                entry["shift_in_std"] = entry["z"] = None
            drifted = entry["z"] is not None and abs(entry["z"]) > z_limit
        else:
            series = typed[column].dropna()
            counts = series.value_counts()
            total = int(counts.sum()) or 1
            seen = stats["frequencies"]
            batch = {str(k): float(v / total) for k, v in counts.items()}
            unseen = sorted(k for k in batch if k not in seen)
            tvd = 0.5 * sum(abs(batch.get(k, 0.0) - seen.get(k, 0.0)) for k in set(batch) | set(seen))
            entry = {"kind": "categorical", "total_variation": float(tvd), "unseen_categories": unseen}
            # a distance of 0.1 between category distributions is a conventional warning level
            drifted = bool(unseen) or tvd > 0.1
        entry["drifted"] = bool(drifted)
        report["features"][column] = entry
        if drifted:
            report["drifted"].append(column)
    if predicted_positive_rate is not None and "class_rate" in base:
        report["class_rate_baseline"] = base["class_rate"]
        report["predicted_positive_rate"] = predicted_positive_rate
        report["class_rate_shift"] = float(predicted_positive_rate - base["class_rate"])
    return report
