"""The step trace: an ordered list of checkpoints, each a canonical hash of a step's output.

Numeric outputs are also kept (prediction vectors, CV scores, thresholds), with a
*structure* hash over everything but the numbers, so that two runs can be compared by
value: same structure and close numbers is numeric equivalence; a different structure
(another selected model, another label set) is a real difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hashing import canonical_hash, value_hash

#: largest number of values kept per step; longer outputs are represented by their hash only
MAX_KEPT_VALUES = 200_000


def split_numbers(obj: Any) -> tuple[Any, list[float]]:
    """Separate a JSON-like value into its structure (numbers replaced by '#') and its numbers."""
    numbers: list[float] = []

    def walk(node: Any) -> Any:
        if isinstance(node, bool) or node is None or isinstance(node, str):
            return node
        if isinstance(node, (int, float, np.integer, np.floating)):
            numbers.append(float(node))
            return "#"
        if isinstance(node, np.ndarray):
            numbers.extend(float(v) for v in node.ravel())
            return {"#array": list(node.shape)}
        if isinstance(node, Mapping):
            return {str(key): walk(node[key]) for key in sorted(node, key=str)}
        if isinstance(node, (list, tuple)):
            return [walk(item) for item in node]
        return repr(node)

    return walk(obj), numbers


@dataclass
class Trace:
    steps: list[dict[str, str]] = field(default_factory=list)
    kept: dict[str, list[float]] = field(default_factory=dict)

    def record(self, step: str, value: Any, *, keep: Any = None, digest: str | None = None) -> str:
        """Append a checkpoint for ``step``.

        ``keep=True`` keeps the numbers of a JSON-like ``value``; an array for ``keep``
        keeps those values (with ``value`` as the exact-hash source).
        """
        if any(existing["step"] == step for existing in self.steps):
            raise ValueError(f"trace step '{step}' recorded twice")
        digest = digest or value_hash(value)
        entry = {"step": step, "sha256": digest}
        numbers: list[float] | None = None
        if keep is True:
            structure, numbers = split_numbers(value)
            entry["structure"] = canonical_hash(structure)
        elif keep is not None:
            values = np.asarray(keep, dtype="float64").ravel()
            numbers = values.tolist()
            entry["structure"] = canonical_hash({"#array": [int(values.size)]})
        if numbers is not None and len(numbers) <= MAX_KEPT_VALUES:
            self.kept[step] = [float(v) for v in numbers]
        self.steps.append(entry)
        return digest
