"""The tabular recipe, step by step, each step recording a checkpoint in the trace.

load → features → split → folds → CV per (model, fold) → CV table → select → fit
(→ calibrate) → threshold → test predictions → drift baseline
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from ..envelope import Envelope, envelope_threads
from ..fingerprint import fingerprint
from ..parallel import joblib_workers, run_ordered
from ..predictions import predictions_fingerprint
from ..progress import NullProgress, Progress
from ..seeds import SeedLedger
from ..trace import Trace
from . import drift, metrics
from .config import Config
from .cv import CvResult, CvTask, FoldTask, fit_and_score, model_scores, prepare_fold, task_cost
from .data import Dataset, feature_columns
from .families import FamilySpec, ModelInputs, family_of
from .features import TabularFeatures, derived_specs, split_column_kinds
from .fragility import assess as assess_fragility
from .models import build_estimator, effective_params
from .preprocess import preprocessor_for
from .threshold import choose_threshold


@dataclass
class RecipeResult:
    model: Any
    schema: dict[str, Any]
    metrics: dict[str, Any]
    threshold: dict[str, Any] | None
    drift_baseline: dict[str, Any]
    predictions: pd.DataFrame
    model_fingerprint: str
    predictions_sha256: str
    trace: Trace = field(default_factory=Trace)
    #: the fragility.json document: every thresholded decision with its margin
    fragility: dict[str, Any] = field(default_factory=dict)


def encode_target(y: pd.Series, task: str) -> tuple[np.ndarray, list[Any]]:
    """Classification targets become 0/1 with the second sorted class as positive."""
    if task != "classification":
        return y.to_numpy(dtype="float64"), []
    classes = sorted(y.unique().tolist(), key=lambda value: (str(type(value)), value))
    return (y.to_numpy() == classes[1]).astype("int64"), [_plain(c) for c in classes]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def run_recipe(
    config: Config,
    dataset: Dataset,
    seeds: SeedLedger,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> RecipeResult:
    progress = progress or NullProgress()
    threads = envelope_threads()
    trace = Trace()
    classification = config.task == "classification"
    frame = dataset.frame
    trace.record("load", frame)

    # -- features: typed input columns plus the declared derived features ----------
    inputs = feature_columns(frame, config)
    numeric, categorical = split_column_kinds(frame, inputs)
    features = TabularFeatures(numeric=numeric, categorical=categorical, derived=derived_specs(config)).fit(frame)
    typed = features.transform(frame)
    y, classes = encode_target(frame[config.data.target], config.task)
    trace.record("features", typed)
    families = config.models.selected()
    specs = {family: family_of(family) for family in families}
    out_numeric, out_categorical = features.output_numeric_, features.output_categorical_
    model_inputs = ModelInputs(typed, out_numeric, out_categorical, config.preprocessing.categorical_imputer)
    for family, params in families.items():
        specs[family].check_inputs(params, model_inputs)

    # -- split ----------------------------------------------------------------------
    indices = np.arange(len(frame))
    train_idx, test_idx = train_test_split(
        indices,
        test_size=config.data.test_size,
        random_state=seeds.seed_for("split"),
        stratify=y if classification else None,
    )
    trace.record("split", {"train": train_idx, "test": test_idx})
    raw_train, raw_test = frame.iloc[train_idx], frame.iloc[test_idx]
    typed_train = typed.iloc[train_idx]
    y_train, y_test = y[train_idx], y[test_idx]

    splitter = (StratifiedKFold if classification else KFold)(
        n_splits=config.cv.n_splits, shuffle=True, random_state=seeds.seed_for("cv")
    )
    folds = list(splitter.split(np.zeros(len(y_train)), y_train))
    trace.record("cv/folds", [{"train": tr, "valid": va} for tr, va in folds])

    # -- cross-validation: preprocessing once per fold and kind, then one task per (model, fold)
    kinds = tuple(sorted({spec.preprocessing for spec in specs.values()}))
    fold_inputs = run_ordered(
        prepare_fold,
        [
            FoldTask(
                config.preprocessing,
                out_numeric,
                out_categorical,
                typed_train.iloc[tr],
                typed_train.iloc[va],
                kinds,
                config.seed,
                threads,
            )
            for tr, va in folds
        ],
        workers=workers,
    )
    tasks: list[CvTask] = []
    for fold, ((tr, va), matrices) in enumerate(zip(folds, fold_inputs, strict=True)):
        for family, params in families.items():
            X_ftr, X_fva = matrices[specs[family].preprocessing]
            tasks.append(
                CvTask(
                    family,
                    fold,
                    params,
                    seeds.seed_for(f"model/{family}"),
                    classification,
                    config.cv.metric or "",
                    X_ftr,
                    y_train[tr],
                    X_fva,
                    y_train[va],
                    threads,
                )
            )
    total_steps = len(tasks) + 4
    progress.start(total_steps, "cross-validation")
    results = run_ordered(
        fit_and_score,
        tasks,
        workers=workers,
        cost=task_cost,
        on_done=lambda i: progress.advance(f"cv {tasks[i].family} fold {tasks[i].fold}"),
    )
    for result in sorted(results, key=lambda r: (r.family, r.fold)):
        trace.record(f"cv/{result.family}/fold{result.fold}", result.scores, keep=result.scores)
    cv_table = _cv_table(results)
    trace.record("cv/table", cv_table, keep=True)

    # -- select -----------------------------------------------------------------------
    best, selection = _select(cv_table, config.cv.metric or "")
    trace.record("select", selection, keep=True)

    # -- fit (and calibrate) on the whole training part -------------------------------
    progress.advance(f"fit {best}")
    chosen = specs[best]
    model_seed = seeds.seed_for(f"model/{best}")
    pipeline = Pipeline(
        [
            ("features", TabularFeatures(numeric=numeric, categorical=categorical, derived=derived_specs(config))),
            ("preprocess", preprocessor_for(chosen.preprocessing, config.preprocessing, out_numeric, out_categorical)),
            ("model", build_estimator(best, families[best], model_seed, classification)),
        ]
    )
    estimator_params = effective_params(pipeline.named_steps["model"])
    threshold: dict[str, Any] | None = None
    oof_scores: np.ndarray | None = None
    calibration = _calibration_record(config, chosen, classification)
    if calibration["applied"]:
        model, oof_scores = _calibrate(pipeline, raw_train, y_train, config, seeds, workers, threads)
    else:
        with Envelope(model_seed, threads=threads):
            model = pipeline.fit(raw_train, y_train)
        if classification:
            oof_scores = _oof_from_cv(results, best, folds, len(y_train))
    model_fingerprint = fingerprint(model)
    trace.record("fit", None, digest=model_fingerprint)
    progress.advance("threshold")

    # -- threshold on out-of-fold scores ---------------------------------------------------
    if classification:
        assert oof_scores is not None
        threshold = choose_threshold(y_train, oof_scores, config.business.target_precision)
        threshold["positive_class"] = classes[1]
        threshold["score"] = "probability" if hasattr(model, "predict_proba") else "decision_function"
        trace.record("threshold", threshold, keep=True)

    # -- test predictions and metrics -------------------------------------------------------
    progress.advance("test predictions")
    predictions, test_metrics = _predict_test(model, raw_test, y_test, test_idx, classes, threshold, config)
    predictions_sha256 = trace.record(
        "predictions", None, keep=predictions["score"].to_numpy(), digest=predictions_fingerprint(predictions)
    )

    base = drift.baseline(typed_train, out_numeric, out_categorical, y_train, config.task)
    trace.record("drift_baseline", base, keep=True)
    fragility_doc = assess_fragility(
        tolerance=config.fragility.tolerance,
        selection=selection,
        cv_table=cv_table,
        model=model,
        family=best,
        inspect=chosen.inspect,
        X_train=raw_train,
        y_train=y_train,
        oof_scores=oof_scores,
        threshold=threshold,
    )
    progress.advance("done")
    progress.close()

    schema = _schema(frame, config, numeric, categorical, features, classes)
    metrics_doc = {
        "task": config.task,
        "cv": {"metric": config.cv.metric, "n_splits": config.cv.n_splits, "table": cv_table},
        "selection": selection,
        "selected_model": best,
        "estimator_params": estimator_params,
        "calibration": calibration,
        "test": test_metrics,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
    }
    return RecipeResult(
        model,
        schema,
        metrics_doc,
        threshold,
        base,
        predictions,
        model_fingerprint,
        predictions_sha256,
        trace,
        fragility=fragility_doc,
    )


def _cv_table(results: list[CvResult]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for family in sorted({r.family for r in results}):
        values = [r.value for r in sorted(results, key=lambda r: r.fold) if r.family == family]
        table[family] = {
            "folds": values,
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        }
    return table


def _select(cv_table: dict[str, Any], metric: str) -> tuple[str, dict[str, Any]]:
    """Best mean CV value; ties go to the alphabetically first family (never dict order)."""
    ranked = sorted(cv_table, key=lambda family: (-metrics.selection_value(metric, cv_table[family]["mean"]), family))
    best = ranked[0]
    selection = {"model": best, "metric": metric, "value": cv_table[best]["mean"], "ranking": ranked}
    if len(ranked) > 1:
        runner_up = ranked[1]
        selection["runner_up"] = runner_up
        selection["margin"] = abs(cv_table[best]["mean"] - cv_table[runner_up]["mean"])
    return best, selection


def _calibration_record(config: Config, selected: FamilySpec[Any], classification: bool) -> dict[str, Any]:
    """What calibration the selected model got, and why none when the config asked for one."""
    requested = config.calibration.method
    record: dict[str, Any] = {"requested": requested, "applied": False, "cv": None, "reason": None}
    if requested == "none":
        return record
    if not classification:
        record["reason"] = "regression models are not calibrated"
    elif not selected.calibratable:
        record["reason"] = selected.uncalibrated_reason
    else:
        record.update(applied=True, cv=config.calibration.cv)
    return record


def _oof_from_cv(
    results: list[CvResult], family: str, folds: list[tuple[np.ndarray, np.ndarray]], n: int
) -> np.ndarray:
    oof = np.empty(n, dtype="float64")
    for result in results:
        if result.family == family:
            oof[folds[result.fold][1]] = result.scores
    return oof


def _calibrate(
    pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray, config: Config, seeds: SeedLedger, workers: int, threads: int
) -> tuple[Any, np.ndarray]:
    """Calibrate on held-out folds; each fold's calibrated model scores its own held-out rows."""
    from sklearn.calibration import CalibratedClassifierCV

    splitter = StratifiedKFold(n_splits=config.calibration.cv, shuffle=True, random_state=seeds.seed_for("calibration"))
    splits = list(splitter.split(np.zeros(len(y)), y))
    calibrated = CalibratedClassifierCV(
        pipeline, method=config.calibration.method, cv=splits, n_jobs=workers if workers > 1 else None, ensemble=True
    )
    # on the workers the cross-validation used: none is started (and re-imports) for calibration
    with Envelope(seeds.seed_for("calibration"), threads=threads), joblib_workers():
        calibrated.fit(X, y)
    calibrated.set_params(n_jobs=None)  # how it was fitted is not part of the model; keeps bytes equal for every N
    oof = np.empty(len(y), dtype="float64")
    for member, (_, held_out) in zip(calibrated.calibrated_classifiers_, splits, strict=True):
        oof[held_out] = member.predict_proba(X.iloc[held_out])[:, 1]
    return calibrated, oof


def _predict_test(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: np.ndarray,
    classes: list[Any],
    threshold: dict[str, Any] | None,
    config: Config,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    if config.task == "classification":
        assert threshold is not None
        scores, probabilistic = model_scores(model, X)
        labels = np.where(scores >= threshold["threshold"], classes[1], classes[0])
        frame = pd.DataFrame(
            {
                "row": rows.astype("int64"),
                "score": scores,
                "label": labels,
                "actual": np.where(y == 1, classes[1], classes[0]),
            }
        )
        report = metrics.classification_report(y, scores, threshold["threshold"], probabilistic=probabilistic)
    else:
        predicted = np.asarray(model.predict(X), dtype="float64")
        frame = pd.DataFrame({"row": rows.astype("int64"), "score": predicted, "actual": y})
        report = metrics.regression_report(y, predicted)
    return frame, report


def _schema(
    frame: pd.DataFrame,
    config: Config,
    numeric: list[str],
    categorical: list[str],
    features: TabularFeatures,
    classes: list[Any],
) -> dict[str, Any]:
    columns = []
    for column in feature_columns(frame, config):
        entry: dict[str, Any] = {
            "name": column,
            "dtype": str(frame[column].dtype),
            "kind": "numeric" if column in numeric else "categorical",
        }
        if column in categorical:
            entry["categories"] = sorted({str(v) for v in frame[column].dropna().tolist()})
        columns.append(entry)
    return {
        "features": columns,
        "derived": [spec[0] for spec in features.derived],
        "model_inputs": list(features.get_feature_names_out()),
        "target": config.data.target,
        "task": config.task,
        "classes": classes,
        "dropped": list(config.data.drop_columns),
    }
