"""Proof of sameness: diff, reproduce, and the first divergent step."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from trainlock.ops.diff import ulp_distance
from trainlock.pipeline.families import FAMILIES


def train(cli, *args) -> dict:
    result = cli("train", "config.yaml", "--json", "--quiet", *args)
    assert result.code == 0, result.err
    return result.json()


def lineage(run: dict) -> dict:
    return json.loads((Path(run["run_dir"]) / "lineage.json").read_text())


def test_two_runs_of_one_config_are_exact(cli):
    a, b = train(cli), train(cli)
    result = cli("diff", a["run_id"], b["run_id"])
    assert result.code == 0, result.out
    assert result.out.splitlines()[0].endswith(": exact")
    report = cli("diff", a["run_id"], b["run_id"], "--json").json()
    assert report["level"] == "exact" and report["equivalent"] and report["first_divergence"] is None


def test_seed_change_is_named_and_diverges_at_the_first_random_step(cli):
    a, b = train(cli), train(cli, "--seed", "1234")
    result = cli("diff", a["run_id"], b["run_id"])
    assert result.code == 1
    assert "cause     seed differs: 7 vs 1234" in result.out
    report = cli("diff", a["run_id"], b["run_id"], "--json").json()
    assert report["causes"][0] == "seed differs: 7 vs 1234"
    assert report["first_divergence"]["step"] == "split"  # not load or features: they use no randomness
    steps = {s["step"]: s["status"] for s in report["steps"]}
    assert steps["load"] == steps["features"] == "equal"
    assert [c["key"] for c in report["identity"]] == ["strict_key"]
    assert lineage(a)["identity"]["replicate_key"] == lineage(b)["identity"]["replicate_key"]


def test_config_change_is_a_dotted_key_diff(cli):
    a, b = train(cli), train(cli, "--set", "models.random_forest.n_estimators=16")
    report = cli("diff", a["run_id"], b["run_id"], "--json").json()
    assert report["config"] == [{"key": "models.random_forest.n_estimators", "a": 15, "b": 16}]
    assert report["first_divergence"]["step"] == "cv/random_forest/fold0"


class NoisyLogisticRegression(LogisticRegression):
    """Test-only: its scores carry noise from an unseeded generator, as careless code would."""

    def predict_proba(self, X):
        probabilities = super().predict_proba(X)
        noise = np.random.default_rng().random(probabilities.shape[0]) * 1e-15
        probabilities[:, 1] = probabilities[:, 1] * (1 + noise)
        probabilities[:, 0] = 1 - probabilities[:, 1]
        return probabilities


def _noisy_builder(params, seed, classification):
    return NoisyLogisticRegression(C=params.C, max_iter=params.max_iter, tol=params.tol, random_state=seed)


def test_injected_perturbation_is_located_with_a_numeric_distance(cli, monkeypatch):
    noisy = dataclasses.replace(FAMILIES["logistic_regression"], build=_noisy_builder)
    monkeypatch.setitem(FAMILIES, "logistic_regression", noisy)
    a, b = train(cli), train(cli)
    result = cli("diff", a["run_id"], b["run_id"])
    assert result.code == 1
    assert "diverges  at step cv/logistic_regression/fold0: numeric (max abs" in result.out
    report = cli("diff", a["run_id"], b["run_id"], "--json").json()
    first = report["first_divergence"]
    assert first["step"] == "cv/logistic_regression/fold0"
    assert 0 < first["max_abs"] < 1e-12 and first["max_ulp"] >= 1 and first["n_differing"] >= 1
    # within a tolerance the runs are numerically equivalent, and diff says so
    assert report["level"] in ("numeric", "different")
    numeric = cli("diff", a["run_id"], b["run_id"], "--level", "numeric", "--rtol", "1e-9", "--json").json()
    assert numeric["first_divergence"]["status"] == "numeric"


def test_reproduce_a_fresh_run_is_exact_and_names_its_parent(cli):
    a = train(cli)
    result = cli("reproduce", a["run_id"], "--quiet")
    assert result.code == 0, result.out + result.err
    assert f"reproduced run {a['run_id']} as" in result.out
    document = cli("reproduce", a["run_id"], "--quiet", "--json").json()
    assert document["diff"]["level"] == "exact"
    new = json.loads((Path(document["run_dir"]) / "lineage.json").read_text())
    assert new["parent"] == a["run_id"]
    assert new["fingerprints"] == lineage(a)["fingerprints"]
    assert cli("verify", document["run_id"]).code == 0


def test_reproduce_refuses_changed_data_and_accepts_an_identical_copy(cli, workdir):
    a = train(cli)
    original = lineage(a)["dataset"]["sha256"]
    shutil.copy(workdir / "data.csv", workdir / "copy.csv")
    data = bytearray((workdir / "data.csv").read_bytes())
    data[500] = ord("9") if data[500] != ord("9") else ord("8")
    (workdir / "data.csv").write_bytes(bytes(data))
    result = cli("reproduce", a["run_id"], "--quiet")
    assert result.code == 2
    assert "data.csv has sha256" in result.err and original in result.err
    result = cli("reproduce", a["run_id"], "--quiet", "--data", "copy.csv")
    assert result.code == 0, result.out + result.err


def test_reproduce_warns_when_the_environment_differs(cli):
    a = train(cli)
    environment_path = Path(a["run_dir"]) / "environment.json"
    environment = json.loads(environment_path.read_text())
    environment["packages"]["scikit-learn"] = "0.0.1"
    environment["machine"] = "riscv64"
    environment_path.write_text(json.dumps(environment))
    result = cli("reproduce", a["run_id"], "--quiet")
    assert "warning: the environment differs" in result.err
    assert "package scikit-learn: 0.0.1 ->" in result.err and "machine: riscv64 ->" in result.err


def test_diff_of_unknown_runs_is_bad_input(cli):
    assert cli("diff", "nope", "nope2").code == 2


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0], [1.0], 0),
        ([1.0], [float(np.nextafter(1.0, 2.0))], 1),
        ([0.0], [-0.0], 0),
        ([-1e-300], [1e-300], None),
    ],
)
def test_ulp_distance(a, b, expected):
    distance = ulp_distance(np.array(a), np.array(b))
    if expected is None:
        assert distance > 1
    else:
        assert distance == expected
