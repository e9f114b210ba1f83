"""The model-family registry: every family has a complete spec, trains, verifies and repeats; a new one is one spec."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import yaml
from pydantic import Field, create_model

from trainlock.errors import ConfigError
from trainlock.model_io import load_run_model
from trainlock.pipeline import config as config_module
from trainlock.pipeline import fragility
from trainlock.pipeline.config import Config, ModelsConfig, models_config
from trainlock.pipeline.families import FAMILIES, FamilySpec, ModelInputs, StrictModel, family_of
from trainlock.pipeline.families.spec import PreprocessingKind, Task
from trainlock.pipeline.models import effective_params
from trainlock.run import RunFolder

#: quick settings of the families the fast config does not declare
QUICK_PARAMS = {
    "knn": "{n_neighbors: 9}",
    "svm": "{C: 0.5}",
    "hist_gradient_boosting": "{max_iter: 20}",
    "lightgbm": "{n_estimators: 20, subsample: 0.8}",
    "xgboost": "{n_estimators: 20, subsample: 0.8}",
}


@pytest.mark.parametrize("family", sorted(QUICK_PARAMS))
def test_family_trains_verifies_and_repeats(cli, family):
    args = [
        "train",
        "config.yaml",
        "--json",
        "--quiet",
        "--set",
        "models.logistic_regression=null",
        "--set",
        "models.decision_tree=null",
        "--set",
        "models.random_forest=null",
        "--set",
        f"models.{family}={QUICK_PARAMS[family]}",
    ]
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


# -- the registry: one spec per family ---------------------------------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "trainlock"


def tiny_data(task: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((80, 3)).round(3)
    y = (X[:, 0] > 0.5).astype(np.int64) if task == "classification" else X[:, 0] * 2.0 + X[:, 1]
    return X, y


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_registered_family_has_a_complete_spec(name):
    spec = FAMILIES[name]
    assert isinstance(spec, FamilySpec) and spec.name == name
    assert issubclass(spec.params, StrictModel)
    assert spec.cost > 0
    assert spec.tasks and spec.tasks <= set(get_args(Task))
    assert spec.preprocessing in get_args(PreprocessingKind)
    assert spec.calibratable == (spec.uncalibrated_reason is None)
    assert spec.uncalibrated_reason is None or spec.uncalibrated_reason.strip()
    if spec.extra is not None:
        assert spec.extra.module and spec.extra.extra
    for task in sorted(spec.tasks):
        defaults = spec.params(**spec.task_defaults({}, task))  # every hyperparameter has an explicit default
        spec.check_available(defaults)
        X, y = tiny_data(task)
        estimator = spec.build(defaults, 3, task == "classification")
        assert effective_params(estimator), "a builder returns a scikit-learn-style estimator"
        estimator.fit(X, y)
        found = spec.inspect(estimator, 1e-6)
        assert isinstance(found, fragility.ModelDecisions)
        if name != "rulefit":
            # what the hook inspects is what a generic look at the fitted estimator finds
            assert list(found.splits) == fragility.sklearn_tree_splits(estimator)
    assert callable(spec.write_artefacts) and callable(spec.check_inputs)


def test_models_config_keys_are_the_registry_in_order():
    assert list(ModelsConfig.model_fields) == [*FAMILIES, "custom"]
    for name, spec in FAMILIES.items():
        assert get_args(ModelsConfig.model_fields[name].annotation) == (spec.params, type(None))
        assert ModelsConfig.model_fields[name].default is None


def test_family_of_knows_built_in_and_custom_families():
    assert family_of("rulefit") is FAMILIES["rulefit"]
    custom = family_of("custom.mine")
    assert custom.name == "custom.mine" and custom.tasks == frozenset({"classification", "regression"})
    with pytest.raises(ConfigError, match="unknown model family 'forest'; known families: logistic_regression, "):
        family_of("forest")


def test_the_recipe_and_cross_validation_ask_the_spec_not_the_family_name():
    """Alongside the behavioural tests below: no family is spelled out in the recipe's shared code."""
    for module in ("pipeline/recipe.py", "pipeline/cv.py"):
        text = (SRC / module).read_text()
        named = [family for family in FAMILIES if re.search(rf"\b{family}\b", text, flags=re.IGNORECASE)]
        assert named == [], f"{module} names {named}"


def test_the_registry_keeps_scikit_learn_off_the_config_import():
    code = "import sys, trainlock.pipeline.config; print(sorted(m for m in ('sklearn', 'lightgbm', 'xgboost') if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


# -- adding a family is one spec ---------------------------------------------------------------------


class StumpParams(StrictModel):
    max_depth: int = Field(1, ge=1)


def _stump(params: StumpParams, seed: int, classification: bool):
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=params.max_depth, random_state=seed)


def _stump_note(run_dir: Path, model, schema) -> list[str]:
    (run_dir / "stump.txt").write_text(f"classes {schema['classes']}\n")
    return ["stump.txt"]


@pytest.fixture
def stump_registry(monkeypatch):
    """A registry with one more family, and the config schema generated from it; returns the inputs it was checked on."""
    checked: list[ModelInputs] = []
    stump = FamilySpec(
        "stump",
        StumpParams,
        _stump,
        cost=1.0,
        tasks=frozenset({"classification"}),
        preprocessing="named",
        uncalibrated_reason="a stump stays a stump",
        check_inputs=lambda params, inputs: checked.append(inputs),
        write_artefacts=_stump_note,
        inspect=fragility.tree_model_decisions,
    )
    monkeypatch.setitem(FAMILIES, "stump", stump)

    stump_config = create_model("Config", __base__=Config, models=(models_config(FAMILIES), ...))
    monkeypatch.setattr(config_module, "Config", stump_config)
    return checked


def test_a_family_added_as_one_spec_is_validated_trained_and_written(cli, workdir, stump_registry):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["models"] = {"stump": {"max_depth": 2}, "logistic_regression": {"C": 0.01, "max_iter": 50}}
    config["cv"]["n_splits"] = 2
    (workdir / "stump.yaml").write_text(yaml.safe_dump(config))

    typo = cli("train", "stump.yaml", "--quiet", "--set", "models.stump.max_dept=3")
    assert typo.code == 2 and "models.stump.max_dept: unknown key; did you mean 'max_depth'?" in typo.err
    wrong_task = cli(
        "train", "stump.yaml", "--quiet", "--set", "task=regression", "--set", "models.logistic_regression=null"
    )
    assert wrong_task.code == 2 and "model family 'stump' does not fit task 'regression'" in wrong_task.err

    result = cli("train", "stump.yaml", "--json", "--quiet", "--set", "models.logistic_regression=null")
    assert result.code == 0, result.err
    run_dir = Path(result.json()["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["selected_model"] == "stump"
    assert metrics["estimator_params"]["max_depth"] == 2
    assert metrics["calibration"] == {
        "requested": "sigmoid",
        "applied": False,
        "cv": None,
        "reason": "a stump stays a stump",
    }
    assert (run_dir / "stump.txt").read_text() == "classes [0, 1]\n"
    lineage = json.loads((run_dir / "lineage.json").read_text())
    assert "stump.txt" in lineage["outputs"]
    kinds = {decision["kind"] for decision in json.loads((run_dir / "fragility.json").read_text())["decisions"]}
    assert "tree_splits" in kinds
    assert yaml.safe_load((run_dir / "config.snapshot.yaml").read_text())["models"] == {"stump": {"max_depth": 2}}
    # preprocessing "named": the model reads unscaled columns under their own names
    model = load_run_model(RunFolder(run_dir), RunFolder(run_dir).lineage())
    assert "days_on_platform" in list(model.named_steps["preprocess"].get_feature_names_out())
    # checked against the model inputs before any work: the derived features are among them
    inputs = stump_registry[-1]
    assert "engagement_score" in inputs.numeric and "student_country" in inputs.categorical
