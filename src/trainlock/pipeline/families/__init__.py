"""The model-family registry: one :class:`FamilySpec` per family, in the order of the ``models:`` section.

Adding a family is one spec: its params model, builder and hooks in a module of this package, and
its entry in :data:`FAMILIES`. The config schema (``ModelsConfig``) is generated from this registry,
and the recipe, the cross-validation and the run folder ask the selected family's spec.

This package sits below :mod:`trainlock.pipeline.config`, which builds its schema from it: it imports
nothing that imports the config, and nothing heavier than NumPy at import time.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .boosting import LIGHTGBM, XGBOOST
from .custom import CUSTOM_PREFIX, CustomModel, custom_family
from .rulefit import RULEFIT
from .scikit_learn import DECISION_TREE, HIST_GRADIENT_BOOSTING, KNN, LOGISTIC_REGRESSION, RANDOM_FOREST, RIDGE, SVM
from .spec import FamilySpec, ModelInputs, PreprocessingKind, StrictModel, Task

__all__ = [
    "CUSTOM_PREFIX",
    "FAMILIES",
    "CustomModel",
    "FamilySpec",
    "ModelInputs",
    "PreprocessingKind",
    "StrictModel",
    "Task",
    "family_of",
]

#: the built-in families by name; their order is the order of ModelsConfig's keys
FAMILIES: dict[str, FamilySpec[Any]] = {
    spec.name: spec
    for spec in (
        LOGISTIC_REGRESSION,
        RIDGE,
        KNN,
        SVM,
        DECISION_TREE,
        RANDOM_FOREST,
        HIST_GRADIENT_BOOSTING,
        LIGHTGBM,
        XGBOOST,
        RULEFIT,
    )
}


def family_of(name: str) -> FamilySpec[Any]:
    """The spec of a family name as the config and metrics.json spell it (``custom.NAME`` included)."""
    if name.startswith(CUSTOM_PREFIX):
        return custom_family(name)
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown model family '{name}'; known families: {', '.join(FAMILIES)}, custom.NAME"
        ) from None
