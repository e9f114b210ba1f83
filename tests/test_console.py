"""The installed `trainlock` command in a real subprocess: re-exec envelope, help, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_console


def test_help_and_version(workdir):
    result = run_console("--help", cwd=workdir)
    assert result.returncode == 0 and "train" in result.stdout and "verify" in result.stdout
    assert run_console("--version", cwd=workdir).stdout.startswith("trainlock ")
    assert run_console("frobnicate", cwd=workdir).returncode == 2


def test_train_verify_predict_as_a_user_would(workdir):
    trained = run_console("train", "config.yaml", "--profile", "tiny", "--json", cwd=workdir)
    assert trained.returncode == 0, trained.stderr
    document = json.loads(trained.stdout)
    assert set(document) == {"run_id", "run_dir"}
    run_dir = Path(document["run_dir"])
    environment = json.loads((run_dir / "environment.json").read_text())
    # the CLI re-executed itself so that these took effect before start-up
    assert environment["envelope"]["process_env"]["PYTHONHASHSEED"] == "0"
    assert environment["envelope"]["process_env"]["OMP_NUM_THREADS"] == "1"
    assert environment["envelope"]["problems"] == []
    assert "scikit-learn" in environment["packages"]
    verified = run_console("verify", document["run_id"], cwd=workdir)
    assert verified.returncode == 0 and "verified" in verified.stdout
    predicted = run_console("predict", document["run_id"], "data.csv", "--out", "p.csv", cwd=workdir)
    assert predicted.returncode == 0, predicted.stderr
    assert (workdir / "p.csv").is_file()


def test_bad_input_is_one_line_and_debug_shows_the_traceback(workdir):
    result = run_console("train", "missing.yaml", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr == "trainlock: error: config file not found: missing.yaml\n"
    result = run_console("train", "missing.yaml", "--debug", cwd=workdir)
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_in_process_and_subprocess_runs_agree(cli, workdir):
    inside = cli("train", "config.yaml", "--profile", "tiny", "--json", "--quiet").json()
    outside = json.loads(run_console("train", "config.yaml", "--profile", "tiny", "--json", cwd=workdir).stdout)
    a = json.loads((Path(inside["run_dir"]) / "lineage.json").read_text())
    b = json.loads((Path(outside["run_dir"]) / "lineage.json").read_text())
    assert a["fingerprints"] == b["fingerprints"] and a["trace"] == b["trace"]
