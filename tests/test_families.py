"""Every model family trains through the recipe, verifies, and is deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FAMILIES = {
    "knn": "{n_neighbors: 9}",
    "svm": "{C: 0.5}",
    "hist_gradient_boosting": "{max_iter: 20}",
    "lightgbm": "{n_estimators: 20, subsample: 0.8}",
    "xgboost": "{n_estimators: 20, subsample: 0.8}",
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_trains_verifies_and_repeats(cli, family):
    args = ["train", "config.yaml", "--json", "--quiet", "--set", "models.logistic_regression=null",
            "--set", "models.decision_tree=null", "--set", "models.random_forest=null",
            "--set", f"models.{family}={FAMILIES[family]}"]
    first, second = cli(*args), cli(*args)
    assert first.code == 0, first.err
    a = json.loads((Path(first.json()["run_dir"]) / "lineage.json").read_text())
    b = json.loads((Path(second.json()["run_dir"]) / "lineage.json").read_text())
    metrics = json.loads((Path(first.json()["run_dir"]) / "metrics.json").read_text())
    assert metrics["selected_model"] == family
    assert a["fingerprints"] == b["fingerprints"] and a["trace"] == b["trace"]
    assert a["outputs"]["model.skops"] == b["outputs"]["model.skops"]
    assert cli("verify", first.json()["run_id"]).code == 0
    assert cli("predict", first.json()["run_id"], "data.csv").code == 0
