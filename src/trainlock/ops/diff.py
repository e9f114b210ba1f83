"""`trainlock diff`: how two runs differ, most important first, and where the trace parts.

Equivalence levels:

* ``exact`` — every trace hash and fingerprint is equal;
* ``numeric`` — every step that differs keeps values in both runs, with the same
  structure, within ``rtol``/``atol`` (a model's state is judged by its predictions);
* ``different`` — anything else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from ..lineage import read_lineage
from ..store import RunRef, find_run

Level = Literal["exact", "numeric", "different"]
LEVELS: tuple[Level, ...] = ("exact", "numeric", "different")

#: steps whose output is a model's state: no values to compare, judged by what follows
MODEL_STATE_STEPS = frozenset({"fit"})

#: environment facts that, when they differ, void the promise of bitwise equality
ENVIRONMENT_KEYS = ("python", "machine", "platform", "cpu")


@dataclass(frozen=True)
class Change:
    key: str
    a: Any
    b: Any


@dataclass(frozen=True)
class StepDifference:
    step: str
    status: Literal["equal", "numeric", "different", "only_a", "only_b"]
    max_abs: float | None = None
    max_rel: float | None = None
    max_ulp: int | None = None
    n_values: int | None = None
    n_differing: int | None = None


@dataclass
class DiffReport:
    run_a: str
    run_b: str
    level: Level
    requested: Level
    causes: list[str] = field(default_factory=list)
    dataset: list[Change] = field(default_factory=list)
    config: list[Change] = field(default_factory=list)
    seed: Change | None = None
    code: list[Change] = field(default_factory=list)
    environment: list[Change] = field(default_factory=list)
    identity: list[Change] = field(default_factory=list)
    first_divergence: StepDifference | None = None
    steps: list[StepDifference] = field(default_factory=list)
    fingerprints: list[Change] = field(default_factory=list)
    metrics: list[Change] = field(default_factory=list)
    rtol: float = 1e-9
    atol: float = 0.0

    @property
    def equivalent(self) -> bool:
        return LEVELS.index(self.level) <= LEVELS.index(self.requested)

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["equivalent"] = self.equivalent
        return document


def diff(run_a: str, run_b: str, *, store: str | os.PathLike[str] | None = None, level: Level = "exact",
         rtol: float = 1e-9, atol: float = 0.0) -> DiffReport:
    a, b = find_run(run_a, store), find_run(run_b, store)
    return diff_refs(a, b, level=level, rtol=rtol, atol=atol)


def diff_refs(a: RunRef, b: RunRef, *, level: Level = "exact", rtol: float = 1e-9, atol: float = 0.0) -> DiffReport:
    la, lb = read_lineage(a.run_dir), read_lineage(b.run_dir)
    report = DiffReport(a.run_id, b.run_id, "exact", level, rtol=rtol, atol=atol)

    report.dataset = _changes({"sha256": (la.get("dataset") or {}).get("sha256")},
                              {"sha256": (lb.get("dataset") or {}).get("sha256")}, "dataset")
    config_a, config_b = _snapshot(a.run_dir, la), _snapshot(b.run_dir, lb)
    config_changes = _changes(_flatten(config_a), _flatten(config_b), "")
    report.seed = next((c for c in config_changes if c.key == "seed"), None)
    # the data path names where the file was, not what it was: the dataset hash covers content
    report.config = [c for c in config_changes if c.key not in ("seed", "data.path")]
    report.code = _changes(la.get("code") or {}, lb.get("code") or {}, "code")
    report.environment = environment_changes(a.run_dir, b.run_dir)
    report.identity = _changes(la.get("identity") or {}, lb.get("identity") or {}, "")

    report.steps = _compare_trace(la, lb, a.run_dir, b.run_dir, rtol, atol)
    report.first_divergence = next((s for s in report.steps if s.status != "equal"), None)
    report.fingerprints = _changes(la.get("fingerprints") or {}, lb.get("fingerprints") or {}, "")
    report.metrics = _metric_changes(a.run_dir, b.run_dir)

    report.level = _level(report)
    report.causes = _causes(report)
    return report


# -- sections ---------------------------------------------------------------------------


def _snapshot(run_dir: Path, lineage: dict[str, Any]) -> dict[str, Any]:
    entry = lineage.get("config") or {}
    folder = run_dir.parent / entry["run"] if entry.get("run") else run_dir
    path = folder / entry.get("path", "config.snapshot.yaml")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        flat: dict[str, Any] = {}
        for key in sorted(node, key=str):
            flat.update(_flatten(node[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: node}


def _changes(a: dict[str, Any], b: dict[str, Any], prefix: str) -> list[Change]:
    keys = sorted(set(a) | set(b))
    label = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: k)
    return [Change(label(k), a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


def environment_changes(run_a: Path, run_b: Path) -> list[Change]:
    """Python, platform, ISA, CPU, BLAS pools, thread settings and package versions that differ."""
    ea, eb = _read_json(run_a / "environment.json"), _read_json(run_b / "environment.json")
    changes = [Change(k, ea.get(k), eb.get(k)) for k in ENVIRONMENT_KEYS if ea.get(k) != eb.get(k)]
    pools_a, pools_b = _pools(ea), _pools(eb)
    if pools_a != pools_b:
        changes.append(Change("threadpools", pools_a, pools_b))
    env_a = (ea.get("envelope") or {}).get("process_env") or {}
    env_b = (eb.get("envelope") or {}).get("process_env") or {}
    changes += [Change(f"env.{k}", env_a.get(k), env_b.get(k)) for k in sorted(set(env_a) | set(env_b)) if env_a.get(k) != env_b.get(k)]
    packages_a, packages_b = ea.get("packages") or {}, eb.get("packages") or {}
    changes += [Change(f"package {name}", packages_a.get(name), packages_b.get(name))
                for name in sorted(set(packages_a) | set(packages_b)) if packages_a.get(name) != packages_b.get(name)]
    return changes


def _pools(environment: dict[str, Any]) -> list[str]:
    return [f"{p.get('internal_api')} {p.get('version')}" for p in environment.get("threadpools") or []]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _kept(run_dir: Path) -> dict[str, list[float]]:
    return _read_json(run_dir / "trace_values.json")


def _compare_trace(la: dict[str, Any], lb: dict[str, Any], dir_a: Path, dir_b: Path, rtol: float, atol: float) -> list[StepDifference]:
    steps_a = {entry["step"]: entry for entry in la.get("trace") or []}
    steps_b = {entry["step"]: entry for entry in lb.get("trace") or []}
    order = [entry["step"] for entry in la.get("trace") or []]
    order += [entry["step"] for entry in lb.get("trace") or [] if entry["step"] not in steps_a]
    kept_a: dict[str, list[float]] | None = None
    kept_b: dict[str, list[float]] | None = None
    result = []
    for step in order:
        ea, eb = steps_a.get(step), steps_b.get(step)
        if ea is None or eb is None:
            result.append(StepDifference(step, "only_b" if ea is None else "only_a"))
            continue
        if ea["sha256"] == eb["sha256"]:
            result.append(StepDifference(step, "equal"))
            continue
        if kept_a is None or kept_b is None:
            kept_a, kept_b = _kept(dir_a), _kept(dir_b)
        values_a, values_b = kept_a.get(step), kept_b.get(step)
        if values_a is None or values_b is None or ea.get("structure") != eb.get("structure") or len(values_a) != len(values_b):
            result.append(StepDifference(step, "different"))
            continue
        result.append(_numeric_difference(step, np.asarray(values_a), np.asarray(values_b), rtol, atol))
    return result


def _numeric_difference(step: str, a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> StepDifference:
    both_nan = np.isnan(a) & np.isnan(b)
    delta = np.where(both_nan, 0.0, np.abs(a - b))
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(delta == 0, 0.0, delta / scale)
    close = both_nan | (delta <= atol + rtol * np.abs(b))
    return StepDifference(
        step, "numeric" if bool(close.all()) else "different",
        max_abs=float(np.nanmax(delta)) if delta.size else 0.0,
        max_rel=float(np.nanmax(relative)) if relative.size else 0.0,
        max_ulp=ulp_distance(a, b), n_values=int(a.size), n_differing=int((delta != 0).sum()),
    )


def ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """The largest number of representable float64 values between paired elements."""
    if a.size == 0:
        return 0

    def ordered(x: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(x, dtype="float64").view(np.int64).astype(object)
        # map the sign-magnitude float order onto a monotone integer order
        return np.where(bits < 0, -(2**63) - bits, bits)

    finite = np.isfinite(a) & np.isfinite(b)
    if not finite.any():
        return 0
    return int(max(abs(int(x) - int(y)) for x, y in zip(ordered(a[finite]), ordered(b[finite]))))


def _metric_changes(run_a: Path, run_b: Path) -> list[Change]:
    ma, mb = _read_json(run_a / "metrics.json"), _read_json(run_b / "metrics.json")
    changes = _changes(_flatten(ma.get("test") or {}), _flatten(mb.get("test") or {}), "test")
    if ma.get("selected_model") != mb.get("selected_model"):
        changes.insert(0, Change("selected_model", ma.get("selected_model"), mb.get("selected_model")))
    return changes


def _level(report: DiffReport) -> Level:
    if report.dataset or report.config or report.seed:
        return "different"
    statuses = [s for s in report.steps if s.status != "equal"]
    if not statuses and not report.fingerprints:
        return "exact"
    for step in statuses:
        if step.status == "numeric":
            continue
        if step.status == "different" and step.step in MODEL_STATE_STEPS:
            continue
        return "different"
    return "numeric"


def _causes(report: DiffReport) -> list[str]:
    causes = []
    if report.dataset:
        causes.append("dataset differs")
    if report.config:
        causes.append(f"config differs: {', '.join(c.key for c in report.config[:5])}")
    if report.seed:
        causes.append(f"seed differs: {report.seed.a} vs {report.seed.b}")
    if report.code:
        causes.append("code version differs")
    if report.environment:
        causes.append(f"environment differs: {', '.join(c.key for c in report.environment[:5])}")
    if report.first_divergence is not None:
        causes.append(f"first divergent step: {report.first_divergence.step}")
    return causes
