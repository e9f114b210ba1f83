"""`trainlock sweep`: one run per (seed, grid point), locally or on a Dask cluster, and a
stability report per replicate group.

Every sweep run is an ordinary train run: it equals, fingerprint for fingerprint, the run
that ``trainlock train --seed k`` makes on its own, wherever it ran.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import environment
from ..composition import parse_override, set_dotted
from ..errors import ConfigError
from ..identity import code_identity
from ..parallel import run_ordered
from ..pipeline.config import ResolvedConfig, load_config, validate
from ..run import ENVIRONMENT, STABILITY, SWEEP, RunRecorder
from ..store import Store


@dataclass(frozen=True)
class SweepTask:
    """Everything a worker needs, as plain data: it may run in another process or machine."""

    snapshot: dict[str, Any]
    store: Store
    point: tuple[tuple[str, Any], ...]
    seed: int


@dataclass
class SweepResult:
    run_id: str
    run_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)


def parse_seeds(text: str) -> list[int]:
    """``"1-10"``, ``"1,2,5"``, ``"3"`` or a mix like ``"1-3,7"`` → sorted unique seeds."""
    seeds: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            start, end = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            raise ConfigError(f"--seeds '{text}': expected numbers and ranges like 1-10 or 1,2,5") from None
        if start > end or start < 0:
            raise ConfigError(f"--seeds '{text}': range {part} is empty or negative")
        seeds.update(range(start, end + 1))
    if not seeds:
        raise ConfigError("--seeds needs at least one seed, e.g. --seeds 1-10")
    return sorted(seeds)


def parse_grid(entries: Sequence[str]) -> list[tuple[tuple[str, Any], ...]]:
    """``key=v1,v2`` entries → every combination, keys sorted, values in the given order."""
    axes: dict[str, list[Any]] = {}
    for entry in entries:
        key, raw = entry.split("=", 1) if "=" in entry else (entry, "")
        values = [parse_override(f"{key}={value}")[1] for value in raw.split(",") if value.strip()]
        if not key or not values:
            raise ConfigError(f"--grid '{entry}': expected key=v1,v2, e.g. --grid models.knn.n_neighbors=5,15")
        axes[key.strip()] = values
    keys = sorted(axes)
    return [tuple(zip(keys, combination, strict=True)) for combination in itertools.product(*(axes[k] for k in keys))]


def run_sweep_task(task: SweepTask) -> dict[str, Any]:
    """Train one (grid point, seed); top-level so that processes and Dask workers can import it."""
    from .train import train_resolved

    raw = dict(task.snapshot)
    for key, value in task.point:
        set_dotted(raw, key, value)
    raw["seed"] = task.seed
    result = train_resolved(validate(raw), store=task.store, command="sweep")
    lineage = result.lineage
    return {
        "run_id": result.run_id,
        "run_dir": str(result.run_dir),
        "seed": task.seed,
        "point": {key: value for key, value in task.point},
        "replicate_key": lineage.identity.replicate_key if lineage.identity else None,
        "strict_key": lineage.identity.strict_key if lineage.identity else None,
        "model_fingerprint": lineage.fingerprints["model"],
        "selected_model": result.metrics["selected_model"],
        "test": result.metrics["test"],
    }


def sweep(
    config_paths: Sequence[str | os.PathLike[str]],
    *,
    seeds: Sequence[int],
    grid: Sequence[str] = (),
    profiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    store: Store,
    workers: int = 1,
    scheduler: str | None = None,
    argv: list[str] | None = None,
) -> SweepResult:
    base = load_config(config_paths, profiles=profiles, overrides=overrides)
    points = parse_grid(grid) or [()]
    # validate every grid point before any work starts
    for point in points:
        _point_config(base, point)
    snapshot = base.config.model_dump(mode="json")
    tasks = [SweepTask(snapshot, store, point, seed) for point in points for seed in seeds]

    with RunRecorder(store, "sweep") as recorder:
        recorder.start("sweep", argv, seeds=list(seeds), grid=list(grid), scheduler=scheduler, workers=workers)
        runs = _execute(tasks, workers=workers, scheduler=scheduler)
        groups = stability(runs)
        recorder.folder.write_json(
            SWEEP,
            {
                "seeds": list(seeds),
                "grid": list(grid),
                "scheduler": scheduler,
                "config_sha256": base.sha256,
                "runs": runs,
            },
        )
        recorder.folder.write_json(STABILITY, {"groups": groups})
        recorder.folder.write_json(ENVIRONMENT, environment.collect({"workers": workers, "scheduler": scheduler}))
        recorder.complete({"runs": len(runs)}, children=[run["run_id"] for run in runs], code=code_identity())
    assert recorder.result is not None
    return SweepResult(recorder.run_id, recorder.result.path, runs, groups)


def _point_config(base: ResolvedConfig, point: tuple[tuple[str, Any], ...]) -> ResolvedConfig:
    raw = base.config.model_dump(mode="json")
    for key, value in point:
        set_dotted(raw, key, value)
    return validate(raw, sources=tuple(f"--grid {key}={value}" for key, value in point))


def _execute(tasks: list[SweepTask], *, workers: int, scheduler: str | None) -> list[dict[str, Any]]:
    if scheduler is None:
        return run_ordered(run_sweep_task, tasks, workers=workers)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--scheduler needs Dask distributed: pip install 'trainlock[dask]'") from None
    if scheduler.startswith("local:"):
        try:
            n_workers = int(scheduler.split(":", 1)[1])
        except ValueError:
            n_workers = 0
        if n_workers < 1:
            raise ConfigError(f"--scheduler {scheduler}: expected local:N with N >= 1, e.g. local:2")
        # one thread per worker process: parallelism comes from processes, as everywhere in trainlock
        with (
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            return _gather(client, tasks)
    with Client(scheduler, timeout="30s") as client:
        return _gather(client, tasks)


def _gather(client: Any, tasks: list[SweepTask]) -> list[dict[str, Any]]:
    futures = client.map(run_sweep_task, tasks, pure=False)
    return client.gather(futures)  # in task order, whichever worker finished first


def stability(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per replicate group: per metric mean, std, min, max and a 95% interval across seeds."""
    from scipy import stats

    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(run["replicate_key"], []).append(run)
    report = []
    for key in sorted(groups, key=lambda k: (min(r["seed"] for r in groups[k]), k)):
        members = sorted(groups[key], key=lambda r: r["seed"])
        metrics: dict[str, Any] = {}
        names = sorted({name for r in members for name, v in r["test"].items() if isinstance(v, float)})
        for name in names:
            values = [r["test"][name] for r in members if isinstance(r["test"].get(name), float)]
            n = len(values)
            mean = sum(values) / n
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
            # t interval of the mean across seeds: how precisely the sweep pins the metric down
            half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n) if n > 1 else 0.0
            metrics[name] = {
                "mean": mean,
                "std": std,
                "min": min(values),
                "max": max(values),
                "ci95": [mean - half, mean + half],
                "n": n,
            }
        report.append(
            {
                "replicate_key": key,
                "point": members[0]["point"],
                "seeds": [r["seed"] for r in members],
                "runs": [r["run_id"] for r in members],
                "distinct_models": len({r["model_fingerprint"] for r in members}),
                "selected_models": sorted({r["selected_model"] for r in members}),
                "metrics": metrics,
            }
        )
    return report
