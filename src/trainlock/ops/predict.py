"""`trainlock predict`: score new data with a verified model, under the frozen schema."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, IntegrityError, SchemaError
from ..hashing import sha256_file
from ..identity import code_identity
from ..lineage import FileRef, Lineage
from ..predictions import predictions_fingerprint, write_predictions
from ..run import DRIFT, DRIFT_BASELINE, ENVIRONMENT, PREDICTIONS, SCHEMA, THRESHOLD, RunFile, RunFolder, RunRecorder
from ..store import Store


@dataclass(frozen=True)
class PredictResult:
    run_id: str
    run_dir: Path
    parent: str
    predictions: pd.DataFrame
    drift: dict[str, Any]
    out: Path | None


def predict(
    run: str,
    data: str | os.PathLike[str],
    *,
    store: Store,
    out: str | os.PathLike[str] | None = None,
    argv: list[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
) -> PredictResult:
    from .. import environment
    from ..model_io import load_run_model
    from ..pipeline import drift
    from ..pipeline.cv import model_scores
    from ..pipeline.data import dataset_sha256, read_table

    parent = store.find(run)
    lineage = parent.lineage()
    if lineage.kind != "train":
        raise SchemaError(f"run {parent.run_id} is a {lineage.kind} run; predict needs a train run")
    if out is not None and Path(out).is_dir():
        raise DataError(f"--out {out} is a folder; pass a file path such as {Path(out) / 'scored.csv'}")
    schema = _verified_json(parent, lineage, SCHEMA)
    baseline = _verified_json(parent, lineage, DRIFT_BASELINE)
    threshold = _verified_json(parent, lineage, THRESHOLD) if lineage.threshold else None

    data_path = Path(data)
    data_sha256 = dataset_sha256(data_path, cache=store.hash_cache)
    frame = enforce_schema(read_table(data_path), schema, data_path)
    model = load_run_model(parent, lineage)

    with RunRecorder(store, "predict", fixed=run_dir) as recorder:
        recorder.start("predict", argv, parent=parent.run_id, data=str(data_path), data_sha256=data_sha256)
        folder = recorder.folder
        rows = np.arange(len(frame), dtype="int64")
        if schema["task"] == "classification":
            assert threshold is not None
            classes = schema["classes"]
            scores, _ = model_scores(model, frame)
            labels = np.where(scores >= threshold["threshold"], classes[1], classes[0])
            predictions = pd.DataFrame({"row": rows, "score": scores, "label": labels})
            positive_rate = float(np.mean(scores >= threshold["threshold"])) if len(scores) else None
        else:
            predictions = pd.DataFrame({"row": rows, "score": np.asarray(model.predict(frame), dtype="float64")})
            positive_rate = None
        typed = model.steps[0][1].transform(frame) if hasattr(model, "steps") else _typed_from_calibrated(model, frame)
        drift_report = drift.compare(baseline, typed, positive_rate)
        write_predictions(predictions, folder.file(PREDICTIONS))
        folder.write_json(DRIFT, drift_report)
        folder.write_json(ENVIRONMENT, environment.collect({}))
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            write_predictions(predictions, Path(out))
        in_parent = {"run": parent.run_id}
        recorder.complete(
            {"n": len(predictions), "drifted": drift_report["drifted"]},
            parent=parent.run_id,
            parents=[parent.run_id],
            dataset=FileRef(path=str(data_path.resolve()), sha256=data_sha256),
            config=lineage.config and lineage.config.model_copy(update=in_parent),
            model=lineage.model and lineage.model.model_copy(update=in_parent),
            threshold=lineage.threshold and lineage.threshold.model_copy(update=in_parent),
            fingerprints={"model": lineage.fingerprints["model"], "predictions": predictions_fingerprint(predictions)},
            identity=lineage.identity,
            seeds=lineage.seeds,
            code=code_identity(),
        )
    assert recorder.result is not None
    return PredictResult(
        recorder.run_id, recorder.result.path, parent.run_id, predictions, drift_report, Path(out) if out else None
    )


def _typed_from_calibrated(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    # a calibrated model holds one fitted pipeline per calibration fold; their first step
    # (typing and derived features) is stateless, so any member types the batch the same
    member = model.calibrated_classifiers_[0].estimator
    return member.steps[0][1].transform(frame)


def _verified_json(folder: RunFolder, lineage: Lineage, entry: RunFile) -> dict[str, Any]:
    output = lineage.outputs.get(entry.name)
    if output is None:
        raise IntegrityError(f"run {lineage.run_id} records no {entry.name}; the run is damaged")
    path = folder.file(output.path)
    if not path.is_file() or sha256_file(path) != output.sha256:
        raise IntegrityError(f"{path} does not match its recorded sha256; run 'trainlock verify {lineage.run_id}'")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def enforce_schema(frame: pd.DataFrame, schema: dict[str, Any], path: Path) -> pd.DataFrame:
    """Reorder to the training order; missing or unexpected columns and wrong dtypes are errors."""
    expected = [feature["name"] for feature in schema["features"]]
    allowed_extra = {schema["target"], *schema.get("dropped", [])}
    missing = [name for name in expected if name not in frame.columns]
    unexpected = [name for name in frame.columns if name not in expected and name not in allowed_extra]
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected columns: {', '.join(unexpected)}")
    wrong_types = []
    for feature in schema["features"]:
        name = feature["name"]
        if name in frame.columns and feature["kind"] == "numeric" and not _numeric_compatible(frame[name]):
            wrong_types.append(f"{name} (expected numeric, found {frame[name].dtype})")
    if wrong_types:
        problems.append(f"incompatible dtypes: {', '.join(wrong_types)}")
    if problems:
        raise SchemaError(f"{path} does not match the training schema: {'; '.join(problems)}")
    return frame[expected]


def _numeric_compatible(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    if series.isna().all():
        return True  # an all-missing column reads as text; imputation handles it
    converted = pd.to_numeric(series, errors="coerce")
    return bool((converted.notna() | series.isna()).all())
