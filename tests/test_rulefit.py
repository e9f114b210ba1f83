"""The RuleFit estimator: determinism, canonical rules, expert rules, stability selection, SQL literals."""

from __future__ import annotations

import random
import re
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from trainlock.errors import ConfigError, DataError
from trainlock.fingerprint import fingerprint
from trainlock.pipeline.config import validate
from trainlock.pipeline.families import ModelInputs
from trainlock.pipeline.families.rulefit import RulefitParams, check_expert_rules_fit
from trainlock.pipeline.rulefit import (
    RuleFitClassifier,
    RuleFitRegressor,
    _expert_activation,
    _readable_threshold,
    _rule_activation,
)
from trainlock.pipeline.rulefit_export import _number

QUICK = {"n_estimators": 12, "n_penalties": 5, "penalty_cv": 3, "random_state": 1}


def make_data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """age and income matter, noise does not; city is one-hot encoded as city_<value>."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["A", "B", "C"], n)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50, 15, n).round(1),
            "noise": rng.random(n).round(3),
            **{f"city_{value}": (city == value).astype(float) for value in "ABC"},
        }
    )
    logit = 2.0 * (X["age"] > 50) + 0.05 * (X["income"] - 50) + 0.8 * X["city_A"] - 1.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def fitted() -> tuple[RuleFitClassifier, pd.DataFrame, np.ndarray]:
    X, y = make_data()
    return RuleFitClassifier(**QUICK).fit(X, y), X, y


def test_refit_is_identical_and_leaves_the_global_random_state_alone(fitted):
    model, X, y = fitted
    np.random.seed(123)
    random.seed(5)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    again = RuleFitClassifier(**QUICK).fit(X, y)
    after = np.random.get_state()
    assert random.getstate() == python_state
    assert (
        all(np.array_equal(a, b) for a, b in zip(numpy_state[1:], after[1:], strict=True))
        and numpy_state[0] == after[0]
    )
    assert fingerprint(again) == fingerprint(model)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    other_seed = RuleFitClassifier(**{**QUICK, "random_state": 2}).fit(X, y)
    assert fingerprint(other_seed) != fingerprint(model)


def test_rules_are_sorted_deduplicated_and_never_constant(fitted):
    model, X, _ = fitted
    rules = [model._rule(r) for r in range(len(model.rule_offsets_) - 1)]
    assert rules and rules == sorted(rules) and len(set(rules)) == len(rules)
    patterns = set()
    for rule in rules:
        active = _rule_activation(X.to_numpy(), rule)
        assert 0 < active.sum() < len(X)
        canonical = (~active if active[0] else active).tobytes()
        assert canonical not in patterns, f"{rule} repeats (or complements) an earlier rule"
        patterns.add(canonical)
        for feature, _op, threshold in rule:
            # a threshold never coincides with a training value
            assert threshold not in set(X.iloc[:, feature])


@pytest.mark.parametrize(
    ("below", "above", "expected"),
    [
        (143.0, 144.0, 143.5),
        (81.89, 81.91, 81.9),
        (0.19999996000000801, 0.25, 0.22),
        (2.0, 30.0, 20.0),
        (-1.5, -1.0, -1.2),
    ],
)
def test_thresholds_are_short_decimals_in_the_middle_of_the_gap(below, above, expected):
    assert _readable_threshold(below, above) == expected


def test_estimator_contract(fitted):
    model, X, y = fitted
    fresh = RuleFitClassifier(n_estimators=7, expert_rules=(("r", "optional", (("age", ">", 60),)),))
    assert fresh.get_params()["n_estimators"] == 7 and clone(fresh).get_params() == fresh.get_params()
    assert not [name for name in vars(fresh) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    learned = set(vars(model)) - set(model.get_params())
    assert learned and all(name.endswith("_") for name in learned)
    assert list(model.feature_names_in_) == list(X.columns) and list(model.classes_) == [0, 1]
    assert set(model.predict(X)) <= {0, 1}
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X.rename(columns={"age": "years"}))


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        (("age", ">=", 30), [False, True, True, True]),
        (("age", "in", (20, 50)), [True, False, False, True]),
        (("city", "==", "A"), [True, False, False, False]),
        (("city", "!=", "A"), [False, True, True, True]),
        (("city", "in", ("A", "C")), [True, False, True, True]),
        (("city", "==", "Z"), [False, False, False, False]),  # a category absent from the training data
    ],
)
def test_expert_clauses_read_numbers_and_one_hot_columns(clause, expected):
    X = np.array([[20.0, 1, 0, 0], [30.0, 0, 1, 0], [40.0, 0, 0, 1], [50.0, 0, 0, 1]])
    names = ["age", "city_A", "city_B", "city_C"]
    assert _expert_activation(X, names, ("r", "optional", (clause,))).tolist() == expected


def test_a_confirmatory_rule_is_refit_without_penalty_when_dropped():
    X, y = make_data()
    noise_rule = (("noise_high", "optional", (("noise", ">", 0.5),)),)
    settings = {**QUICK, "penalty": 0.02, "expert_rules": noise_rule}
    optional = RuleFitClassifier(**settings).fit(X, y)
    assert optional.expert_names_ == ["noise_high"] and optional.coef_[0] == 0.0 and not optional.forced_[0]
    confirmatory = RuleFitClassifier(
        **{**settings, "expert_rules": (("noise_high", "confirmatory", (("noise", ">", 0.5),)),)}
    ).fit(X, y)
    assert confirmatory.coef_[0] != 0.0 and confirmatory.forced_[0]
    term = confirmatory.terms()[0]
    assert term.kind == "expert" and term.expert_kind == "confirmatory" and term.forced and term.penalty_ratio is None
    # the other terms keep their penalty: the refit does not add terms the penalised fit dropped
    assert set(np.flatnonzero(confirmatory.coef_[1:])) <= set(np.flatnonzero(optional.coef_[1:]))


def test_an_optional_expert_rule_gets_the_lower_penalty():
    X, y = make_data()
    rule = (("old", "optional", (("age", ">", 50),)),)
    model = RuleFitClassifier(**{**QUICK, "penalty": 0.01, "expert_rules": rule, "expert_penalty_factor": 0.2}).fit(
        X, y
    )
    # the learned rule "age > 50.5" (same rows) is dropped as a duplicate: the expert's version is kept
    assert model.coef_[0] > 0
    assert not any(term.kind == "rule" and term.clauses == (("age", ">", 50.5),) for term in model.terms())


def test_stability_selection_keeps_terms_selected_often_enough():
    X, y = make_data()
    model = RuleFitClassifier(**{**QUICK, "penalty": 0.005, "n_bootstrap": 5, "keep_fraction": 0.6}).fit(X, y)
    frequency = model.selection_frequency_
    assert frequency is not None and set(np.round(frequency * 5, 9)) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    selected = np.flatnonzero(model.coef_)
    assert selected.size and (frequency[selected] >= 0.6).all()
    assert (frequency < 0.6).any()


def test_max_rules_caps_the_number_of_rules():
    X, y = make_data()
    model = RuleFitClassifier(**{**QUICK, "max_rules": 3, "linear_terms": False}).fit(X, y)
    assert 1 <= np.count_nonzero(model.coef_) <= 3
    assert model.penalty_eligible_ is not None and not model.penalty_eligible_.all()


def test_regression_fits_a_step_and_predicts_its_linear_score():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.random(200).round(4), "z": rng.random(200).round(4)})
    y = 3.0 * (X["x"] > 0.5) + X["z"] + rng.normal(0, 0.05, 200)
    model = RuleFitRegressor(**QUICK).fit(X, y)
    assert model.score(X, y) > 0.95
    np.testing.assert_array_equal(model.predict(X), model.decision_function(X))
    assert any(term.kind == "linear" and term.column == "z" and term.coefficient > 0 for term in model.terms())


def test_the_fingerprint_covers_coefficients_rules_and_feature_names(fitted):
    model, X, y = fitted
    original = fingerprint(model)
    changed = clone(model).fit(X, y)
    j = int(np.flatnonzero(changed.coef_)[0])
    changed.coef_[j] = np.nextafter(changed.coef_[j], np.inf)
    assert fingerprint(changed) != original
    renamed = clone(model).fit(X.rename(columns={"noise": "static"}), y)
    assert fingerprint(renamed) != original


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"tree_size": 1}, "tree_size must be an integer >= 2"),
        ({"penalty": -1.0}, "penalty must be 'cv' or a number > 0"),
        ({"random_state": None}, "random_state must be an integer"),
        ({"expert_rules": (("r", "sure", (("age", ">", 1),)),)}, "kind must be 'confirmatory' or 'optional'"),
    ],
)
def test_invalid_settings_are_value_errors(setting, message):
    X, y = make_data(60)
    with pytest.raises(ValueError, match=message):
        RuleFitClassifier(**{**QUICK, **setting}).fit(X, y)


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        (("age", "<", "old"), "op '<' needs a number, found text 'old'"),
        (("age", "in", 3), "op 'in' needs a non-empty list of values"),
        (("age", "==", [30, 40]), "op '==' compares with one value; use op 'in' for a list"),
        (("age", "=>", 3), "unknown operator '=>'"),
        (("age", "==", "old"), "'age' is numeric; give a number"),
        (("city", ">", 1), "'city' is categorical; use ==, != or in"),
        (("town", "==", "A"), "no column of X is named 'town' or 'town_<value>'"),
    ],
)
def test_invalid_expert_clauses_are_value_errors_naming_rule_and_clause(clause, message):
    X, y = make_data(60)
    rules = (("r", "optional", (("age", ">", 30), clause)),)
    with pytest.raises(ValueError, match=re.escape(f"RuleFitClassifier: expert rule 'r', clause 1: {message}")):
        RuleFitClassifier(**{**QUICK, "expert_rules": rules}).fit(X, y)


def test_the_config_and_the_estimator_check_a_clause_with_the_same_words():
    clause = {"feature": "age", "op": "<", "value": "old"}
    raw = {
        "data": {"path": "d.csv", "target": "y"},
        "models": {"rulefit": {"expert_rules": {"r": {"clauses": [clause]}}}},
    }
    with pytest.raises(ConfigError) as from_config:
        validate(raw)
    X, y = make_data(60)
    with pytest.raises(ValueError) as from_estimator:
        RuleFitClassifier(**{**QUICK, "expert_rules": (("r", "optional", (tuple(clause.values()),)),)}).fit(X, y)
    message = "op '<' needs a number, found text 'old'"
    assert message in str(from_config.value) and message in str(from_estimator.value)


def test_the_family_checks_expert_rules_against_the_data_before_any_work():
    frame = pd.DataFrame({"age": [20.0, 30.0, 40.0], "city": ["A", "B", "A"], "city_B": [1.0, 2.0, 3.0]})
    inputs = ModelInputs(frame, ["age"], ["city"], "most_frequent")
    always = RulefitParams(expert_rules={"adult": {"clauses": [{"feature": "age", "op": ">", "value": 1}]}})
    with pytest.raises(
        ConfigError, match="models.rulefit.expert_rules.adult: the rule holds for every row of the data"
    ):
        check_expert_rules_fit(always, inputs)
    clash = ModelInputs(frame, ["age", "city_B"], ["city"], "most_frequent")
    with pytest.raises(DataError, match="column.s. city_B are also the one-hot names of a categorical value"):
        check_expert_rules_fit(RulefitParams(), clash)


def test_sql_literals_parse_to_the_same_double_in_sqlite():
    rng = np.random.default_rng(11)
    values = np.concatenate(
        [
            rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000),
            rng.standard_normal(1000) * 10.0 ** rng.integers(-320, 300, 1000),
            # literals whose shortest repr SQLite 3.40 misreads by one ulp
            [
                6.102443538760838e-06,
                -3.099326671756385e-05,
                -0.001227370504152312,
                -0.3077399001259222,
                316.7624773289497,
                -399560.10876422,
            ],
            [0.0, 1.0, -2.5, 1e300, 5e-324],
        ]
    )
    connection = sqlite3.connect(":memory:")
    for chunk in np.array_split(values, 10):
        row = connection.execute("SELECT " + ", ".join(_number(v) for v in chunk)).fetchone()
        assert list(row) == [float(v) for v in chunk]
