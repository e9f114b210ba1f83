"""Shared fixtures: a small, fast copy of the example recipe and ways to call the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from trainlock.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "purchase"

#: the example recipe made small: three quick models, 3 folds, calibration
FAST_CONFIG = {
    "seed": 7,
    "task": "classification",
    "data": {"path": "data.csv", "target": "purchased", "test_size": 0.25},
    "features": {
        "derived": {
            "engagement_score": {
                "weighted_sum": {"minutes_watched": 0.6, "days_on_platform": 0.3, "courses_started": 10.0}
            },
            "exam_success_rate": {"ratio": ["practice_exams_passed", "practice_exams_started"], "epsilon": 1e-6},
        }
    },
    "preprocessing": {
        "numeric_imputer": "median",
        "categorical_imputer": "most_frequent",
        "outlier_factor": 1.5,
        "scale": True,
    },
    "models": {
        "logistic_regression": {"C": 1.0, "max_iter": 500},
        "decision_tree": {"max_depth": 5, "min_samples_leaf": 10},
        "random_forest": {"n_estimators": 15, "min_samples_leaf": 3},
    },
    "cv": {"n_splits": 3, "metric": "roc_auc"},
    "calibration": {"method": "sigmoid", "cv": 3},
    "business": {"target_precision": 0.6},
    "profiles": {"tiny": {"models": {"random_forest": {"n_estimators": 5}}, "cv": {"n_splits": 2}}},
}


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the reliability suites at full size (hundreds of kill points)",
    )


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder holding a copy of the example data, the fast config, and an empty store."""
    shutil.copy(EXAMPLE / "data.csv", tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(FAST_CONFIG, sort_keys=False))
    return tmp_path


@pytest.fixture
def cli(workdir: Path, capsys, monkeypatch):
    """Call the CLI in-process, as `trainlock ARGS`, from inside the work folder."""
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("TRAINLOCK_STORE", raising=False)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def trained(cli, workdir: Path):
    """Train the fast config once; returns (run_id, run_dir)."""
    result = cli("train", "config.yaml", "--json", "--quiet")
    assert result.code == 0, result.err
    document = result.json()
    return document["run_id"], Path(document["run_dir"])


def run_console(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed `trainlock` console script as a user would, in a subprocess."""
    executable = Path(sys.executable).parent / "trainlock"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONHASHSEED", "TRAINLOCK_"))}
    full_env.update(env or {})
    return subprocess.run(
        [str(executable), *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
