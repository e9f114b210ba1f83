"""fragility.json: every thresholded decision of the recipe with its margin; close calls flagged."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.tree import DecisionTreeClassifier

from conftest import FAST_CONFIG
from trainlock.pipeline import fragility
from trainlock.pipeline.rulefit import RuleFitClassifier

TOLERANCE = 1e-6


def test_every_run_writes_a_canonical_fragility_report(trained):
    run_id, run_dir = trained
    text = (run_dir / "fragility.json").read_text()
    report = json.loads(text)
    assert text == json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert report["schema_version"] == 1 and report["tolerance"] == 1e-6
    kinds = [decision["kind"] for decision in report["decisions"]]
    assert kinds[:3] == ["model_selection", "threshold_precision", "threshold_neighbours"]
    assert kinds == sorted(kinds, key=fragility.KIND_ORDER.index)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    selection = report["decisions"][0]
    assert selection["outcome"] == f"selected {metrics['selected_model']} over {metrics['selection']['runner_up']}"
    assert selection["value"] == metrics["cv"]["table"][metrics["selected_model"]]["mean"]
    threshold = json.loads((run_dir / "threshold.json").read_text())
    assert report["decisions"][2]["value"] == threshold["threshold"]
    assert report["n_fragile"] == sum(decision["fragile"] for decision in report["decisions"])
    for decision in report["decisions"]:
        if decision["kind"] not in ("tree_split", "model_selection") and decision["margin"] is not None:
            assert decision["fragile"] == (decision["margin"] < report["tolerance"])
    lineage = json.loads((run_dir / "lineage.json").read_text())
    assert "fragility.json" in lineage["outputs"]


def tie_config(workdir: Path) -> None:
    """Two families that are the same estimator: their CV scores tie exactly."""
    config = copy.deepcopy(FAST_CONFIG)
    config["models"] = {
        "logistic_regression": {"C": 1.0, "max_iter": 500},
        "custom": {
            "twin": {
                "estimator": "sklearn.linear_model:LogisticRegression",
                "params": {"C": 1.0, "max_iter": 500, "tol": 0.0001},
            }
        },
    }
    config["cv"]["n_splits"] = 2
    config["calibration"] = {"method": "none"}
    (workdir / "tie.yaml").write_text(yaml.safe_dump(config))


def test_a_tie_between_two_models_is_fragile_and_check_lists_it(cli, workdir):
    tie_config(workdir)
    checked = cli("check", "tie.yaml", "--factors", "PYTHONHASHSEED", "--keep", "kept")
    assert checked.code == 0, checked.out + checked.err
    assert (
        "  fragile  model_selection cv roc_auc: selected custom.twin over logistic_regression "
        "(a tie, broken by name) (margin 0)"
    ) in checked.out.splitlines()
    assert checked.out.index("equal    PYTHONHASHSEED") < checked.out.index("fragile  model_selection")
    baseline = checked.out.split("baseline run ")[1].split()[0]
    report = json.loads((workdir / "kept" / baseline / "fragility.json").read_text())
    selection = report["decisions"][0]
    assert selection["kind"] == "model_selection" and selection["fragile"] is True
    assert selection["margin"] == 0.0 and selection["value"] == selection["threshold"]
    assert selection["outcome"] == "selected custom.twin over logistic_regression (a tie, broken by name)"


def test_model_selection_margin_is_relative():
    table = {"a": {"mean": 0.8}, "b": {"mean": 0.79}}
    [decision] = fragility.model_selection({"model": "a", "runner_up": "b", "metric": "roc_auc"}, table, TOLERANCE)
    assert decision.margin == pytest.approx(0.0125) and not decision.fragile
    assert fragility.model_selection({"model": "a", "metric": "roc_auc"}, {"a": {"mean": 1.0}}, TOLERANCE) == []


def test_a_split_within_float32_rounding_of_a_training_value_is_fragile():
    # neighbouring float32 values (scikit-learn's trees do not split values closer than 1e-7 apart)
    base = 2.0**20
    close = float(np.nextafter(np.float32(base), np.float32(2 * base)))
    X = np.array([[base, 0.0], [close, 1.0], [base, 0.0], [close, 1.0]])
    y = np.array([0, 1, 0, 1])
    tree = DecisionTreeClassifier(random_state=0).fit(X[:, :1], y)
    splits = fragility.sklearn_tree_splits(tree)
    assert len(splits) == 1
    summary, split = fragility.split_decisions("decision_tree", splits, X[:, :1], ["x"], TOLERANCE, float32=True)
    assert summary.kind == "tree_splits" and summary.fragile and summary.outcome == "1 split thresholds, 1 fragile"
    assert split.kind == "tree_split" and split.fragile and split.margin < 1e-7
    assert split.subject == "decision_tree, tree node 0: x <= 1048576.0625"
    wide = DecisionTreeClassifier(random_state=0).fit(X[:, 1:], y)
    [clear] = fragility.split_decisions(
        "decision_tree", fragility.sklearn_tree_splits(wide), X[:, 1:], ["z"], TOLERANCE, float32=True
    )
    assert not clear.fragile and clear.margin == 0.5


@pytest.mark.parametrize(("target", "fragile"), [(0.75, True), (0.7, False)])
def test_a_threshold_that_just_reaches_the_target_precision_is_fragile(target, fragile):
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1])
    scores = np.linspace(0.05, 0.95, 10)
    from trainlock.pipeline.threshold import choose_threshold

    threshold = choose_threshold(y, scores, target)
    decisions = fragility.threshold_decisions(y, scores, threshold, TOLERANCE)
    precision = next(d for d in decisions if d.kind == "threshold_precision")
    assert precision.value >= target and precision.fragile is fragile
    neighbours = next(d for d in decisions if d.kind == "threshold_neighbours")
    assert neighbours.value == threshold["threshold"] and not neighbours.fragile


def rulefit_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(18, 80, 300).astype(float), "income": rng.normal(50, 15, 300).round(1)})
    logit = 2.0 * (X["age"] > 50) + 0.04 * (X["income"] - 50) - 1.0
    return X, (rng.random(300) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def test_a_coefficient_at_the_selection_edge_is_fragile():
    X, y = rulefit_data()
    settings = {"n_estimators": 5, "linear_terms": False, "random_state": 1}

    def fit(penalty: float) -> RuleFitClassifier:
        return RuleFitClassifier(penalty=penalty, **settings).fit(X, y)

    # bisect the penalty at which the first term enters the model
    low, high = 0.01, 1.0
    assert np.count_nonzero(fit(low).coef_) and not np.count_nonzero(fit(high).coef_)
    for _ in range(45):
        middle = (low + high) / 2
        low, high = (middle, high) if np.count_nonzero(fit(middle).coef_) else (low, middle)
    for penalty, outcome in ((low, "kept"), (high, "dropped")):
        decisions = [d for d in fragility.rulefit_decisions(fit(penalty), TOLERANCE) if d.kind == "term_selection"]
        edge = min(decisions, key=lambda decision: decision.margin)
        assert edge.outcome == outcome and edge.fragile, edge
    clear = [d for d in fragility.rulefit_decisions(fit(0.02), TOLERANCE) if d.kind == "term_selection"]
    assert clear and not any(decision.fragile for decision in clear)


def test_a_selection_frequency_equal_to_the_keep_fraction_is_fragile():
    X, y = rulefit_data()
    model = RuleFitClassifier(n_estimators=5, penalty=0.01, n_bootstrap=5, keep_fraction=0.6, random_state=1).fit(X, y)
    stability = [d for d in fragility.rulefit_decisions(model, TOLERANCE) if d.kind == "stability_selection"]
    assert len(stability) == len(model.coef_)
    for decision in stability:
        assert decision.fragile == (decision.value == 0.6)
        assert decision.outcome == ("kept" if decision.value >= 0.6 else "dropped")


def test_tolerance_decides_what_is_fragile():
    decision = fragility.Decision("model_selection", "cv", "selected a over b", 0.8, 0.79, 0.0125, False)
    assert fragility.report([decision], 0.1)["n_fragile"] == 0  # report counts, it never re-judges
    table = {"a": {"mean": 0.8}, "b": {"mean": 0.79}}
    selection = {"model": "a", "runner_up": "b", "metric": "roc_auc"}
    assert fragility.model_selection(selection, table, 0.02)[0].fragile
    assert not fragility.model_selection(selection, table, 0.01)[0].fragile
