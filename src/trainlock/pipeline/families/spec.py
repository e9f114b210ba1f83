"""What trainlock knows about one model family, in one frozen record.

Shared code asks a family's spec instead of testing the family's name: the recipe asks which
preprocessing it reads and whether it may be calibrated, the config schema asks for its
parameter model and the tasks it fits, the run folder asks which extra files it writes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from ...errors import ConfigError
from ..fragility import ModelDecisions, no_model_decisions

if TYPE_CHECKING:  # pandas only for the annotation: loading a config does not import it
    import pandas as pd

Task = Literal["classification", "regression"]
#: what the estimator reads (see trainlock.pipeline.preprocess): the configured preprocessing as a
#: matrix, or imputed and one-hot encoded columns in the data's own units, with plain names
PreprocessingKind = Literal["scaled", "named"]

BOTH_TASKS: frozenset[Task] = frozenset({"classification", "regression"})


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, and values cannot change once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ModelInputs:
    """The model inputs the recipe's features step made, for checking params against the data before any work."""

    frame: pd.DataFrame  # the typed feature frame: raw input columns plus derived features
    numeric: Sequence[str]
    categorical: Sequence[str]
    categorical_imputer: str


P = TypeVar("P", bound=BaseModel)

#: (params, derived seed, classification?) -> an unfitted estimator with deterministic settings
Builder = Callable[[P, int, bool], Any]
#: (raw params mapping, task) -> the mapping with the task-dependent defaults written in
TaskDefaults = Callable[[Mapping[str, Any], Task], dict[str, Any]]
#: (params, the model inputs) -> None, or raise ConfigError / DataError naming the key path
InputCheck = Callable[[P, ModelInputs], None]
#: (run folder, fitted model, schema.json document) -> the names of the files written
ArtefactWriter = Callable[[Path, Any, Mapping[str, Any]], list[str]]
#: (fitted estimator, fragility tolerance) -> its own thresholded decisions and split thresholds
Inspector = Callable[[Any, float], ModelDecisions]


@dataclass(frozen=True)
class OptionalExtra:
    """A package a family needs that trainlock does not install by default."""

    module: str  # the import name
    extra: str  # trainlock's pip extra that installs it

    def load(self, family: str) -> ModuleType:
        try:
            return importlib.import_module(self.module)
        except ImportError:
            raise ConfigError(
                f"model family '{family}' needs the {self.module} package, which is not installed; "
                f"install it with: pip install 'trainlock[{self.extra}]'"
            ) from None


def _keep_defaults(params: Mapping[str, Any], task: Task) -> dict[str, Any]:
    return dict(params)


def _no_input_check(params: Any, inputs: ModelInputs) -> None:
    return None


def _no_artefacts(run_dir: Path, model: Any, schema: Mapping[str, Any]) -> list[str]:
    return []


@dataclass(frozen=True)
class FamilySpec(Generic[P]):
    """One model family: its config schema, its estimator, and how shared code treats it."""

    #: the key under ``models:`` (``custom.NAME`` for a user's estimator)
    name: str
    #: the schema of ``models.<name>``; every hyperparameter has an explicit default
    params: type[P]
    build: Builder[P]
    #: relative cost of one fit, used only to schedule long tasks first
    cost: float
    tasks: frozenset[Task] = BOTH_TASKS
    #: defaults that depend on the task, written into the config before validation so the snapshot shows them
    task_defaults: TaskDefaults = _keep_defaults
    #: the package it needs beyond trainlock's own dependencies
    extra: OptionalExtra | None = None
    #: checks, before any work, what the params name beyond the extra (a custom estimator's import path);
    #: it raises ConfigError, and what it returns is ignored
    check_installed: Callable[[P], object] | None = None
    preprocessing: PreprocessingKind = "scaled"
    #: why a selected model of this family is never calibrated; None: calibrated when the config asks
    uncalibrated_reason: str | None = None
    check_inputs: InputCheck[P] = _no_input_check
    #: files beside the model in the run folder (rulefit: rules.json, rules.md, rules.sql)
    write_artefacts: ArtefactWriter = _no_artefacts
    #: the fragility hook: decisions inside one fitted estimator (rulefit's term selection, tree splits)
    inspect: Inspector = no_model_decisions

    @property
    def calibratable(self) -> bool:
        return self.uncalibrated_reason is None

    def check_available(self, params: P) -> None:
        """Fail before any work starts when something the family needs is not installed."""
        if self.extra is not None:
            self.extra.load(self.name)
        if self.check_installed is not None:
            self.check_installed(params)
