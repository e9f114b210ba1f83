"""The DVC example end to end with the real `dvc` (from .venv-dvc, which `make test` builds)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_console

EXAMPLE = ROOT / "examples" / "dvc-pipeline"
DVC = ROOT / ".venv-dvc" / "bin" / "dvc"
STAGES = ("prepare", "train", "predict", "evaluate")


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # the stages call `trainlock` and `python` of this test environment through PATH
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHONHASHSEED", "TRAINLOCK_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", DVC_NO_ANALYTICS="1")
    return subprocess.run([str(DVC), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_dvc_pipeline_reproduces_nothing_twice_and_every_stage_verifies(tmp_path):
    if not DVC.is_file():
        pytest.fail(f"{DVC} is missing: run `make test`, which creates .venv-dvc from requirements-dvc.lock")
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("runs", ".dvc", "dvc.lock"))
    assert dvc("init", "--no-scm", "-q", cwd=project).returncode == 0

    first = dvc("repro", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first.stdout
    lock = (project / "dvc.lock").read_text()

    second = dvc("repro", cwd=project)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running stage" not in second.stdout
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in second.stdout
    assert (project / "dvc.lock").read_text() == lock
    status = dvc("status", "--json", cwd=project)
    assert status.returncode == 0 and json.loads(status.stdout) == {}

    parents = {}
    for stage in STAGES:
        verified = run_console("verify", f"runs/{stage}", cwd=project)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.splitlines()[-1].startswith(f"verified: run {stage} matches its lineage")
        record = json.loads((project / "runs" / stage / "lineage.json").read_text())
        assert record["run_id"] == stage
        parents[stage] = record["parent"]
    assert parents == {"prepare": None, "train": "prepare", "predict": "train", "evaluate": "predict"}
    metrics = json.loads((project / "runs" / "evaluate" / "metrics.json").read_text())["metrics"]
    assert metrics["rows"] == 150 and 0.5 < metrics["roc_auc"] <= 1.0
