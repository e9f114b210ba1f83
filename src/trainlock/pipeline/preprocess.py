"""Preprocessing: imputation, IQR outlier clipping, scaling and one-hot encoding.

A model family names the kind it reads (:data:`~trainlock.pipeline.families.spec.PreprocessingKind`):
``scaled``, the configured preprocessing as a matrix, or ``named``, imputed and one-hot encoded
columns in the data's own units and with plain names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from .config import PreprocessingConfig
from .families.spec import PreprocessingKind


class IQRClipper(TransformerMixin, BaseEstimator):
    """Clip each column to [Q1 - factor·IQR, Q3 + factor·IQR] learned on the training data."""

    def __init__(self, factor: float = 1.5):
        self.factor = factor

    def fit(self, X: Any, y: Any = None) -> IQRClipper:
        values = np.asarray(X, dtype="float64")
        q1, q3 = np.nanpercentile(values, [25.0, 75.0], axis=0)
        spread = q3 - q1
        self.lower_ = q1 - self.factor * spread
        self.upper_ = q3 + self.factor * spread
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "lower_")
        return np.clip(np.asarray(X, dtype="float64"), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)

    def _fingerprint_state(self) -> dict[str, Any]:
        return {"factor": float(self.factor), "lower": self.lower_, "upper": self.upper_}


def build_preprocessor(
    settings: PreprocessingConfig, numeric: Sequence[str], categorical: Sequence[str]
) -> ColumnTransformer:
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=settings.numeric_imputer))]
    if settings.outlier_factor is not None:
        numeric_steps.append(("clip", IQRClipper(factor=settings.outlier_factor)))
    if settings.scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy=settings.categorical_imputer, fill_value="missing")),
        ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)),
    ]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), list(numeric)))
    if categorical:
        transformers.append(("categorical", Pipeline(categorical_steps), list(categorical)))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0, n_jobs=None)


def named_preprocessor(
    settings: PreprocessingConfig, numeric: Sequence[str], categorical: Sequence[str]
) -> ColumnTransformer:
    """Imputation and one-hot encoding only, as a DataFrame with plain column names.

    Values stay in the data's own units (a missing value takes the imputed value): no scaling and
    no IQR clipping, whatever the settings say. One-hot columns are named ``<feature>_<value>``.
    """
    plain = settings.model_copy(update={"scale": False, "outlier_factor": None})
    preprocessor = build_preprocessor(plain, numeric, categorical)
    preprocessor.set_params(verbose_feature_names_out=False)
    return preprocessor.set_output(transform="pandas")


_BY_KIND: dict[PreprocessingKind, Callable[[PreprocessingConfig, Sequence[str], Sequence[str]], ColumnTransformer]] = {
    "scaled": build_preprocessor,
    "named": named_preprocessor,
}


def preprocessor_for(
    kind: PreprocessingKind, settings: PreprocessingConfig, numeric: Sequence[str], categorical: Sequence[str]
) -> ColumnTransformer:
    """The unfitted preprocessing of the kind a model family reads."""
    return _BY_KIND[kind](settings, numeric, categorical)
