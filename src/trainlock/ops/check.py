"""`trainlock check`: train several times, each time changing one factor that must not matter.

Like reprotest for builds: a baseline run, then one run per factor — hash seed, numeric
thread count, worker processes, working directory, locale, time zone, directory listing
order — each compared with the baseline by the diff machinery. The data itself is never
changed: row order is part of the data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..envelope import PROCESS_ENV_DEFAULTS, REEXEC_MARKER, THREADS_ENV
from ..errors import ConfigError, TrainlockError
from ..pipeline.config import load_config
from ..run import FRAGILITY, STDERR, RunFolder
from ..store import LocalStore
from .diff import diff_folders

PERTURB_DIR = Path(__file__).resolve().parent.parent / "_perturb"


@dataclass(frozen=True)
class Variant:
    """How one run differs from the baseline: environment, working directory, extra arguments."""

    env: dict[str, str] = field(default_factory=dict)
    new_cwd: bool = False
    arguments: tuple[str, ...] = ()
    setting: str = "baseline"


BASELINE_ENV = {"LC_ALL": "C.UTF-8", "TZ": "UTC", THREADS_ENV: "1", "PYTHONHASHSEED": "0"}

#: each factor and the one change it makes
FACTORS: dict[str, Variant] = {
    "PYTHONHASHSEED": Variant(env={"PYTHONHASHSEED": "4242"}, setting="PYTHONHASHSEED=4242"),
    "threads": Variant(
        env={THREADS_ENV: "2", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
        setting="2 numeric threads per process",
    ),
    "workers": Variant(arguments=("--workers", "2"), setting="--workers 2"),
    "cwd": Variant(new_cwd=True, setting="another working directory"),
    "locale": Variant(env={"LC_ALL": "POSIX", "LANG": "POSIX"}, setting="LC_ALL=POSIX"),
    "timezone": Variant(env={"TZ": "XST-05:45"}, setting="TZ=XST-05:45 (UTC+05:45)"),
    "listing": Variant(env={"TRAINLOCK_PERTURB_LISTING": "reverse"}, setting="directory listings reversed"),
}
#: factors that change trainlock's own arguments, not the process: no meaning for a wrapped command
RECIPE_ONLY_FACTORS = frozenset({"workers"})


@dataclass
class FactorResult:
    factor: str
    setting: str
    run_id: str | None
    equal: bool
    level: str | None = None
    first_divergence: str | None = None
    error: str | None = None


@dataclass
class CheckReport:
    baseline: str
    factors: list[FactorResult] = field(default_factory=list)
    store: str | None = None
    #: the decisions the baseline run's fragility.json flags: close calls a small change could flip
    fragile: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.equal for result in self.factors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "ok": self.ok,
            "store": self.store,
            "factors": [asdict(result) for result in self.factors],
            "fragile": self.fragile,
        }


def check(
    config_paths: Sequence[str | os.PathLike[str]],
    *,
    profiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    factors: Sequence[str] | None = None,
    keep: str | os.PathLike[str] | None = None,
    on_run: Callable[[str], None] | None = None,
) -> CheckReport:
    """Train the resolved config once as a baseline and once per factor; compare each with the baseline."""
    chosen = list(factors) if factors else list(FACTORS)
    unknown = [name for name in chosen if name not in FACTORS]
    if unknown:
        raise ConfigError(f"unknown check factor(s): {', '.join(unknown)}; choose from {', '.join(FACTORS)}")
    resolved = load_config(config_paths, profiles=profiles, overrides=overrides, seed=seed)
    workspace = Path(tempfile.mkdtemp(prefix="trainlock-check-"))
    try:
        store = Path(keep).absolute() if keep else workspace / "store"
        snapshot = workspace / "config.yaml"
        snapshot.write_text(resolved.snapshot, encoding="utf-8")
        return _compare_factors(
            chosen,
            lambda variant, label: _train_variant(snapshot, store, variant, workspace, label),
            LocalStore(store),
            bool(keep),
            on_run,
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def check_command(
    command: Sequence[str],
    *,
    configs: Sequence[str | os.PathLike[str]] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    factors: Sequence[str] | None = None,
    keep: str | os.PathLike[str] | None = None,
    on_run: Callable[[str], None] | None = None,
) -> CheckReport:
    """Like :func:`check`, for your own command: each variant is a `trainlock run -- COMMAND`, compared by its trace."""
    if not command:
        raise ConfigError("no command to check; put it after --, e.g. trainlock check -- python train.py")
    chosen = list(factors) if factors else [name for name in FACTORS if name not in RECIPE_ONLY_FACTORS]
    unknown = [name for name in chosen if name not in FACTORS or name in RECIPE_ONLY_FACTORS]
    if unknown:
        usable = ", ".join(name for name in FACTORS if name not in RECIPE_ONLY_FACTORS)
        raise ConfigError(f"factor(s) {', '.join(unknown)} do not apply to a command; choose from {usable}")
    here = Path.cwd()
    options = [
        *(f"--config={(here / path).absolute()}" for path in configs),
        *(f"--set={o}" for o in overrides),
        *([f"--seed={seed}"] if seed is not None else []),
        *(f"--in={(here / path).absolute()}" for path in inputs),
        *(f"--out={(here / path).absolute()}" for path in outputs),
    ]
    workspace = Path(tempfile.mkdtemp(prefix="trainlock-check-"))
    try:
        store = Path(keep).absolute() if keep else workspace / "store"
        return _compare_factors(
            chosen,
            lambda variant, label: _command_variant(list(command), options, store, variant, workspace, label),
            LocalStore(store),
            bool(keep),
            on_run,
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _compare_factors(
    chosen: Sequence[str],
    run_variant: Callable[[Variant, str], Any],
    store: LocalStore,
    kept: bool,
    on_run: Callable[[str], None] | None,
) -> CheckReport:
    """A baseline run, then one run per factor, each compared with the baseline."""
    if on_run:
        on_run("baseline")
    baseline = run_variant(Variant(), "baseline")
    report = CheckReport(baseline.run_id, store=store.location if kept else None, fragile=fragile_decisions(baseline))
    for name in chosen:
        if on_run:
            on_run(name)
        variant = FACTORS[name]
        try:
            run = run_variant(variant, name)
        except TrainlockError as exc:
            report.factors.append(FactorResult(name, variant.setting, None, False, error=str(exc)))
            continue
        compared = diff_folders(baseline, run, store=store, level="exact")
        first = compared.first_divergence.step if compared.first_divergence else None
        report.factors.append(
            FactorResult(name, variant.setting, run.run_id, compared.equivalent, compared.level, first)
        )
    return report


def fragile_decisions(folder: RunFolder) -> list[dict[str, Any]]:
    """The fragile decisions of a run's fragility.json (none for a run without one, e.g. a wrapped command)."""
    document = folder.read_json_object(FRAGILITY)
    return [decision for decision in document.get("decisions", []) if decision.get("fragile")]


def _command_variant(
    command: list[str], options: list[str], store: Path, variant: Variant, workspace: Path, label: str
) -> Any:
    """One `trainlock run` of the command: in the current folder, or (cwd factor) elsewhere with absolute paths."""
    env = _variant_env(variant)
    cwd = Path.cwd()
    if variant.new_cwd:
        command = [
            str((cwd / part).absolute()) if (cwd / part).exists() and not part.startswith("-") else part
            for part in command
        ]
        cwd = workspace / f"cwd-{label}"
        cwd.mkdir(exist_ok=True)
    full = [
        sys.executable,
        "-m",
        "trainlock",
        "run",
        "--store",
        str(store),
        "--json",
        "--quiet",
        *options,
        "--",
        *command,
    ]
    completed = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    try:
        document = json.loads(completed.stdout)
    except ValueError:
        document = {}
    if completed.returncode != 0:
        output = RunFolder(Path(document["run_dir"])).file(STDERR) if document.get("run_dir") else None
        lines = (
            output.read_text(encoding="utf-8", errors="replace") if output and output.is_file() else completed.stderr
        )
        last = (lines.strip().splitlines() or ["no output"])[-1]
        raise TrainlockError(f"the {label} run failed (exit {completed.returncode}): {last}")
    return RunFolder(Path(document["run_dir"])).require_complete()


def _variant_env(variant: Variant) -> dict[str, str]:
    env = {**os.environ, **PROCESS_ENV_DEFAULTS, **BASELINE_ENV, **variant.env, REEXEC_MARKER: "1"}
    if "TRAINLOCK_PERTURB_LISTING" in variant.env:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PERTURB_DIR), env.get("PYTHONPATH")]))
    return env


def _train_variant(config: Path, store: Path, variant: Variant, workspace: Path, label: str) -> Any:
    env = _variant_env(variant)
    cwd = workspace / f"cwd-{label}" if variant.new_cwd else workspace / "cwd"
    cwd.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "trainlock",
        "train",
        str(config),
        "--store",
        str(store),
        "--json",
        "--quiet",
        *variant.arguments,
    ]
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise TrainlockError(f"the {label} run failed (exit {completed.returncode}): {last}")
    document = json.loads(completed.stdout)
    return RunFolder(Path(document["run_dir"])).require_complete()
