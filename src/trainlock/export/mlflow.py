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
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import MissingExtraError
from ..lineage import Lineage
from ..run import LINEAGE, RunFolder
from ..store import Store
from ._run import completed_time, flatten, run_config
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


def export_mlflow(run: str, *, tracking_uri: str, store: Store, experiment: str = DEFAULT_EXPERIMENT) -> MlflowExport:
    """Log the run ``store`` finds for ``run`` to MLflow at ``tracking_uri``, unless an earlier export did."""
    folder = store.find(run)
    lineage = folder.lineage()
    run_id = folder.run_id
    params = run_params(folder, lineage)
    metrics = run_metrics(folder)
    tags = run_tags(folder, lineage)
    artifacts = _artifacts(folder, lineage)
    with _file_store_allowed(tracking_uri):
        client, entities = _mlflow(tracking_uri)
        experiment_id = _experiment(client, experiment, tracking_uri)
        existing = _call(
            tracking_uri,
            client.search_runs,
            [experiment_id],
            filter_string=f"tags.`{TAG_PREFIX}run_id` = '{run_id}'",
            max_results=1,
        )
        if existing:
            found = existing[0]
            return MlflowExport(
                run_id,
                found.info.run_id,
                experiment_id,
                tracking_uri,
                False,
                len(found.data.params),
                len(found.data.metrics),
                len(artifacts),
            )
        start, end = _millis(folder.started().get("time_utc")), _millis(completed_time(folder))
        created = _call(tracking_uri, client.create_run, experiment_id, start_time=start, tags=tags, run_name=run_id)
        mlflow_run_id = created.info.run_id
        try:
            items = [entities.Param(k, v) for k, v in params.items()]
            for i in range(0, len(items), _BATCH):
                _call(tracking_uri, client.log_batch, mlflow_run_id, params=items[i : i + _BATCH])
            points = [entities.Metric(k, v, end or start or 0, 0) for k, v in metrics.items()]
            for i in range(0, len(points), _BATCH):
                _call(tracking_uri, client.log_batch, mlflow_run_id, metrics=points[i : i + _BATCH])
            for relative, path in artifacts:
                artifact_folder = os.path.dirname(relative) or None
                _call(tracking_uri, client.log_artifact, mlflow_run_id, str(path), artifact_path=artifact_folder)
        except BaseException:
            with contextlib.suppress(Exception):
                client.set_terminated(mlflow_run_id, status="FAILED")
            raise
        _call(tracking_uri, client.set_terminated, mlflow_run_id, status="FINISHED", end_time=end)
    return MlflowExport(
        run_id, mlflow_run_id, experiment_id, tracking_uri, True, len(params), len(metrics), len(artifacts)
    )


def run_params(folder: RunFolder, lineage: Lineage) -> dict[str, str]:
    """The resolved config, flattened to ``a.b.c`` keys; values that are not text as JSON."""
    params = {}
    for key, value in flatten(run_config(folder, lineage)).items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        params[_key(key)] = text
    return params


def run_metrics(folder: RunFolder) -> dict[str, float]:
    """Every finite number in the run's metrics, flattened to ``a.b.c`` keys."""
    metrics = {}
    for key, value in flatten(folder.metrics()).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            metrics[_key(key)] = float(value)
    return metrics


def run_tags(folder: RunFolder, lineage: Lineage) -> dict[str, str]:
    """``trainlock.*`` tags: the run id, identity keys, fingerprints, hashes and where the run lives."""
    identity, started = lineage.identity, folder.started()
    tags = {
        "run_id": folder.run_id,
        "kind": lineage.kind,
        "strict_key": identity.strict_key if identity else None,
        "replicate_key": identity.replicate_key if identity else None,
        "fingerprint.model": lineage.fingerprints.get("model"),
        "fingerprint.predictions": lineage.fingerprints.get("predictions"),
        "dataset.sha256": lineage.dataset.sha256 if lineage.dataset else None,
        "config.sha256": started.get("config_sha256"),
        "seed": started.get("seed"),
        "parent": lineage.parent,
        "selected_model": folder.metrics().get("selected_model"),
        "source": folder.origin or str(folder.path.absolute()),
    }
    return {f"{TAG_PREFIX}{key}": str(value) for key, value in sorted(tags.items()) if value is not None}


def _artifacts(folder: RunFolder, lineage: Lineage) -> list[tuple[str, Path]]:
    names = sorted({output.path for output in lineage.outputs.values()})
    return [(relative, folder.file(relative)) for relative in [*names, LINEAGE.name]]


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
    from mlflow.exceptions import MlflowException  # MLflow (an extra) loads only when a run is exported

    try:
        return function(*args, **kwargs)
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0]
        raise ExportError(f"MLflow at {tracking_uri} refused the export: {message}") from None


def _mlflow(tracking_uri: str) -> tuple[Any, Any]:
    try:  # MLflow (an extra, slow to import) loads only when a run is exported
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
    return tracking_uri.startswith("file:") or (
        "://" not in tracking_uri
        and not tracking_uri.startswith(("databricks", "sqlite:", "postgresql", "mysql", "mssql"))
    )


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
