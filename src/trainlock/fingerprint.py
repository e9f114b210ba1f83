"""Semantic fingerprints: a SHA-256 over what a fitted model learned, not over how it was stored.

Pickle, joblib and skops bytes change with library versions, protocol details and
settings that never touch a prediction (``n_jobs``, ``verbose``, thread counts). A
fingerprint hashes a canonical form of the model's learned parameters (arrays through
:func:`trainlock.hashing.array_hash`), the hyperparameters that change predictions,
its ordered input feature names and its classes. Two models whose learned state is
identical share a fingerprint; moving one learned float by one ulp changes it.

Each model family has one function that returns its state; :func:`register` adds
more, and an object with a ``_fingerprint_state(self)`` method describes itself.
Built in: scikit-learn linear models, decision trees, random/extra forests,
histogram gradient boosting, k/radius neighbours, libsvm SVMs, CalibratedClassifierCV
(sigmoid, isotonic, temperature), FrozenEstimator, Pipeline, ColumnTransformer,
SimpleImputer, MissingIndicator, StandardScaler, OneHotEncoder, OrdinalEncoder;
LightGBM and XGBoost models and boosters; PyTorch modules and state dicts.
Dispatch walks ``type(model).__mro__``, so subclasses are covered. Built-in families
are registered on first use, and only for libraries already imported by the caller:
a LightGBM model cannot exist unless ``lightgbm`` is in ``sys.modules``, so this
module never imports lightgbm, xgboost or torch itself.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

from trainlock.errors import FingerprintError
from trainlock.hashing import canonical_hash
from trainlock.torch_state import tensor_to_numpy

__all__ = ["fingerprint", "fingerprint_state", "register"]

StateFunction = Callable[[Any], Any]
F = TypeVar("F", bound=StateFunction)

#: type -> function returning its learned state; user registrations win over built-ins
_REGISTRY: dict[type, StateFunction] = {}
#: dispatch cache (type -> resolved function, None when unregistered); cleared on every change
_RESOLVED: dict[type, StateFunction | None] = {}
_LOCK = threading.Lock()

#: attribute names that identify a thread setting anywhere in a serialised booster
_THREAD_KEYS = frozenset({"nthread", "n_jobs", "num_threads", "n_threads"})


# -- public API -------------------------------------------------------------------------


def fingerprint(model: Any) -> str:
    """Hex SHA-256 of a fitted model's learned state, type and prediction-relevant settings."""
    state = fingerprint_state(model)
    name = _type_name(type(model))
    try:
        return canonical_hash({"type": name, "state": state})
    except FingerprintError:
        raise
    except TypeError as exc:
        raise FingerprintError(
            f"the fingerprint state of {name} holds a value that cannot be hashed canonically "
            f"({exc}); a fingerprint function must return arrays, dicts, lists and scalars"
        ) from None


def fingerprint_state(model: Any) -> Any:
    """The canonical structure hashed by :func:`fingerprint`.

    A dict with the family function's output under ``"learned"`` and, for every
    model, its ``feature_names_in_``, ``n_features_in_`` and ``classes_`` (``None``
    where the model has none). Nested estimators appear as ``{"type", "state"}``.
    """
    _load_builtins()
    function = _resolve(type(model))
    if function is None:
        if _is_torch_state_dict(model):
            function = _torch_state_dict_state
        else:
            raise _unregistered(model)
    try:
        learned = function(model)
    except FingerprintError:
        raise
    except AttributeError as exc:
        # scikit-learn's NotFittedError and LightGBM's LGBMNotFittedError are AttributeErrors too.
        raise FingerprintError(
            f"cannot fingerprint {_type_name(type(model))}: a learned attribute is missing ({exc}); "
            "fit the model before fingerprinting it"
        ) from None
    names = _optional_attr(model, "feature_names_in_")
    return {
        "learned": learned,
        "feature_names_in": None if names is None else [str(name) for name in names],
        "n_features_in": _value(_optional_attr(model, "n_features_in_"), "n_features_in_"),
        "classes": _value(_optional_attr(model, "classes_"), "classes_"),
    }


def register(*types: type) -> Callable[[F], F]:
    """Register ``fn(model) -> state`` for ``types`` (and, through the MRO, their subclasses).

    The state is what the model learned, as arrays, dicts, lists and scalars; put
    :func:`fingerprint` of a nested estimator in it (that hash covers the nested type).
    A later registration for the same
    type replaces an earlier one, and user registrations take precedence over the
    built-in families::

        @trainlock.fingerprint.register(MyModel)
        def _(model):
            return {"weights": model.weights_, "bias": model.bias_}
    """
    if not types or not all(isinstance(kind, type) for kind in types):
        raise FingerprintError(f"register() takes model classes, got {types!r}; use @register(MyModel) on a function")

    def decorator(function: F) -> F:
        with _LOCK:
            for kind in types:
                _REGISTRY[kind] = function
            _RESOLVED.clear()
        return function

    return decorator


# -- dispatch ---------------------------------------------------------------------------


def _builtin(types: Iterable[type], function: StateFunction) -> None:
    # Built-ins never replace what a user registered before the family was loaded.
    for kind in types:
        _REGISTRY.setdefault(kind, function)


def _resolve(kind: type) -> StateFunction | None:
    try:
        return _RESOLVED[kind]
    except KeyError:
        pass
    found: StateFunction | None = None
    for klass in kind.__mro__:
        if klass in _REGISTRY:
            found = _REGISTRY[klass]
            break
        if "_fingerprint_state" in vars(klass):
            found = _call_own_method
            break
    _RESOLVED[kind] = found
    return found


def _call_own_method(model: Any) -> Any:
    return model._fingerprint_state()


def _unregistered(model: Any) -> FingerprintError:
    kind = type(model)
    name = _type_name(kind)
    hint = ""
    if isinstance(model, (np.ndarray, Mapping, list, tuple)):
        hint = " (arrays and dicts of arrays are data, not fitted models: hash them with trainlock.hashing.value_hash)"
    return FingerprintError(
        f"no fingerprint function for {name}{hint}; register one with "
        f"@trainlock.fingerprint.register({kind.__name__}) returning its learned parameters "
        "as arrays/dicts"
    )


def _public_type_name(kind: type) -> str:
    """Module and qualified name, without private submodules.

    scikit-learn moves classes between private modules (``sklearn.linear_model._logistic``)
    across releases; the public path keeps a fingerprint stable when nothing learned changed.
    """
    parts = kind.__module__.split(".")
    public = [parts[0]]
    for part in parts[1:]:
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join([*public, kind.__qualname__])


#: cached by type; declared as a plain callable because mypy does not take a class for Hashable
_type_name: Callable[[type], str] = functools.cache(_public_type_name)


# -- canonical values -------------------------------------------------------------------


def _optional_attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        return None


def _attrs(model: Any, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict[str, Any]:
    """``{name: canonical value}``; a missing required attribute raises AttributeError (unfitted)."""
    owner = type(model).__name__
    out = {name: _value(getattr(model, name), f"{owner}.{name}") for name in required}
    for name in optional:
        value = _optional_attr(model, name)
        if value is not None:
            out[name] = _value(value, f"{owner}.{name}")
    return out


def _first_attr(model: Any, *names: str) -> Any:
    """The first of ``names`` that ``model`` has (scikit-learn renamed some private arrays)."""
    for name in names:
        value = _optional_attr(model, name)
        if value is not None:
            return _value(value, f"{type(model).__name__}.{name}")
    raise AttributeError(f"{type(model).__name__} has none of {', '.join(names)}")


def _value(value: Any, where: str) -> Any:
    """A value canonical_hash accepts; callables and unknown objects are refused by name."""
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray)):
        return value
    if isinstance(value, np.generic):
        return value if value.dtype.kind in "biuf" else np.asarray(value)
    if isinstance(value, Mapping):
        return {str(key): _value(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, slice):
        return {"slice": [value.start, value.stop, value.step]}
    if isinstance(value, np.dtype):
        return value.str if value.names is None else str(value.descr)
    if isinstance(value, type):
        try:
            return np.dtype(value).str  # dtype parameters such as OneHotEncoder(dtype=np.float64)
        except TypeError:
            pass
    module = type(value).__module__
    if module.startswith("scipy.sparse") and hasattr(value, "tocsr"):
        csr = value.tocsr(copy=True)
        csr.sum_duplicates()
        csr.sort_indices()
        return {"csr": {"shape": list(csr.shape), "data": csr.data, "indices": csr.indices, "indptr": csr.indptr}}
    if module.startswith("pandas") and type(value).__name__ in {"NAType", "NaTType"}:
        return {"missing": type(value).__name__}
    if callable(value):
        raise FingerprintError(
            f"{where} is a callable ({value!r}); what a callable computes cannot be fingerprinted. "
            "Use a named option (a string), or register a fingerprint function for the estimator"
        )
    raise FingerprintError(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, which trainlock cannot "
        "fingerprint; register a fingerprint function for the estimator that returns arrays/dicts"
    )


def _nested(estimator: Any) -> dict[str, Any]:
    return {"type": _type_name(type(estimator)), "state": fingerprint_state(estimator)}


def _fields(structured: np.ndarray) -> dict[str, np.ndarray]:
    """One array per field: one array_hash call per field, never one per node."""
    names = structured.dtype.names
    if names is None:
        raise TypeError(f"expected a structured array, got dtype {structured.dtype}")
    return {name: structured[name] for name in names}


def _check_fitted(model: Any) -> None:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)  # NotFittedError is an AttributeError: reported as "fit the model first"


# -- scikit-learn -----------------------------------------------------------------------


def _linear_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    state = _attrs(
        model,
        required=("coef_",),
        # sigma_/alpha_/lambda_: Bayesian regressors use them for predict(return_std=True);
        # offset_: SGDOneClassSVM's decision threshold.
        optional=("intercept_", "offset_", "sigma_", "alpha_", "lambda_"),
    )
    loss = getattr(model, "_base_loss", None)
    if loss is not None:  # GLMs: the link maps the linear predictor to a prediction
        state["link"] = type(getattr(loss, "link", loss)).__name__
    if hasattr(model, "predict_proba") and isinstance(getattr(model, "loss", None), str):
        state["loss"] = model.loss  # SGDClassifier: log_loss and modified_huber give different probabilities
    return state


def _tree_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    tree_state = model.tree_.__getstate__()
    learned: dict[str, Any] = {}
    for key, value in tree_state.items():
        if isinstance(value, np.ndarray) and value.dtype.names:
            learned[key] = _fields(value)
        else:
            learned[key] = _value(value, f"{type(model).__name__}.tree_[{key!r}]")
    return {"tree_": learned, **_attrs(model, required=("n_outputs_",), optional=("n_classes_",))}


def _forest_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return {
        "estimators_": [_nested(tree) for tree in model.estimators_],
        **_attrs(model, required=("n_outputs_",), optional=("n_classes_",)),
    }


def _hist_gradient_boosting_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    predictors = [
        [
            {
                "nodes": _fields(predictor.nodes),
                "binned_left_cat_bitsets": predictor.binned_left_cat_bitsets,
                "raw_left_cat_bitsets": predictor.raw_left_cat_bitsets,
            }
            for predictor in iteration
        ]
        for iteration in model._predictors
    ]
    state = {
        "predictors": predictors,
        "baseline_prediction": model._baseline_prediction,
        # predict() builds its known-category bitsets from the bin mapper
        "bin_mapper": _attrs(model._bin_mapper, optional=("bin_thresholds_", "is_categorical_")),
        **_attrs(
            model,
            required=("n_trees_per_iteration_",),
            optional=("loss", "is_categorical_", "_is_categorical_remapped"),
        ),
    }
    preprocessor = getattr(model, "_preprocessor", None)
    if preprocessor is not None:
        # The internal ColumnTransformer pairs an OrdinalEncoder with a fixed check_array
        # FunctionTransformer; only the encoder learned anything.
        state["category_encoder"] = _nested(preprocessor.named_transformers_["encoder"])
    return state


def _neighbors_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return _attrs(
        model,
        required=("_fit_X", "_y"),
        optional=(
            "n_neighbors",
            "radius",
            "weights",
            "p",
            "metric",
            "metric_params",
            "effective_metric_",
            "effective_metric_params_",
            "outputs_2d_",
            "outlier_label_",
            # the search algorithm and leaf size decide which of several tied neighbours is kept
            "_fit_method",
            "leaf_size",
        ),
    )


def _libsvm_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    state = _attrs(
        model,
        required=("support_vectors_", "_gamma"),
        optional=(
            "support_",
            "kernel",
            "degree",
            "coef0",
            "break_ties",
            "decision_function_shape",
            "offset_",  # OneClassSVM
            "_sparse",  # a model fitted on sparse data predicts through libsvm's sparse path
        ),
    )
    # predict() reads the private arrays: for binary problems the public dual_coef_ and
    # intercept_ are their negation, kept for display.
    state["dual_coef"] = _first_attr(model, "_dual_coef_", "dual_coef_")
    state["intercept"] = _first_attr(model, "_intercept_", "intercept_")
    state["n_support"] = _first_attr(model, "_n_support", "n_support_")
    for name in ("probA", "probB"):
        value = _optional_attr(model, f"_{name}")
        if value is None:
            value = _optional_attr(model, f"{name}_")
        state[name] = _value(value, f"{type(model).__name__}.{name}_")
    return state


def _calibrated_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return {
        "method": model.method,
        "calibrated_classifiers_": [
            {
                "estimator": _nested(calibrated.estimator),
                "calibrators": [_nested(calibrator) for calibrator in calibrated.calibrators],
                "method": calibrated.method,
                "classes": _value(calibrated.classes, "classes"),
            }
            for calibrated in model.calibrated_classifiers_
        ],
    }


def _sigmoid_calibration_state(model: Any) -> dict[str, Any]:
    return _attrs(model, required=("a_", "b_"))


def _temperature_scaling_state(model: Any) -> dict[str, Any]:
    return _attrs(model, required=("beta_",))


def _isotonic_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return _attrs(
        model,
        required=("X_thresholds_", "y_thresholds_", "increasing_", "out_of_bounds"),
        optional=("X_min_", "X_max_"),  # the clip range for out_of_bounds="clip"
    )


def _frozen_state(model: Any) -> dict[str, Any]:
    return {"estimator": _nested(model.estimator)}


def _step(step: Any) -> Any:
    # "passthrough", "drop" and None are configuration, not estimators
    return step if step is None or isinstance(step, str) else _nested(step)


def _pipeline_state(model: Any) -> dict[str, Any]:
    return {"steps": [[name, _step(step)] for name, step in model.steps]}


def _column_transformer_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    # transformers_ shows fitted "passthrough" entries as sklearn's internal FunctionTransformer
    # (scikit-learn >= 1.5 for the remainder); the specification says what the user asked for.
    specs = {name: spec for name, spec, _ in model.transformers}
    specs.setdefault("remainder", model.remainder)
    entries = []
    for name, fitted, columns in model.transformers_:
        spec = specs.get(name)
        if isinstance(spec, str):
            step: Any = spec
        elif _is_empty_selection(columns):
            # scikit-learn leaves a transformer with no columns unfitted; it never sees data
            step = {"type": _type_name(type(fitted)), "state": None}
        else:
            step = _nested(fitted)
        entries.append([name, step, _value(columns, f"{type(model).__name__}.transformers_[{name!r}]")])
    return {
        "transformers_": entries,
        **_attrs(model, optional=("transformer_weights", "sparse_output_", "verbose_feature_names_out")),
    }


def _is_empty_selection(columns: Any) -> bool:
    if isinstance(columns, (list, tuple, np.ndarray)):
        array = np.asarray(columns)
        return array.size == 0 or (array.dtype.kind == "b" and not array.any())
    return False


def _simple_imputer_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    state = _attrs(
        model,
        required=("statistics_", "strategy"),
        optional=("fill_value", "missing_values", "keep_empty_features"),
    )
    indicator = getattr(model, "indicator_", None)
    state["indicator_"] = None if indicator is None else _nested(indicator)
    return state


def _missing_indicator_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return _attrs(model, required=("features_",), optional=("missing_values", "error_on_new", "sparse"))


def _standard_scaler_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    return _attrs(model, required=("with_mean", "with_std"), optional=("mean_", "scale_", "var_"))


def _encoder_infrequent(model: Any) -> dict[str, Any]:
    if not getattr(model, "_infrequent_enabled", False):
        return {}
    return _attrs(model, optional=("_infrequent_indices", "_default_to_infrequent_mappings"))


def _one_hot_encoder_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    state = _attrs(
        model,
        required=("categories_", "handle_unknown"),
        optional=("drop_idx_", "_drop_idx_after_grouping", "sparse_output", "dtype"),
    )
    if isinstance(getattr(model, "feature_name_combiner", None), str):
        state["feature_name_combiner"] = model.feature_name_combiner
    return {**state, **_encoder_infrequent(model)}


def _ordinal_encoder_state(model: Any) -> dict[str, Any]:
    _check_fitted(model)
    state = _attrs(
        model,
        required=("categories_", "handle_unknown"),
        optional=("unknown_value", "encoded_missing_value", "dtype", "_missing_indices"),
    )
    return {**state, **_encoder_infrequent(model)}


def _load_sklearn() -> None:
    import sklearn.calibration
    import sklearn.compose
    import sklearn.ensemble
    import sklearn.impute
    import sklearn.isotonic
    import sklearn.linear_model
    import sklearn.neighbors
    import sklearn.pipeline
    import sklearn.preprocessing
    import sklearn.svm
    import sklearn.tree

    linear_model = sklearn.linear_model
    linear = [
        getattr(linear_model, name)
        for name in linear_model.__all__
        if isinstance(getattr(linear_model, name), type) and name != "RANSACRegressor"  # a meta-estimator
    ]
    _builtin([*linear, sklearn.svm.LinearSVC, sklearn.svm.LinearSVR], _linear_state)
    # ExtraTree* subclass DecisionTree*; the MRO walk covers them.
    _builtin([sklearn.tree.DecisionTreeClassifier, sklearn.tree.DecisionTreeRegressor], _tree_state)
    ensemble = sklearn.ensemble
    _builtin(
        [
            ensemble.RandomForestClassifier,
            ensemble.RandomForestRegressor,
            ensemble.ExtraTreesClassifier,
            ensemble.ExtraTreesRegressor,
        ],
        _forest_state,
    )
    _builtin(
        [ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor],
        _hist_gradient_boosting_state,
    )
    neighbors = sklearn.neighbors
    _builtin(
        [
            neighbors.KNeighborsClassifier,
            neighbors.KNeighborsRegressor,
            neighbors.RadiusNeighborsClassifier,
            neighbors.RadiusNeighborsRegressor,
        ],
        _neighbors_state,
    )
    svm = sklearn.svm
    _builtin([svm.SVC, svm.NuSVC, svm.SVR, svm.NuSVR, svm.OneClassSVM], _libsvm_state)
    _builtin([sklearn.calibration.CalibratedClassifierCV], _calibrated_state)
    for private_name, function in (
        ("_SigmoidCalibration", _sigmoid_calibration_state),
        ("_TemperatureScaling", _temperature_scaling_state),  # scikit-learn >= 1.8
    ):
        calibrator = getattr(sklearn.calibration, private_name, None)
        if isinstance(calibrator, type):
            _builtin([calibrator], function)
    _builtin([sklearn.isotonic.IsotonicRegression], _isotonic_state)
    try:
        from sklearn.frozen import FrozenEstimator  # scikit-learn >= 1.6
    except ImportError:
        pass
    else:
        _builtin([FrozenEstimator], _frozen_state)
    _builtin([sklearn.pipeline.Pipeline], _pipeline_state)
    _builtin([sklearn.compose.ColumnTransformer], _column_transformer_state)
    _builtin([sklearn.impute.SimpleImputer], _simple_imputer_state)
    _builtin([sklearn.impute.MissingIndicator], _missing_indicator_state)
    _builtin([sklearn.preprocessing.StandardScaler], _standard_scaler_state)
    _builtin([sklearn.preprocessing.OneHotEncoder], _one_hot_encoder_state)
    _builtin([sklearn.preprocessing.OrdinalEncoder], _ordinal_encoder_state)


# -- LightGBM ---------------------------------------------------------------------------

#: dump_model() keys that decide predictions. The text format (model_to_string) is not
#: used because it embeds the training parameters, num_threads among them.
_LIGHTGBM_KEYS = (
    "name",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "average_output",
    "feature_names",
    "pandas_categorical",
    "tree_info",
)


def _lightgbm_booster_state(booster: Any) -> dict[str, Any]:
    # With num_iteration=None the dump stops at best_iteration, as predict() does.
    dump = booster.dump_model()
    return {key: dump.get(key) for key in _LIGHTGBM_KEYS}


def _lightgbm_model_state(model: Any) -> dict[str, Any]:
    return {"booster": _lightgbm_booster_state(model.booster_)}


def _load_lightgbm() -> None:
    import lightgbm

    _builtin([lightgbm.Booster], _lightgbm_booster_state)
    _builtin([lightgbm.LGBMModel], _lightgbm_model_state)


# -- XGBoost ----------------------------------------------------------------------------


def _xgboost_booster_state(booster: Any) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(bytes(booster.save_raw(raw_format="json")))
    model.pop("version", None)
    learner = model.get("learner", {})
    # Attributes are free-form notes (best_score, user tags), except best_iteration:
    # the scikit-learn wrapper predicts with trees up to it.
    attributes = learner.pop("attributes", None) or {}
    if "best_iteration" in attributes:
        learner["best_iteration"] = attributes["best_iteration"]
    _drop_keys(model, _THREAD_KEYS)
    return model


def _xgboost_model_state(model: Any) -> dict[str, Any]:
    # `missing` is the value predict() treats as absent when it builds its DMatrix.
    return {"booster": _xgboost_booster_state(model.get_booster()), **_attrs(model, optional=("missing",))}


def _drop_keys(tree: Any, keys: frozenset[str]) -> None:
    if isinstance(tree, dict):
        for key in keys & tree.keys():
            del tree[key]
        for value in tree.values():
            _drop_keys(value, keys)
    elif isinstance(tree, list) and tree and isinstance(tree[0], (dict, list)):
        for value in tree:
            _drop_keys(value, keys)


def _load_xgboost() -> None:
    import xgboost

    _builtin([xgboost.Booster], _xgboost_booster_state)
    _builtin([xgboost.XGBModel], _xgboost_model_state)


# -- PyTorch ----------------------------------------------------------------------------


def _is_torch_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _is_torch_state_dict(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) > 0
        and all(isinstance(key, str) for key in value)
        and all(_is_torch_tensor(item) for item in value.values())
    )


def _torch_state_dict_state(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    tensors = {}
    for key in sorted(state_dict):
        tensor = state_dict[key]
        if not _is_torch_tensor(tensor):
            raise FingerprintError(
                f"state_dict entry {key!r} is a {type(tensor).__qualname__}, not a tensor; "
                "register a fingerprint function for the module that holds it"
            )
        tensors[key] = {"dtype": str(tensor.dtype), "values": tensor_to_numpy(tensor)}
    return {"state_dict": tensors}


def _torch_module_state(module: Any) -> dict[str, Any]:
    return _torch_state_dict_state(module.state_dict())


def _load_torch() -> None:
    torch = sys.modules["torch"]
    _builtin([torch.nn.Module], _torch_module_state)


# -- lazy built-ins ---------------------------------------------------------------------

#: top-level module -> loader; each runs once, the first time a model is fingerprinted
#: after that module was imported by someone else.
_PENDING: dict[str, Callable[[], None]] = {
    "sklearn": _load_sklearn,
    "lightgbm": _load_lightgbm,
    "xgboost": _load_xgboost,
    "torch": _load_torch,
}


def _load_builtins() -> None:
    if not any(name in sys.modules for name in tuple(_PENDING)):
        return
    with _LOCK:
        for name in [name for name in tuple(_PENDING) if name in sys.modules]:
            _PENDING[name]()
            del _PENDING[name]
        _RESOLVED.clear()
