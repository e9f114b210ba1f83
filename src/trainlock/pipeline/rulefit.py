"""RuleFit (Friedman & Popescu, 2008) on scikit-learn building blocks, deterministic, with expert rules.

``fit`` does, in order:

1. Boost shallow regression trees (scikit-learn's GradientBoosting, grown one tree at a time with
   ``warm_start`` so that each tree gets its own size, drawn around ``tree_size`` as in the paper).
2. Turn every non-root node into a conjunctive rule (its path from the root), keep the tightest bound
   per feature and direction, and move each threshold to the shortest decimal strictly between the
   neighbouring training values: the rule splits the training rows as the node did, reads in the
   data's units, and no training value lies on a threshold.
3. De-duplicate: identical clauses, and rules whose activation on the training rows equals (or is the
   complement of) an earlier rule's; expert rules come first, then rules in canonical clause order.
   Collinear duplicates would otherwise be a tie that only the solver's visiting order breaks.
4. Linear terms: every column with more than two values, winsorised at the ``winsorize`` quantiles
   and scaled by 0.4/sd (section 5 of the paper); a two-valued column enters as a rule instead.
5. An L1-penalised linear model over all terms: liblinear logistic regression (classification) or
   Lasso (regression). The objective is ``mean loss + penalty * sum(w_j * |g_j|)`` with log-loss or
   half the squared error, ``g_j`` the coefficient of the scaled term and ``w_j`` its penalty factor
   (1, or ``expert_penalty_factor`` for expert rules), applied by dividing the column by ``w_j``.
   The penalty is fixed or chosen by K-fold CV on a derived seed, among the penalties whose model
   has at most ``max_rules`` rules when that is set.
6. Optional stability selection: refit on ``n_bootstrap`` resamples (derived seeds), keep the terms
   selected in at least ``keep_fraction`` of them, refit on those.
7. A confirmatory expert rule that the penalised fit dropped: refit the kept terms plus that rule with
   no penalty on it. liblinear and Lasso cannot leave one term unpenalised, so this refit minimises the
   same objective with scipy's L-BFGS-B (coefficients split into positive and negative parts).

All randomness comes from seeds derived from ``random_state`` by scope name; no global RNG is used.
Prediction adds the terms in canonical order, ``intercept + c1*t1 + c2*t2 + ...``: the same
floating-point operations as the SQL export (:mod:`trainlock.pipeline.rulefit_export`), so a database
computes the same scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..seeds import derive_seed
from .expert_rules import COMPARE, ColumnKind, ExpertRuleError, ExpertRuleTuple, check_expert_rule

#: learned rules compare with ``<=`` or ``>`` (the two sides of a tree split)
LE, GT = 0, 1
RULE_OPS = ("<=", ">")
#: Friedman & Popescu (2008), section 5: a linear term scaled to the influence of a typical rule
LINEAR_SCALE = 0.4
#: liblinear penalises the intercept as the weight of a constant column of this value; a large value
#: makes that penalty negligible (sklearn's documented remedy)
INTERCEPT_SCALING = 100.0
#: the CV grid spans this many decades below the smallest penalty that keeps every term out
GRID_DECADES = 3.0
#: liblinear tolerance of the final fit (the CV path uses scikit-learn's 1e-4)
FINAL_TOL = 1e-8
#: the CV path stops after this many smaller penalties without a better eligible CV loss
PATIENCE = 3


@dataclass(frozen=True)
class Term:
    """One term of a fitted model, for reports and exports (``clauses`` name columns of X)."""

    index: int
    kind: str  # "expert", "rule" or "linear"
    clauses: tuple[tuple[str, str, Any], ...]
    coefficient: float
    support: float | None
    importance: float
    selection_frequency: float | None
    penalty_ratio: float | None
    forced: bool
    name: str | None = None
    expert_kind: str | None = None
    column: str | None = None
    lower: float | None = None
    upper: float | None = None


class _TermCommon(TypedDict):
    """The fields of :class:`Term` that every kind of term has, apart from ``kind`` and ``clauses``."""

    index: int
    coefficient: float
    importance: float
    support: float | None
    selection_frequency: float | None
    penalty_ratio: float | None
    forced: bool


class _RuleFitBase(BaseEstimator):
    _classification = False
    #: the CV path of the penalty (None when the penalty is fixed): the penalties visited, their mean
    #: CV losses, and whether each one's model is eligible (at most max_rules rules)
    penalty_grid_: np.ndarray | None
    penalty_cv_loss_: np.ndarray | None
    penalty_eligible_: np.ndarray | None

    def __init__(
        self,
        n_estimators: int = 100,
        tree_size: int = 4,
        tree_size_distribution: str = "exponential",
        learning_rate: float = 0.01,
        subsample: float = 0.5,
        min_samples_leaf: int = 10,
        linear_terms: bool = True,
        winsorize: float = 0.025,
        penalty: Any = "cv",
        n_penalties: int = 20,
        penalty_cv: int = 5,
        max_rules: int | None = None,
        expert_rules: Sequence[Any] = (),
        expert_penalty_factor: float = 0.5,
        n_bootstrap: int = 0,
        keep_fraction: float = 0.7,
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.tree_size = tree_size
        self.tree_size_distribution = tree_size_distribution
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.min_samples_leaf = min_samples_leaf
        self.linear_terms = linear_terms
        self.winsorize = winsorize
        self.penalty = penalty
        self.n_penalties = n_penalties
        self.penalty_cv = penalty_cv
        self.max_rules = max_rules
        self.expert_rules = expert_rules
        self.expert_penalty_factor = expert_penalty_factor
        self.n_bootstrap = n_bootstrap
        self.keep_fraction = keep_fraction
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X: Any, y: Any) -> None:
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2, y_numeric=not self._classification)
        if self._classification:
            classes = np.unique(y)
            if len(classes) != 2:
                raise ValueError(f"RuleFitClassifier needs exactly two classes, found {len(classes)}")
            self.classes_ = classes
            target = (y == classes[1]).astype(np.float64)
        else:
            target = np.asarray(y, dtype=np.float64)
        names = self.column_names()
        experts = self._check_expert_rules(names)
        seed = int(self.random_state)
        n = len(X)

        # -- candidate terms: expert rules, learned rules, linear terms ----------------------
        expert_active = [_expert_activation(X, names, rule) for rule in experts]
        trees = self._boost(X, target, seed)
        sorted_columns = [np.unique(X[:, j]) for j in range(X.shape[1])]
        candidates = _candidate_rules(trees, sorted_columns)
        seen = {_pattern_key(active) for active in expert_active}
        rules: list[tuple[tuple[int, int, float], ...]] = []
        rule_active: list[np.ndarray] = []
        for rule in candidates:
            active = _rule_activation(X, rule)
            key = _pattern_key(active)
            if 0 < active.sum() < n and key not in seen:
                seen.add(key)
                rules.append(rule)
                rule_active.append(active)
        linear_feature, lower, upper = self._linear_candidates(X, sorted_columns)

        T = np.empty((n, len(experts) + len(rules) + len(linear_feature)), dtype=np.float64)
        for j, active in enumerate([*expert_active, *rule_active]):
            T[:, j] = active
        offset = len(experts) + len(rules)
        for k, j in enumerate(linear_feature):
            T[:, offset + k] = np.clip(X[:, j], lower[k], upper[k])
        base_scale = np.ones(T.shape[1])
        spread = T[:, offset:].std(axis=0)
        base_scale[offset:] = LINEAR_SCALE / spread
        weight = np.ones(T.shape[1])
        weight[: len(experts)] = self.expert_penalty_factor
        column_scale = base_scale / weight
        Z = T * column_scale
        confirmatory = np.zeros(T.shape[1], dtype=bool)
        confirmatory[: len(experts)] = [rule[1] == "confirmatory" for rule in experts]
        usable = T.std(axis=0) > 0  # a constant term (an expert rule that holds everywhere) has no coefficient
        is_rule = np.zeros(T.shape[1], dtype=bool)
        is_rule[:offset] = True

        # -- penalty: fixed, or by CV ----------------------------------------------------------
        fitter = _L1Fitter(self._classification, seed)
        if self.penalty == "cv":
            penalty = self._choose_penalty(Z, target, usable, is_rule, fitter, seed)
        else:
            penalty = float(self.penalty)
            self.penalty_grid_ = self.penalty_cv_loss_ = self.penalty_eligible_ = None

        # -- stability selection, then the final fit -------------------------------------------
        kept = usable.copy()
        self.selection_frequency_ = None
        if self.n_bootstrap:
            selected = np.zeros(T.shape[1])
            for b in range(self.n_bootstrap):
                rows = np.random.default_rng(derive_seed(seed, f"rulefit/bootstrap/{b}")).integers(0, n, n)
                _, coef = fitter.fit(Z[rows][:, usable], target[rows], penalty)
                selected[np.flatnonzero(usable)] += coef != 0
            self.selection_frequency_ = selected / self.n_bootstrap
            kept = usable & ((self.selection_frequency_ >= self.keep_fraction) | confirmatory)
        # the final fit is solved tighter than the CV path: its gradients measure how close each term came.
        # liblinear may stop short of that tolerance (a term right at the edge); the fit is still
        # deterministic, and the gradient ratios in the fragility report show how close it came
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            intercept, coef_kept = _L1Fitter(self._classification, seed, FINAL_TOL).fit(Z[:, kept], target, penalty)
        gamma = np.zeros(T.shape[1])
        gamma[kept] = coef_kept
        forced = confirmatory & usable & (gamma == 0)
        if forced.any():
            intercept, gamma = _refit_unpenalised(
                Z, target, (gamma != 0) | forced, forced, penalty, intercept, gamma, self._classification
            )

        # -- learned state ---------------------------------------------------------------------
        eta = intercept + _matvec(Z, gamma)
        residual = (_expit(eta) if self._classification else eta) - target
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.abs(_rmatvec(Z, residual) / n) / penalty
        ratio[forced] = np.nan
        self.penalty_ = penalty
        self.penalty_ratio_ = ratio
        self.forced_ = forced
        self.expert_names_ = [rule[0] for rule in experts]
        self.rule_offsets_ = np.cumsum([0, *(len(rule) for rule in rules)]).astype(np.int64)
        self.clause_feature_ = np.array([c[0] for rule in rules for c in rule], dtype=np.int64)
        self.clause_op_ = np.array([c[1] for rule in rules for c in rule], dtype=np.int8)
        self.clause_threshold_ = np.array([c[2] for rule in rules for c in rule], dtype=np.float64)
        self.linear_feature_ = np.asarray(linear_feature, dtype=np.int64)
        self.linear_lower_ = np.asarray(lower, dtype=np.float64)
        self.linear_upper_ = np.asarray(upper, dtype=np.float64)
        self.coef_ = gamma * column_scale
        self.intercept_ = float(intercept)
        support = T[:, :offset].mean(axis=0)
        self.support_ = np.concatenate([support, np.full(len(linear_feature), np.nan)])
        spread_all = np.concatenate([np.sqrt(support * (1 - support)), spread])
        self.importance_ = np.abs(self.coef_) * spread_all
        #: the unit of importance for judging how small a coefficient is: log-odds, or the target's spread
        self.score_scale_ = 1.0 if self._classification else float(target.std()) or 1.0

    def _check_params(self) -> None:
        checks = [
            (
                isinstance(self.n_estimators, (int, np.integer)) and self.n_estimators >= 1,
                "n_estimators must be an integer >= 1",
            ),
            (
                isinstance(self.tree_size, (int, np.integer)) and self.tree_size >= 2,
                "tree_size must be an integer >= 2",
            ),
            (
                self.tree_size_distribution in ("exponential", "fixed"),
                "tree_size_distribution must be 'exponential' or 'fixed'",
            ),
            (0 < self.subsample <= 1, "subsample must be in (0, 1]"),
            (0 <= self.winsorize < 0.5, "winsorize must be in [0, 0.5)"),
            (
                self.penalty == "cv" or (isinstance(self.penalty, (int, float)) and self.penalty > 0),
                "penalty must be 'cv' or a number > 0",
            ),
            (self.n_penalties >= 2 and self.penalty_cv >= 2, "n_penalties and penalty_cv must be >= 2"),
            (self.max_rules is None or self.max_rules >= 1, "max_rules must be None or >= 1"),
            (0 < self.expert_penalty_factor <= 1, "expert_penalty_factor must be in (0, 1]"),
            (
                self.n_bootstrap >= 0 and 0 < self.keep_fraction <= 1,
                "n_bootstrap must be >= 0 and keep_fraction in (0, 1]",
            ),
            (
                isinstance(self.random_state, (int, np.integer)),
                "random_state must be an integer (RuleFit never draws from a global RNG)",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{type(self).__name__}: {message}")

    def _check_expert_rules(self, names: list[str]) -> list[ExpertRuleTuple]:
        """The expert rules checked against the columns of X, as tuples in canonical (sorted) order."""
        try:
            return sorted(
                check_expert_rule(rule, lambda feature: expert_column_kind(names, feature))
                for rule in self.expert_rules
            )
        except ExpertRuleError as exc:
            raise ValueError(f"{type(self).__name__}: {exc}") from None

    def column_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return [str(name) for name in names] if names is not None else [f"x{j}" for j in range(self.n_features_in_)]

    def _boost(self, X: np.ndarray, target: np.ndarray, seed: int) -> list[Any]:
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

        if self.tree_size_distribution == "fixed" or self.tree_size == 2:
            sizes = np.full(self.n_estimators, self.tree_size)
        else:
            # Friedman & Popescu (2008), section 3.3: 2 + floor(Exp(mean - 2)) leaves, so that rules of
            # many lengths occur
            draws = np.random.default_rng(derive_seed(seed, "rulefit/tree_sizes")).exponential(
                self.tree_size - 2, self.n_estimators
            )
            sizes = 2 + np.floor(draws).astype(np.int64)
        cls = GradientBoostingClassifier if self._classification else GradientBoostingRegressor
        booster = cls(
            n_estimators=1,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            max_depth=None,
            max_leaf_nodes=int(sizes[0]),
            min_samples_leaf=self.min_samples_leaf,
            warm_start=True,
            random_state=derive_seed(seed, "rulefit/boost"),
        )
        for count, size in enumerate(sizes, start=1):
            booster.set_params(n_estimators=count, max_leaf_nodes=int(size))
            booster.fit(X, target)
        return [stage[0] for stage in booster.estimators_]

    def _linear_candidates(
        self, X: np.ndarray, sorted_columns: list[np.ndarray]
    ) -> tuple[list[int], list[float], list[float]]:
        features: list[int] = []
        lower: list[float] = []
        upper: list[float] = []
        if not self.linear_terms:
            return features, lower, upper
        for j, values in enumerate(sorted_columns):
            if len(values) <= 2:
                continue  # a two-valued column is the rule "column > midpoint", added with the learned rules
            low, high = np.quantile(X[:, j], [self.winsorize, 1.0 - self.winsorize])
            if np.clip(X[:, j], low, high).std() > 0:
                features.append(j)
                lower.append(float(low))
                upper.append(float(high))
        return features, lower, upper

    def _choose_penalty(
        self, Z: np.ndarray, target: np.ndarray, usable: np.ndarray, is_rule: np.ndarray, fitter: _L1Fitter, seed: int
    ) -> float:
        from sklearn.model_selection import KFold, StratifiedKFold

        n = len(target)
        Zu = Z[:, usable]
        start = target.mean()
        largest = float(np.max(np.abs(_rmatvec(Zu, start - target)) / n)) if Zu.shape[1] else 1.0
        grid = largest * np.logspace(0.0, -GRID_DECADES, self.n_penalties)
        splitter = (StratifiedKFold if self._classification else KFold)(
            n_splits=self.penalty_cv, shuffle=True, random_state=derive_seed(seed, "rulefit/penalty_cv")
        )
        folds = list(splitter.split(np.zeros(n), target))
        rule_columns = is_rule[usable]
        mean_loss: list[float] = []
        eligible: list[bool] = []
        for penalty in grid:
            losses = []
            for train, valid in folds:
                intercept, coef = fitter.fit(Zu[train], target[train], penalty)
                losses.append(fitter.loss(target[valid], intercept + _matvec(Zu[valid], coef)))
            mean_loss.append(float(np.mean(losses)))
            if self.max_rules is None:
                eligible.append(True)
            else:
                _, coef = fitter.fit(Zu, target, penalty)
                eligible.append(int(np.count_nonzero(coef[rule_columns])) <= self.max_rules)
            if _path_is_done(mean_loss, eligible):
                break
        candidates = [i for i, ok in enumerate(eligible) if ok]
        # the lowest mean CV loss; ties go to the larger penalty (the sparser model), never to chance
        best = min(candidates, key=lambda i: (mean_loss[i], i))
        visited = len(mean_loss)
        self.penalty_grid_ = grid[:visited]
        self.penalty_cv_loss_ = np.asarray(mean_loss)
        self.penalty_eligible_ = np.asarray(eligible)
        return float(grid[best])

    # -- prediction ---------------------------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """The linear score: intercept plus each term times its coefficient, added in canonical order."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        score = np.full(len(X), self.intercept_, dtype=np.float64)
        for j in np.flatnonzero(self.coef_):
            score = score + self.coef_[j] * self._term_values(X, int(j))
        return score

    def _term_values(self, X: np.ndarray, j: int) -> np.ndarray:
        n_expert = len(self.expert_names_)
        n_rules = len(self.rule_offsets_) - 1
        if j < n_expert:
            rule = _expert_by_name(self.expert_rules, self.expert_names_[j])
            return _expert_activation(X, self.column_names(), rule).astype(np.float64)
        if j < n_expert + n_rules:
            return _rule_activation(X, self._rule(j - n_expert)).astype(np.float64)
        k = j - n_expert - n_rules
        return np.clip(X[:, self.linear_feature_[k]], self.linear_lower_[k], self.linear_upper_[k])

    def _rule(self, r: int) -> tuple[tuple[int, int, float], ...]:
        start, stop = self.rule_offsets_[r], self.rule_offsets_[r + 1]
        return tuple(
            (int(self.clause_feature_[i]), int(self.clause_op_[i]), float(self.clause_threshold_[i]))
            for i in range(start, stop)
        )

    # -- reading the model --------------------------------------------------------------------

    def terms(self) -> list[Term]:
        """Every candidate term in canonical order (coefficient 0 for those not selected)."""
        check_is_fitted(self, "coef_")
        names = self.column_names()
        n_expert = len(self.expert_names_)
        n_rules = len(self.rule_offsets_) - 1
        frequency = self.selection_frequency_
        out: list[Term] = []
        for j in range(len(self.coef_)):
            common = _TermCommon(
                index=j,
                coefficient=float(self.coef_[j]),
                importance=float(self.importance_[j]),
                support=None if np.isnan(self.support_[j]) else float(self.support_[j]),
                selection_frequency=None if frequency is None else float(frequency[j]),
                penalty_ratio=None if np.isnan(self.penalty_ratio_[j]) else float(self.penalty_ratio_[j]),
                forced=bool(self.forced_[j]),
            )
            if j < n_expert:
                name, kind, clauses = _expert_by_name(self.expert_rules, self.expert_names_[j])
                out.append(Term(kind="expert", clauses=clauses, name=name, expert_kind=kind, **common))
            elif j < n_expert + n_rules:
                clauses = tuple((names[f], RULE_OPS[op], t) for f, op, t in self._rule(j - n_expert))
                out.append(Term(kind="rule", clauses=clauses, **common))
            else:
                k = j - n_expert - n_rules
                out.append(
                    Term(
                        kind="linear",
                        clauses=(),
                        column=names[self.linear_feature_[k]],
                        lower=float(self.linear_lower_[k]),
                        upper=float(self.linear_upper_[k]),
                        **common,
                    )
                )
        return out

    def _fingerprint_state(self) -> dict[str, Any]:
        check_is_fitted(self, "coef_")
        return {
            "expert_rules": [
                [name, kind, [list(c) for c in clauses]]
                for name, kind, clauses in sorted(check_expert_rule(rule) for rule in self.expert_rules)
            ],
            "rules": {
                "offsets": self.rule_offsets_,
                "feature": self.clause_feature_,
                "op": self.clause_op_,
                "threshold": self.clause_threshold_,
            },
            "linear": {"feature": self.linear_feature_, "lower": self.linear_lower_, "upper": self.linear_upper_},
            "coef": self.coef_,
            "intercept": float(self.intercept_),
            "feature_names": self.column_names(),
        }


class RuleFitClassifier(ClassifierMixin, _RuleFitBase):
    """RuleFit for binary classification: an L1-penalised logistic model over rules and linear terms."""

    _classification = True

    def fit(self, X: Any, y: Any) -> RuleFitClassifier:
        self._fit(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = _expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[(proba[:, 1] > proba[:, 0]).astype(np.int64)]


class RuleFitRegressor(RegressorMixin, _RuleFitBase):
    """RuleFit for regression: a Lasso over rules and linear terms."""

    def fit(self, X: Any, y: Any) -> RuleFitRegressor:
        self._fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.decision_function(X)


# -- the penalised fits ---------------------------------------------------------------------------


class _L1Fitter:
    """``mean loss + penalty * sum|g|`` over given columns, with an unpenalised intercept.

    The intercept is as near unpenalised as liblinear allows (see ``INTERCEPT_SCALING``).
    """

    def __init__(self, classification: bool, seed: int, tol: float = 1e-4):
        self.classification = classification
        self.seed = derive_seed(seed, "rulefit/solver")
        self.tol = tol

    def fit(self, Z: np.ndarray, target: np.ndarray, penalty: float) -> tuple[float, np.ndarray]:
        n, p = Z.shape
        if p == 0:
            mean = float(target.mean())
            return (float(np.log(mean / (1 - mean))) if self.classification else mean), np.zeros(0)
        if self.classification:
            from sklearn.linear_model import LogisticRegression

            # liblinear sums the losses: C = 1 / (penalty * n) gives the mean-loss objective
            model = LogisticRegression(
                l1_ratio=1.0,
                C=1.0 / (penalty * n),
                solver="liblinear",
                tol=self.tol,
                max_iter=1000,
                intercept_scaling=INTERCEPT_SCALING,
                random_state=self.seed,
            )
            model.fit(Z, target.astype(np.int64))
            return float(model.intercept_[0]), model.coef_[0].astype(np.float64)
        from sklearn.linear_model import Lasso

        model = Lasso(alpha=penalty, tol=1e-8, max_iter=100_000, selection="cyclic")
        model.fit(Z, target)
        return float(model.intercept_), model.coef_.astype(np.float64)

    def loss(self, target: np.ndarray, eta: np.ndarray) -> float:
        if self.classification:
            return float(np.mean(np.logaddexp(0.0, eta) - target * eta))
        return float(0.5 * np.mean((target - eta) ** 2))


def _refit_unpenalised(
    Z: np.ndarray,
    target: np.ndarray,
    active: np.ndarray,
    free: np.ndarray,
    penalty: float,
    intercept: float,
    gamma: np.ndarray,
    classification: bool,
) -> tuple[float, np.ndarray]:
    """Minimise the objective over the ``active`` columns with no penalty on the ``free`` ones (L-BFGS-B)."""
    from scipy.optimize import minimize

    n = len(target)
    free_idx = np.flatnonzero(active & free)
    pen_idx = np.flatnonzero(active & ~free)
    Zf, Zp = Z[:, free_idx], Z[:, pen_idx]
    nf, npen = len(free_idx), len(pen_idx)

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        b, gf, plus, minus = v[0], v[1 : 1 + nf], v[1 + nf : 1 + nf + npen], v[1 + nf + npen :]
        eta = b + _matvec(Zf, gf) + _matvec(Zp, plus - minus)
        if classification:
            loss = np.mean(np.logaddexp(0.0, eta) - target * eta)
            residual = _expit(eta) - target
        else:
            residual = eta - target
            loss = 0.5 * np.mean(residual**2)
        grad_free = _rmatvec(Zf, residual) / n
        grad_pen = _rmatvec(Zp, residual) / n
        value = loss + penalty * (plus.sum() + minus.sum())
        return float(value), np.concatenate([[residual.mean()], grad_free, grad_pen + penalty, penalty - grad_pen])

    start_pen = gamma[pen_idx]
    x0 = np.concatenate([[intercept], gamma[free_idx], np.maximum(start_pen, 0.0), np.maximum(-start_pen, 0.0)])
    bounds = [(None, None)] * (1 + nf) + [(0.0, None)] * (2 * npen)
    result = minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 20_000, "ftol": 1e-15, "gtol": 1e-10},
    )
    v = result.x
    out = np.zeros_like(gamma)
    out[free_idx] = v[1 : 1 + nf]
    out[pen_idx] = v[1 + nf : 1 + nf + npen] - v[1 + nf + npen :]
    return float(v[0]), out


def _path_is_done(mean_loss: list[float], eligible: list[bool]) -> bool:
    """Stop the descending-penalty path once PATIENCE penalties in a row brought no eligible improvement.

    Small penalties are the slow fits and, past the CV optimum, only add noise terms.
    """
    if len(mean_loss) <= PATIENCE:
        return False
    ok = [i for i, good in enumerate(eligible) if good]
    if not ok:
        return all(not good for good in eligible[-PATIENCE:]) and len(eligible) > PATIENCE
    best = min(ok, key=lambda i: (mean_loss[i], i))
    return len(mean_loss) - 1 - best >= PATIENCE


def _matvec(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    # numpy's own loops, not BLAS: a BLAS product may split its sums by thread count, and these
    # sums choose the penalty grid and the refit, so their last bits must not depend on threads
    return np.einsum("ij,j->i", A, v, optimize=False)


def _rmatvec(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("ij,i->j", A, v, optimize=False)


def _expit(eta: np.ndarray) -> np.ndarray:
    # written out (not scipy.special.expit) so that it is the formula the SQL export uses
    return 1.0 / (1.0 + np.exp(-eta))


# -- rules ----------------------------------------------------------------------------------------


def _candidate_rules(trees: list[Any], sorted_columns: list[np.ndarray]) -> list[tuple[tuple[int, int, float], ...]]:
    """Every node path of every tree, plus "column > midpoint" for two-valued columns, canonical and sorted."""
    found: set[tuple[tuple[int, int, float], ...]] = set()
    for tree in trees:
        for path in _node_paths(tree):
            rule = _canonical_rule(path, sorted_columns)
            if rule:
                found.add(rule)
    for j, values in enumerate(sorted_columns):
        if len(values) == 2:
            found.add(((j, GT, _readable_threshold(values[0], values[1])),))
    return sorted(found)  # clause order, never set order


def _node_paths(tree: Any) -> list[tuple[tuple[int, int, float], ...]]:
    structure = tree.tree_
    left, right = structure.children_left, structure.children_right
    paths: list[tuple[tuple[int, int, float], ...]] = []
    stack: list[tuple[int, tuple[tuple[int, int, float], ...]]] = [(0, ())]
    while stack:
        node, path = stack.pop()
        if left[node] == -1:
            continue
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        for child, op in ((int(left[node]), LE), (int(right[node]), GT)):
            child_path = (*path, (feature, op, threshold))
            paths.append(child_path)
            stack.append((child, child_path))
    return paths


def _canonical_rule(
    path: tuple[tuple[int, int, float], ...], sorted_columns: list[np.ndarray]
) -> tuple[tuple[int, int, float], ...] | None:
    """The tightest bound per (feature, side), thresholds made readable; None when the rule never holds."""
    bounds: dict[tuple[int, int], float] = {}
    for feature, op, threshold in path:
        key = (feature, op)
        if key in bounds:
            bounds[key] = min(bounds[key], threshold) if op == LE else max(bounds[key], threshold)
        else:
            bounds[key] = threshold
    clauses = []
    for feature, op in sorted(bounds):
        values = sorted_columns[feature]
        at = int(np.searchsorted(values, bounds[(feature, op)], side="right"))
        if at == 0 or at == len(values):
            # every training value is on one side: the clause always holds (drop it) or never does (drop the rule)
            always = (op == GT) == (at == 0)
            if always:
                continue
            return None
        clauses.append((feature, op, _readable_threshold(float(values[at - 1]), float(values[at]))))
    return tuple(clauses) or None


def _readable_threshold(below: float, above: float) -> float:
    """The shortest decimal in the middle half of the gap between two neighbouring training values.

    The middle half keeps a quarter of the gap between the threshold and any training value, so
    that no value sits within rounding of it; the midpoint when no shorter decimal fits.
    """
    quarter = (above - below) / 4.0
    middle = below + 2.0 * quarter
    for digits in range(1, 18):
        candidate = float(f"{middle:.{digits}g}")
        if below + quarter <= candidate <= above - quarter and below < candidate < above:
            return candidate
    return middle if below <= middle < above else below


def _rule_activation(X: np.ndarray, rule: tuple[tuple[int, int, float], ...]) -> np.ndarray:
    active = np.ones(len(X), dtype=bool)
    for feature, op, threshold in rule:
        active &= (X[:, feature] <= threshold) if op == LE else (X[:, feature] > threshold)
    return active


def _pattern_key(active: np.ndarray) -> bytes:
    """Equal for two activations that are equal or complementary (collinear with the intercept)."""
    canonical = ~active if active[0] else active
    return np.packbits(canonical).tobytes()


# -- expert rules ---------------------------------------------------------------------------------


def _expert_by_name(rules: Sequence[Any], name: str) -> ExpertRuleTuple:
    for rule in rules:
        normal = check_expert_rule(rule)
        if normal[0] == name:
            return normal
    raise ValueError(f"expert rule {name!r} is not among the estimator's expert_rules")


def expert_column_kind(names: Sequence[str], feature: str) -> ColumnKind:
    """A feature that is a column of X is numeric; one with one-hot columns ``<feature>_<value>`` is categorical."""
    if feature in names:
        return "numeric"
    if any(name.startswith(f"{feature}_") for name in names):
        return "categorical"
    raise ExpertRuleError(f"no column of X is named {feature!r} or {feature + '_<value>'!r}", "feature")


def expert_clause_columns(names: Sequence[str], feature: str, op: str, value: Any) -> tuple[ColumnKind, list[int]]:
    """How a clause reads X: ``("numeric", [column])`` or ``("categorical", [one-hot columns present])``.

    One-hot columns are named ``<feature>_<value>`` (scikit-learn's OneHotEncoder naming); a
    category without a column (never seen in training) is all zero.
    """
    kind = expert_column_kind(names, feature)
    index = {name: j for j, name in enumerate(names)}
    if kind == "numeric":
        return kind, [index[feature]]
    values = value if op == "in" else (value,)
    return kind, sorted({index[f"{feature}_{v}"] for v in values if f"{feature}_{v}" in index})


def _expert_activation(X: np.ndarray, names: Sequence[str], rule: ExpertRuleTuple) -> np.ndarray:
    """The rows where a checked rule holds (see :meth:`_RuleFitBase._check_expert_rules`)."""
    _, _, clauses = rule
    active = np.ones(len(X), dtype=bool)
    for feature, op, value in clauses:
        kind, columns = expert_clause_columns(names, feature, op, value)
        if kind == "numeric":
            column = X[:, columns[0]]
            if op == "in":
                active &= np.isin(column, np.asarray(value, dtype=np.float64))
            else:
                active &= COMPARE[op](column, float(value))
            continue
        hit = np.zeros(len(X), dtype=bool)
        for j in columns:
            hit |= X[:, j] > 0.5
        active &= ~hit if op == "!=" else hit
    return active
