"""A fitted rulefit pipeline as rules.json, rules.md and rules.sql.

The model reads the preprocessed matrix; these files name the data's own columns. rulefit's
preprocessing only imputes and one-hot encodes (see ``preprocess.named_preprocessor``), so a threshold on a
column is a threshold on the data's value (after imputation), and a one-hot column ``c_v`` compared
with 0.5 is ``c == 'v'`` or ``c != 'v'``.

rules.sql repeats the model's arithmetic exactly: the same imputed values, the same comparisons,
the terms added in the model's order with literals that parse to the same doubles; so a database
computes the scores the Python model does (up to the last bit of ``exp`` for probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from .rulefit import Term, expert_clause_columns

SCHEMA_VERSION = 1
RULES_JSON, RULES_MD, RULES_SQL = "rules.json", "rules.md", "rules.sql"
INPUT_TABLE = "input"
ROWID = "trainlock_rowid"
_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


@dataclass(frozen=True)
class _Column:
    """Where a column of the model's matrix comes from: a numeric input, or one category of a categorical one."""

    feature: str
    fill: Any
    category: str | None = None


def write_rule_files(run_dir: Path, pipeline: Any, classes: list[Any]) -> list[str]:
    """Write rules.json, rules.md and rules.sql for a fitted rulefit pipeline; return their names."""
    document = rules_document(pipeline, classes)
    atomic.write_json(run_dir / RULES_JSON, document)
    atomic.write_text(run_dir / RULES_MD, rules_markdown(document))
    atomic.write_text(run_dir / RULES_SQL, rules_sql(pipeline, document))
    return [RULES_JSON, RULES_MD, RULES_SQL]


# -- rules.json -----------------------------------------------------------------------------------


def rules_document(pipeline: Any, classes: list[Any]) -> dict[str, Any]:
    model = pipeline.named_steps["model"]
    columns = _columns(pipeline)
    listed = _listed_terms(model)
    classification = hasattr(model, "classes_")
    terms = []
    for term_id, term in listed:
        entry: dict[str, Any] = {
            "id": term_id,
            "kind": term.kind,
            "coefficient": term.coefficient,
            "importance": term.importance,
            "support": term.support,
            "selection_frequency": term.selection_frequency,
            "expert": {"name": term.name, "kind": term.expert_kind, "refit_without_penalty": term.forced}
            if term.kind == "expert"
            else None,
        }
        if term.kind == "linear":
            assert term.column is not None  # a linear term names its column
            source = columns[term.column]
            entry["clauses"] = []
            entry["linear"] = {"feature": source.feature, "lower": term.lower, "upper": term.upper}
            entry["text"] = f"{source.feature}, winsorised to [{term.lower!r}, {term.upper!r}]"
        else:
            clauses = (
                list(term.clauses) if term.kind == "expert" else [_readable(clause, columns) for clause in term.clauses]
            )
            entry["clauses"] = [
                {"feature": f, "op": op, "value": list(v) if isinstance(v, tuple) else v} for f, op, v in clauses
            ]
            entry["linear"] = None
            entry["text"] = " and ".join(_clause_text(f, op, v) for f, op, v in clauses)
        terms.append(entry)
    stability = None
    if model.selection_frequency_ is not None:
        stability = {"n_bootstrap": int(model.n_bootstrap), "keep_fraction": float(model.keep_fraction)}
    return {
        "schema_version": SCHEMA_VERSION,
        "model": "rulefit",
        "task": "classification" if classification else "regression",
        "positive_class": classes[1] if classification else None,
        "score": "1 / (1 + exp(-linear_score))" if classification else "linear_score",
        "linear_score": "intercept + sum of coefficient * term, terms in the order listed",
        "units": "thresholds are in the data's own units; a missing value is first replaced by its training fill value",
        "intercept": model.intercept_,
        "penalty": {
            "value": model.penalty_,
            "chosen_by": "cv" if model.penalty_cv_loss_ is not None else "config",
            "grid": None if model.penalty_grid_ is None else [float(v) for v in model.penalty_grid_],
            "cv_loss": None if model.penalty_cv_loss_ is None else [float(v) for v in model.penalty_cv_loss_],
        },
        "stability": stability,
        "n_candidates": len(model.coef_),
        "n_rules": sum(1 for _, term in listed if term.kind != "linear" and term.coefficient != 0),
        "n_linear": sum(1 for _, term in listed if term.kind == "linear"),
        "fill_values": {source.feature: source.fill for source in columns.values()},
        "terms": terms,
    }


def _listed_terms(model: Any) -> list[tuple[str, Term]]:
    """Terms with a coefficient, and every expert rule; ids by kind in the model's canonical order."""
    chosen = [term for term in model.terms() if term.coefficient != 0 or term.kind == "expert"]
    prefix = {"expert": "e", "rule": "r", "linear": "l"}
    counts = {kind: sum(1 for term in chosen if term.kind == kind) for kind in prefix}
    seen = dict.fromkeys(prefix, 0)
    listed = []
    for term in chosen:
        seen[term.kind] += 1
        width = max(2, len(str(counts[term.kind])))
        listed.append((f"{prefix[term.kind]}{seen[term.kind]:0{width}d}", term))
    return listed


def _readable(clause: tuple[str, str, Any], columns: dict[str, _Column]) -> tuple[str, str, Any]:
    name, op, threshold = clause
    source = columns[name]
    if source.category is None:
        return source.feature, op, threshold
    # a one-hot column is 0 or 1: "> t" for t in (0, 1) is the category, "<= t" is any other value
    return source.feature, "==" if op == ">" else "!=", source.category


def _clause_text(feature: str, op: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        shown = "[" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in value) + "]"
    else:
        shown = repr(value) if isinstance(value, str) else str(value)
    return f"{feature} {op} {shown}"


def _columns(pipeline: Any) -> dict[str, _Column]:
    """Each column of the model's matrix, from the fitted preprocessor."""
    preprocess = pipeline.named_steps["preprocess"]
    columns: dict[str, _Column] = {}
    for name, transformer, inputs in preprocess.transformers_:
        if name == "numeric":
            fills = transformer.named_steps["impute"].statistics_
            for feature, fill in zip(inputs, fills, strict=True):
                columns[str(feature)] = _Column(str(feature), float(fill))
        elif name == "categorical":
            fills = transformer.named_steps["impute"].statistics_
            encoder = transformer.named_steps["one_hot"]
            names = encoder.get_feature_names_out(list(inputs))
            position = 0
            for feature, fill, categories in zip(inputs, fills, encoder.categories_, strict=True):
                for category in categories:
                    columns[str(names[position])] = _Column(str(feature), str(fill), str(category))
                    position += 1
    return columns


# -- rules.md -------------------------------------------------------------------------------------


def rules_markdown(document: dict[str, Any]) -> str:
    task = document["task"]
    lines = ["# RuleFit model", ""]
    if task == "classification":
        lines.append(f"Probability of class `{document['positive_class']}` = 1 / (1 + exp(-linear score)).")
    else:
        lines.append("Prediction = linear score.")
    penalty = document["penalty"]
    chosen = "chosen by cross-validation" if penalty["chosen_by"] == "cv" else "set in the config"
    lines += [
        f"Linear score = {document['intercept']!r} (intercept) + the sum of coefficient × term below "
        "(a rule is 1 when all its clauses hold, else 0).",
        f"{document['n_rules']} rules and {document['n_linear']} linear terms "
        f"of {document['n_candidates']} candidates; "
        f"L1 penalty {penalty['value']:.6g}, {chosen}.",
        "Thresholds are in the data's own units; a missing value is first replaced by its training fill value "
        "(see rules.json).",
        "",
        "| id | kind | term | coefficient | support | importance | selected in |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    by_importance = sorted(document["terms"], key=lambda term: (-term["importance"], term["id"]))
    for term in by_importance:
        kind = term["kind"] if term["expert"] is None else f"expert ({term['expert']['kind']})"
        support = "" if term["support"] is None else f"{term['support']:.3f}"
        frequency = "" if term["selection_frequency"] is None else f"{term['selection_frequency']:.0%}"
        text = term["text"].replace("|", "\\|")
        lines.append(
            f"| {term['id']} | {kind} | {text} | {term['coefficient']:.6g} | {support} | "
            f"{term['importance']:.4g} | {frequency} |"
        )
    return "\n".join(lines) + "\n"


# -- rules.sql ------------------------------------------------------------------------------------


def rules_sql(pipeline: Any, document: dict[str, Any]) -> str:
    model = pipeline.named_steps["model"]
    features = pipeline.named_steps["features"]
    names = [str(name) for name in model.feature_names_in_]
    columns = _columns(pipeline)
    listed = [(term_id, term) for term_id, term in _listed_terms(model) if term.coefficient != 0]
    term_sql = [(term_id, term, _term_sql(term, names)) for term_id, term in listed]
    used = sorted({name for _, term, _ in term_sql for name in _columns_used(term, names)}, key=names.index)
    inputs = ", ".join(sorted({raw for name in used for raw in _raw_inputs(columns[name].feature, features)}))
    classification = document["task"] == "classification"
    header = [
        '-- trainlock rulefit model: scores the rows of a table (or view) named "input" that has the',
        f"-- model's input columns: {inputs}.",
        "-- One output row per input row, ordered by rowid:",
        "--   linear_score  the intercept plus, for each term below, coefficient * term",
    ]
    if classification:
        header.append(
            f"--   score         the probability of class {document['positive_class']!r}, "
            "1 / (1 + exp(-linear_score)) (needs SQLite's math functions)"
        )
    else:
        header.append("--   score         the prediction (= linear_score)")
    header += [
        "-- Missing values are replaced by their training fill values; thresholds are in the data's own units.",
        "",
    ]
    prepared = [f"    {_ident(INPUT_TABLE)}.rowid AS {_ident(ROWID)}"]
    for name in used:
        prepared.append(f"    {_prepared_sql(columns[name], features)} AS {_ident(name)}")
    terms = [f"    {_ident(ROWID)}"]
    for term_id, _, sql in term_sql:
        terms.append(f"    -- {term_id}: {_term_comment(term_id, document)}\n    {sql} AS {_ident(term_id)}")
    score = _number(model.intercept_)
    for term_id, term, _ in term_sql:
        score += f" + {_number(term.coefficient)} * {_ident(term_id)}"
    final = "1.0 / (1.0 + exp(-linear_score))" if classification else "linear_score"
    body = [
        "WITH prepared AS (",
        "  SELECT",
        ",\n".join(prepared),
        f"  FROM {_ident(INPUT_TABLE)}",
        "),",
        "terms AS (",
        "  SELECT",
        ",\n".join(terms),
        "  FROM prepared",
        "),",
        "scored AS (",
        f"  SELECT {_ident(ROWID)}, {score} AS linear_score",
        "  FROM terms",
        ")",
        f"SELECT {_ident(ROWID)} AS rowid, linear_score, {final} AS score",
        "FROM scored",
        f"ORDER BY {_ident(ROWID)};",
    ]
    return "\n".join(header + body) + "\n"


def _term_comment(term_id: str, document: dict[str, Any]) -> str:
    for term in document["terms"]:
        if term["id"] == term_id:
            return term["text"].replace("\n", " ")
    raise KeyError(term_id)


def _term_sql(term: Term, names: list[str]) -> str:
    if term.kind == "linear":
        # a linear term names its column and its winsorising bounds
        assert term.column is not None and term.lower is not None and term.upper is not None
        return f"MIN(MAX({_ident(term.column)}, {_number(term.lower)}), {_number(term.upper)})"
    if term.kind == "rule":
        condition = " AND ".join(f"{_ident(name)} {op} {_number(value)}" for name, op, value in term.clauses)
    else:
        condition = " AND ".join(_expert_clause_sql(names, feature, op, value) for feature, op, value in term.clauses)
    return f"CASE WHEN {condition} THEN 1.0 ELSE 0.0 END"


def _expert_clause_sql(names: list[str], feature: str, op: str, value: Any) -> str:
    """The clause as the model evaluates it (see rulefit._expert_activation)."""
    kind, indices = expert_clause_columns(names, feature, op, value)
    if kind == "numeric":
        column = _ident(names[indices[0]])
        if op == "in":
            return f"{column} IN ({', '.join(_number(float(v)) for v in value)})"
        return f"{column} {_SQL_OPS[op]} {_number(float(value))}"
    hit = " OR ".join(f"{_ident(names[j])} > 0.5" for j in indices) or "0"
    return f"NOT ({hit})" if op == "!=" else f"({hit})"


def _columns_used(term: Term, names: list[str]) -> list[str]:
    if term.kind == "linear":
        return [term.column] if term.column else []
    if term.kind == "rule":
        return [name for name, _, _ in term.clauses]
    used = []
    for feature, op, value in term.clauses:
        _, indices = expert_clause_columns(names, feature, op, value)
        used += [names[j] for j in indices]
    return used


def _prepared_sql(source: _Column, features: Any) -> str:
    """A matrix column computed from the input table exactly as the features and preprocess steps do."""
    if source.category is not None:
        value = f"COALESCE(CAST({_ident(source.feature)} AS TEXT), {_text(source.fill)})"
        return f"CASE WHEN {value} = {_text(source.category)} THEN 1.0 ELSE 0.0 END"
    return f"COALESCE({_typed_sql(source.feature, features)}, {_number(source.fill)})"


def _typed_sql(feature: str, features: Any) -> str:
    """A numeric input column or derived feature; NULL where the recipe has NaN."""
    for name, kind, terms, epsilon in features.derived:
        if name != feature:
            continue
        if kind == "weighted_sum":
            total = "0.0"
            for column, weight in terms:  # the summation order of TabularFeatures
                total = f"({total} + {_number(weight)} * CAST({_ident(column)} AS REAL))"
            return total
        (numerator, _), (denominator, _) = terms
        return f"(CAST({_ident(numerator)} AS REAL) / (CAST({_ident(denominator)} AS REAL) + {_number(epsilon)}))"
    return f"CAST({_ident(feature)} AS REAL)"


def _raw_inputs(feature: str, features: Any) -> list[str]:
    for name, _, terms, _ in features.derived:
        if name == feature:
            return [column for column, _ in terms]
    return [feature]


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _text(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _number(value: float) -> str:
    """A REAL literal that SQLite parses to exactly ``value``.

    SQLite (3.40) divides the decimal digits by a power of ten in long double, so a literal that
    lies near the midpoint of two doubles, as a shortest repr may, can come back one ulp off;
    17 significant digits lie within a twentieth of an ulp of the double and come back exact.
    Beyond 1e250 (or below 1e-250) the power of ten is inexact too: such a value is written as a
    moderate literal times an exact power of two.
    """
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"cannot write {value!r} as an SQL number")
    if value != 0.0 and not 1e-250 < abs(value) < 1e250:
        shift = 600.0 if abs(value) < 1.0 else -600.0
        return f"({_number(value * 2.0**shift)} * {_number(2.0**-shift)})"
    text = f"{value:.17g}"
    if not any(mark in text for mark in ".e"):
        text += ".0"
    return f"({text})" if text.startswith("-") else text
