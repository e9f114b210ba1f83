"""The rulefit family: a rule ensemble with expert rules (the estimator is :mod:`trainlock.pipeline.rulefit`).

How the recipe treats it, and why:

* preprocessing ``named``: rules and linear terms read in the data's own units. No scaling, and no
  IQR clipping, because rulefit winsorises its linear terms itself and a clipped column would hide
  expert thresholds beyond the clip bounds; one-hot columns named ``<feature>_<value>`` are how
  expert rules on categorical features find them.
* never calibrated: its logistic link already gives probabilities, and calibrating would wrap it in
  one copy per calibration fold, while rules.sql must describe the one model that scores.
* expert rules are checked against the data before any work, naming the key path.
* the run folder gets rules.json, rules.md and rules.sql.

The estimator and its exports import scikit-learn; they are imported on use, so that loading a
config (which reads this registry) does not import scikit-learn.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, StrictInt, field_validator, model_validator

from ...errors import ConfigError, DataError
from ..expert_rules import COMPARE, ColumnKind, ExpertKind, ExpertOp, ExpertRuleError, check_expert_clause
from ..fragility import rulefit_model_decisions
from .spec import FamilySpec, ModelInputs, StrictModel

ExpertNumber = Annotated[float, Field(allow_inf_nan=False)]
ExpertValue = StrictInt | ExpertNumber | str


class ExpertClause(StrictModel):
    """One clause of an expert rule, ``feature op value``; ``in`` takes a list of values."""

    feature: str = Field(min_length=1)
    op: ExpertOp
    value: ExpertValue | list[ExpertValue]

    @model_validator(mode="after")
    def _value_fits_op(self) -> ExpertClause:
        check_expert_clause(self.feature, self.op, self.value)
        return self


class ExpertRule(StrictModel):
    """A domain expert's rule: clauses joined by "and"; a confirmatory rule is always in the model."""

    clauses: list[ExpertClause] = Field(min_length=1)
    #: confirmatory: kept whatever the data say (refit without penalty on it if the penalised fit drops it);
    #: optional: selected like a learned rule, with the lower penalty expert_penalty_factor
    kind: ExpertKind = "optional"


class StabilitySelection(StrictModel):
    n_bootstrap: int = Field(20, ge=2, le=1000)
    #: a term is kept when the penalised fit selects it in at least this fraction of the resamples
    keep_fraction: float = Field(0.7, gt=0.0, le=1.0)


class RulefitParams(StrictModel):
    """RuleFit (Friedman & Popescu 2008), see :mod:`trainlock.pipeline.rulefit`.

    Its preprocessing imputes and one-hot encodes but neither scales nor clips (preprocessing.scale
    and outlier_factor do not apply to it), so rule thresholds are in the data's own units. A selected
    rulefit model is not calibrated: its logistic link gives probabilities, and rules.sql must
    describe the one model that scores.
    """

    n_estimators: int = Field(100, ge=1)
    #: mean number of leaves per boosted tree
    tree_size: int = Field(4, ge=2)
    tree_size_distribution: Literal["exponential", "fixed"] = "exponential"
    learning_rate: float = Field(0.01, gt=0.0)
    subsample: float = Field(0.5, gt=0.0, le=1.0)
    min_samples_leaf: int = Field(10, ge=1)
    linear_terms: bool = True
    #: linear terms are clipped to the [winsorize, 1 - winsorize] quantiles of the training data
    winsorize: float = Field(0.025, ge=0.0, lt=0.5)
    #: "cv" chooses the L1 penalty by cross-validation; a number fixes it
    penalty: Literal["cv"] | float = "cv"
    n_penalties: int = Field(20, ge=2)
    penalty_cv: int = Field(5, ge=2, le=100)
    #: with penalty "cv": only penalties whose model has at most this many rules are candidates
    max_rules: int | None = Field(None, ge=1)
    #: penalty factor of expert rules relative to learned terms
    expert_penalty_factor: float = Field(0.5, gt=0.0, le=1.0)
    expert_rules: dict[str, ExpertRule] = Field(default_factory=dict)
    stability: StabilitySelection | None = None

    @field_validator("penalty", mode="before")
    @classmethod
    def _cv_or_positive(cls, value: Any) -> Any:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value != "cv" and not (number and 0 < value < float("inf")):
            raise ValueError(f"use 'cv' or a number > 0, found {value!r}")
        return value


def _build(p: RulefitParams, seed: int, classification: bool) -> Any:
    from ..rulefit import RuleFitClassifier, RuleFitRegressor  # scikit-learn, on use (see the module docstring)

    cls = RuleFitClassifier if classification else RuleFitRegressor
    experts = tuple(
        (
            name,
            rule.kind,
            tuple((c.feature, c.op, tuple(c.value) if isinstance(c.value, list) else c.value) for c in rule.clauses),
        )
        for name, rule in sorted(p.expert_rules.items())
    )
    # without stability selection: no resamples, and every term the penalised fit selects is kept
    stability = (0, 1.0) if p.stability is None else (p.stability.n_bootstrap, p.stability.keep_fraction)
    return cls(
        n_estimators=p.n_estimators,
        tree_size=p.tree_size,
        tree_size_distribution=p.tree_size_distribution,
        learning_rate=p.learning_rate,
        subsample=p.subsample,
        min_samples_leaf=p.min_samples_leaf,
        linear_terms=p.linear_terms,
        winsorize=p.winsorize,
        penalty=p.penalty,
        n_penalties=p.n_penalties,
        penalty_cv=p.penalty_cv,
        max_rules=p.max_rules,
        expert_rules=experts,
        expert_penalty_factor=p.expert_penalty_factor,
        n_bootstrap=stability[0],
        keep_fraction=stability[1],
        random_state=seed,
    )


def check_expert_rules_fit(params: RulefitParams, inputs: ModelInputs) -> None:
    """Fail before any work, naming the key path, when an expert rule does not fit the data.

    ``inputs.frame`` holds the model inputs (raw columns plus derived features) that the
    recipe's features step produces; ``inputs.numeric``/``inputs.categorical`` are its column kinds.
    """
    _check_one_hot_names(inputs)
    typed, numeric, categorical = inputs.frame, inputs.numeric, inputs.categorical
    features = [*numeric, *categorical]
    for name in sorted(params.expert_rules):
        rule = params.expert_rules[name]
        active = np.ones(len(typed), dtype=bool)
        for i, clause in enumerate(rule.clauses):
            key = f"models.rulefit.expert_rules.{name}.clauses.{i}"
            if clause.feature not in features:
                close = difflib.get_close_matches(clause.feature, features, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"features are: {', '.join(features[:20])}"
                raise ConfigError(
                    f"{key}.feature = {clause.feature!r}: not a column of the data or a derived feature; {hint}"
                )
            kind: ColumnKind = "numeric" if clause.feature in numeric else "categorical"
            try:
                check_expert_clause(clause.feature, clause.op, clause.value, kind)
            except ExpertRuleError as exc:  # the op or the value does not fit the feature's kind
                raise ConfigError(f"{key}.{exc.part} = {getattr(clause, str(exc.part))!r}: {exc}") from None
            values = clause.value if isinstance(clause.value, list) else [clause.value]
            column = typed[clause.feature]
            if kind == "numeric":
                x = column.to_numpy(dtype=np.float64)
                hit = (
                    np.isin(x, np.asarray(values, dtype=np.float64))
                    if clause.op == "in"
                    else COMPARE[clause.op](x, float(values[0]))
                )
            else:
                seen = sorted({str(value) for value in column.dropna().tolist()})
                unseen = [str(value) for value in values if str(value) not in seen]
                if unseen:
                    raise ConfigError(
                        f"{key}.value: {unseen[0]!r} never occurs in '{clause.feature}'; "
                        f"its values are: {', '.join(seen[:20])}"
                    )
                wanted = column.isin([str(value) for value in values]).to_numpy()
                hit = ~wanted if clause.op == "!=" else wanted
            active &= hit
        if not active.any() or active.all():
            which = "no" if not active.any() else "every"
            raise ConfigError(
                f"models.rulefit.expert_rules.{name}: the rule holds for {which} row of the data, "
                "so it cannot have a coefficient; change its clauses"
            )


def _check_one_hot_names(inputs: ModelInputs) -> None:
    one_hot = {
        f"{column}_{value}"
        for column in inputs.categorical
        for value in inputs.frame[column].dropna().unique().tolist()
    }
    if inputs.categorical_imputer == "constant":
        one_hot |= {f"{column}_missing" for column in inputs.categorical}
    clash = sorted(one_hot & set(inputs.numeric))
    if clash:
        raise DataError(
            f"column(s) {', '.join(clash)} are also the one-hot names of a categorical value, "
            "which rulefit's plain column names cannot tell apart; rename them"
        )


def _write_rule_files(run_dir: Path, model: Any, schema: Mapping[str, Any]) -> list[str]:
    from ..rulefit_export import write_rule_files  # scikit-learn, on use (see the module docstring)

    return write_rule_files(run_dir, model, schema["classes"])


RULEFIT = FamilySpec(
    "rulefit",
    RulefitParams,
    _build,
    cost=8.0,
    preprocessing="named",
    uncalibrated_reason=(
        "a selected rulefit model stays one uncalibrated rule ensemble, so that "
        "rules.json and rules.sql describe exactly the model that scores"
    ),
    check_inputs=check_expert_rules_fit,
    write_artefacts=_write_rule_files,
    inspect=rulefit_model_decisions,
)
