"""The step trace: an ordered list of checkpoints, each a canonical hash of a step's output.

Small numeric outputs (prediction vectors, CV scores) are also kept, so that two runs
can later be compared by value and not only by hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hashing import value_hash

#: largest number of values kept per step; longer outputs are represented by their hash only
MAX_KEPT_VALUES = 200_000


@dataclass
class Trace:
    steps: list[dict[str, str]] = field(default_factory=list)
    kept: dict[str, list[float]] = field(default_factory=dict)

    def record(self, step: str, value: Any, *, keep: Any = None, digest: str | None = None) -> str:
        """Append a checkpoint for ``step``; ``keep`` (numbers) is stored for numeric diffs."""
        if any(existing["step"] == step for existing in self.steps):
            raise ValueError(f"trace step '{step}' recorded twice")
        digest = digest or value_hash(value)
        self.steps.append({"step": step, "sha256": digest})
        if keep is not None:
            values = np.asarray(keep, dtype="float64").ravel()
            if values.size <= MAX_KEPT_VALUES:
                self.kept[step] = [float(v) for v in values]
        return digest

    def extend(self, other: Trace) -> None:
        for entry in other.steps:
            self.steps.append(dict(entry))
        self.kept.update(other.kept)
