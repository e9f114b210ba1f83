"""`trainlock runs`: the runs of a store, filtered and grouped, served from the run index."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..index import RunSummary
from ..store import Store

FILTERABLE = (
    "run_id",
    "kind",
    "status",
    "seed",
    "model",
    "metric",
    "parent",
    "config_sha256",
    "replicate_key",
    "strict_key",
)


@dataclass(frozen=True)
class ReplicateGroup:
    replicate_key: str | None
    runs: list[str]
    seeds: list[int]
    metric: str | None
    mean: float | None
    std: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def runs(
    *, store: Store, kind: str | None = None, where: Sequence[str] = (), limit: int | None = None, rebuild: bool = False
) -> list[RunSummary]:
    """The store's runs, oldest first; ``where`` holds ``key=value`` filters, ``limit`` keeps the newest N."""
    summaries = store.summaries(rebuild=rebuild)
    filters = [_parse_filter(item) for item in where]
    if kind is not None:
        filters.append(("kind", kind))
    selected = [s for s in summaries if all(str(getattr(s, key)) == value for key, value in filters)]
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, found {limit}")
        selected = selected[-limit:]
    return selected


def group_by_replicate(summaries: list[RunSummary]) -> list[ReplicateGroup]:
    groups: dict[str | None, list[RunSummary]] = {}
    for summary in summaries:
        groups.setdefault(summary.replicate_key, []).append(summary)
    result = []
    for key, members in sorted(groups.items(), key=lambda item: item[1][0].run_id):
        values = [m.value for m in members if isinstance(m.value, float)]
        mean = sum(values) / len(values) if values else None
        std = (
            math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            if mean is not None and len(values) > 1
            else None
        )
        result.append(
            ReplicateGroup(
                key,
                [m.run_id for m in members],
                sorted(m.seed for m in members if m.seed is not None),
                members[0].metric,
                mean,
                std,
            )
        )
    return result


def _parse_filter(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or key not in FILTERABLE:
        raise ConfigError(f"--where '{item}': expected key=value with key one of {', '.join(FILTERABLE)}")
    return key, value
