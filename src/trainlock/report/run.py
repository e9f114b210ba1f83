"""The report of one run: what it is, whether it still verifies, how it was made and how good it is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TrainlockError
from ..ops.verify import ledger_provider, verify
from ..run import LINEAGE
from ..store import Store
from . import charts
from .graph import lineage_graph
from .load import RunView
from .markup import Safe, badge, card, esc, facts, join, link, number, short, table, tag

RunHref = Callable[[str], str]


def verify_section(view: RunView, *, store: Store, rehash: bool) -> tuple[Safe, bool | None]:
    """The verify checks as a table, and whether they passed (``None`` when verify could not run).

    The same checks as ``trainlock verify``, the ledger's included.
    """
    try:
        report = verify(str(view.folder.path), store=store, rehash=rehash, providers=(ledger_provider,))
    except TrainlockError as exc:
        return card("Verify", badge("could not verify", "bad"), tag("p", str(exc)), id="verify"), None
    rows = [(check.name, _status(check.status), check.path, check.detail) for check in report.checks]
    verdict = (
        badge(f"verified: {len(report.checks)} checks", "ok")
        if report.ok
        else badge(f"FAILED: {len(report.failures)} of {len(report.checks)} checks", "bad")
    )
    body = tag(
        "details",
        tag("summary", "all checks"),
        table(("check", "status", "path", "detail"), rows),
        open="open" if not report.ok else None,
    )
    return card(
        "Verify",
        tag("p", verdict, f" re-hashed every input and output this run's {LINEAGE.name} names"),
        body,
        id="verify",
    ), report.ok


def summary_section(view: RunView, verified: bool | None, run_href: RunHref | None) -> Safe:
    lineage, started = view.lineage, view.started
    identity, parent = lineage.identity, lineage.parent
    pairs: list[tuple[Any, Any]] = [
        ("kind", view.kind),
        ("status", badge("complete", "ok")),
        (
            "verify",
            {True: badge("ok", "ok"), False: badge("failed", "bad"), None: badge("not checked", "warn")}[verified],
        ),
        ("started (UTC)", started.get("time_utc")),
        ("command", " ".join(map(str, started.get("argv") or [])) or None),
        ("by", f"{started.get('user') or '?'} on {started.get('host') or '?'}" if started else None),
        ("working directory", started.get("cwd")),
        (
            "git",
            f"{started.get('git_commit')}{' (dirty)' if started.get('git_dirty') else ''}"
            if started.get("git_commit")
            else None,
        ),
        ("trainlock", started.get("trainlock") or (lineage.code or {}).get("version")),
        ("seed", view.seed),
        ("task", view.task),
        ("selected model", view.metrics.get("selected_model")),
        (
            "config sha256",
            short(started.get("config_sha256") or (lineage.config.sha256 if lineage.config else None), 64),
        ),
        ("replicate key", short(identity.replicate_key if identity else None, 64)),
        ("strict key", short(identity.strict_key if identity else None, 64)),
        ("parent run", link(run_href(parent), parent) if parent and run_href else parent),
    ]
    pairs += [(f"fingerprint {name}", short(value, 64)) for name, value in sorted(lineage.fingerprints.items())]
    children = lineage.children
    if children:
        shown = [link(run_href(child), child) if run_href else esc(child) for child in children]
        pairs.append(("child runs", Safe(", ".join(shown))))
    return card("Summary", facts((k, v) for k, v in pairs if v is not None), id="summary")


def metrics_sections(view: RunView) -> tuple[Safe | None, Safe | None]:
    """The test metrics card and the cross-validation card (``None`` where the run has none)."""
    test_card = cv_card = None
    test = view.metrics.get("test") or {}
    if test:
        rows = [(name, value) for name, value in sorted(test.items()) if isinstance(value, (int, float))]
        test_card = card(
            "Test metrics",
            table(("metric", "value"), rows, numeric=(1,)),
            tag(
                "p",
                f"{view.metrics.get('n_test', test.get('n'))} test rows, {view.metrics.get('n_train')} training rows",
                class_="muted",
            ),
            id="test-metrics",
        )
    cv = view.metrics.get("cv") or {}
    table_ = cv.get("table") or {}
    if table_:
        selected = view.metrics.get("selected_model")
        n = max((len(row.get("folds") or []) for row in table_.values()), default=0)
        names = sorted(table_, key=lambda k: (-(table_[k].get("mean") or float("-inf")), k))
        rows = [
            (
                name + (" ✓" if name == selected else ""),
                table_[name].get("mean"),
                table_[name].get("std"),
                *((table_[name].get("folds") or []) + [None] * n)[:n],
            )
            for name in names
        ]
        body = table(
            ("model", f"mean {cv.get('metric')}", "std", *(f"fold {i}" for i in range(n))),
            rows,
            numeric=tuple(range(1, n + 3)),
            row_classes=["best" if name == selected else None for name in names],
        )
        selection = view.metrics.get("selection") or {}
        note = (
            tag(
                "p",
                f"selected {selection.get('model')} by {selection.get('metric')}, "
                f"margin {selection.get('margin'):.4f} over {selection.get('runner_up')}",
                class_="muted",
            )
            if isinstance(selection.get("margin"), float)
            else ""
        )
        cv_card = card(
            f"Cross-validation ({cv.get('n_splits')} folds)",
            tag("div", tag("div", body, note), charts.cv_folds(table_, str(cv.get("metric")), selected), class_="grid"),
            id="cv",
        )
    return test_card, cv_card


def chart_sections(view: RunView) -> list[Safe]:
    frame = view.predictions
    if frame is None or len(frame) == 0:
        return []
    scores = frame["score"].to_numpy(dtype="float64")
    if view.task == "regression":
        actual = frame["actual"].to_numpy(dtype="float64")
        return [card("Predictions", charts.predicted_vs_actual(actual, scores), id="predictions")]
    y = charts.positives(frame["actual"].tolist(), view.schema.get("classes") or [])
    if y.min() == y.max():
        return [card("Precision–recall", tag("p", "the test set holds one class only: no curve to draw"))]
    sections = [card("Precision–recall", charts.precision_recall(y, scores, view.threshold), id="precision-recall")]
    if view.threshold.get("score", "probability") == "probability" and scores.min() >= 0.0 and scores.max() <= 1.0:
        sections.append(card("Calibration", charts.calibration(y, scores), id="calibration"))
    else:
        sections.append(
            card(
                "Calibration",
                tag("p", "the model's scores are not probabilities: no calibration curve", class_="muted"),
                id="calibration",
            )
        )
    return sections


def threshold_section(view: RunView) -> Safe | None:
    if not view.threshold:
        return None
    return card("Decision threshold", facts(sorted((k, v) for k, v in view.threshold.items())), id="threshold")


def config_section(view: RunView) -> Safe | None:
    config = view.lineage.config
    if config is None:
        return None
    where = f"the config of run {config.run}" if config.run else config.path
    return card(
        "Config",
        tag("p", "resolved snapshot ", tag("code", where), " sha256 ", short(config.sha256, 64)),
        tag("pre", view.config_text) if view.config_text is not None else "",
        id="config",
    )


def data_section(view: RunView) -> Safe | None:
    dataset = view.lineage.dataset
    schema = view.schema
    if dataset is None and not schema:
        return None
    pairs = [
        ("dataset", dataset.path if dataset else None),
        ("sha256", short(dataset.sha256 if dataset else None, 64)),
        ("target", schema.get("target")),
        ("classes", ", ".join(map(str, schema.get("classes") or [])) or None),
        ("derived features", ", ".join(schema.get("derived") or []) or None),
        ("dropped columns", ", ".join(schema.get("dropped") or []) or None),
    ]
    features = schema.get("features") or []
    rows = [
        (f.get("name"), f.get("kind"), f.get("dtype"), ", ".join(map(str, f.get("categories") or [])) or None)
        for f in features
    ]
    schema_table = (
        join([tag("h3", "schema"), table(("feature", "kind", "dtype", "categories"), rows)]) if rows else None
    )
    return card("Data", facts((k, v) for k, v in pairs if v is not None), schema_table, id="data")


def environment_section(view: RunView) -> Safe | None:
    env = view.environment
    if not env:
        return None
    python = env.get("python") or {}
    envelope = env.get("envelope") or {}
    pairs = [
        (
            "python",
            f"{python.get('implementation', '')} {python.get('version', '')}".strip()
            if isinstance(python, dict)
            else python,
        ),
        ("platform", env.get("platform")),
        ("machine", env.get("machine")),
        ("cpu", env.get("cpu")),
        ("container image", env.get("container_image_digest")),
        ("environment digest", short(env.get("environment_digest"), 64)),
        ("threads", envelope.get("threads")),
        ("workers", envelope.get("workers")),
        ("strict envelope", envelope.get("strict")),
    ]
    pools = [
        (p.get("internal_api"), p.get("version"), p.get("num_threads"), p.get("architecture"))
        for p in env.get("threadpools") or []
    ]
    process_env = sorted((envelope.get("process_env") or {}).items())
    packages = sorted((env.get("packages") or {}).items())
    return card(
        "Environment",
        facts((k, v) for k, v in pairs if v is not None),
        tag("h3", "thread pools"),
        table(("library", "version", "threads", "architecture"), pools, numeric=(2,)) if pools else esc(None),
        tag("h3", "variables set by the envelope"),
        table(("variable", "value"), process_env) if process_env else esc(None),
        tag("details", tag("summary", f"{len(packages)} installed packages"), table(("package", "version"), packages)),
        id="environment",
    )


def drift_section(view: RunView) -> Safe | None:
    baseline = view.drift_baseline
    sections = []
    if baseline:
        features = baseline.get("features") or {}
        numeric = [
            (name, f.get("mean"), f.get("std"), f.get("min"), f.get("max"), f.get("missing_rate"))
            for name, f in sorted(features.items())
            if f.get("kind") == "numeric"
        ]
        categorical = [
            (
                name,
                ", ".join(f"{k} {v:.3f}" for k, v in sorted((f.get("frequencies") or {}).items())),
                f.get("missing_rate"),
            )
            for name, f in sorted(features.items())
            if f.get("kind") == "categorical"
        ]
        sections += [
            tag(
                "p",
                f"{baseline.get('n_samples')} training rows; class rate {number(baseline.get('class_rate'))}",
                class_="muted",
            ),
            table(("numeric feature", "mean", "std", "min", "max", "missing"), numeric, numeric=(1, 2, 3, 4, 5))
            if numeric
            else "",
            tag("h3", "categorical features") if categorical else "",
            table(("feature", "frequencies", "missing"), categorical, numeric=(2,)) if categorical else "",
        ]
    if view.drift:
        drifted = view.drift.get("drifted") or []
        sections.insert(
            0,
            tag(
                "p",
                badge(f"drift in {len(drifted)} features", "warn" if drifted else "ok"),
                " ",
                ", ".join(map(str, drifted)),
            ),
        )
    if not sections:
        return None
    return card("Drift baseline" if baseline else "Drift", *sections, id="drift")


def fragility_section(view: RunView) -> Safe | None:
    """Every threshold decision of the run with its margin; fragile ones first."""
    decisions = view.fragility.get("decisions") or []
    if not decisions:
        return None
    ordered = sorted(decisions, key=lambda d: (not d.get("fragile"), str(d.get("kind")), str(d.get("subject"))))
    rows = [
        ("fragile" if d.get("fragile") else "ok", d.get("kind"), d.get("subject"), d.get("outcome"), d.get("margin"))
        for d in ordered
    ]
    fragile = view.fragility.get("n_fragile", 0)
    summary = tag(
        "p",
        badge(f"{fragile} fragile decisions", "warn" if fragile else "ok"),
        " ",
        f"of {len(decisions)}; tolerance {number(view.fragility.get('tolerance'))}",
    )
    return card(
        "Fragility",
        summary,
        table(("status", "decision", "subject", "outcome", "margin"), rows, numeric=(4,)),
        id="fragility",
    )


def stability_section(view: RunView, run_href: RunHref | None) -> Safe | None:
    groups = view.stability.get("groups") or []
    if not groups:
        return None
    parts = []
    for group in groups:
        point = ", ".join(f"{k}={v}" for k, v in sorted((group.get("point") or {}).items())) or "base config"
        rows = [
            (name, s.get("mean"), s.get("std"), s.get("min"), s.get("max"), s.get("n"))
            for name, s in sorted((group.get("metrics") or {}).items())
        ]
        parts += [
            tag(
                "h3",
                f"replicate group {str(group.get('replicate_key'))[:12]} ({point}): seeds "
                f"{', '.join(map(str, group.get('seeds') or []))}",
            ),
            table(("metric", "mean", "std", "min", "max", "runs"), rows, numeric=(1, 2, 3, 4, 5)),
        ]
    return card("Stability across seeds", *parts, id="stability")


def trace_section(view: RunView) -> Safe:
    trace = view.lineage.trace
    rows = [
        (i, entry.get("step"), short(entry.get("sha256")), short(entry.get("structure")))
        for i, entry in enumerate(trace)
    ]
    events = [(e.get("time_utc"), e.get("event"), e.get("step")) for e in view.events]
    return card(
        "Step trace",
        table(("#", "step", "sha256", "structure"), rows, numeric=(0,)) if rows else tag("p", "no trace recorded"),
        tag("details", tag("summary", f"{len(events)} events"), table(("time (UTC)", "event", "step"), events)),
        id="trace",
    )


def lineage_section(view: RunView) -> Safe:
    outputs = sorted(view.lineage.outputs.items())
    rows = [(name, output.size, short(output.sha256, 16)) for name, output in outputs]
    return card(
        "Lineage",
        tag("div", lineage_graph(view.lineage), class_="graph"),
        tag(
            "details",
            tag("summary", f"{len(rows)} output files"),
            table(("file", "bytes", "sha256"), rows, numeric=(1,)),
        ),
        id="lineage",
    )


def run_body(view: RunView, *, store: Store, rehash: bool, run_href: RunHref | None = None) -> Safe:
    verify_card, verified = verify_section(view, store=store, rehash=rehash)
    heading = tag("h1", f"Run {view.run_id}")
    badges = tag(
        "p",
        badge(view.kind, ""),
        " ",
        {True: badge("verified", "ok"), False: badge("verify failed", "bad"), None: badge("not verified", "warn")}[
            verified
        ],
        " ",
        view.metrics.get("selected_model") or "",
        class_="badges",
    )
    charts_ = chart_sections(view)
    test, cv = metrics_sections(view)
    threshold = threshold_section(view)
    blocks: Sequence[Any] = [
        heading,
        badges,
        tag("div", summary_section(view, verified, run_href), verify_card, class_="grid"),
        tag("div", test, threshold, class_="grid") if test or threshold else None,
        cv,
        tag("div", *charts_, class_="grid") if charts_ else None,
        stability_section(view, run_href),
        config_section(view),
        data_section(view),
        environment_section(view),
        drift_section(view),
        fragility_section(view),
        trace_section(view),
        lineage_section(view),
    ]
    return join(block for block in blocks if block is not None)


def _status(status: str) -> Safe:
    return badge(status, {"ok": "ok", "skipped": "warn"}.get(status, "bad"))
