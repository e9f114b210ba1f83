"""Model families: config params + derived seed → an estimator with deterministic settings.

Every estimator runs single-threaded (``n_jobs=1``); parallelism comes from
trainlock's worker processes, which keeps results independent of the worker count.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from pydantic import BaseModel

from ..errors import ConfigError

Builder = Callable[[dict[str, Any], int, bool], Any]

#: relative cost of one fit, used only to schedule long tasks first
FAMILY_COST = {
    "random_forest": 10.0,
    "svm": 6.0,
    "hist_gradient_boosting": 5.0,
    "lightgbm": 4.0,
    "xgboost": 4.0,
    "knn": 2.0,
    "logistic_regression": 1.0,
    "decision_tree": 1.0,
    "ridge": 0.5,
    "rulefit": 8.0,
}


def _require(module: str, family: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"model family '{family}' needs the {module} package, which is not installed; "
            f"install it with: pip install 'trainlock[{family}]'"
        ) from None


def _logistic_regression(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=p["max_iter"], tol=p["tol"], class_weight=p["class_weight"], random_state=seed)


def _ridge(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p["alpha"], random_state=seed)


def _knn(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if classification else KNeighborsRegressor
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"], n_jobs=1)


def _svm(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.svm import SVC, SVR

    if classification:
        # probability=False: scores come from decision_function; calibration makes probabilities
        return SVC(C=p["C"], kernel=p["kernel"], gamma=p["gamma"], degree=p["degree"], class_weight=p["class_weight"], random_state=seed)
    return SVR(C=p["C"], kernel=p["kernel"], gamma=p["gamma"], degree=p["degree"])


def _decision_tree(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    common = dict(max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], min_samples_split=p["min_samples_split"], criterion=p["criterion"], random_state=seed)
    if classification:
        return DecisionTreeClassifier(class_weight=p["class_weight"], **common)
    return DecisionTreeRegressor(**common)


def _random_forest(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    common = dict(
        n_estimators=p["n_estimators"], max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"],
        min_samples_split=p["min_samples_split"], max_features=p["max_features"], bootstrap=p["bootstrap"],
        criterion=p["criterion"], random_state=seed, n_jobs=1,
    )
    if classification:
        return RandomForestClassifier(class_weight=p["class_weight"], **common)
    return RandomForestRegressor(**common)


def _hist_gradient_boosting(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    return cls(
        learning_rate=p["learning_rate"], max_iter=p["max_iter"], max_leaf_nodes=p["max_leaf_nodes"],
        max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], l2_regularization=p["l2_regularization"],
        early_stopping=p["early_stopping"], random_state=seed,
    )


def _lightgbm(p: dict[str, Any], seed: int, classification: bool) -> Any:
    lightgbm = _require("lightgbm", "lightgbm")
    cls = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
    # deterministic + force_row_wise: LightGBM's documented settings for identical results
    return cls(
        n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], num_leaves=p["num_leaves"],
        max_depth=p["max_depth"], min_child_samples=p["min_child_samples"], subsample=p["subsample"],
        subsample_freq=1 if p["subsample"] < 1.0 else 0, colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"], random_state=seed, n_jobs=1, deterministic=True, force_row_wise=True, verbose=-1,
    )


def _xgboost(p: dict[str, Any], seed: int, classification: bool) -> Any:
    xgboost = _require("xgboost", "xgboost")
    cls = xgboost.XGBClassifier if classification else xgboost.XGBRegressor
    return cls(
        n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], max_depth=p["max_depth"],
        min_child_weight=p["min_child_weight"], subsample=p["subsample"], colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"], tree_method="hist", random_state=seed, n_jobs=1, verbosity=0,
    )


def _rulefit(p: dict[str, Any], seed: int, classification: bool) -> Any:
    from .rulefit import RuleFitClassifier, RuleFitRegressor

    cls = RuleFitClassifier if classification else RuleFitRegressor
    experts = tuple(
        (name, rule["kind"], tuple((c["feature"], c["op"], tuple(c["value"]) if isinstance(c["value"], list) else c["value"])
                                   for c in rule["clauses"]))
        for name, rule in sorted(p["expert_rules"].items())
    )
    stability = p["stability"] or {"n_bootstrap": 0, "keep_fraction": 1.0}
    return cls(
        n_estimators=p["n_estimators"], tree_size=p["tree_size"], tree_size_distribution=p["tree_size_distribution"],
        learning_rate=p["learning_rate"], subsample=p["subsample"], min_samples_leaf=p["min_samples_leaf"],
        linear_terms=p["linear_terms"], winsorize=p["winsorize"], penalty=p["penalty"], n_penalties=p["n_penalties"],
        penalty_cv=p["penalty_cv"], max_rules=p["max_rules"], expert_rules=experts,
        expert_penalty_factor=p["expert_penalty_factor"], n_bootstrap=stability["n_bootstrap"],
        keep_fraction=stability["keep_fraction"], random_state=seed,
    )


BUILDERS: dict[str, Builder] = {
    "logistic_regression": _logistic_regression,
    "ridge": _ridge,
    "knn": _knn,
    "svm": _svm,
    "decision_tree": _decision_tree,
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hist_gradient_boosting,
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "rulefit": _rulefit,
}


#: families that need an optional package, by import name
OPTIONAL_PACKAGES = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def check_available(families: dict[str, BaseModel]) -> None:
    """Fail before any work starts when a declared family's package is not installed."""
    for family, params in families.items():
        if family in OPTIONAL_PACKAGES:
            _require(OPTIONAL_PACKAGES[family], family)
        elif family.startswith(CUSTOM_PREFIX):
            _custom_class(family, params)


CUSTOM_PREFIX = "custom."


def _custom_class(family: str, params: Any) -> type:
    module_name, _, class_name = params.estimator.partition(":")
    key = f"models.custom.{family[len(CUSTOM_PREFIX):]}.estimator"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{key}: cannot import module '{module_name}' ({exc}); check the name and PYTHONPATH") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "fit"):
        raise ConfigError(f"{key}: '{params.estimator}' is not an estimator class with a fit method")
    return cls


def build_estimator(family: str, params: BaseModel, seed: int, classification: bool) -> Any:
    if family.startswith(CUSTOM_PREFIX):
        cls = _custom_class(family, params)
        arguments = dict(params.params)  # type: ignore[attr-defined]
        if params.seed_param:  # type: ignore[attr-defined]
            arguments[params.seed_param] = seed  # type: ignore[attr-defined]
        try:
            return cls(**arguments)
        except TypeError as exc:
            raise ConfigError(f"models.custom.{family[len(CUSTOM_PREFIX):]}.params: {exc}") from None
    return BUILDERS[family](params.model_dump(), seed, classification)


def effective_params(estimator: Any) -> dict[str, Any]:
    """Every constructor parameter of the estimator, including library defaults, for the record."""
    from ..hashing import canonical_json
    import json

    if not hasattr(estimator, "get_params"):
        return {}
    params = estimator.get_params(deep=False)
    return json.loads(canonical_json({key: value if _plain(value) else repr(value) for key, value in sorted(params.items())}))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
