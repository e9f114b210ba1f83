"""`trainlock sweep`: each sweep run equals the run `train --seed k` makes alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trainlock.errors import ConfigError
from trainlock.ops.sweep import parse_grid, parse_seeds


def _fingerprints(cli, *args) -> dict:
    run = cli("train", "config.yaml", "--profile", "tiny", "--json", "--quiet", *args).json()
    return json.loads((Path(run["run_dir"]) / "lineage.json").read_text())["fingerprints"]


def test_sweep_on_a_local_dask_cluster_matches_separate_runs(cli, workdir):
    result = cli("sweep", "config.yaml", "--profile", "tiny", "--seeds", "1-3", "--scheduler", "local:2", "--json")
    assert result.code == 0, result.err
    document = result.json()
    runs = {run["seed"]: run for run in document["runs"]}
    assert sorted(runs) == [1, 2, 3]
    for seed, run in runs.items():
        lineage = json.loads((Path(run["run_dir"]) / "lineage.json").read_text())
        assert lineage["fingerprints"] == _fingerprints(cli, "--seed", str(seed))
    [group] = document["groups"]
    assert group["seeds"] == [1, 2, 3] and len(group["runs"]) == 3
    assert group["distinct_models"] == 3
    roc = group["metrics"]["roc_auc"]
    assert roc["min"] <= roc["mean"] <= roc["max"] and roc["ci95"][0] <= roc["mean"] <= roc["ci95"][1] and roc["n"] == 3
    assert cli("verify", document["run_id"]).code == 0


def test_sweep_with_a_grid_groups_by_replicate_key(cli):
    result = cli(
        "sweep",
        "config.yaml",
        "--profile",
        "tiny",
        "--seeds",
        "1,2",
        "--grid",
        "models.decision_tree.max_depth=2,4",
        "--workers",
        "2",
        "--json",
    )
    assert result.code == 0, result.err
    groups = result.json()["groups"]
    # groups with the same seeds come in replicate-key (hash) order, which any config key changes
    points = sorted((g["point"] for g in groups), key=lambda point: point["models.decision_tree.max_depth"])
    assert points == [{"models.decision_tree.max_depth": 2}, {"models.decision_tree.max_depth": 4}]
    assert all(g["seeds"] == [1, 2] for g in groups)
    assert len({g["replicate_key"] for g in groups}) == 2
    text = cli("sweep", "config.yaml", "--profile", "tiny", "--seeds", "5")
    assert text.code == 0 and "roc_auc" in text.out


def test_seed_and_grid_parsing():
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    assert parse_grid(["b=1,2", "a=x"]) == [(("a", "x"), ("b", 1)), (("a", "x"), ("b", 2))]
    for bad in ("", "3-1", "a-b"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_invalid_grid_value_is_refused_before_any_work(cli, workdir):
    result = cli("sweep", "config.yaml", "--seeds", "1", "--grid", "cv.n_splits=1,3")
    assert result.code == 2 and "cv.n_splits = 1" in result.err
    assert not (workdir / "runs").exists()


def test_verify_of_a_sweep_names_a_child_run_that_is_gone(cli, workdir):
    made = cli("sweep", "config.yaml", "--profile", "tiny", "--seeds", "1,2", "--json")
    assert made.code == 0, made.err
    sweep_dir, first_child = made.json()["run_dir"], made.json()["runs"][0]["run_id"]
    verified = cli("verify", sweep_dir, "--json")
    assert verified.code == 0, verified.out
    names = {check["name"]: check["status"] for check in verified.json()["checks"]}
    assert {name for name in names if name.startswith("child run ")} == {
        f"child run {run['run_id']}" for run in made.json()["runs"]
    }
    shutil.rmtree(workdir / "runs" / first_child)
    result = cli("verify", sweep_dir)
    assert result.code == 1
    assert f"MISSING  child run {first_child}" in result.out
