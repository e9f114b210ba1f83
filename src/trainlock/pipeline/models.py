"""Estimators of the declared families: config params + derived seed → an estimator, through the registry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..hashing import canonical_json
from .families import family_of


def check_available(families: Mapping[str, BaseModel]) -> None:
    """Fail before any work starts when a declared family's package (or custom class) is not installed."""
    for family, params in families.items():
        family_of(family).check_available(params)


def build_estimator(family: str, params: BaseModel, seed: int, classification: bool) -> Any:
    return family_of(family).build(params, seed, classification)


def effective_params(estimator: Any) -> dict[str, Any]:
    """Every constructor parameter of the estimator, including library defaults, for the record."""
    if not hasattr(estimator, "get_params"):
        return {}
    params = estimator.get_params(deep=False)
    return json.loads(
        canonical_json({key: value if _plain(value) else repr(value) for key, value in sorted(params.items())})
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
