"""``models.custom.NAME``: a scikit-learn-compatible estimator of the user's, as family ``custom.NAME``."""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

from pydantic import Field

from ...errors import ConfigError
from ..fragility import tree_model_decisions
from .spec import FamilySpec, StrictModel

#: the family name of ``models.custom.NAME`` is ``custom.NAME``
CUSTOM_PREFIX = "custom."


class CustomModel(StrictModel):
    """A scikit-learn-compatible estimator of the user's, named by import path (never eval'd).

    ``estimator: "package.module:ClassName"`` is imported and built with ``params``; the
    derived seed is passed as ``seed_param`` (``null`` for an estimator without one). Its
    semantic fingerprint comes from a ``_fingerprint_state()`` method or a function
    registered with ``trainlock.fingerprint.register``.
    """

    estimator: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
    params: dict[str, Any] = Field(default_factory=dict)
    seed_param: str | None = "random_state"


def custom_family(family: str) -> FamilySpec[CustomModel]:
    """The spec of ``custom.NAME``: it builds the named class; any task, cost 1."""
    key = f"models.custom.{family[len(CUSTOM_PREFIX) :]}"
    # a user's estimator may be a scikit-learn tree ensemble: its splits are inspected if it is one
    return FamilySpec(
        family,
        CustomModel,
        partial(_build, key),
        cost=1.0,
        check_installed=partial(_estimator_class, key),
        inspect=tree_model_decisions,
    )


def _build(key: str, params: CustomModel, seed: int, classification: bool) -> Any:
    cls = _estimator_class(key, params)
    arguments = dict(params.params)
    if params.seed_param:
        arguments[params.seed_param] = seed
    try:
        return cls(**arguments)
    except TypeError as exc:
        raise ConfigError(f"{key}.params: {exc}") from None


def _estimator_class(key: str, params: CustomModel) -> type:
    module_name, _, class_name = params.estimator.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{key}.estimator: cannot import module '{module_name}' ({exc}); check the name and PYTHONPATH"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "fit"):
        raise ConfigError(f"{key}.estimator: '{params.estimator}' is not an estimator class with a fit method")
    return cls
