"""Input typing and declarative derived features — the first step of every model pipeline.

Derived features are declared in the config (weighted sums, ratios) and computed
here; nothing from a config is ever evaluated as code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError, DataError
from .config import Config

DerivedSpec = tuple[str, str, tuple[tuple[str, float], ...], float]


def derived_specs(config: Config) -> tuple[DerivedSpec, ...]:
    """The derived features as plain tuples, in sorted name order."""
    specs: list[DerivedSpec] = []
    for name in sorted(config.features.derived):
        feature = config.features.derived[name]
        if feature.weighted_sum is not None:
            terms = tuple(sorted((str(column), float(weight)) for column, weight in feature.weighted_sum.items()))
            specs.append((name, "weighted_sum", terms, 0.0))
        else:
            numerator, denominator = feature.ratio  # type: ignore[misc]
            specs.append((name, "ratio", ((numerator, 1.0), (denominator, 1.0)), float(feature.epsilon)))
    return tuple(specs)


def split_column_kinds(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Numeric (incl. boolean) versus categorical columns, keeping the given order."""
    numeric, categorical = [], []
    for column in columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numeric.append(column)
        else:
            categorical.append(column)
    return numeric, categorical


class TabularFeatures(TransformerMixin, BaseEstimator):
    """Select and type the input columns, then append the declared derived features.

    Numeric columns become float64, categorical columns become strings with NaN for
    missing values, so that every later step sees one canonical frame whatever the
    file format or pandas string backend.
    """

    def __init__(
        self, numeric: Sequence[str] = (), categorical: Sequence[str] = (), derived: Sequence[DerivedSpec] = ()
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.derived = derived

    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularFeatures:
        names = [spec[0] for spec in self.derived]
        clash = sorted(set(names) & (set(self.numeric) | set(self.categorical)))
        if clash:
            raise ConfigError(f"features.derived: {', '.join(clash)} already exist as data columns; choose other names")
        for _, _, terms, _ in self.derived:
            for column, _weight in terms:
                if column in self.categorical:
                    raise ConfigError(
                        f"features.derived uses '{column}', which is categorical; derived features need numeric columns"
                    )
        self.n_features_in_ = len(self.numeric) + len(self.categorical)
        self.output_numeric_ = [*self.numeric, *names]
        self.output_categorical_ = list(self.categorical)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "output_numeric_")
        out = {}
        for column in self.numeric:
            try:
                out[column] = pd.to_numeric(X[column], errors="raise").astype("float64").to_numpy()
            except (ValueError, TypeError):
                raise DataError(f"column '{column}' must be numeric but holds non-numeric values") from None
        for name, kind, terms, epsilon in self.derived:
            if kind == "weighted_sum":
                total = np.zeros(len(X), dtype="float64")
                for column, weight in terms:  # sorted by column: a fixed summation order
                    total = total + weight * out[column]
                out[name] = total
            else:
                (numerator, _), (denominator, _) = terms
                out[name] = out[numerator] / (out[denominator] + epsilon)
        for column in self.categorical:
            values = X[column]
            missing = values.isna().to_numpy()
            out[column] = np.array(
                [np.nan if gone else str(value) for value, gone in zip(values.tolist(), missing, strict=True)],
                dtype=object,
            )
        frame = pd.DataFrame(out, index=X.index)
        return frame[[*self.output_numeric_, *self.output_categorical_]]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "output_numeric_")
        return np.array([*self.output_numeric_, *self.output_categorical_], dtype=object)

    def _fingerprint_state(self) -> dict[str, Any]:
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "derived": [[*spec[:2], [list(term) for term in spec[2]], spec[3]] for spec in self.derived],
        }
