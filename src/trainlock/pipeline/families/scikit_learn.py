"""The scikit-learn families: linear models, nearest neighbours, SVMs, trees and tree ensembles.

Every estimator runs single-threaded (``n_jobs=1``); parallelism comes from trainlock's worker
processes, which keeps results independent of the worker count. scikit-learn is imported by each
builder on use, so that loading a config (which reads this registry) does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from ..fragility import tree_model_decisions
from .spec import FamilySpec, StrictModel, Task

TreeCriterion = Literal["gini", "entropy", "log_loss", "squared_error", "absolute_error", "friedman_mse"]


class LogisticRegressionParams(StrictModel):
    C: float = Field(1.0, gt=0.0)
    max_iter: int = Field(1000, ge=1)
    tol: float = Field(1e-4, gt=0.0)
    class_weight: Literal["balanced"] | None = None


class RidgeParams(StrictModel):
    alpha: float = Field(1.0, ge=0.0)


class KnnParams(StrictModel):
    n_neighbors: int = Field(5, ge=1)
    weights: Literal["uniform", "distance"] = "uniform"
    p: int = Field(2, ge=1)


class SvmParams(StrictModel):
    C: float = Field(1.0, gt=0.0)
    kernel: Literal["linear", "poly", "rbf", "sigmoid"] = "rbf"
    gamma: Literal["scale", "auto"] | float = "scale"
    degree: int = Field(3, ge=1)
    class_weight: Literal["balanced"] | None = None


class DecisionTreeParams(StrictModel):
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(1, ge=1)
    min_samples_split: int = Field(2, ge=2)
    criterion: TreeCriterion | None = None
    class_weight: Literal["balanced"] | None = None


class RandomForestParams(StrictModel):
    n_estimators: int = Field(100, ge=1)
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(1, ge=1)
    min_samples_split: int = Field(2, ge=2)
    max_features: Literal["sqrt", "log2"] | float | None = None
    bootstrap: bool = True
    criterion: TreeCriterion | None = None
    class_weight: Literal["balanced", "balanced_subsample"] | None = None


class HistGradientBoostingParams(StrictModel):
    learning_rate: float = Field(0.1, gt=0.0)
    max_iter: int = Field(100, ge=1)
    max_leaf_nodes: int = Field(31, ge=2)
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(20, ge=1)
    l2_regularization: float = Field(0.0, ge=0.0)
    #: off by default: early stopping draws a random validation split and varies the model size
    early_stopping: bool = False


# -- task-dependent defaults ---------------------------------------------------------------------


def _tree_defaults(params: Mapping[str, Any], task: Task) -> dict[str, Any]:
    filled = dict(params)
    if filled.get("criterion") is None:
        filled["criterion"] = "gini" if task == "classification" else "squared_error"
    return filled


def _forest_defaults(params: Mapping[str, Any], task: Task) -> dict[str, Any]:
    filled = _tree_defaults(params, task)
    # an explicit null stays: it is scikit-learn's "every feature"
    if "max_features" not in filled:
        filled["max_features"] = "sqrt" if task == "classification" else 1.0
    return filled


# -- builders ------------------------------------------------------------------------------------


def _logistic_regression(p: LogisticRegressionParams, seed: int, classification: bool) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p.C, max_iter=p.max_iter, tol=p.tol, class_weight=p.class_weight, random_state=seed)


def _ridge(p: RidgeParams, seed: int, classification: bool) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p.alpha, random_state=seed)


def _knn(p: KnnParams, seed: int, classification: bool) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if classification else KNeighborsRegressor
    return cls(n_neighbors=p.n_neighbors, weights=p.weights, p=p.p, n_jobs=1)


def _svm(p: SvmParams, seed: int, classification: bool) -> Any:
    from sklearn.svm import SVC, SVR

    if classification:
        # probability=False: scores come from decision_function; calibration makes probabilities
        return SVC(
            C=p.C, kernel=p.kernel, gamma=p.gamma, degree=p.degree, class_weight=p.class_weight, random_state=seed
        )
    return SVR(C=p.C, kernel=p.kernel, gamma=p.gamma, degree=p.degree)


def _decision_tree(p: DecisionTreeParams, seed: int, classification: bool) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    common = dict(
        max_depth=p.max_depth,
        min_samples_leaf=p.min_samples_leaf,
        min_samples_split=p.min_samples_split,
        criterion=p.criterion,
        random_state=seed,
    )
    if classification:
        return DecisionTreeClassifier(class_weight=p.class_weight, **common)
    return DecisionTreeRegressor(**common)


def _random_forest(p: RandomForestParams, seed: int, classification: bool) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    common = dict(
        n_estimators=p.n_estimators,
        max_depth=p.max_depth,
        min_samples_leaf=p.min_samples_leaf,
        min_samples_split=p.min_samples_split,
        max_features=p.max_features,
        bootstrap=p.bootstrap,
        criterion=p.criterion,
        random_state=seed,
        n_jobs=1,
    )
    if classification:
        return RandomForestClassifier(class_weight=p.class_weight, **common)
    return RandomForestRegressor(**common)


def _hist_gradient_boosting(p: HistGradientBoostingParams, seed: int, classification: bool) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    return cls(
        learning_rate=p.learning_rate,
        max_iter=p.max_iter,
        max_leaf_nodes=p.max_leaf_nodes,
        max_depth=p.max_depth,
        min_samples_leaf=p.min_samples_leaf,
        l2_regularization=p.l2_regularization,
        early_stopping=p.early_stopping,
        random_state=seed,
    )


# -- the specs -----------------------------------------------------------------------------------

LOGISTIC_REGRESSION = FamilySpec(
    "logistic_regression", LogisticRegressionParams, _logistic_regression, cost=1.0, tasks=frozenset({"classification"})
)
RIDGE = FamilySpec("ridge", RidgeParams, _ridge, cost=0.5, tasks=frozenset({"regression"}))
KNN = FamilySpec("knn", KnnParams, _knn, cost=2.0)
SVM = FamilySpec("svm", SvmParams, _svm, cost=6.0)
DECISION_TREE = FamilySpec(
    "decision_tree",
    DecisionTreeParams,
    _decision_tree,
    cost=1.0,
    task_defaults=_tree_defaults,
    inspect=tree_model_decisions,
)
RANDOM_FOREST = FamilySpec(
    "random_forest",
    RandomForestParams,
    _random_forest,
    cost=10.0,
    task_defaults=_forest_defaults,
    inspect=tree_model_decisions,
)
# histogram-based models are not inspected for fragile splits (see trainlock.pipeline.fragility)
HIST_GRADIENT_BOOSTING = FamilySpec(
    "hist_gradient_boosting", HistGradientBoostingParams, _hist_gradient_boosting, cost=5.0
)
