"""Charts as inline SVG, drawn with matplotlib (the ``report`` extra).

Figures are built with the object API (``matplotlib.figure.Figure``), never pyplot, because the
web UI renders from several threads and pyplot's global figure registry is not thread-safe.
rcParams are global too, so rendering holds one lock. A fixed hash salt makes the SVG bytes a
pure function of the data (a report can be diffed), and every id inside one chart is prefixed
with the chart's name so that several charts inlined in one page never share an id.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..run import PREDICTIONS, THRESHOLD
from .errors import ReportExtraMissing
from .markup import Safe, esc, tag

EXTRA_HINT = "pip install 'trainlock[report]'"

_LOCK = threading.Lock()
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "trainlock",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
COLORS = ("#2f5d9e", "#d0782a", "#3b9a57", "#b03a48", "#7a5aa6", "#5f6b7a", "#1f9aa5", "#a8842c")


def require_matplotlib() -> Any:
    """The matplotlib module, or a one-line error naming the extra to install."""
    try:
        import matplotlib
        from matplotlib.backends import backend_svg  # noqa: F401  (the only backend we draw with)
    except ImportError:
        raise ReportExtraMissing(
            f"reports draw their charts with matplotlib, which is not installed: {EXTRA_HINT}"
        ) from None
    return matplotlib


def render(
    name: str, draw: Callable[[Any], None], *, size: tuple[float, float] = (5.4, 3.6), caption: Any = None
) -> Safe:
    """Draw on a new figure with ``draw(figure)`` and return it as an inline ``<figure>`` with SVG."""
    matplotlib = require_matplotlib()
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=size, layout="constrained")
        FigureCanvasSVG(figure)
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    svg = re.sub(r'(\bid="|url\(#|href="#)', lambda m: f"{m.group(1)}{name}-", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{esc(name)}" ', 1)
    return tag(
        "figure", Safe(svg), tag("figcaption", caption) if caption is not None else "", class_="chart", data_chart=name
    )


def positives(actual: Sequence[Any], classes: Sequence[Any]) -> np.ndarray:
    """1 where the actual class is the positive (second) class of the schema, else 0."""
    positive = str(classes[-1]) if classes else "1"
    return np.asarray([str(value) == positive for value in actual], dtype=int)


def precision_recall(y: np.ndarray, scores: np.ndarray, threshold: dict[str, Any]) -> Safe:
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, scores)
    chosen = threshold.get("threshold")

    def draw(figure: Any) -> None:
        ax = figure.add_subplot()
        ax.plot(recall, precision, color=COLORS[0], lw=1.8, label="test set", drawstyle="steps-post")
        ax.axhline(y.mean(), color=COLORS[5], lw=1, ls=":", label=f"base rate {y.mean():.3f}")
        if threshold.get("target_precision") is not None:
            ax.axhline(
                threshold["target_precision"],
                color=COLORS[3],
                lw=1,
                ls="--",
                label=f"target precision {threshold['target_precision']:g}",
            )
        if isinstance(chosen, float) and y.sum():
            # the test set's operating point at the threshold chosen on out-of-fold scores
            flagged = scores >= chosen
            p = float(y[flagged].mean()) if flagged.any() else 1.0
            r = float(y[flagged].sum() / y.sum())
            ax.plot(
                [r], [p], "o", color=COLORS[1], ms=8, zorder=5, label=f"threshold {chosen:.3f}: P {p:.3f}, R {r:.3f}"
            )
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.03), title="Precision–recall (test set)")
        ax.legend(loc="lower left", fontsize=8)

    return render(
        "precision-recall",
        draw,
        caption=f"From the run's {PREDICTIONS.name}; the marker is the decision "
        f"threshold chosen on out-of-fold scores ({THRESHOLD.name}).",
    )


def calibration(y: np.ndarray, scores: np.ndarray, bins: int = 10) -> Safe:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    filled = counts > 0
    mean_score = np.bincount(which, weights=scores, minlength=bins)[filled] / counts[filled]
    observed = np.bincount(which, weights=y, minlength=bins)[filled] / counts[filled]

    def draw(figure: Any) -> None:
        ax, hist = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
        ax.plot([0, 1], [0, 1], color=COLORS[5], lw=1, ls="--", label="perfectly calibrated")
        ax.plot(mean_score, observed, "o-", color=COLORS[0], lw=1.6, ms=4, label="model")
        ax.set(ylabel="observed positive rate", xlim=(0, 1), ylim=(0, 1.02), title="Calibration (test set)")
        ax.legend(loc="upper left", fontsize=8)
        hist.bar(edges[:-1], counts, width=1.0 / bins, align="edge", color=COLORS[0], alpha=0.55, edgecolor="white")
        hist.set(xlabel="predicted probability", ylabel="rows")

    return render(
        "calibration",
        draw,
        size=(5.4, 4.2),
        caption=f"{bins} equal-width bins of the predicted probability; the bars count the rows per bin.",
    )


def cv_folds(table: dict[str, Any], metric: str, selected: str | None) -> Safe:
    names = sorted(table, key=lambda name: (table[name].get("mean") is None, -(table[name].get("mean") or 0.0), name))

    def draw(figure: Any) -> None:
        ax = figure.add_subplot()
        for row, name in enumerate(names):
            folds = [v for v in table[name].get("folds") or [] if isinstance(v, (int, float))]
            color = COLORS[1] if name == selected else COLORS[0]
            ax.plot(folds, [row] * len(folds), "o", color=color, alpha=0.6, ms=5)
            if isinstance(table[name].get("mean"), (int, float)):
                ax.plot([table[name]["mean"]] * 2, [row - 0.3, row + 0.3], color=color, lw=2.4)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set(xlabel=f"{metric} per fold (bar: mean)", title="Cross-validation")

    return render(
        "cv-folds",
        draw,
        size=(5.4, 0.9 + 0.42 * max(len(names), 1)),
        caption="Each dot is one fold; the highlighted model was selected.",
    )


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray) -> Safe:
    def draw(figure: Any) -> None:
        ax = figure.add_subplot()
        ax.plot(actual, predicted, "o", color=COLORS[0], alpha=0.45, ms=3)
        low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        ax.plot([low, high], [low, high], color=COLORS[5], ls="--", lw=1)
        ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test set)")

    return render("predicted-vs-actual", draw)


def metric_distribution(runs: Sequence[tuple[str, Any, dict[str, float]]], metrics: Sequence[str]) -> Safe:
    """One panel per metric: each run's value by seed, with the mean and ± one standard deviation."""
    columns = min(3, max(len(metrics), 1))
    rows = -(-len(metrics) // columns)

    def draw(figure: Any) -> None:
        axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
        for ax, metric in zip(axes, metrics, strict=False):  # the grid may have more panels than metrics
            values = np.asarray([r[2][metric] for r in runs if isinstance(r[2].get(metric), float)])
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
            ax.plot(jitter, values, "o", color=COLORS[0], alpha=0.8, ms=5)
            mean, std = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
            ax.errorbar([0.35], [mean], yerr=[std], fmt="s", color=COLORS[1], capsize=4, ms=5)
            ax.set_xlim(-0.4, 0.6)
            ax.set_xticks([])
            ax.set_title(f"{metric}\n{mean:.4f} ± {std:.4f}", fontsize=9)
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)

    return render(
        "metric-distribution",
        draw,
        size=(2.6 * columns, 2.4 * rows),
        caption=f"Test metrics of {len(runs)} runs across seeds (dots), with mean ± one standard deviation.",
    )


def precision_recall_overlay(curves: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Safe:
    from sklearn.metrics import precision_recall_curve

    def draw(figure: Any) -> None:
        ax = figure.add_subplot()
        for i, (label, y, scores) in enumerate(curves):
            precision, recall, _ = precision_recall_curve(y, scores)
            ax.plot(recall, precision, lw=1.4, color=COLORS[i % len(COLORS)], label=label, drawstyle="steps-post")
        ax.set(
            xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.03), title="Precision–recall (test sets)"
        )
        ax.legend(loc="lower left", fontsize=7)

    return render("precision-recall-overlay", draw)
