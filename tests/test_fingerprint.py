"""Semantic fingerprints: equal learned state ⇒ equal hash; one ulp or one setting that
changes predictions ⇒ a different hash; thread counts and storage never matter."""

from __future__ import annotations

import copy
import json
import pickle
import re
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR, NuSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier
from threadpoolctl import threadpool_limits

from trainlock import fingerprint as fp_module
from trainlock.errors import FingerprintError, TrainlockError
from trainlock.fingerprint import fingerprint, fingerprint_state, register
from trainlock.hashing import canonical_hash

lightgbm = pytest.importorskip("lightgbm")
xgboost = pytest.importorskip("xgboost")

# LogisticRegression ignores n_jobs since scikit-learn 1.8 and warns when it is set.
pytestmark = pytest.mark.filterwarnings("ignore:'n_jobs' has no effect:FutureWarning")

# -- tiny data --------------------------------------------------------------------------

X_CLS, Y_CLS = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
X_REG, Y_REG = make_regression(n_samples=200, n_features=6, noise=0.5, random_state=0)


def _frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "minutes": rng.normal(100, 20, 200),
            "days": rng.integers(1, 400, 200).astype(float),
            "plan": rng.choice(["free", "basic", "pro"], 200),
        }
    )
    frame.loc[[3, 17, 42], "minutes"] = np.nan
    target = ((frame["minutes"].fillna(100) > 100) ^ (frame["plan"] == "pro")).astype(int).to_numpy()
    return frame, target


FRAME, Y_FRAME = _frame()
FRAME_CAT = FRAME.assign(plan=FRAME["plan"].astype("category"))

DATA = {
    "cls": (X_CLS, Y_CLS),
    "reg": (X_REG, Y_REG),
    "frame": (FRAME, Y_FRAME),
    "frame_cat": (FRAME_CAT, Y_FRAME),
}

# -- one-ulp edits ----------------------------------------------------------------------


def _up(value: Any) -> Any:
    return np.nextafter(value, np.inf)


def _bump_element(array: np.ndarray, index: tuple[int, ...] | int = 0) -> None:
    array = array.reshape(-1) if isinstance(index, int) else array
    array[index] = _up(array[index])


def _copy_and(edit: Callable[[Any], None]) -> Callable[[Any], tuple[Any, Any]]:
    """A bump that edits a deep copy in place; the reference is the untouched model."""

    def bump(model: Any) -> tuple[Any, Any]:
        edited = copy.deepcopy(model)
        edit(edited)
        return model, edited

    return bump


def _bump_tree(estimator: Any) -> None:
    state = estimator.tree_.__getstate__()
    nodes = state["nodes"].copy()
    split = np.flatnonzero(nodes["left_child"] >= 0)[0]
    nodes["threshold"][split] = _up(nodes["threshold"][split])
    state["nodes"] = nodes
    estimator.tree_.__setstate__(state)


def _bump_hist_gradient_boosting(model: Any) -> None:
    nodes = model._predictors[0][0].nodes
    leaf = np.flatnonzero(nodes["is_leaf"])[0]
    nodes["value"][leaf] = _up(nodes["value"][leaf])


def _bump_lightgbm(model: Any) -> tuple[Any, Any]:
    # The text model round-trips doubles exactly (the reference is loaded from it too), so
    # one leaf of the first tree can be moved by one ulp there and loaded back as a Booster.
    # "tree_sizes" holds each tree's length in bytes, so the first entry follows the edit.
    text = model.booster_.model_to_string()
    leaf = re.search(r"^leaf_value=(\S+)", text, re.MULTILINE)
    value = repr(float(_up(float(leaf.group(1)))))
    edited = text[: leaf.start(1)] + value + text[leaf.end(1) :]
    sizes = re.search(r"^tree_sizes=(\d+)", edited, re.MULTILINE)
    first = str(int(sizes.group(1)) + len(value) - len(leaf.group(1)))
    edited = edited[: sizes.start(1)] + first + edited[sizes.end(1) :]
    return lightgbm.Booster(model_str=text), lightgbm.Booster(model_str=edited)


def _bump_xgboost(model: Any) -> tuple[Any, Any]:
    # XGBoost stores float32; edit one leaf of the JSON model by one float32 ulp.
    raw = model.get_booster().save_raw(raw_format="json")
    document = json.loads(bytes(raw))
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    leaf = tree["left_children"].index(-1)
    tree["split_conditions"][leaf] = float(np.nextafter(np.float32(tree["split_conditions"][leaf]), np.float32(np.inf)))
    reference, edited = xgboost.Booster(), xgboost.Booster()
    reference.load_model(raw)
    edited.load_model(bytearray(json.dumps(document).encode()))
    return reference, edited


def _bump_scaler_in_pipeline(model: Any) -> None:
    scaler = model.named_steps["columntransformer"].named_transformers_["num"].named_steps["standardscaler"]
    _bump_element(scaler.mean_)


def _bump_sigmoid(model: Any) -> None:
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    calibrator.a_ = _up(calibrator.a_)


def _bump_isotonic(model: Any) -> None:
    _bump_element(model.calibrated_classifiers_[0].calibrators[0].y_thresholds_, 1)


# -- families ---------------------------------------------------------------------------


def _column_pipeline() -> Pipeline:
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    columns = ColumnTransformer(
        [("num", numeric, ["minutes", "days"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])],
        remainder="drop",
    )
    return make_pipeline(columns, LogisticRegression(max_iter=1000))


LIGHTGBM_DETERMINISTIC = {
    "n_estimators": 20,
    "deterministic": True,
    "force_row_wise": True,
    "random_state": 0,
    "verbose": -1,
}


@dataclass(frozen=True)
class Family:
    id: str
    make: Callable[[], Any]
    data: str
    bump: Callable[[Any], tuple[Any, Any]]

    def fit(self, n_jobs: int | None = None) -> Any:
        estimator = self.make()
        if n_jobs is not None:
            _set_n_jobs(estimator, n_jobs)
        return estimator.fit(*DATA[self.data])


FAMILIES = [
    Family(
        "logistic_regression",
        lambda: LogisticRegression(max_iter=1000),
        "cls",
        _copy_and(lambda m: _bump_element(m.coef_)),
    ),
    Family("ridge", lambda: Ridge(alpha=0.5), "reg", _copy_and(lambda m: _bump_element(m.coef_, 3))),
    Family(
        "linear_regression",
        LinearRegression,
        "reg",
        _copy_and(lambda m: setattr(m, "intercept_", _up(m.intercept_))),
    ),
    Family("decision_tree_classifier", lambda: DecisionTreeClassifier(random_state=0), "cls", _copy_and(_bump_tree)),
    Family(
        "decision_tree_regressor",
        lambda: DecisionTreeRegressor(max_depth=6, random_state=0),
        "reg",
        _copy_and(_bump_tree),
    ),
    Family("extra_tree_classifier", lambda: ExtraTreeClassifier(random_state=0), "cls", _copy_and(_bump_tree)),
    Family(
        "random_forest_classifier",
        lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        "cls",
        _copy_and(lambda m: _bump_tree(m.estimators_[7])),
    ),
    Family(
        "random_forest_regressor",
        lambda: RandomForestRegressor(n_estimators=10, random_state=0),
        "reg",
        _copy_and(lambda m: _bump_tree(m.estimators_[0])),
    ),
    Family(
        "extra_trees_classifier",
        lambda: ExtraTreesClassifier(n_estimators=10, random_state=0),
        "cls",
        _copy_and(lambda m: _bump_tree(m.estimators_[3])),
    ),
    Family(
        "extra_trees_regressor",
        lambda: ExtraTreesRegressor(n_estimators=10, random_state=0),
        "reg",
        _copy_and(lambda m: _bump_tree(m.estimators_[9])),
    ),
    Family(
        "hist_gradient_boosting_classifier",
        lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
        "cls",
        _copy_and(_bump_hist_gradient_boosting),
    ),
    Family(
        "hist_gradient_boosting_regressor",
        lambda: HistGradientBoostingRegressor(max_iter=10, random_state=0),
        "reg",
        _copy_and(_bump_hist_gradient_boosting),
    ),
    Family(
        "hist_gradient_boosting_categorical",
        lambda: HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype", random_state=0),
        "frame_cat",
        _copy_and(_bump_hist_gradient_boosting),
    ),
    Family(
        "knn_classifier",
        lambda: KNeighborsClassifier(n_neighbors=7),
        "cls",
        _copy_and(lambda m: _bump_element(m._fit_X, (5, 2))),
    ),
    Family(
        "knn_regressor",
        lambda: KNeighborsRegressor(weights="distance"),
        "reg",
        _copy_and(lambda m: _bump_element(m._y, 4)),
    ),
    Family("svc", lambda: SVC(C=1.0, gamma="scale"), "cls", _copy_and(lambda m: _bump_element(m._dual_coef_))),
    Family("nu_svc", lambda: NuSVC(nu=0.4), "cls", _copy_and(lambda m: _bump_element(m.support_vectors_, (0, 1)))),
    Family("svr", lambda: SVR(C=10.0), "reg", _copy_and(lambda m: _bump_element(m._intercept_))),
    Family(
        "calibrated_sigmoid",
        lambda: CalibratedClassifierCV(LogisticRegression(max_iter=1000), method="sigmoid", cv=3),
        "cls",
        _copy_and(_bump_sigmoid),
    ),
    Family(
        "calibrated_isotonic",
        lambda: CalibratedClassifierCV(DecisionTreeClassifier(max_depth=3, random_state=0), method="isotonic", cv=3),
        "cls",
        _copy_and(_bump_isotonic),
    ),
    Family("column_transformer_pipeline", _column_pipeline, "frame", _copy_and(_bump_scaler_in_pipeline)),
    Family(
        "lightgbm_classifier",
        lambda: lightgbm.LGBMClassifier(**LIGHTGBM_DETERMINISTIC),
        "cls",
        _bump_lightgbm,
    ),
    Family(
        "lightgbm_regressor",
        lambda: lightgbm.LGBMRegressor(**LIGHTGBM_DETERMINISTIC),
        "reg",
        _bump_lightgbm,
    ),
    Family(
        "xgboost_classifier",
        lambda: xgboost.XGBClassifier(n_estimators=20, tree_method="hist", n_jobs=1, random_state=0),
        "cls",
        _bump_xgboost,
    ),
    Family(
        "xgboost_regressor",
        lambda: xgboost.XGBRegressor(n_estimators=20, tree_method="hist", n_jobs=1, random_state=0),
        "reg",
        _bump_xgboost,
    ),
]


def _set_n_jobs(estimator: Any, n_jobs: int) -> bool:
    keys = [key for key in estimator.get_params(deep=True) if key == "n_jobs" or key.endswith("__n_jobs")]
    estimator.set_params(**{key: n_jobs for key in keys})
    return bool(keys)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    """Each family fitted once, shared by the read-only tests."""
    return {family.id: family.fit() for family in FAMILIES}


by_family = pytest.mark.parametrize("family", FAMILIES, ids=[family.id for family in FAMILIES])

# -- the four properties every family has -----------------------------------------------


@by_family
def test_refit_with_the_same_seed_gives_the_same_fingerprint(family: Family, fitted: dict[str, Any]) -> None:
    first = fingerprint(fitted[family.id])
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert fingerprint(family.fit()) == first


@by_family
def test_one_ulp_in_a_learned_float_changes_the_fingerprint(family: Family, fitted: dict[str, Any]) -> None:
    reference, edited = family.bump(fitted[family.id])
    assert fingerprint(edited) != fingerprint(reference)


@by_family
def test_thread_counts_do_not_change_the_fingerprint(family: Family, fitted: dict[str, Any]) -> None:
    with threadpool_limits(limits=1):
        single = family.fit(n_jobs=1)
    with threadpool_limits(limits=2):
        double = family.fit(n_jobs=2)
    assert fingerprint(single) == fingerprint(double) == fingerprint(fitted[family.id])

    retuned = copy.deepcopy(fitted[family.id])
    if _set_n_jobs(retuned, 7):
        assert fingerprint(retuned) == fingerprint(fitted[family.id])


@by_family
def test_storage_round_trip_keeps_the_fingerprint(family: Family, fitted: dict[str, Any]) -> None:
    model = fitted[family.id]
    assert fingerprint(pickle.loads(pickle.dumps(model))) == fingerprint(model)


#: settings that never change a fitted model's predictions, with a value to change them to
NOT_PREDICTIVE = {
    "verbose": 3,
    "verbosity": 0,
    "random_state": 12345,
    "warm_start": True,
    "copy_X": False,
    "cache_size": 17,
    "memory": None,
}


@by_family
def test_settings_that_do_not_predict_are_left_out(family: Family, fitted: dict[str, Any]) -> None:
    model = copy.deepcopy(fitted[family.id])
    names = {key: key.rsplit("__", 1)[-1] for key in model.get_params(deep=True)}
    model.set_params(**{key: NOT_PREDICTIVE[name] for key, name in names.items() if name in NOT_PREDICTIVE})
    assert fingerprint(model) == fingerprint(fitted[family.id])


def test_unregistered_estimator_names_the_type_and_how_to_register() -> None:
    class MyModel:
        def fit(self, X, y):
            self.weights_ = np.ones(X.shape[1])
            return self

    model = MyModel().fit(X_CLS, Y_CLS)
    message = (
        r"no fingerprint function for [\w.]*test_unregistered_estimator_names_the_type_and_how_to_register"
        r"\.<locals>\.MyModel; register one with @trainlock\.fingerprint\.register\(MyModel\) returning its learned "
        r"parameters as arrays/dicts"
    )
    with pytest.raises(FingerprintError, match=message) as caught:
        fingerprint(model)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, TrainlockError)


@pytest.mark.parametrize(
    "model",
    [
        FunctionTransformer(np.log1p).fit(X_CLS),
        make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(np.abs(X_CLS), Y_CLS),
    ],
    ids=["function_transformer", "pipeline_with_function_transformer"],
)
def test_function_transformer_is_refused(model: Any) -> None:
    with pytest.raises(FingerprintError, match=r"sklearn\.preprocessing\.FunctionTransformer; register one with"):
        fingerprint(model)


@pytest.mark.parametrize(
    "data",
    [np.arange(6.0), {"coef": np.arange(3.0)}, [np.zeros(2)]],
    ids=["array", "dict_of_arrays", "list_of_arrays"],
)
def test_data_is_not_a_model(data: Any) -> None:
    with pytest.raises(FingerprintError, match=r"data, not fitted models.*register one with"):
        fingerprint(data)


# -- what goes into a fingerprint -------------------------------------------------------


def test_unfitted_model_says_fit_it_first() -> None:
    with pytest.raises(FingerprintError, match=r"sklearn\.linear_model\.LogisticRegression: .*fit the model"):
        fingerprint(LogisticRegression())
    with pytest.raises(FingerprintError, match=r"fit the model"):
        fingerprint(lightgbm.LGBMClassifier())


def test_importing_the_module_imports_no_model_library() -> None:
    # LightGBM, XGBoost and torch are optional; their families load on first use.
    code = (
        "import sys, trainlock.fingerprint; "
        "print(sorted(m for m in ('sklearn', 'lightgbm', 'xgboost', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_type_name_is_the_public_path() -> None:
    # scikit-learn keeps the class in sklearn.linear_model._logistic; the fingerprint must
    # not change when it moves between private modules.
    assert fp_module._type_name(LogisticRegression) == "sklearn.linear_model.LogisticRegression"
    assert fp_module._type_name(HistGradientBoostingClassifier) == "sklearn.ensemble.HistGradientBoostingClassifier"


def test_golden_fingerprint_of_a_hand_built_model() -> None:
    # Pinned on purpose: a change here means every recorded model fingerprint changes.
    model = LogisticRegression()
    model.coef_ = np.array([[0.5, -1.25, 2.0]])
    model.intercept_ = np.array([0.125])
    model.classes_ = np.array([0, 1])
    model.n_features_in_ = 3
    assert fingerprint(model) == GOLDEN_LOGISTIC


GOLDEN_LOGISTIC = "e727d01a0dedf5f69aed8d78fc3f74277a37307f2131357b66827a10ce56eef6"


def test_state_holds_feature_names_and_classes(fitted: dict[str, Any]) -> None:
    state = fingerprint_state(fitted["column_transformer_pipeline"])
    assert state["feature_names_in"] == ["minutes", "days", "plan"]
    assert fingerprint(fitted["column_transformer_pipeline"]) != fingerprint(
        _column_pipeline().fit(FRAME[["days", "minutes", "plan"]], Y_FRAME)
    )
    assert state["classes"] is not None


def test_classes_are_part_of_the_fingerprint(fitted: dict[str, Any]) -> None:
    relabelled = copy.deepcopy(fitted["logistic_regression"])
    relabelled.classes_ = np.array([1, 2])
    assert fingerprint(relabelled) != fingerprint(fitted["logistic_regression"])


@pytest.mark.parametrize(
    ("make_a", "make_b", "data"),
    [
        (lambda: KNeighborsClassifier(n_neighbors=5), lambda: KNeighborsClassifier(n_neighbors=7), "cls"),
        (lambda: KNeighborsClassifier(p=1), lambda: KNeighborsClassifier(p=2), "cls"),
        (lambda: SVC(kernel="rbf"), lambda: SVC(kernel="poly", degree=2), "cls"),
        (lambda: SVC(decision_function_shape="ovr"), lambda: SVC(decision_function_shape="ovo"), "cls"),
        (
            lambda: ColumnTransformer([("s", StandardScaler(), [0, 1])], remainder="drop"),
            lambda: ColumnTransformer([("s", StandardScaler(), [0, 1])], remainder="passthrough"),
            "cls",
        ),
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression()),
            lambda: make_pipeline(StandardScaler(with_mean=False), LogisticRegression()),
            "cls",
        ),
    ],
    ids=["n_neighbors", "minkowski_p", "kernel", "decision_function_shape", "remainder", "with_mean"],
)
def test_prediction_settings_are_part_of_the_fingerprint(make_a, make_b, data) -> None:
    assert fingerprint(make_a().fit(*DATA[data])) != fingerprint(make_b().fit(*DATA[data]))


def test_passthrough_steps_are_recorded_as_configuration() -> None:
    columns = ColumnTransformer(
        [("keep", "passthrough", [0]), ("s", StandardScaler(), [1, 2])], remainder="passthrough"
    )
    pipeline = Pipeline([("columns", columns), ("nothing", "passthrough"), ("model", LogisticRegression())])
    pipeline.fit(X_CLS, Y_CLS)
    steps = fingerprint_state(pipeline)["learned"]["steps"]
    assert steps[1] == ["nothing", "passthrough"]
    entries = steps[0][1]["state"]["learned"]["transformers_"]
    assert [entry[1] for entry in entries if isinstance(entry[1], str)] == ["passthrough", "passthrough"]


def test_callable_setting_is_refused_by_name() -> None:
    model = KNeighborsClassifier(metric=lambda a, b: float(np.abs(a - b).sum())).fit(X_CLS[:30], Y_CLS[:30])
    with pytest.raises(FingerprintError, match=r"KNeighborsClassifier\.metric is a callable"):
        fingerprint(model)


def test_skops_round_trip_keeps_the_fingerprint(fitted: dict[str, Any]) -> None:
    skops_io = pytest.importorskip("skops.io")
    model = fitted["column_transformer_pipeline"]
    payload = skops_io.dumps(model)
    loaded = skops_io.loads(payload, trusted=skops_io.get_untrusted_types(data=payload))
    assert fingerprint(loaded) == fingerprint(model)


@pytest.mark.slow
def test_large_forest_fingerprints_tree_by_tree() -> None:
    # Speed is measured in benchmarks/, not here; this exercises the per-field hashing path.
    X, y = make_classification(n_samples=3000, n_features=10, n_informative=6, random_state=1)
    forest = RandomForestClassifier(n_estimators=400, min_samples_leaf=2, random_state=0, n_jobs=2).fit(X, y)
    edited = copy.deepcopy(forest)
    _bump_tree(edited.estimators_[399])
    assert fingerprint(pickle.loads(pickle.dumps(forest))) == fingerprint(forest) != fingerprint(edited)


# -- extending --------------------------------------------------------------------------


class Centroids:
    """A third-party model: nearest centroid, with its own fingerprint function."""

    def __init__(self, n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> Centroids:
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([X[y == label].mean(axis=0) for label in self.classes_])
        return self


class WeightedCentroids(Centroids):
    pass


@register(Centroids)
def _centroids_state(model: Centroids) -> dict[str, Any]:
    return {"centroids": model.centroids_}


def test_registered_third_party_type_and_its_subclasses() -> None:
    model = Centroids(n_jobs=1).fit(X_CLS, Y_CLS)
    assert fingerprint(Centroids(n_jobs=4).fit(X_CLS, Y_CLS)) == fingerprint(model)
    edited = copy.deepcopy(model)
    _bump_element(edited.centroids_, (1, 5))
    assert fingerprint(edited) != fingerprint(model)
    subclass = WeightedCentroids().fit(X_CLS, Y_CLS)
    assert canonical_hash(fingerprint_state(subclass)) == canonical_hash(fingerprint_state(model))
    assert fingerprint(subclass) != fingerprint(model)  # the type is part of the hash


def test_registration_for_a_subclass_wins_over_the_builtin_family() -> None:
    class ShiftedScaler(StandardScaler):
        pass

    register(ShiftedScaler)(lambda model: {"only": model.scale_})
    scaler = ShiftedScaler().fit(X_CLS)
    assert fingerprint_state(scaler)["learned"].keys() == {"only"}
    assert fingerprint_state(StandardScaler().fit(X_CLS))["learned"].keys() >= {"mean_", "scale_"}


def test_register_refuses_non_types() -> None:
    with pytest.raises(FingerprintError, match="register\\(\\) takes model classes"):
        register("LogisticRegression")


def test_object_with_its_own_fingerprint_state_method() -> None:
    class Clipper:
        def __init__(self, low: float, high: float) -> None:
            self.low_, self.high_ = low, high
            self.feature_names_in_ = np.array(["a", "b"], dtype=object)

        def _fingerprint_state(self) -> dict[str, Any]:
            return {"low": self.low_, "high": self.high_}

    state = fingerprint_state(Clipper(0.0, 1.0))
    assert state["learned"] == {"low": 0.0, "high": 1.0}
    assert state["feature_names_in"] == ["a", "b"]
    assert fingerprint(Clipper(0.0, 1.0)) != fingerprint(Clipper(0.0, _up(1.0)))
    # nested inside a pipeline-like structure it is reached through fingerprint_state too
    assert fingerprint(Pipeline([("clip", Clipper(0.0, 1.0))])) != fingerprint(Pipeline([("clip", Clipper(0.0, 2.0))]))


# -- PyTorch ----------------------------------------------------------------------------


class FakeTensor:
    """Stands in for a CPU torch.Tensor: the state_dict path only needs these methods."""

    __module__ = "torch.fake"

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.dtype = f"torch.{values.dtype}"

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.values


def test_state_dict_of_tensors_is_fingerprinted_in_sorted_key_order() -> None:
    weight, bias = np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5])
    forward = OrderedDict([("layer.weight", FakeTensor(weight)), ("layer.bias", FakeTensor(bias))])
    backward = OrderedDict([("layer.bias", FakeTensor(bias.copy())), ("layer.weight", FakeTensor(weight.copy()))])
    assert fingerprint(forward) == fingerprint(backward)
    bumped = bias.copy()
    _bump_element(bumped, 1)
    assert fingerprint({"layer.weight": FakeTensor(weight), "layer.bias": FakeTensor(bumped)}) != fingerprint(forward)
    narrower = {"layer.weight": FakeTensor(weight.astype(np.float32)), "layer.bias": FakeTensor(bias)}
    assert fingerprint(narrower) != fingerprint(forward)


def test_torch_module_uses_its_state_dict() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    first = torch.nn.Linear(4, 2)
    torch.manual_seed(0)
    second = torch.nn.Linear(4, 2)
    assert fingerprint(first) == fingerprint(second)
    with torch.no_grad():
        second.bias[0] = torch.nextafter(second.bias[0], torch.tensor(float("inf")))
    assert fingerprint(first) != fingerprint(second)
