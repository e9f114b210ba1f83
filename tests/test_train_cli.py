"""`trainlock train` through the CLI: the run folder, its lineage, and sameness of two runs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from trainlock.run import RunFolder

EXPECTED_FILES = {
    "config.snapshot.yaml",
    "drift_baseline.json",
    "environment.json",
    "events.jsonl",
    "fragility.json",
    "lineage.json",
    "metrics.json",
    "model.skops",
    "predictions.csv",
    "schema.json",
    "threshold.json",
    "trace_values.json",
}


def test_train_prints_run_id_and_folder(cli, workdir):
    result = cli("train", "config.yaml", "--quiet")
    assert result.code == 0, result.err
    assert result.out.startswith("run ")
    run_id = result.out.split()[1]
    assert (workdir / "runs" / run_id / "lineage.json").is_file()
    assert f"trainlock verify {run_id}" in result.out


def test_run_folder_holds_the_contract_files(trained):
    run_id, run_dir = trained
    assert {p.name for p in run_dir.iterdir()} == EXPECTED_FILES
    lineage = json.loads((run_dir / "lineage.json").read_text())
    assert lineage["schema_version"] == 2
    assert lineage["run_id"] == run_id and lineage["kind"] == "train" and lineage["parent"] is None
    for entry in ("dataset", "config", "model", "threshold"):
        assert set(lineage[entry]) >= {"path", "sha256"} and len(lineage[entry]["sha256"]) == 64
    assert set(lineage["outputs"]) == EXPECTED_FILES - {"lineage.json"}
    assert all(set(o) == {"path", "size", "sha256"} for o in lineage["outputs"].values())
    assert set(lineage["fingerprints"]) == {"model", "predictions"}
    assert set(lineage["identity"]) == {"strict_key", "replicate_key"}
    assert "model/random_forest" in lineage["seeds"]["derived"] and lineage["seeds"]["base"] == 7
    steps = [entry["step"] for entry in lineage["trace"]]
    assert steps[:4] == ["load", "features", "split", "cv/folds"]
    assert steps[-6:] == ["cv/table", "select", "fit", "threshold", "predictions", "drift_baseline"]
    folds = [
        f"cv/{family}/fold{fold}"
        for family in ("decision_tree", "logistic_regression", "random_forest")
        for fold in range(3)
    ]
    assert steps[4:-6] == folds  # one step per (model, fold), in a fixed order whatever ran first
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["calibration"] == {"requested": "sigmoid", "applied": True, "cv": 3, "reason": None}


def test_snapshot_is_canonical_and_complete(trained):
    _, run_dir = trained
    text = (run_dir / "config.snapshot.yaml").read_text()
    snapshot = yaml.safe_load(text)
    assert yaml.safe_dump(snapshot, sort_keys=True, default_flow_style=False, allow_unicode=True) == text
    assert "profiles" not in snapshot
    # library defaults are written out, not hidden in code
    assert snapshot["models"]["random_forest"]["max_features"] == "sqrt"
    assert snapshot["models"]["random_forest"]["criterion"] == "gini"
    assert snapshot["models"]["logistic_regression"]["tol"] == 0.0001
    assert "svm" not in snapshot["models"]


def test_events_record_the_invocation(trained):
    run_id, run_dir = trained
    events = RunFolder(run_dir).events()
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "completed" and "step" in kinds
    started = events[0]
    for key in ("command", "argv", "cwd", "git_commit", "git_dirty", "config_sha256", "seed", "trainlock", "time_utc"):
        assert key in started
    assert started["seed"] == 7 and started["time_utc"].endswith("Z")
    lineage = json.loads((run_dir / "lineage.json").read_text())
    assert started["config_sha256"] == lineage["config"]["sha256"]


def _comparable(lineage: dict) -> dict:
    """A lineage without what may differ between two runs: run id, paths and times (events)."""
    document = json.loads(json.dumps(lineage))
    document.pop("run_id")
    document["outputs"].pop("events.jsonl")
    return document


def test_two_trainings_are_identical(cli, workdir):
    first = cli("train", "config.yaml", "--json", "--quiet").json()
    second = cli("train", "config.yaml", "--json", "--quiet").json()
    assert first["run_id"] != second["run_id"]
    a_dir, b_dir = Path(first["run_dir"]), Path(second["run_dir"])
    a = json.loads((a_dir / "lineage.json").read_text())
    b = json.loads((b_dir / "lineage.json").read_text())
    assert a["fingerprints"] == b["fingerprints"]
    assert (a_dir / "metrics.json").read_bytes() == (b_dir / "metrics.json").read_bytes()
    assert (a_dir / "model.skops").read_bytes() == (b_dir / "model.skops").read_bytes()
    assert _comparable(a) == _comparable(b)


def test_seed_changes_strict_key_not_replicate_key(cli):
    a = cli("train", "config.yaml", "--json", "--quiet").json()
    b = cli("train", "config.yaml", "--json", "--quiet", "--seed", "8").json()
    la = json.loads((Path(a["run_dir"]) / "lineage.json").read_text())
    lb = json.loads((Path(b["run_dir"]) / "lineage.json").read_text())
    assert la["identity"]["replicate_key"] == lb["identity"]["replicate_key"]
    assert la["identity"]["strict_key"] != lb["identity"]["strict_key"]
    assert la["fingerprints"]["model"] != lb["fingerprints"]["model"]


def test_store_option_and_environment_variable(cli, workdir, monkeypatch):
    result = cli("train", "config.yaml", "--json", "--quiet", "--profile", "tiny", "--store", "elsewhere")
    assert result.code == 0, result.err
    assert Path(result.json()["run_dir"]).parent == (workdir / "elsewhere").absolute()
    monkeypatch.setenv("TRAINLOCK_STORE", str(workdir / "from_env"))
    result = cli("train", "config.yaml", "--json", "--quiet", "--profile", "tiny")
    assert Path(result.json()["run_dir"]).parent == workdir / "from_env"
    listed = cli("runs", "--json").json()
    assert [r["run_id"] for r in listed] == [result.json()["run_id"]]
    assert listed[0]["status"] == "complete"


def test_failed_run_records_failure_and_has_no_lineage(cli, workdir):
    (workdir / "data.csv").write_text("student_country,purchased\nUS,1\nGB,1\n")
    result = cli("train", "config.yaml", "--quiet")
    assert result.code == 2
    assert "lacks columns named in the config" in result.err
    assert "Traceback" not in result.err
    runs = [p for p in (workdir / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1 and not (runs[0] / "lineage.json").exists()
    events = RunFolder(runs[0]).events()
    assert events[-1]["event"] == "failed" and "lacks columns" in events[-1]["error"]
    assert cli("runs", "--json").json()[0]["status"] == "failed"


def test_expected_dataset_hash_mismatch_is_refused(cli):
    result = cli("train", "config.yaml", "--quiet", "--set", "data.sha256=" + "ab" * 32)
    assert result.code == 2
    assert "data.sha256 expects" in result.err and "ab" * 32 in result.err


def test_regression_task(cli, workdir):
    overrides = [
        "--set",
        "task=regression",
        "--set",
        "data.target=minutes_spent_on_exams",
        "--set",
        "calibration.method=none",
        "--set",
        "business.target_precision=null",
        "--set",
        "models.logistic_regression=null",
        "--set",
        "models.ridge.alpha=1.0",
        "--set",
        "cv.metric=rmse",
    ]
    result = cli("train", "config.yaml", "--json", "--quiet", *overrides)
    assert result.code == 0, result.err
    run_dir = Path(result.json()["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test"]) == {"rmse", "mae", "r2", "n"}
    assert metrics["calibration"] == {"requested": "none", "applied": False, "cv": None, "reason": None}
    assert not (run_dir / "threshold.json").exists()
    assert cli("verify", str(run_dir)).code == 0
