"""`trainlock export mlflow`: a run as an MLflow run, with params, metrics, tags and artifacts.

* params: the resolved config (config.snapshot.yaml) flattened to ``a.b.c`` keys;
* metrics: every number in metrics.json, flattened the same way (test and CV metrics);
* tags: ``trainlock.run_id``, the strict and replicate identity keys, both fingerprints,
  the dataset and config hashes, kind, seed, parent and selected model;
* artifacts: every file lineage.json names, and lineage.json itself.

Exporting a run twice finds the first MLflow run (by its ``trainlock.run_id`` tag) and
does not make another. Uses ``MlflowClient`` only, never the fluent API's global state.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..store import inside
from ._run import RunRecord, flatten, load_run
from .errors import ExportError

DEFAULT_EXPERIMENT = "trainlock"
TAG_PREFIX = "trainlock."
#: MLflow accepts these characters in param, metric and tag keys
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /:]")
#: MLflow's log_batch limits per call
_BATCH = 100
#: MLflow 3 refuses a file-based tracking store unless this is set; trainlock sets it (and restores it) only
#: when the user names a file store themselves: https://mlflow.org/docs/latest/self-hosting/migrate-from-file-store
_FILE_STORE_OPT_IN = "MLFLOW_ALLOW_FILE_STORE"


@dataclass(frozen=True)
class MlflowExport:
    run_id: str
    mlflow_run_id: str
    experiment_id: str
    tracking_uri: str
    created: bool
    params: int
    metrics: int
    artifacts: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def export_mlflow(run: str, *, tracking_uri: str, store: Any = None,
                  experiment: str = DEFAULT_EXPERIMENT) -> MlflowExport:
    record = load_run(run, store)
    params = run_params(record)
    metrics = run_metrics(record)
    tags = run_tags(record)
    artifacts = _artifacts(record)
    with _file_store_allowed(tracking_uri):
        client, entities = _mlflow(tracking_uri)
        experiment_id = _experiment(client, experiment, tracking_uri)
        existing = _call(tracking_uri, client.search_runs, [experiment_id],
                         filter_string=f"tags.`{TAG_PREFIX}run_id` = '{record.ref.run_id}'", max_results=1)
        if existing:
            found = existing[0]
            return MlflowExport(record.ref.run_id, found.info.run_id, experiment_id, tracking_uri, False,
                                len(found.data.params), len(found.data.metrics), len(artifacts))
        start, end = _millis(record.started.get("time_utc")), _millis(record.completed_time)
        created = _call(tracking_uri, client.create_run, experiment_id, start_time=start, tags=tags,
                        run_name=record.ref.run_id)
        mlflow_run_id = created.info.run_id
        try:
            items = [entities.Param(k, v) for k, v in params.items()]
            for i in range(0, len(items), _BATCH):
                _call(tracking_uri, client.log_batch, mlflow_run_id, params=items[i:i + _BATCH])
            points = [entities.Metric(k, v, end or start or 0, 0) for k, v in metrics.items()]
            for i in range(0, len(points), _BATCH):
                _call(tracking_uri, client.log_batch, mlflow_run_id, metrics=points[i:i + _BATCH])
            for relative, path in artifacts:
                folder = os.path.dirname(relative) or None
                _call(tracking_uri, client.log_artifact, mlflow_run_id, str(path), artifact_path=folder)
        except BaseException:
            with contextlib.suppress(Exception):
                client.set_terminated(mlflow_run_id, status="FAILED")
            raise
        _call(tracking_uri, client.set_terminated, mlflow_run_id, status="FINISHED", end_time=end)
    return MlflowExport(record.ref.run_id, mlflow_run_id, experiment_id, tracking_uri, True, len(params),
                        len(metrics), len(artifacts))


def run_params(record: RunRecord) -> dict[str, str]:
    import json

    params = {}
    for key, value in flatten(record.config()).items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        params[_key(key)] = text
    return params


def run_metrics(record: RunRecord) -> dict[str, float]:
    metrics = {}
    for key, value in flatten(record.json_file("metrics.json")).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            metrics[_key(key)] = float(value)
    return metrics


def run_tags(record: RunRecord) -> dict[str, str]:
    lineage = record.lineage
    identity = lineage.get("identity") or {}
    fingerprints = lineage.get("fingerprints") or {}
    metrics = record.json_file("metrics.json")
    origin = record.ref.origin
    tags = {
        "run_id": record.ref.run_id,
        "kind": lineage.get("kind"),
        "strict_key": identity.get("strict_key"),
        "replicate_key": identity.get("replicate_key"),
        "fingerprint.model": fingerprints.get("model"),
        "fingerprint.predictions": fingerprints.get("predictions"),
        "dataset.sha256": (lineage.get("dataset") or {}).get("sha256"),
        "config.sha256": record.started.get("config_sha256"),
        "seed": record.started.get("seed"),
        "parent": lineage.get("parent"),
        "selected_model": metrics.get("selected_model"),
        "source": origin.run_url(record.ref.run_id) if origin is not None else str(record.ref.run_dir.absolute()),
    }
    return {f"{TAG_PREFIX}{key}": str(value) for key, value in sorted(tags.items()) if value is not None}


def _artifacts(record: RunRecord) -> list[tuple[str, Any]]:
    from ..store import LINEAGE_FILE

    names = sorted({str(entry.get("path", name)) for name, entry in (record.lineage.get("outputs") or {}).items()})
    return [(relative, inside(record.ref.run_dir, relative)) for relative in [*names, LINEAGE_FILE]]


def _key(key: str) -> str:
    return _KEY_UNSAFE.sub("_", key)


def _millis(stamp: str | None) -> int | None:
    if not stamp:
        return None
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _experiment(client: Any, name: str, tracking_uri: str) -> str:
    found = _call(tracking_uri, client.get_experiment_by_name, name)
    if found is not None:
        return str(found.experiment_id)
    return str(_call(tracking_uri, client.create_experiment, name))


def _call(tracking_uri: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return function(*args, **kwargs)
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise ExportError(f"MLflow at {tracking_uri} refused the export: {message}") from None


def _mlflow(tracking_uri: str) -> tuple[Any, Any]:
    from ..supply.errors import MissingExtraError

    try:
        from mlflow import entities
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingExtraError("export mlflow needs MLflow; pip install 'trainlock[mlflow]'") from None
    try:
        return MlflowClient(tracking_uri=tracking_uri), entities
    except MlflowException as exc:
        raise ExportError(f"cannot use MLflow tracking URI {tracking_uri}: {str(exc).splitlines()[0]}") from None


def _is_file_store(tracking_uri: str) -> bool:
    return tracking_uri.startswith("file:") or ("://" not in tracking_uri and not tracking_uri.startswith(
        ("databricks", "sqlite:", "postgresql", "mysql", "mssql")))


@contextlib.contextmanager
def _file_store_allowed(tracking_uri: str) -> Iterator[None]:
    """Opt in to MLflow's file store for this call only, and only for a file store the user named."""
    if not _is_file_store(tracking_uri) or _FILE_STORE_OPT_IN in os.environ:
        yield
        return
    os.environ[_FILE_STORE_OPT_IN] = "true"
    try:
        yield
    finally:
        os.environ.pop(_FILE_STORE_OPT_IN, None)
