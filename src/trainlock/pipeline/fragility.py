"""The fragility report: every decision of the recipe that compared a continuous quantity with a threshold.

A decision is fragile when its margin is below ``fragility.tolerance``: a change as small as a
rounding difference, another thread count or another library version could flip it. Margins are
dimensionless so that one tolerance serves every kind:

``model_selection``       best mean CV score vs the runner-up's: |a - b| / max(|a|, |b|)
``penalty_selection``     rulefit: best mean CV loss of the penalty path vs the runner-up's, the same way
``term_selection``        rulefit, a kept term: its importance (|coefficient| * sd of the term, the change of the
                          linear score per sd) in log-odds, or over the target's sd for regression (at 0 it
                          would be dropped); a dropped term: 1 - |gradient| / penalty (at 0 it would enter)
``stability_selection``   rulefit: |selection frequency - keep_fraction|
``threshold_precision``   the decision threshold's out-of-fold precision vs business.target_precision, and
                          the best precision of the lower thresholds that missed it: the smaller gap
``threshold_f1``          best out-of-fold F1 vs the runner-up threshold's F1, relative
``threshold_neighbours``  the threshold vs the nearest other out-of-fold score, relative
``tree_splits``           per scikit-learn tree model (decision tree, forests, gradient boosting) and for
                          rulefit's rule clauses: the smallest relative distance between a threshold and a
                          training value of its feature; each fragile split is listed as ``tree_split``
                          (the MAX_LISTED_SPLITS closest per model; the summary counts them all).
                          A split is also fragile when rounding a training value to float32 (as
                          scikit-learn trees do) moves it across the threshold. Histogram-based models
                          (hist_gradient_boosting, LightGBM, XGBoost) are not inspected.

A confirmatory expert rule that was refit without penalty is kept by fiat, not by a threshold, and
is not listed.

What is inspected inside a fitted estimator is its family's fragility hook (``FamilySpec.inspect``):
:func:`rulefit_model_decisions`, :func:`tree_model_decisions`, or :func:`no_model_decisions`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
#: fragile splits listed one by one per model (the closest first); the summary counts them all
MAX_LISTED_SPLITS = 100
#: the order of kinds in the report; splits are listed one by one only when fragile (a forest has thousands)
KIND_ORDER = (
    "model_selection",
    "penalty_selection",
    "term_selection",
    "stability_selection",
    "threshold_precision",
    "threshold_f1",
    "threshold_neighbours",
    "tree_splits",
    "tree_split",
)


@dataclass(frozen=True)
class Decision:
    kind: str
    subject: str
    outcome: str
    value: float
    threshold: float
    margin: float
    fragile: bool


#: (where, feature index, op, threshold) of one split threshold of a fitted estimator
Split = tuple[str, int, str, float]


@dataclass(frozen=True)
class ModelDecisions:
    """What a family's fragility hook finds inside one fitted estimator."""

    #: decisions of its own fit (rulefit: the penalty, each term, stability selection)
    decisions: tuple[Decision, ...] = ()
    #: thresholds it compares input columns with, checked against the training values
    splits: tuple[Split, ...] = ()
    #: whether it rounds its inputs to float32 before comparing (scikit-learn trees do)
    float32: bool = False


def relative_gap(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


def report(decisions: list[Decision], tolerance: float) -> dict[str, Any]:
    """The fragility.json document: decisions in kind order (each kind in the order it was assessed)."""
    ordered = sorted(enumerate(decisions), key=lambda item: (KIND_ORDER.index(item[1].kind), item[0]))
    rows = [_finite(asdict(decision)) for _, decision in ordered]
    counts: dict[str, dict[str, int]] = {}
    for decision in decisions:
        entry = counts.setdefault(decision.kind, {"decisions": 0, "fragile": 0})
        entry["decisions"] += 1
        entry["fragile"] += int(decision.fragile)
    return {
        "schema_version": SCHEMA_VERSION,
        "tolerance": tolerance,
        "n_decisions": len(rows),
        "n_fragile": sum(1 for row in rows if row["fragile"]),
        "by_kind": counts,
        "decisions": rows,
    }


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    # plain JSON values; JSON has no inf/nan (atomic.dumps_json refuses them): an unbounded margin is null
    plain = {key: value.item() if isinstance(value, np.generic) else value for key, value in row.items()}
    return {
        key: (None if isinstance(value, float) and not np.isfinite(value) else value) for key, value in plain.items()
    }


# -- the recipe's decisions -----------------------------------------------------------------------


def model_selection(selection: dict[str, Any], cv_table: dict[str, Any], tolerance: float) -> list[Decision]:
    if "runner_up" not in selection:
        return []
    best, runner_up = selection["model"], selection["runner_up"]
    a, b = float(cv_table[best]["mean"]), float(cv_table[runner_up]["mean"])
    margin = relative_gap(a, b)
    tie = " (a tie, broken by name)" if a == b else ""
    return [
        Decision(
            "model_selection",
            f"cv {selection['metric']}",
            f"selected {best} over {runner_up}{tie}",
            a,
            b,
            margin,
            margin < tolerance or a == b,
        )
    ]


def threshold_decisions(
    y: np.ndarray, scores: np.ndarray, threshold: dict[str, Any], tolerance: float
) -> list[Decision]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(y, scores)
    precision, recall = precision[:-1], recall[:-1]
    chosen = float(threshold["threshold"])
    index = int(np.flatnonzero(cuts == chosen)[0])
    decisions: list[Decision] = []
    if threshold["strategy"] == "target_precision":
        target = float(threshold["target_precision"])
        if threshold["reached"]:
            below = precision[:index]
            gap_below = target - float(below.max()) if below.size else np.inf
            margin = min(float(precision[index]) - target, gap_below)
            outcome = f"lowest threshold reaching precision {target:g}"
        else:
            margin = target - float(precision.max())
            outcome = f"precision {target:g} not reached; threshold of the best precision"
        decisions.append(
            Decision(
                "threshold_precision",
                "business.target_precision",
                outcome,
                float(precision[index]),
                target,
                margin,
                margin < tolerance,
            )
        )
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        others = np.delete(f1, index)
        if others.size:
            runner = float(others.max())
            margin = relative_gap(float(f1[index]), runner)
            decisions.append(
                Decision(
                    "threshold_f1",
                    "max out-of-fold F1",
                    "threshold of the best F1",
                    float(f1[index]),
                    runner,
                    margin,
                    margin < tolerance,
                )
            )
    distinct = np.unique(scores)
    others = distinct[distinct != chosen]
    if others.size:
        nearest = float(others[np.argmin(np.abs(others - chosen))])
        margin = relative_gap(chosen, nearest)
        decisions.append(
            Decision(
                "threshold_neighbours",
                "decision threshold",
                "nearest other out-of-fold score",
                chosen,
                nearest,
                margin,
                margin < tolerance,
            )
        )
    return decisions


# -- rulefit --------------------------------------------------------------------------------------


def rulefit_decisions(model: Any, tolerance: float) -> list[Decision]:
    """Penalty choice, each term kept or dropped, and stability selection, from a fitted RuleFit estimator."""
    decisions: list[Decision] = []
    losses = model.penalty_cv_loss_
    if losses is not None:
        eligible = np.flatnonzero(model.penalty_eligible_)
        ranked = sorted(eligible, key=lambda i: (losses[i], i))
        if len(ranked) > 1:
            best, runner = int(ranked[0]), int(ranked[1])
            margin = relative_gap(float(losses[best]), float(losses[runner]))
            decisions.append(
                Decision(
                    "penalty_selection",
                    "rulefit penalty",
                    f"penalty {model.penalty_grid_[best]:.6g} over {model.penalty_grid_[runner]:.6g} by cv loss",
                    float(losses[best]),
                    float(losses[runner]),
                    margin,
                    margin < tolerance,
                )
            )
    terms = model.terms()
    for term in terms:
        subject = describe_term(term)
        if term.forced:
            continue
        frequency = term.selection_frequency
        if frequency is not None:
            margin = abs(frequency - model.keep_fraction)
            outcome = "kept" if frequency >= model.keep_fraction else "dropped"
            decisions.append(
                Decision(
                    "stability_selection",
                    subject,
                    outcome,
                    frequency,
                    float(model.keep_fraction),
                    margin,
                    margin < tolerance,
                )
            )
            if frequency < model.keep_fraction and term.expert_kind != "confirmatory":
                continue  # not in the final fit: the stability decision is the one that counts
        if term.coefficient != 0:
            margin = term.importance / model.score_scale_
            decisions.append(
                Decision("term_selection", subject, "kept", term.importance, 0.0, margin, margin < tolerance)
            )
        elif term.penalty_ratio is not None:
            margin = 1.0 - term.penalty_ratio
            decisions.append(
                Decision("term_selection", subject, "dropped", term.penalty_ratio, 1.0, margin, margin < tolerance)
            )
    return decisions


def describe_term(term: Any) -> str:
    if term.kind == "linear":
        return f"linear {term.column}"
    text = " and ".join(
        f"{feature} {op} {value!r}" if isinstance(value, str) else f"{feature} {op} {value}"
        for feature, op, value in term.clauses
    )
    return f"expert {term.name}: {text}" if term.kind == "expert" else f"rule {text}"


# -- split thresholds -----------------------------------------------------------------------------


def split_decisions(
    label: str, splits: Sequence[Split], X: np.ndarray, names: list[str], tolerance: float, *, float32: bool
) -> list[Decision]:
    """``splits`` are (where, feature index, op, threshold); ``X`` the training matrix the model saw."""
    if not splits:
        return []
    features = np.array([split[1] for split in splits], dtype=np.int64)
    thresholds = np.array([split[3] for split in splits], dtype=np.float64)
    margins = np.empty(len(splits))
    nearest = np.empty(len(splits))
    columns = {int(feature): np.unique(X[:, feature]) for feature in np.unique(features)}
    for feature, values in columns.items():  # vectorised per feature: a forest has hundreds of thousands of splits
        rows = np.flatnonzero(features == feature)
        at = np.searchsorted(values, thresholds[rows])
        below, above = values[np.clip(at - 1, 0, len(values) - 1)], values[np.clip(at, 0, len(values) - 1)]
        gap_below, gap_above = _relative_gaps(below, thresholds[rows]), _relative_gaps(above, thresholds[rows])
        closer_below = gap_below <= gap_above
        margins[rows] = np.where(closer_below, gap_below, gap_above)
        nearest[rows] = np.where(closer_below, below, above)
    fragile: list[Decision] = []
    # float32 rounding moves a value by at most 6e-8 of itself: only splits that close can flip
    for i in np.flatnonzero(margins < max(tolerance, 1e-6)):
        where, feature, op, threshold = splits[int(i)]
        flips = float32 and _float32_flips(columns[feature], threshold)
        if margins[i] < tolerance or flips:
            reason = "float32 rounding moves a training value across it" if flips else "a training value is this close"
            fragile.append(
                Decision(
                    "tree_split",
                    f"{label}, {where}: {names[feature]} {op} {threshold!r}",
                    reason,
                    float(nearest[i]),
                    threshold,
                    float(margins[i]),
                    True,
                )
            )
    smallest = float(margins.min())
    outcome = f"{len(splits)} split thresholds, {len(fragile)} fragile"
    if len(fragile) > MAX_LISTED_SPLITS:
        outcome += f", the {MAX_LISTED_SPLITS} closest listed"
        # sorted is stable: ties keep tree order
        fragile = sorted(fragile, key=lambda decision: decision.margin)[:MAX_LISTED_SPLITS]
    summary = Decision("tree_splits", label, outcome, smallest, tolerance, smallest, bool(fragile))
    return [summary, *fragile]


def _relative_gaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale == 0.0, 0.0, np.abs(a - b) / scale)


def _float32_flips(values: np.ndarray, threshold: float) -> bool:
    # only values within a float32 spacing of the threshold can change side when rounded
    spacing = float(np.spacing(np.float32(threshold))) * 2
    lo, hi = np.searchsorted(values, [threshold - spacing, threshold + spacing])
    near = values[lo:hi]
    return bool(np.any((near <= threshold) != (near.astype(np.float32).astype(np.float64) <= threshold)))


def sklearn_tree_splits(estimator: Any) -> list[Split]:
    """(where, feature, "<=", threshold) of every split of a scikit-learn tree or tree ensemble; [] otherwise."""
    if hasattr(estimator, "tree_"):
        trees = [("tree", estimator)]
    elif hasattr(estimator, "estimators_"):
        members = np.ravel(np.asarray(estimator.estimators_, dtype=object))
        trees = [(f"tree {i}", member) for i, member in enumerate(members) if hasattr(member, "tree_")]
    else:
        return []
    splits = []
    for label, tree in trees:
        structure = tree.tree_
        for node in np.flatnonzero(structure.children_left != -1):
            splits.append(
                (f"{label} node {int(node)}", int(structure.feature[node]), "<=", float(structure.threshold[node]))
            )
    return splits


def rulefit_splits(model: Any) -> list[Split]:
    """(where, feature, op, threshold) of every clause of the rules in the model."""
    names = list(model.column_names())
    splits = []
    for term in model.terms():
        if term.kind == "rule" and term.coefficient != 0:
            for name, op, threshold in term.clauses:
                splits.append((describe_term(term), names.index(name), op, float(threshold)))
    return splits


# -- the families' fragility hooks ----------------------------------------------------------------


def no_model_decisions(estimator: Any, tolerance: float) -> ModelDecisions:
    """A model with no thresholded decision of its own that this report can see (e.g. histogram boosting)."""
    return ModelDecisions()


def tree_model_decisions(estimator: Any, tolerance: float) -> ModelDecisions:
    """The split thresholds of a scikit-learn tree or tree ensemble; none for any other estimator."""
    return ModelDecisions(splits=tuple(sklearn_tree_splits(estimator)), float32=True)


def rulefit_model_decisions(estimator: Any, tolerance: float) -> ModelDecisions:
    """A fitted RuleFit estimator's penalty, term and stability decisions, and its rules' clause thresholds."""
    return ModelDecisions(tuple(rulefit_decisions(estimator, tolerance)), tuple(rulefit_splits(estimator)))


# -- the whole recipe -----------------------------------------------------------------------------


def assess(
    *,
    tolerance: float,
    selection: dict[str, Any],
    cv_table: dict[str, Any],
    model: Any,
    family: str,
    inspect: Callable[[Any, float], ModelDecisions],
    X_train: Any,
    y_train: np.ndarray,
    oof_scores: np.ndarray | None,
    threshold: dict[str, Any] | None,
) -> dict[str, Any]:
    """Every thresholded decision of a finished recipe run, as the fragility.json document.

    ``model`` is the fitted model (a Pipeline, or a CalibratedClassifierCV of Pipelines) of the
    family ``family``, ``inspect`` that family's fragility hook, and ``X_train`` the raw training
    rows the model was fitted on.
    """
    decisions = model_selection(selection, cv_table, tolerance)
    if threshold is not None and oof_scores is not None:
        decisions += threshold_decisions(y_train, oof_scores, threshold, tolerance)
    for label, pipeline in _pipelines(model, family):
        found = inspect(pipeline.steps[-1][1], tolerance)
        decisions += found.decisions
        if found.splits:
            X = np.asarray(pipeline[:-1].transform(X_train), dtype=np.float64)
            names = [str(name) for name in pipeline[:-1].get_feature_names_out()]
            decisions += split_decisions(label, found.splits, X, names, tolerance, float32=found.float32)
    return report(decisions, tolerance)


def _pipelines(model: Any, family: str) -> list[tuple[str, Any]]:
    members = getattr(model, "calibrated_classifiers_", None)
    if members is not None:
        return [(f"{family} (calibration member {i})", member.estimator) for i, member in enumerate(members)]
    return [(family, model)] if hasattr(model, "steps") else []
