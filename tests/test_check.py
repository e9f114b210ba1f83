"""`trainlock check`, deterministic parallelism, and the envelope's thread setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def custom_config(workdir: Path, estimator: str) -> Path:
    document = yaml.safe_load((workdir / "config.yaml").read_text())
    document["models"] = {"custom": {"probe": {"estimator": estimator}}}
    document["calibration"] = {"method": "none"}
    document["cv"]["n_splits"] = 2
    path = workdir / "custom.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_check_of_the_recipe_is_clean_and_lists_every_factor(cli):
    result = cli("check", "config.yaml", "--profile", "tiny", "--json")
    assert result.code == 0, result.out + result.err
    report = result.json()
    assert [f["factor"] for f in report["factors"]] == [
        "PYTHONHASHSEED",
        "threads",
        "workers",
        "cwd",
        "locale",
        "timezone",
        "listing",
    ]
    assert all(f["equal"] and f["level"] == "exact" for f in report["factors"])


def test_check_names_the_hash_seed(cli, workdir, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    custom_config(workdir, "nondeterministic:HashOrderClassifier")
    result = cli("check", "custom.yaml", "--factors", "PYTHONHASHSEED,cwd")
    assert result.code == 1, result.out + result.err
    assert "DIFFERS  PYTHONHASHSEED" in result.out
    assert "first divergent step cv/custom.probe/fold0" in result.out
    assert "equal    cwd" in result.out
    assert "1 of 2 factors changed the result: PYTHONHASHSEED" in result.err


def test_check_names_the_thread_factor(cli, workdir, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    custom_config(workdir, "nondeterministic:ThreadCountClassifier")
    report = cli("check", "custom.yaml", "--factors", "threads,PYTHONHASHSEED", "--json").json()
    by_factor = {f["factor"]: f for f in report["factors"]}
    assert not by_factor["threads"]["equal"] and by_factor["threads"]["first_divergence"] == "cv/custom.probe/fold0"
    assert by_factor["PYTHONHASHSEED"]["equal"]
    assert report["ok"] is False


def test_unknown_factor_is_bad_input(cli):
    result = cli("check", "config.yaml", "--factors", "moon")
    assert result.code == 2 and "unknown check factor(s): moon" in result.err


@pytest.mark.parametrize("calibration", ["sigmoid", "none"])
def test_workers_give_bitwise_identical_runs(cli, calibration):
    runs = []
    for workers in ("1", "2"):
        result = cli(
            "train",
            "config.yaml",
            "--json",
            "--quiet",
            "--workers",
            workers,
            "--set",
            f"calibration.method={calibration}",
        )
        assert result.code == 0, result.err
        runs.append(json.loads((Path(result.json()["run_dir"]) / "lineage.json").read_text()))
    assert runs[0]["trace"] == runs[1]["trace"]
    assert runs[0]["fingerprints"] == runs[1]["fingerprints"]
    assert runs[0]["outputs"]["model.skops"] == runs[1]["outputs"]["model.skops"]


def test_custom_estimator_errors_name_the_key(cli, workdir):
    custom_config(workdir, "no_such_module_here:Thing")
    result = cli("train", "custom.yaml")
    assert result.code == 2
    assert "models.custom.probe.estimator: cannot import module 'no_such_module_here'" in result.err


def test_bad_thread_setting_is_bad_input(cli, monkeypatch):
    monkeypatch.setenv("TRAINLOCK_THREADS", "many")
    result = cli("train", "config.yaml", "--quiet")
    assert result.code == 2 and "TRAINLOCK_THREADS='many' is not a positive integer" in result.err
