"""LightGBM and XGBoost: gradient boosting from optional packages (pip extras ``lightgbm``, ``xgboost``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .spec import FamilySpec, OptionalExtra, StrictModel

LIGHTGBM_EXTRA = OptionalExtra(module="lightgbm", extra="lightgbm")
XGBOOST_EXTRA = OptionalExtra(module="xgboost", extra="xgboost")


class LightgbmParams(StrictModel):
    n_estimators: int = Field(100, ge=1)
    learning_rate: float = Field(0.1, gt=0.0)
    num_leaves: int = Field(31, ge=2)
    max_depth: int = Field(-1, ge=-1)
    min_child_samples: int = Field(20, ge=1)
    subsample: float = Field(1.0, gt=0.0, le=1.0)
    colsample_bytree: float = Field(1.0, gt=0.0, le=1.0)
    reg_lambda: float = Field(0.0, ge=0.0)


class XgboostParams(StrictModel):
    n_estimators: int = Field(100, ge=1)
    learning_rate: float = Field(0.3, gt=0.0)
    max_depth: int = Field(6, ge=0)
    min_child_weight: float = Field(1.0, ge=0.0)
    subsample: float = Field(1.0, gt=0.0, le=1.0)
    colsample_bytree: float = Field(1.0, gt=0.0, le=1.0)
    reg_lambda: float = Field(1.0, ge=0.0)


def _lightgbm(p: LightgbmParams, seed: int, classification: bool) -> Any:
    lightgbm = LIGHTGBM_EXTRA.load("lightgbm")
    cls = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
    # deterministic + force_row_wise: LightGBM's documented settings for identical results
    return cls(
        n_estimators=p.n_estimators,
        learning_rate=p.learning_rate,
        num_leaves=p.num_leaves,
        max_depth=p.max_depth,
        min_child_samples=p.min_child_samples,
        subsample=p.subsample,
        subsample_freq=1 if p.subsample < 1.0 else 0,
        colsample_bytree=p.colsample_bytree,
        reg_lambda=p.reg_lambda,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def _xgboost(p: XgboostParams, seed: int, classification: bool) -> Any:
    xgboost = XGBOOST_EXTRA.load("xgboost")
    cls = xgboost.XGBClassifier if classification else xgboost.XGBRegressor
    return cls(
        n_estimators=p.n_estimators,
        learning_rate=p.learning_rate,
        max_depth=p.max_depth,
        min_child_weight=p.min_child_weight,
        subsample=p.subsample,
        colsample_bytree=p.colsample_bytree,
        reg_lambda=p.reg_lambda,
        tree_method="hist",
        random_state=seed,
        n_jobs=1,
        verbosity=0,
    )


LIGHTGBM = FamilySpec("lightgbm", LightgbmParams, _lightgbm, cost=4.0, extra=LIGHTGBM_EXTRA)
XGBOOST = FamilySpec("xgboost", XgboostParams, _xgboost, cost=4.0, extra=XGBOOST_EXTRA)
