"""`trainlock predict`: score new data with a verified model, under the frozen schema."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__, atomic, environment, runlock
from ..errors import IntegrityError, SchemaError
from ..hashcache import HashCache
from ..hashing import sha256_file
from ..lineage import EventLog, invocation, read_lineage, write_lineage
from ..predictions import PREDICTIONS_FILE, predictions_fingerprint, write_predictions
from ..store import claim_fixed_run_dir, claim_run_dir, find_run, inside, resolve_store
from ._outputs import describe_outputs

DRIFT_FILE = "drift.json"


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
    store: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    argv: list[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
) -> PredictResult:
    from ..model_io import load_run_model
    from ..pipeline import drift
    from ..pipeline.cv import model_scores
    from ..pipeline.data import dataset_sha256, read_table

    parent = find_run(run, store)
    lineage = read_lineage(parent.run_dir)
    if lineage.get("kind") != "train":
        raise SchemaError(f"run {parent.run_id} is a {lineage.get('kind')} run; predict needs a train run")
    schema = _verified_json(parent.run_dir, lineage, "schema.json")
    baseline = _verified_json(parent.run_dir, lineage, "drift_baseline.json")
    threshold = _verified_json(parent.run_dir, lineage, "threshold.json") if lineage.get("threshold") else None

    data_path = Path(data)
    data_sha256 = dataset_sha256(data_path, cache=HashCache.for_store(resolve_store(store)))
    frame = enforce_schema(read_table(data_path), schema, data_path)

    model_entry = lineage["model"]
    model = load_run_model(parent.run_dir, lineage)

    # run_dir: a path fixed by a pipeline tool such as DVC
    run_id, run_dir = claim_fixed_run_dir(run_dir) if run_dir is not None else claim_run_dir(resolve_store(store))
    with runlock.hold(run_dir):
        events = EventLog.for_run(run_dir)
        events.emit("started", **invocation("predict", argv), run_id=run_id, parent=parent.run_id,
                    trainlock=__version__, data=str(data_path), data_sha256=data_sha256)
        try:
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
            write_predictions(predictions, run_dir / PREDICTIONS_FILE)
            atomic.write_json(run_dir / DRIFT_FILE, drift_report)
            atomic.write_json(run_dir / "environment.json", environment.collect({}))
            if out is not None:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                write_predictions(predictions, Path(out))
            events.emit("completed", n=len(predictions), drifted=drift_report["drifted"])
            outputs = describe_outputs(run_dir)
            write_lineage(run_dir, {
                "run_id": run_id,
                "kind": "predict",
                "parent": parent.run_id,
                "dataset": {"path": str(data_path.resolve()), "sha256": data_sha256},
                "config": lineage.get("config") and {**lineage["config"], "run": parent.run_id},
                "model": {**model_entry, "run": parent.run_id},
                "threshold": lineage.get("threshold") and {**lineage["threshold"], "run": parent.run_id},
                "outputs": outputs,
                "fingerprints": {"model": lineage["fingerprints"]["model"], "predictions": predictions_fingerprint(predictions)},
                "trace": [],
                "identity": lineage.get("identity", {}),
                "seeds": lineage.get("seeds", {}),
            })
        except BaseException as exc:
            events.emit("failed", error=str(exc) or type(exc).__name__, error_type=type(exc).__name__,
                        interrupted=isinstance(exc, (KeyboardInterrupt, SystemExit)))
            raise
    return PredictResult(run_id, run_dir, parent.run_id, predictions, drift_report, Path(out) if out else None)


def _typed_from_calibrated(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    # a calibrated model holds one fitted pipeline per calibration fold; their first step
    # (typing and derived features) is stateless, so any member types the batch the same
    member = model.calibrated_classifiers_[0].estimator
    return member.steps[0][1].transform(frame)


def _verified_json(run_dir: Path, lineage: dict[str, Any], name: str) -> dict[str, Any]:
    output = lineage["outputs"].get(name)
    if output is None:
        raise IntegrityError(f"run {lineage['run_id']} records no {name}; the run is damaged")
    path = inside(run_dir, output["path"])
    if not path.is_file() or sha256_file(path) != output["sha256"]:
        raise IntegrityError(f"{path} does not match its recorded sha256; run 'trainlock verify {lineage['run_id']}'")
    return json.loads(path.read_text(encoding="utf-8"))


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
