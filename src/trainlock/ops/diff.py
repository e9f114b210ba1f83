"""`trainlock diff`: how two runs differ, most important first, and where the trace parts.

Equivalence levels:

* ``exact`` — every trace hash and fingerprint is equal;
* ``numeric`` — every step that differs keeps values in both runs, with the same
  structure, within ``rtol``/``atol`` (a model's state is judged by its predictions);
* ``different`` — anything else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import yaml

from ..errors import TrainlockError
from ..lineage import Lineage
from ..run import ENVIRONMENT, METRICS, SNAPSHOT, TRACE_VALUES, RunFolder
from ..store import Store

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


def diff(
    run_a: str, run_b: str, *, store: Store, level: Level = "exact", rtol: float = 1e-9, atol: float = 0.0
) -> DiffReport:
    a, b = store.find(run_a), store.find(run_b)
    return diff_folders(a, b, store=store, level=level, rtol=rtol, atol=atol)


def diff_folders(
    a: RunFolder, b: RunFolder, *, store: Store, level: Level = "exact", rtol: float = 1e-9, atol: float = 0.0
) -> DiffReport:
    la, lb = a.lineage(), b.lineage()
    report = DiffReport(a.run_id, b.run_id, "exact", level, rtol=rtol, atol=atol)

    report.dataset = _changes(
        {"sha256": la.dataset.sha256 if la.dataset else None},
        {"sha256": lb.dataset.sha256 if lb.dataset else None},
        "dataset",
    )
    config_a, config_b = _snapshot(a, la, store), _snapshot(b, lb, store)
    config_changes = _changes(_flatten(config_a), _flatten(config_b), "")
    report.seed = next((c for c in config_changes if c.key == "seed"), None)
    # the data path names where the file was, not what it was: the dataset hash covers content
    report.config = [c for c in config_changes if c.key not in ("seed", "data.path")]
    report.code = _changes(la.code or {}, lb.code or {}, "code")
    report.environment = environment_changes(a, b)
    report.identity = _changes(
        la.identity.model_dump() if la.identity else {}, lb.identity.model_dump() if lb.identity else {}, ""
    )

    report.steps = _compare_trace(la, lb, a, b, rtol, atol)
    report.first_divergence = next((s for s in report.steps if s.status != "equal"), None)
    report.fingerprints = _changes(la.fingerprints, lb.fingerprints, "")
    report.metrics = _metric_changes(a, b)

    report.level = _level(report)
    report.causes = _causes(report)
    return report


# -- sections ---------------------------------------------------------------------------


def _snapshot(folder: RunFolder, lineage: Lineage, store: Store) -> dict[str, Any]:
    entry = lineage.config
    if entry is None:
        return {}
    try:
        home = store.find(entry.run) if entry.run else folder
        document = yaml.safe_load(home.read_text(entry.path or SNAPSHOT.name)) or {}
    except (OSError, yaml.YAMLError, TrainlockError):
        return {}
    return document if isinstance(document, dict) else {}


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


def environment_changes(run_a: RunFolder, run_b: RunFolder) -> list[Change]:
    """Python, platform, ISA, CPU, BLAS pools, thread settings and package versions that differ."""
    ea, eb = run_a.read_json_object(ENVIRONMENT), run_b.read_json_object(ENVIRONMENT)
    changes = [Change(k, ea.get(k), eb.get(k)) for k in ENVIRONMENT_KEYS if ea.get(k) != eb.get(k)]
    pools_a, pools_b = _pools(ea), _pools(eb)
    if pools_a != pools_b:
        changes.append(Change("threadpools", pools_a, pools_b))
    env_a = (ea.get("envelope") or {}).get("process_env") or {}
    env_b = (eb.get("envelope") or {}).get("process_env") or {}
    changes += [
        Change(f"env.{k}", env_a.get(k), env_b.get(k))
        for k in sorted(set(env_a) | set(env_b))
        if env_a.get(k) != env_b.get(k)
    ]
    packages_a, packages_b = ea.get("packages") or {}, eb.get("packages") or {}
    changes += [
        Change(f"package {name}", packages_a.get(name), packages_b.get(name))
        for name in sorted(set(packages_a) | set(packages_b))
        if packages_a.get(name) != packages_b.get(name)
    ]
    return changes


def _pools(environment: dict[str, Any]) -> list[str]:
    return [f"{p.get('internal_api')} {p.get('version')}" for p in environment.get("threadpools") or []]


def _compare_trace(
    la: Lineage, lb: Lineage, dir_a: RunFolder, dir_b: RunFolder, rtol: float, atol: float
) -> list[StepDifference]:
    steps_a = {entry["step"]: entry for entry in la.trace}
    steps_b = {entry["step"]: entry for entry in lb.trace}
    order = [entry["step"] for entry in la.trace]
    order += [entry["step"] for entry in lb.trace if entry["step"] not in steps_a]
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
            kept_a, kept_b = dir_a.read_json_object(TRACE_VALUES), dir_b.read_json_object(TRACE_VALUES)
        values_a, values_b = kept_a.get(step), kept_b.get(step)
        if (
            values_a is None
            or values_b is None
            or ea.get("structure") != eb.get("structure")
            or len(values_a) != len(values_b)
        ):
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
        step,
        "numeric" if bool(close.all()) else "different",
        max_abs=float(np.nanmax(delta)) if delta.size else 0.0,
        max_rel=float(np.nanmax(relative)) if relative.size else 0.0,
        max_ulp=ulp_distance(a, b),
        n_values=int(a.size),
        n_differing=int((delta != 0).sum()),
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
    return int(max(abs(int(x) - int(y)) for x, y in zip(ordered(a[finite]), ordered(b[finite]), strict=True)))


def _metric_changes(run_a: RunFolder, run_b: RunFolder) -> list[Change]:
    ma, mb = run_a.read_json_object(METRICS), run_b.read_json_object(METRICS)
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
