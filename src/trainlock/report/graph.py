"""The lineage graph of a run as inline SVG: inputs → trace steps → output files.

Drawn here rather than with a graph library: three lanes and straight-forward curves are all
a run needs, and the SVG stays small and free of scripts. Every label is escaped.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..lineage import FileRef, Lineage, OutputFile
from ..run import DRIFT_BASELINE, METRICS, PREDICTIONS, SCHEMA
from .markup import Safe

#: trace steps known to produce a run file; other files are attributed to the last step
_PRODUCERS = {
    "features": (SCHEMA.name,),
    "cv/table": (METRICS.name,),
    "predictions": (PREDICTIONS.name,),
    "drift_baseline": (DRIFT_BASELINE.name,),
}
_NAMED_OUTPUTS = {"fit": "model", "threshold": "threshold"}  # steps whose file lineage names as an entry

_ROW, _BOX, _GAP = 34, 26, 8
_LANES = {"input": (10, 220), "step": (300, 230), "output": (610, 230)}
_WIDTH = 850
_FILL = {"input": "#e8f0fb", "step": "#fff6e5", "output": "#eaf5ec"}
_STROKE = {"input": "#2f5d9e", "step": "#b26a00", "output": "#1a7f37"}


@dataclass(frozen=True)
class Node:
    key: str
    lane: str
    label: str
    detail: str  # the tooltip: full hash, path, fold count
    y: float = 0.0


def steps_of(trace: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The trace as (label, detail), with the folds of one model's cross-validation as one step."""
    steps: list[tuple[str, bool, list[str]]] = []
    for entry in trace:
        name = str(entry.get("step"))
        parts = name.split("/")
        group = "/".join(parts[:2]) if len(parts) == 3 and parts[0] == "cv" and parts[2].startswith("fold") else None
        detail = f"{name} {entry.get('sha256')}"
        if group is not None and steps and steps[-1][0] == group:
            steps[-1][2].append(detail)
            continue
        steps.append((group or name, group is not None, [detail]))
    return [
        (f"{label} ({len(details)} fold{'s' if len(details) != 1 else ''})" if grouped else label, "\n".join(details))
        for label, grouped, details in steps
    ]


def lineage_graph(lineage: Lineage) -> Safe:
    inputs = _inputs(lineage)
    steps = steps_of(lineage.trace) or [(lineage.kind, "no trace recorded")]
    step_nodes = [Node(f"s{i}", "step", label, detail, 14 + i * _ROW) for i, (label, detail) in enumerate(steps)]
    input_nodes = [Node(f"i{i}", "input", label, detail, 14 + i * _ROW) for i, (label, detail) in enumerate(inputs)]

    outputs = sorted(lineage.outputs.items())
    config_path = lineage.config.path if lineage.config is not None and lineage.config.run is None else None
    producers = _producer_index(lineage, [label.split(" (")[0] for label, _ in steps])
    placed: list[tuple[int, str, OutputFile]] = []
    for name, output in outputs:
        if name == config_path:
            continue  # drawn as the config input it records
        placed.append((producers.get(name, len(steps) - 1), name, output))
    placed.sort(key=lambda item: (item[0], item[1]))
    output_nodes, edges = [], []
    next_y = 14.0
    for n, (producer, name, output) in enumerate(placed):
        y = max(step_nodes[producer].y, next_y)
        next_y = y + _ROW
        output_nodes.append(Node(f"o{n}", "output", name, f"{name}\nsha256 {output.sha256}\n{output.size} bytes", y))
        edges.append((step_nodes[producer], output_nodes[-1]))
    edges += [(node, step_nodes[0]) for node in input_nodes]
    edges += list(itertools.pairwise(step_nodes))

    height = max(node.y for node in [*step_nodes, *input_nodes, *output_nodes]) + _BOX + 14
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height:.0f}" width="{_WIDTH}" '
        f'height="{height:.0f}" role="img" aria-label="lineage graph" '
        'font-family="system-ui, sans-serif" font-size="12">'
    ]
    parts.append(
        '<defs><marker id="lineage-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#7b8594"/></marker></defs>'
    )
    for lane, title in (("input", "inputs"), ("step", "steps (trace)"), ("output", "outputs")):
        x, width = _LANES[lane]
        parts.append(
            f'<text x="{x + width / 2}" y="10" text-anchor="middle" fill="#5b6575" font-size="11">{title}</text>'
        )
    for source, target in edges:
        parts.append(_edge(source, target))
    for node in [*input_nodes, *step_nodes, *output_nodes]:
        parts.append(_box(node))
    parts.append("</svg>")
    return Safe("".join(parts))


def _inputs(lineage: Lineage) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    dataset = lineage.dataset
    if dataset is not None:
        found.append((f"dataset {_basename(dataset.path)}", f"{dataset.path}\nsha256 {dataset.sha256}"))
    for entry in ("config", "model", "threshold"):
        record: FileRef | None = getattr(lineage, entry)
        if record is not None and (entry == "config" or record.run):
            origin = f" of run {record.run}" if record.run else ""
            found.append((f"{entry} {_basename(record.path)}", f"{record.path}{origin}\nsha256 {record.sha256}"))
    for path, item in sorted(lineage.declared_inputs.items()):
        found.append((f"input {_basename(path)}", f"{path}\nsha256 {item.sha256}"))
    parents = lineage.parents or ([lineage.parent] if lineage.parent else [])
    found += [(f"parent run {parent}", f"run {parent}") for parent in sorted(set(parents))]
    return found


def _producer_index(lineage: Lineage, labels: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, label in enumerate(labels):
        for name in _PRODUCERS.get(label, ()):
            index[name] = i
        entry = _NAMED_OUTPUTS.get(label)
        record: FileRef | None = getattr(lineage, entry) if entry else None
        if record is not None and record.path:
            index[record.path] = i
        if label.startswith("output:"):
            index[label.split(":", 1)[1]] = i
    return index


def _basename(path: Any) -> str:
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if path else "?"


def _box(node: Node) -> str:
    x, width = _LANES[node.lane]
    label = node.label if len(node.label) <= 34 else node.label[:32] + "…"
    return (
        f'<g class="node {node.lane}"><title>{html.escape(node.detail)}</title>'
        f'<rect x="{x}" y="{node.y:.0f}" width="{width}" height="{_BOX}" rx="5" fill="{_FILL[node.lane]}" '
        f'stroke="{_STROKE[node.lane]}" stroke-width="1.2"/>'
        f'<text x="{x + 8}" y="{node.y + 17:.0f}" fill="#1d2430">{html.escape(label)}</text></g>'
    )


def _edge(source: Node, target: Node) -> str:
    if source.lane == target.lane:  # step to next step: straight down the lane
        x = _LANES[source.lane][0] + _LANES[source.lane][1] / 2
        return (
            f'<path d="M{x},{source.y + _BOX:.0f} L{x},{target.y - 1:.0f}" stroke="#7b8594" fill="none" '
            f'marker-end="url(#lineage-arrow)"/>'
        )
    x1 = _LANES[source.lane][0] + _LANES[source.lane][1]
    x2 = _LANES[target.lane][0]
    y1, y2 = source.y + _BOX / 2, target.y + _BOX / 2
    middle = (x1 + x2) / 2
    return (
        f'<path d="M{x1},{y1:.0f} C{middle},{y1:.0f} {middle},{y2:.0f} {x2 - 1},{y2:.0f}" stroke="#7b8594" '
        f'fill="none" marker-end="url(#lineage-arrow)"/>'
    )
