"""The purchase recipe as a plain scikit-learn script: the baseline trainlock is timed against.

This is what a careful data scientist would write without trainlock: the same steps and
the same hyperparameters as ``trainlock train examples/purchase/config.yaml`` (read from
the same YAML), but no hashing, fingerprints, lineage, envelope or run folder. It must
not import trainlock.

    python benchmarks/plain_recipe.py [--config PATH] [--profile NAME] [--n-jobs N] [--out DIR]

Steps: load CSV → derived features (weighted sum, ratio + epsilon) → stratified
train/test split → stratified k-fold CV of every candidate, with the preprocessing
(median impute → IQR clip → scale | most-frequent impute → one-hot) fitted inside a
Pipeline per (model, fold) → best mean ROC AUC → CalibratedClassifierCV(sigmoid) →
threshold on out-of-fold calibrated probabilities (lowest one reaching the target
precision) → test predictions and metrics → joblib.dump of the model.

With ``--n-jobs 1`` (the default) everything runs single-threaded: the script wraps
its work in ``threadpoolctl.threadpool_limits(1)`` and its caller is expected to set
OMP_NUM_THREADS=1 etc. before starting it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE.parent / "examples" / "purchase" / "config.yaml"


# -- config -------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(path: Path, profiles: list[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    available = config.pop("profiles", None) or {}
    for name in profiles:
        if name not in available:
            raise SystemExit(f"unknown profile '{name}'; the config declares: {', '.join(sorted(available))}")
        config = deep_merge(config, available[name])
    return config


# -- preprocessing ----------------------------------------------------------------------


class IQRClipper(TransformerMixin, BaseEstimator):
    """Clip each column to [Q1 - factor*IQR, Q3 + factor*IQR], learned on the fit data."""

    def __init__(self, factor: float = 1.5):
        self.factor = factor

    def fit(self, X: Any, y: Any = None) -> IQRClipper:
        values = np.asarray(X, dtype="float64")
        q1, q3 = np.nanpercentile(values, [25.0, 75.0], axis=0)
        self.lower_ = q1 - self.factor * (q3 - q1)
        self.upper_ = q3 + self.factor * (q3 - q1)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.clip(np.asarray(X, dtype="float64"), self.lower_, self.upper_)


def add_derived_features(frame: pd.DataFrame, derived: dict[str, Any]) -> pd.DataFrame:
    frame = frame.copy()
    for name in sorted(derived):
        spec = derived[name]
        if "weighted_sum" in spec:
            total = np.zeros(len(frame), dtype="float64")
            for column, weight in sorted(spec["weighted_sum"].items()):
                total = total + float(weight) * frame[column].astype("float64").to_numpy()
            frame[name] = total
        else:
            numerator, denominator = spec["ratio"]
            epsilon = float(spec.get("epsilon", 1e-6))
            frame[name] = frame[numerator].astype("float64") / (frame[denominator].astype("float64") + epsilon)
    return frame


def build_preprocessor(settings: dict[str, Any], numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    numeric_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy=settings.get("numeric_imputer", "median")))
    ]
    if settings.get("outlier_factor", 1.5) is not None:
        numeric_steps.append(("clip", IQRClipper(factor=float(settings.get("outlier_factor", 1.5)))))
    if settings.get("scale", True):
        numeric_steps.append(("scale", StandardScaler()))
    categorical_pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy=settings.get("categorical_imputer", "most_frequent"))),
            ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return ColumnTransformer(
        [("numeric", Pipeline(numeric_steps), numeric), ("categorical", categorical_pipe, categorical)]
    )


# -- models -------------------------------------------------------------------------------


def build_models(models: dict[str, Any], seed: int, n_jobs: int) -> dict[str, Any]:
    factories = {
        "logistic_regression": lambda p: LogisticRegression(random_state=seed, **p),
        "knn": lambda p: KNeighborsClassifier(**p),
        "svm": lambda p: SVC(random_state=seed, **p),  # no probability=True: calibration makes probabilities
        "decision_tree": lambda p: DecisionTreeClassifier(random_state=seed, **p),
        "random_forest": lambda p: RandomForestClassifier(random_state=seed, n_jobs=n_jobs, **p),
    }
    unknown = sorted(set(models) - set(factories))
    if unknown:
        raise SystemExit(f"this script knows no model family {', '.join(unknown)}")
    return {name: factories[name](dict(params or {})) for name, params in sorted(models.items()) if params is not None}


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, target_precision: float) -> float:
    """The lowest threshold whose precision reaches the target, else the most precise one."""
    precision, _recall, thresholds = precision_recall_curve(y_true, scores)
    reaching = np.flatnonzero(precision[:-1] >= target_precision)
    index = int(reaching[0]) if reaching.size else int(np.argmax(precision[:-1]))
    return float(thresholds[index])


# -- the recipe -----------------------------------------------------------------------------


def train(config: dict[str, Any], config_dir: Path, out: Path, n_jobs: int) -> dict[str, Any]:
    seed = int(config.get("seed", 0))
    data = config["data"]
    frame = pd.read_csv(config_dir / data["path"])
    target = data["target"]
    y = frame.pop(target).to_numpy().astype("int64")
    X = add_derived_features(frame, config.get("features", {}).get("derived", {}))
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    X[numeric] = X[numeric].astype("float64")

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=float(data.get("test_size", 0.2)), stratify=y, random_state=seed
    )

    # -- cross-validate every candidate, preprocessing fitted inside the pipeline per fold
    cv_settings = config.get("cv", {})
    folds = StratifiedKFold(n_splits=int(cv_settings.get("n_splits", 5)), shuffle=True, random_state=seed)
    metric = cv_settings.get("metric") or "roc_auc"
    preprocessing = config.get("preprocessing", {})
    cv_table: dict[str, Any] = {}
    pipelines: dict[str, Pipeline] = {}
    for name, model in build_models(config["models"], seed, n_jobs).items():
        pipelines[name] = Pipeline(
            [("preprocess", build_preprocessor(preprocessing, numeric, categorical)), ("model", model)]
        )
        scores = cross_val_score(pipelines[name], X_train, y_train, cv=folds, scoring=metric, n_jobs=n_jobs)
        cv_table[name] = {"folds": scores.tolist(), "mean": float(scores.mean()), "std": float(scores.std(ddof=1))}
    best = max(sorted(cv_table), key=lambda name: cv_table[name]["mean"])

    # -- calibrate the winner; each calibrated member scores its own held-out rows
    calibration = config.get("calibration", {})
    splits = list(
        StratifiedKFold(n_splits=int(calibration.get("cv", 5)), shuffle=True, random_state=seed).split(X_train, y_train)
    )
    model = CalibratedClassifierCV(
        pipelines[best], method=calibration.get("method", "sigmoid"), cv=splits, n_jobs=n_jobs
    )
    model.fit(X_train, y_train)
    oof = np.empty(len(y_train), dtype="float64")
    for member, (_, held_out) in zip(model.calibrated_classifiers_, splits, strict=True):
        oof[held_out] = member.predict_proba(X_train.iloc[held_out])[:, 1]
    threshold = choose_threshold(y_train, oof, float(config.get("business", {}).get("target_precision") or 0.5))

    # -- test set
    scores = model.predict_proba(X_test)[:, 1]
    labels = (scores >= threshold).astype(int)
    test = {
        "roc_auc": float(roc_auc_score(y_test, scores)),
        "average_precision": float(average_precision_score(y_test, scores)),
        "accuracy": float(accuracy_score(y_test, labels)),
        "precision": float(precision_score(y_test, labels, zero_division=0)),
        "recall": float(recall_score(y_test, labels, zero_division=0)),
        "f1": float(f1_score(y_test, labels, zero_division=0)),
        "log_loss": float(log_loss(y_test, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "brier": float(brier_score_loss(y_test, scores)),
    }

    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    result = {"cv": cv_table, "selected_model": best, "threshold": threshold, "test": test}
    (out / "metrics.json").write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="recipe YAML (default: the purchase example)"
    )
    parser.add_argument("--profile", action="append", default=[], help="apply a profile of the config (deep merge)")
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="n_jobs for CV, calibration and the random forest (default 1)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for model.joblib and metrics.json (default: a new temp folder)"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    config = load_config(args.config, args.profile)
    out = args.out or Path(tempfile.mkdtemp(prefix="plain_recipe_"))
    limits = threadpool_limits(limits=1) if args.n_jobs == 1 else contextlib.nullcontext()
    with limits:
        result = train(config, args.config.resolve().parent, out, args.n_jobs)
    if not args.quiet:
        row = result["cv"][result["selected_model"]]
        print(f"model  {result['selected_model']} (cv roc_auc {row['mean']:.4f} ± {row['std']:.4f})")
        print("test   " + ", ".join(f"{k} {v:.4f}" for k, v in result["test"].items()))
        print(f"saved  {out / 'model.joblib'} in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
