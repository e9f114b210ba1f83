"""Several runs side by side: what differs, where their traces part, and how metrics spread across seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ops.diff import diff_folders
from ..store import Store
from . import charts
from .load import RunView
from .markup import Safe, badge, card, esc, join, link, short, table, tag
from .run import RunHref

#: headline metrics shown first; any other float test metric follows in name order
_HEADLINE = (
    "roc_auc",
    "average_precision",
    "f1",
    "precision",
    "recall",
    "accuracy",
    "log_loss",
    "brier",
    "rmse",
    "mae",
    "r2",
)


def compare_body(views: Sequence[RunView], *, store: Store, run_href: RunHref | None = None) -> Safe:
    blocks: list[Any] = [tag("h1", f"Compare {len(views)} runs"), side_by_side(views, run_href)]
    blocks += [diff_section(views[0], other, store=store) for other in views[1:]]
    blocks += replicate_sections(views)
    overlay = _overlay(views)
    if overlay is not None:
        blocks.append(card("Precision–recall of each run", overlay, id="pr-overlay"))
    return join(blocks)


def _label(view: RunView, run_href: RunHref | None) -> Safe:
    return link(run_href(view.run_id), view.run_id) if run_href else esc(view.run_id)


def side_by_side(views: Sequence[RunView], run_href: RunHref | None) -> Safe:
    def facts_of(view: RunView) -> dict[str, Any]:
        lineage = view.lineage
        identity = lineage.identity
        row = {
            "kind": view.kind,
            "started (UTC)": view.started.get("time_utc"),
            "seed": view.seed,
            "selected model": view.metrics.get("selected_model"),
            "config sha256": short(lineage.config.sha256 if lineage.config else None),
            "dataset sha256": short(lineage.dataset.sha256 if lineage.dataset else None),
            "replicate key": short(identity.replicate_key if identity else None),
            "strict key": short(identity.strict_key if identity else None),
            "model fingerprint": short(lineage.fingerprints.get("model")),
        }
        for name, value in _metrics(view).items():
            row[f"test {name}"] = value
        return row

    columns = [facts_of(view) for view in views]
    keys = list(dict.fromkeys(key for column in columns for key in column))
    rows, classes = [], []
    for key in keys:
        values = [column.get(key) for column in columns]
        rows.append((key, *values))
        classes.append("diverged" if len({str(v) for v in values}) > 1 else None)
    numeric = tuple(range(1, len(views) + 1))
    return card(
        "Side by side",
        table(("", *(_label(v, run_href) for v in views)), rows, numeric=numeric, row_classes=classes),
        tag("p", "highlighted rows differ between the runs", class_="muted"),
        id="side-by-side",
    )


def diff_section(a: RunView, b: RunView, *, store: Store) -> Safe:
    report = diff_folders(a.folder, b.folder, store=store)
    level = badge(report.level, {"exact": "ok", "numeric": "warn"}.get(report.level, "bad"))
    parts: list[Any] = [tag("p", level, " ", "; ".join(report.causes) or "no differences")]
    first = report.first_divergence
    if first is not None:
        measure = ""
        if first.max_abs is not None:
            measure = (
                f" (max abs {first.max_abs:.3g}, max rel {first.max_rel:.3g}, {first.max_ulp} ulp, "
                f"{first.n_differing} of {first.n_values} values differ)"
            )
        parts.append(
            tag(
                "p",
                "first divergent step: ",
                tag("strong", first.step, class_="first-divergence"),
                f" — {first.status}{measure}",
                class_="divergence",
            )
        )
    else:
        parts.append(tag("p", "every step of the trace is equal", class_="divergence"))
    changes: list[tuple[str, Any, Any, Any]] = []
    if report.seed is not None:
        changes.append(("seed", "seed", report.seed.a, report.seed.b))
    for section, items in (
        ("dataset", report.dataset),
        ("config", report.config),
        ("code", report.code),
        ("identity", report.identity),
        ("fingerprint", report.fingerprints),
        ("metric", report.metrics),
        ("environment", report.environment[:25]),
    ):
        changes += [(section, change.key, _cell(change.a), _cell(change.b)) for change in items]
    if changes:
        parts.append(table(("what", "key", a.run_id, b.run_id), changes))
    steps = [
        (s.step, s.status, s.max_abs, f"{s.n_differing} of {s.n_values}" if s.n_values is not None else None)
        for s in report.steps
    ]
    classes = ["diverged" if first is not None and s.step == first.step else None for s in report.steps]
    parts.append(
        tag(
            "details",
            tag(
                "summary",
                f"trace: {sum(s.status != 'equal' for s in report.steps)} of {len(report.steps)} steps differ",
            ),
            table(
                ("step", "status", "max abs difference", "values differing"), steps, numeric=(2, 3), row_classes=classes
            ),
            open="open",
        )
    )
    return card(f"{a.run_id} vs {b.run_id}", *parts, id=f"diff-{b.run_id}")


def replicate_sections(views: Sequence[RunView]) -> list[Safe]:
    """For each replicate group of two or more runs (same everything but the seed): metric spread across seeds."""
    groups: dict[str, list[RunView]] = {}
    for view in views:
        key = view.lineage.identity.replicate_key if view.lineage.identity else None
        if key:
            groups.setdefault(key, []).append(view)
    sections = []
    for key, members in sorted(groups.items(), key=lambda item: item[1][0].run_id):
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda m: (str(m.seed), m.run_id))
        values = [(m.run_id, m.seed, _metrics(m)) for m in members]
        names = [n for n in _metrics(members[0]) if all(isinstance(v[2].get(n), float) for v in values)]
        if not names:
            continue
        stats = []
        for name in names:
            column = [v[2][name] for v in values]
            mean = sum(column) / len(column)
            std = (sum((x - mean) ** 2 for x in column) / (len(column) - 1)) ** 0.5
            stats.append((name, mean, std, min(column), max(column), len(column)))
        seeds = ", ".join(str(m.seed) for m in members)
        sections.append(
            card(
                f"Replicate group {key[:12]}: {len(members)} runs, seeds {seeds}",
                charts.metric_distribution(values, names),
                table(("metric", "mean", "std", "min", "max", "runs"), stats, numeric=(1, 2, 3, 4, 5)),
                id=f"replicates-{key[:12]}",
            )
        )
    return sections


def _overlay(views: Sequence[RunView]) -> Safe | None:
    curves = []
    for view in views:
        frame = view.predictions
        if view.task != "classification" or frame is None or len(frame) == 0:
            continue
        y = charts.positives(frame["actual"].tolist(), view.schema.get("classes") or [])
        if y.min() != y.max():
            curves.append((f"{view.run_id} (seed {view.seed})", y, frame["score"].to_numpy(dtype="float64")))
    return charts.precision_recall_overlay(curves) if len(curves) > 1 else None


def _metrics(view: RunView) -> dict[str, float]:
    test = view.metrics.get("test") or {}
    names = [n for n in _HEADLINE if isinstance(test.get(n), float)]
    names += sorted(n for n, v in test.items() if isinstance(v, float) and n not in _HEADLINE)
    return {name: test[name] for name in names}


def _cell(value: Any) -> Any:
    text = value if isinstance(value, (str, int, float)) or value is None else str(value)
    return (
        short(text, 16)
        if isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)
        else text
    )
