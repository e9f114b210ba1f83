"""The rulefit family through the CLI: identical rules run to run, expert rules, SQL scoring, accuracy."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import EXAMPLE, FAST_CONFIG
from trainlock.cli import main

#: a quick rulefit recipe: few trees, a short penalty path, two CV folds
RULEFIT = {"n_estimators": 15, "n_penalties": 5, "penalty_cv": 2}


def rulefit_config(**rulefit) -> dict:
    config = copy.deepcopy(FAST_CONFIG)
    config["models"] = {"rulefit": {**RULEFIT, **rulefit}}
    config["cv"]["n_splits"] = 2
    return config


def run_json(*args) -> dict:
    """`trainlock ... --json` in-process, for fixtures that outlive one test."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*map(str, args), "--json"])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def rulefit_runs(tmp_path_factory) -> list[Path]:
    """The same rulefit config trained twice: with --workers 1 and with --workers 2."""
    folder = tmp_path_factory.mktemp("rulefit")
    shutil.copy(EXAMPLE / "data.csv", folder / "data.csv")
    config = rulefit_config(
        expert_rules={
            "long_stay_in_us_or_gb": {
                "kind": "optional",
                "clauses": [
                    {"feature": "days_on_platform", "op": ">", "value": 200},
                    {"feature": "student_country", "op": "in", "value": ["US", "GB"]},
                ],
            },
        }
    )
    (folder / "rulefit.yaml").write_text(yaml.safe_dump(config))
    store = folder / "runs"
    return [
        Path(run_json("train", folder / "rulefit.yaml", "--store", store, "--workers", workers, "--quiet")["run_dir"])
        for workers in ("1", "2")
    ]


def test_rulefit_runs_give_byte_identical_rules_and_fingerprints(rulefit_runs):
    lineages = [json.loads((run / "lineage.json").read_text()) for run in rulefit_runs]
    assert {lineage["fingerprints"]["model"] for lineage in lineages} == {lineages[0]["fingerprints"]["model"]}
    for name in ("rules.json", "rules.md", "rules.sql", "fragility.json", "model.skops"):
        contents = {(run / name).read_bytes() for run in rulefit_runs}
        assert len(contents) == 1, f"{name} differs between runs"
        assert lineages[0]["outputs"][name]["sha256"] == lineages[1]["outputs"][name]["sha256"]


def test_rules_json_is_canonical_and_describes_the_model(rulefit_runs):
    run = rulefit_runs[0]
    text = (run / "rules.json").read_text()
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["selected_model"] == "rulefit"
    # the config asks for calibration; the metrics say it was not applied, and why
    assert metrics["calibration"]["requested"] == "sigmoid" and metrics["calibration"]["applied"] is False
    assert "rules.json and rules.sql describe exactly the model" in metrics["calibration"]["reason"]
    assert document["task"] == "classification" and document["positive_class"] == 1
    kinds = [term["kind"] for term in document["terms"]]
    assert kinds == sorted(kinds, key=["expert", "rule", "linear"].index)
    expert = document["terms"][0]
    assert expert["id"] == "e01" and expert["expert"]["name"] == "long_stay_in_us_or_gb"
    assert expert["text"] == "days_on_platform > 200 and student_country in ['US', 'GB']"
    rules = [term for term in document["terms"] if term["kind"] == "rule"]
    assert rules and all(term["coefficient"] != 0 and 0 < term["support"] < 1 for term in rules)
    assert document["n_rules"] == sum(
        1 for term in document["terms"] if term["kind"] != "linear" and term["coefficient"]
    )
    # one-hot columns read as categories, not as column_value > 0.5
    texts = " ".join(term["text"] for term in document["terms"])
    assert "student_country_" not in texts
    md = (run / "rules.md").read_text()
    assert md.startswith("# RuleFit model\n") and all(f"| {term['id']} |" in md for term in document["terms"])


def load_test_rows(run: Path, data: Path) -> tuple[sqlite3.Connection, pd.DataFrame]:
    predictions = pd.read_csv(run / "predictions.csv")
    rows = pd.read_csv(data).iloc[predictions["row"].to_numpy()].drop(columns=["purchased"])
    connection = sqlite3.connect(":memory:")
    columns = list(rows.columns)
    connection.execute("CREATE TABLE input (" + ", ".join(f'"{c}"' for c in columns) + ")")
    values = [
        tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row)
        for row in rows.itertuples(index=False)
    ]
    connection.executemany(f"INSERT INTO input VALUES ({', '.join('?' * len(columns))})", values)
    return connection, predictions


def test_rules_sql_scores_the_test_set_like_the_model(rulefit_runs):
    run = rulefit_runs[0]
    connection, predictions = load_test_rows(run, run.parent.parent / "data.csv")
    scored = connection.execute((run / "rules.sql").read_text()).fetchall()
    assert len(scored) == len(predictions)
    sql_scores = np.array([row[2] for row in scored])
    np.testing.assert_allclose(sql_scores, predictions["score"].to_numpy(), rtol=0, atol=1e-9)
    # the linear score is the log-odds of the probability
    linear = np.array([row[1] for row in scored])
    np.testing.assert_allclose(1 / (1 + np.exp(-linear)), sql_scores, rtol=0, atol=1e-12)


def test_predict_of_a_rulefit_run_matches_its_test_predictions(rulefit_runs, tmp_path):
    run = rulefit_runs[0]
    predictions = pd.read_csv(run / "predictions.csv")
    batch = pd.read_csv(run.parent.parent / "data.csv").iloc[predictions["row"].to_numpy()]
    batch.to_csv(tmp_path / "batch.csv", index=False)
    result = run_json("predict", run, tmp_path / "batch.csv", "--store", run.parent, "--out", tmp_path / "out.csv")
    scored = pd.read_csv(result["out"])
    np.testing.assert_array_equal(scored["score"].to_numpy(), predictions["score"].to_numpy())


def expert_run(cli, workdir: Path, kind: str) -> dict:
    # a large fixed penalty keeps only the strongest terms; this rule has no real effect
    config = rulefit_config(
        penalty=0.03,
        expert_rules={
            "germany": {"kind": kind, "clauses": [{"feature": "student_country", "op": "==", "value": "DE"}]}
        },
    )
    (workdir / f"{kind}.yaml").write_text(yaml.safe_dump(config))
    result = cli("train", f"{kind}.yaml", "--json", "--quiet", "--set", "calibration.method=none")
    assert result.code == 0, result.err
    rules = json.loads((Path(result.json()["run_dir"]) / "rules.json").read_text())
    return next(term for term in rules["terms"] if term["kind"] == "expert")


def test_a_confirmatory_rule_stays_when_the_data_would_drop_it(cli, workdir):
    optional = expert_run(cli, workdir, "optional")
    assert optional["coefficient"] == 0.0 and optional["expert"]["refit_without_penalty"] is False
    confirmatory = expert_run(cli, workdir, "confirmatory")
    assert confirmatory["coefficient"] != 0.0
    assert confirmatory["expert"] == {"name": "germany", "kind": "confirmatory", "refit_without_penalty": True}
    assert confirmatory["text"] == "student_country == 'DE'"


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        (
            {"feature": "minutes", "op": "<", "value": 3},
            "models.rulefit.expert_rules.r.clauses.0.feature = 'minutes': not a column of the data or a derived feature; "
            "did you mean 'minutes_watched'?",
        ),
        (
            {"feature": "days_on_platform", "op": "==", "value": "many"},
            "models.rulefit.expert_rules.r.clauses.0.value = 'many': 'days_on_platform' is numeric; give a number",
        ),
        (
            {"feature": "student_country", "op": ">=", "value": 3},
            "models.rulefit.expert_rules.r.clauses.0.op = '>=': 'student_country' is categorical; use ==, != or in",
        ),
        (
            {"feature": "student_country", "op": "in", "value": ["US", "XX"]},
            "models.rulefit.expert_rules.r.clauses.0.value: 'XX' never occurs in 'student_country'; its values are: "
            "CA, DE, EG, GB, IN, NG, PK, US",
        ),
        (
            {"feature": "student_country", "op": "in", "value": "US"},
            "invalid config (in bad.yaml): models.rulefit.expert_rules.r.clauses.0 = "
            "{'feature': 'student_country', 'op': 'in', 'value': 'US'}: op 'in' needs a non-empty list of values",
        ),
        (
            {"feature": "days_on_platform", "op": "=>", "value": 3},
            "models.rulefit.expert_rules.r.clauses.0.op = '=>': input should be '<', '<=', '>', '>=', '==', '!=' or 'in'",
        ),
    ],
)
def test_invalid_expert_clauses_are_config_errors_naming_the_key(cli, workdir, clause, message):
    config = rulefit_config(expert_rules={"r": {"clauses": [clause]}})
    (workdir / "bad.yaml").write_text(yaml.safe_dump(config))
    result = cli("train", "bad.yaml", "--quiet")
    assert result.code == 2
    assert result.err.startswith("trainlock: error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_rulefit_on_the_example_is_close_to_the_best_model(cli, workdir):
    """On examples/purchase, <= 30 rules reach the recipe's best test ROC AUC within 0.03."""
    shutil.copy(EXAMPLE / "config.yaml", workdir / "example.yaml")
    best = cli("train", "example.yaml", "--json", "--quiet", "--workers", "2")
    assert best.code == 0, best.err
    best_metrics = json.loads((Path(best.json()["run_dir"]) / "metrics.json").read_text())
    assert best_metrics["selected_model"] != "rulefit"
    only_rulefit = {
        "models": {name: None for name in ("logistic_regression", "knn", "svm", "decision_tree", "random_forest")}
    }
    only_rulefit["models"]["rulefit"] = {
        "max_rules": 30,
        "n_estimators": 50,
        "learning_rate": 0.02,
        "n_penalties": 12,
        "penalty_cv": 3,
    }
    only_rulefit["cv"] = {"n_splits": 2}  # the test split, and so the test AUC, does not depend on the CV folds
    (workdir / "rules_only.yaml").write_text(yaml.safe_dump(only_rulefit))
    ruled = cli("train", "example.yaml", "--config", "rules_only.yaml", "--json", "--quiet", "--workers", "2")
    assert ruled.code == 0, ruled.err
    run_dir = Path(ruled.json()["run_dir"])
    rules = json.loads((run_dir / "rules.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["selected_model"] == "rulefit" and metrics["n_test"] == best_metrics["n_test"]
    assert 1 <= rules["n_rules"] <= 30
    best_auc, rulefit_auc = best_metrics["test"]["roc_auc"], metrics["test"]["roc_auc"]
    print(
        f"example test ROC AUC: best model {best_metrics['selected_model']} {best_auc:.4f}, "
        f"rulefit ({rules['n_rules']} rules) {rulefit_auc:.4f}"
    )
    assert rulefit_auc >= best_auc - 0.03
