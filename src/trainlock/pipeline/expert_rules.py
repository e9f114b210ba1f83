"""Expert rules of the rule ensemble: the one check of a rule and its clauses.

A rule is ``(name, kind, clauses)`` and a clause ``(feature, op, value)``, ``value`` a list for
``in``. The same check serves the three places that meet a rule: the config (before the data is
read), the estimator (at fit, against the columns of X) and the recipe (against the data, where a
problem is reported under its key path). Each caller knows what a feature is in its own context and
passes the feature's column kind; this module knows what a clause may say about that kind.

Imports nothing heavier than NumPy: the config schema (``models.rulefit.expert_rules``) uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

import numpy as np

ExpertOp = Literal["<", "<=", ">", ">=", "==", "!=", "in"]
ExpertKind = Literal["confirmatory", "optional"]
#: what the feature of a clause is in the data: a number, or a category (one-hot columns in X)
ColumnKind = Literal["numeric", "categorical"]
#: the part of a clause or rule a problem is in; None: the clause as a whole
RulePart = Literal["feature", "op", "value", "kind", "clauses"]

EXPERT_OPS: tuple[str, ...] = get_args(ExpertOp)
EXPERT_KINDS: tuple[str, ...] = get_args(ExpertKind)
ORDER_OPS = ("<", "<=", ">", ">=")

#: how a clause compares a numeric column with its value (``in`` is ``np.isin``)
COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}

Clause = tuple[str, str, Any]
ExpertRuleTuple = tuple[str, str, tuple[Clause, ...]]


class ExpertRuleError(ValueError):
    """An expert rule or clause that cannot be used; ``part`` names what is wrong in it.

    A ValueError, as scikit-learn expects of a bad parameter; the recipe and the config
    schema turn it into a ConfigError naming the key path.
    """

    def __init__(self, message: str, part: RulePart | None = None) -> None:
        super().__init__(message)
        self.part = part


def check_expert_clause(feature: str, op: str, value: Any, column: ColumnKind | None = None) -> Clause:
    """The clause with a list value as a tuple; raise :class:`ExpertRuleError` when it cannot hold.

    ``column`` is the kind of the feature's column where the caller knows it; without it only
    the clause's own form is checked.
    """
    if op not in EXPERT_OPS:
        raise ExpertRuleError(f"unknown operator {op!r}; use one of {', '.join(EXPERT_OPS)}", "op")
    many = isinstance(value, (list, tuple))
    if op == "in":
        if not many or not value:
            raise ExpertRuleError("op 'in' needs a non-empty list of values, e.g. value: [US, GB]")
    elif many:
        raise ExpertRuleError(f"op '{op}' compares with one value; use op 'in' for a list")
    elif op in ORDER_OPS and isinstance(value, str):
        raise ExpertRuleError(f"op '{op}' needs a number, found text {value!r}")
    values = value if many else (value,)
    if column == "numeric" and any(isinstance(item, str) for item in values):
        raise ExpertRuleError(f"'{feature}' is numeric; give a number", "value")
    if column == "categorical" and op in ORDER_OPS:
        raise ExpertRuleError(f"'{feature}' is categorical; use ==, != or in", "op")
    return str(feature), str(op), tuple(value) if many else value


def check_expert_rule(rule: Sequence[Any], column_kind: Callable[[str], ColumnKind] | None = None) -> ExpertRuleTuple:
    """``(name, kind, clauses)`` with every clause checked (see :func:`check_expert_clause`), as tuples.

    ``column_kind`` gives a feature's column kind, or raises :class:`ExpertRuleError` (part
    "feature") when the feature is not there.
    """
    name, kind, clauses = rule
    if kind not in EXPERT_KINDS:
        raise ExpertRuleError(
            f"expert rule {name!r}: kind must be 'confirmatory' or 'optional', found {kind!r}", "kind"
        )
    if not clauses:
        raise ExpertRuleError(f"expert rule {name!r}: needs at least one clause", "clauses")
    checked = []
    for index, (feature, op, value) in enumerate(clauses):
        try:
            column = column_kind(str(feature)) if column_kind is not None else None
            checked.append(check_expert_clause(feature, op, value, column))
        except ExpertRuleError as exc:
            raise ExpertRuleError(f"expert rule {name!r}, clause {index}: {exc}", exc.part) from None
    return str(name), str(kind), tuple(checked)
