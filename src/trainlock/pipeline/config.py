"""The recipe's configuration: load, compose, validate, snapshot.

Composition order: config files (overlays, in order) → named profiles → ``--set``
overrides → ``--seed``. The result is validated against :class:`Config`, where every
hyperparameter has an explicit default, so the canonical snapshot shows everything
that shaped the run.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from ..composition import deep_merge, parse_override, read_yaml, set_dotted
from ..errors import ConfigError
from ..hashing import sha256_bytes
from .families import CUSTOM_PREFIX, FAMILIES, CustomModel, FamilySpec, StrictModel, Task, family_of

CLASSIFICATION_METRICS = ("roc_auc", "average_precision", "accuracy", "balanced_accuracy", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")


_Strict = StrictModel


# -- data and features -------------------------------------------------------------


class DataConfig(_Strict):
    path: str
    target: str
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    format: Literal["auto", "csv", "parquet"] = "auto"
    drop_columns: tuple[str, ...] = ()


class DerivedFeature(_Strict):
    """One declarative derived feature: a weighted sum of columns or a ratio of two."""

    weighted_sum: dict[str, float] | None = None
    ratio: tuple[str, str] | None = None
    epsilon: float = Field(1e-6, ge=0.0)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> DerivedFeature:
        kinds = [name for name in ("weighted_sum", "ratio") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError("declare exactly one of 'weighted_sum' or 'ratio'")
        if self.weighted_sum is not None and not self.weighted_sum:
            raise ValueError("'weighted_sum' needs at least one column")
        return self


class FeaturesConfig(_Strict):
    derived: dict[str, DerivedFeature] = Field(default_factory=dict)


class PreprocessingConfig(_Strict):
    numeric_imputer: Literal["mean", "median", "most_frequent"] = "median"
    categorical_imputer: Literal["most_frequent", "constant"] = "most_frequent"
    #: IQR clipping: values beyond Q1 - f*IQR and Q3 + f*IQR are clipped; null disables it
    outlier_factor: float | None = Field(1.5, gt=0.0)
    scale: bool = True


# -- model families ----------------------------------------------------------------


class _Models(_Strict):
    """The candidate models; a family that is absent (or null) is not trained."""

    if TYPE_CHECKING:
        # a field that models_config adds after the families (a field declared here would come first);
        # declared here for the type checker only
        custom: dict[str, CustomModel]

    def selected(self) -> dict[str, BaseModel]:
        """The declared families (custom ones as ``custom.NAME``), sorted by name."""
        chosen: dict[str, BaseModel] = {
            name: params
            for name in type(self).model_fields
            if name != "custom" and (params := getattr(self, name)) is not None
        }
        chosen.update({f"{CUSTOM_PREFIX}{name}": model for name, model in self.custom.items()})
        return dict(sorted(chosen.items()))


def models_config(families: Mapping[str, FamilySpec[Any]]) -> type[_Models]:
    """The schema of the ``models:`` section: one optional key per family, in registry order, then ``custom``."""
    fields: dict[str, Any] = {name: (spec.params | None, None) for name, spec in families.items()}
    fields["custom"] = (dict[str, CustomModel], Field(default_factory=dict))
    return create_model("ModelsConfig", __base__=_Models, __doc__=_Models.__doc__, __module__=__name__, **fields)


if TYPE_CHECKING:
    # the type checker cannot see the fields create_model generates: statically, the schema is its base
    # class, whose methods and ``custom`` are all that code reads without naming a family
    ModelsConfig = _Models
else:
    ModelsConfig = models_config(FAMILIES)


# -- evaluation --------------------------------------------------------------------


class CvConfig(_Strict):
    n_splits: int = Field(5, ge=2, le=100)
    metric: str | None = None


class CalibrationConfig(_Strict):
    method: Literal["none", "sigmoid", "isotonic"] = "none"
    cv: int = Field(5, ge=2, le=100)


class BusinessConfig(_Strict):
    #: the decision threshold is the lowest score whose out-of-fold precision reaches this;
    #: null picks the threshold with the best out-of-fold F1 instead
    target_precision: float | None = Field(None, gt=0.0, le=1.0)


class FragilityConfig(_Strict):
    #: a decision whose margin is below this is reported as fragile (margins are relative; see
    #: trainlock.pipeline.fragility)
    tolerance: float = Field(1e-6, ge=0.0)


class Config(_Strict):
    seed: int = Field(0, ge=0, lt=2**32)
    task: Task = "classification"
    data: DataConfig
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)
    models: ModelsConfig
    cv: CvConfig = Field(default_factory=CvConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    business: BusinessConfig = Field(default_factory=BusinessConfig)
    fragility: FragilityConfig = Field(default_factory=FragilityConfig)

    @field_validator("models")
    @classmethod
    def _at_least_one_model(cls, models: _Models) -> _Models:
        if not models.selected():
            raise ValueError(f"declare at least one model family: {', '.join(sorted(type(models).model_fields))}")
        return models

    @model_validator(mode="after")
    def _fit_the_task(self) -> Config:
        classification = self.task == "classification"
        for family in self.models.selected():
            if self.task not in family_of(family).tasks:
                raise ValueError(f"model family '{family}' does not fit task '{self.task}'")
        allowed = CLASSIFICATION_METRICS if classification else REGRESSION_METRICS
        if self.cv.metric is not None and self.cv.metric not in allowed:
            raise ValueError(
                f"cv.metric '{self.cv.metric}' is not a {self.task} metric; use one of {', '.join(allowed)}"
            )
        if not classification and self.calibration.method != "none":
            raise ValueError("calibration applies to classification only; set calibration.method: none")
        if not classification and self.business.target_precision is not None:
            raise ValueError("business.target_precision applies to classification only")
        return self


def _resolve_task_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """Write the task-dependent defaults into the config so the snapshot shows them."""
    task = raw.get("task", "classification")
    classification = task == "classification"
    cv = raw.setdefault("cv", {}) if isinstance(raw.get("cv", {}), dict) else raw.get("cv")
    if isinstance(cv, dict) and cv.get("metric") is None:
        cv["metric"] = "roc_auc" if classification else "rmse"
    models = raw.get("models")
    if isinstance(models, dict):
        for family, spec in FAMILIES.items():
            if isinstance(models.get(family), dict):
                models[family] = spec.task_defaults(models[family], task)
    return raw


# -- composition -------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedConfig:
    """A validated config with its canonical snapshot text and hash."""

    config: Config
    snapshot: str
    sha256: str
    sources: tuple[str, ...]

    @property
    def identity(self) -> dict[str, Any]:
        """The config as identity keys see it: without the data path (the data's hash stands for it)."""
        data = self.config.model_dump(mode="json")
        data["data"].pop("path", None)
        return data


def load_config(
    paths: Sequence[str | os.PathLike[str]],
    *,
    profiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> ResolvedConfig:
    """Load, merge and validate config files; raise :class:`ConfigError` naming any problem.

    ``data.path`` given in a file is relative to that file; given by ``--set``, it is
    relative to ``base_dir`` (the working directory by default).
    """
    if not paths:
        raise ConfigError("no config file given; pass the path of a YAML config")
    merged: dict[str, Any] = {}
    available_profiles: dict[str, Any] = {}
    for path in paths:
        document = read_yaml(Path(path))
        file_profiles = document.pop("profiles", None) or {}
        if not isinstance(file_profiles, dict):
            raise ConfigError(
                f"profiles in {path}: expected a mapping of profile name to overrides, "
                f"found {type(file_profiles).__name__}"
            )
        _anchor_data_path(document, Path(path).resolve().parent)
        for name, overlay in file_profiles.items():
            if not isinstance(overlay, dict):
                raise ConfigError(f"profiles.{name} in {path}: expected a mapping, found {type(overlay).__name__}")
            overlay = copy.deepcopy(overlay)
            _anchor_data_path(overlay, Path(path).resolve().parent)
            available_profiles[str(name)] = deep_merge(available_profiles.get(str(name), {}), overlay)
        merged = deep_merge(merged, document)
    for name in profiles:
        if name not in available_profiles:
            known = ", ".join(sorted(available_profiles)) or "none are declared"
            raise ConfigError(f"unknown profile '{name}'; the config declares: {known}")
        merged = deep_merge(merged, available_profiles[name])
    cwd = Path(base_dir) if base_dir is not None else Path.cwd()
    for override in overrides:
        key, value = parse_override(override)
        if key == "data.path" and isinstance(value, str):
            value = str((cwd / value).resolve()) if not Path(value).is_absolute() else value
        set_dotted(merged, key, value)
    if seed is not None:
        merged["seed"] = seed
    return validate(merged, sources=tuple(str(p) for p in paths))


def validate(raw: Mapping[str, Any], *, sources: tuple[str, ...] = ()) -> ResolvedConfig:
    """Validate a plain mapping (e.g. a snapshot) into a :class:`ResolvedConfig`."""
    raw = _resolve_task_defaults(copy.deepcopy(dict(raw)))
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        where = f" (in {', '.join(sources)})" if sources else ""
        raise ConfigError(f"invalid config{where}: {describe_validation_error(exc, raw)}") from None
    snapshot = snapshot_text(config)
    return ResolvedConfig(
        config=config, snapshot=snapshot, sha256=sha256_bytes(snapshot.encode("utf-8")), sources=sources
    )


def snapshot_text(config: Config) -> str:
    """The canonical YAML of a resolved config: sorted keys, absent model families left out."""
    data = config.model_dump(mode="json")
    data["models"] = {name: params for name, params in data["models"].items() if params not in (None, {})}
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True)


def load_snapshot(path: str | os.PathLike[str]) -> ResolvedConfig:
    return validate(read_yaml(Path(path)), sources=(str(path),))


def _anchor_data_path(document: dict[str, Any], directory: Path) -> None:
    data = document.get("data")
    if (
        isinstance(data, dict)
        and isinstance(data.get("path"), str)
        and data["path"]
        and not Path(data["path"]).is_absolute()
        and "://" not in data["path"]
    ):
        data["path"] = str((directory / data["path"]).resolve())


# -- error messages ----------------------------------------------------------------


def describe_validation_error(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """One line naming each problem: the dotted key path, the value found, and a fix."""
    seen: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        path, value, found = _locate(raw, error["loc"], error["type"])
        dotted = ".".join(str(part) for part in path) or "<top level>"
        if dotted in seen:
            continue
        if error["type"] == "extra_forbidden":
            message = f"{dotted}: unknown key"
            suggestion = _closest_key(path)
            if suggestion:
                message += f"; did you mean '{suggestion}'?"
        elif error["type"] == "missing":
            message = f"{dotted}: required key is missing"
        else:
            shown = f" = {value!r}" if found else ""
            message = f"{dotted}{shown}: {_lower_first(error['msg'])}"
        seen[dotted] = message
    messages = list(seen.values())
    if len(messages) > 3:
        messages = [*messages[:3], f"and {len(messages) - 3} more"]
    return "; ".join(messages)


def _lower_first(text: str) -> str:
    text = text.removeprefix("Value error, ")
    return text[:1].lower() + text[1:]


def _locate(raw: Any, loc: Iterable[Any], error_type: str) -> tuple[list[Any], Any, bool]:
    """Follow a pydantic error location through the input, dropping union-member labels."""
    path: list[Any] = []
    node: Any = raw
    found = True
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node)
        ):
            path.append(part)
            node = node[part]
        else:
            if error_type == "missing" and isinstance(node, Mapping):
                path.append(part)
            found = False
            break
    return path, node, found


def _closest_key(path: Sequence[Any]) -> str | None:
    valid = _valid_keys(path[:-1])
    if not valid:
        return None
    matches = difflib.get_close_matches(str(path[-1]), valid, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _valid_keys(parent_path: Sequence[Any]) -> list[str]:
    model: Any = Config
    for part in parent_path:
        fields = getattr(model, "model_fields", None)
        if fields is None:
            # a mapping of free names (derived features): the next level is its value type
            model = _mapping_value_type(model)
            if model is None:
                return []
            continue
        if part not in fields:
            return []
        model = _unwrap(fields[part].annotation)
    fields = getattr(model, "model_fields", None)
    return sorted(fields) if fields else []


def _unwrap(annotation: Any) -> Any:
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        if get_origin(arg) is dict:
            return arg
    return annotation


def _mapping_value_type(annotation: Any) -> Any:
    if get_origin(annotation) is dict:
        return _unwrap(get_args(annotation)[1])
    return None
