"""`trainlock export mlflow`: read back from a local file-based tracking store."""

from __future__ import annotations

import json
import os

import pytest
import yaml


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A file-based tracking store; reading it back in the test needs MLflow 3's file-store opt-in."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    return uri, MlflowClient(tracking_uri=uri)


def test_export_logs_params_metrics_tags_and_artifacts(cli, trained, tracking, monkeypatch):
    run_id, run_dir = trained
    uri, client = tracking
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")  # the export opts in by itself, for a file store it is given
    result = cli("export", "mlflow", run_id, "--tracking-uri", uri, "--json")
    assert result.code == 0, result.err
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # and puts the environment back
    exported = result.json()
    assert exported["created"] is True

    run = client.get_run(exported["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == run_id
    snapshot = yaml.safe_load((run_dir / "config.snapshot.yaml").read_text())
    assert run.data.params["seed"] == str(snapshot["seed"]) == "7"
    assert run.data.params["models.random_forest.n_estimators"] == "15"
    assert run.data.params["data.target"] == "purchased"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert run.data.metrics["test.roc_auc"] == pytest.approx(metrics["test"]["roc_auc"], rel=0, abs=0)
    selected = metrics["selected_model"]
    assert run.data.metrics[f"cv.table.{selected}.mean"] == metrics["cv"]["table"][selected]["mean"]
    lineage = json.loads((run_dir / "lineage.json").read_text())
    tags = run.data.tags
    assert tags["trainlock.run_id"] == run_id
    assert tags["trainlock.strict_key"] == lineage["identity"]["strict_key"]
    assert tags["trainlock.replicate_key"] == lineage["identity"]["replicate_key"]
    assert tags["trainlock.fingerprint.model"] == lineage["fingerprints"]["model"]
    assert tags["trainlock.fingerprint.predictions"] == lineage["fingerprints"]["predictions"]
    assert tags["trainlock.dataset.sha256"] == lineage["dataset"]["sha256"]
    artifacts = sorted(a.path for a in client.list_artifacts(exported["mlflow_run_id"]))
    assert artifacts == sorted([*lineage["outputs"], "lineage.json"])


def test_exporting_again_finds_the_first_mlflow_run(cli, trained, tracking):
    run_id, _ = trained
    uri, client = tracking
    first = cli("export", "mlflow", run_id, "--tracking-uri", uri, "--json").json()
    second = cli("export", "mlflow", run_id, "--tracking-uri", uri)
    assert second.code == 0, second.err
    assert second.out == f"run {run_id} was already exported as MLflow run {first['mlflow_run_id']}; nothing logged\n"
    experiment = client.get_experiment_by_name("trainlock")
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_an_unusable_tracking_uri_is_one_error_line(cli, trained):
    run_id, _ = trained
    result = cli("export", "mlflow", run_id, "--tracking-uri", "nosuchscheme://x")
    assert result.code == 2
    assert result.err.startswith("trainlock: error: ") and "nosuchscheme://x" in result.err
    assert result.err.count("\n") == 1
