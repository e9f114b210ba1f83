"""The Python API for your own training code.

Inside a command wrapped by ``trainlock run -- COMMAND``::

    run = trainlock.current_run()

In-process, without the CLI::

    with trainlock.start(config="params.yaml", store="runs") as run:
        ...

Either way ``run`` offers ``config``, ``seed_for(scope)``, ``checkpoint(step, obj)``,
``log_metrics({...})``, ``log_artifact(path)`` and ``save_model(model, name)``, and the
code runs inside the envelope (seeded ``random``/NumPy/PyTorch, limited thread pools).
Import torch before the run starts, so the envelope finds it and sets its flags.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..envelope import Envelope, envelope_threads
from ..errors import ConfigError, DataError, TrainlockError
from ..lineage import CommandRecord, Lineage
from ..run import SNAPSHOT, RunFolder, RunRecorder
from ..seeds import SeedLedger
from ..store import Store, open_store
from ..trace import Trace
from .recorder import complete_wrapped, start_wrapped
from .userconfig import load_user_config

#: variables `trainlock run` gives the wrapped command
ENV_RUN_DIR = "TRAINLOCK_RUN_DIR"
ENV_RUN_ID = "TRAINLOCK_RUN_ID"
ENV_SEED = "TRAINLOCK_SEED"
ENV_CONFIG = "TRAINLOCK_CONFIG"

#: how a wrapped command hands its records to the trainlock process (read, then removed)
STATE_FILE = ".trainlock-api.json"
MODELS_DIR = "models"
ARTIFACTS_DIR = "artifacts"


class Run:
    """What user code records into its run. Obtain it from :func:`current_run` or :func:`start`."""

    def __init__(self, run_id: str, run_dir: Path, config: Mapping[str, Any], seed: int, *, threads: int = 1) -> None:
        self.run_id = run_id
        #: every file the run's code records is written through it, atomically and inside the folder
        self.folder = RunFolder(Path(run_dir))
        self._config = dict(config)
        self.seed = int(seed)
        self._seeds = SeedLedger(self.seed)
        self._trace = Trace()
        self._metrics: dict[str, Any] = {}
        self._history: list[dict[str, Any]] = []
        self._models: dict[str, dict[str, Any]] = {}
        self._artifacts: dict[str, dict[str, Any]] = {}
        self._envelope = Envelope(self.seed, threads=threads)
        #: lineage.json's content once a run made by start() is sealed
        self.lineage: Lineage | None = None

    @property
    def run_dir(self) -> Path:
        return self.folder.path

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, run_dir={str(self.run_dir)!r}, seed={self.seed})"

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config (``seed`` included), as recorded in config.snapshot.yaml."""
        return self._config

    def seed_for(self, scope: str) -> int:
        """The seed of ``scope``, derived from the base seed and the name only; recorded in lineage."""
        if not isinstance(scope, str) or not scope:
            raise ConfigError(f"seed_for() takes a non-empty scope name, got {scope!r}; e.g. run.seed_for('model')")
        return self._seeds.seed_for(scope)

    def checkpoint(self, step: str, obj: Any) -> str:
        """Record ``step`` in the trace with a canonical hash of ``obj``; return the hash.

        Arrays, DataFrames and tensors are hashed by dtype, shape and values (and their
        numbers kept for ``trainlock diff``); dicts, lists and scalars canonically;
        fitted models by their semantic fingerprint (see ``trainlock.fingerprint``).
        """
        from .values import checkpoint_parts

        if not isinstance(step, str) or not step:
            raise ConfigError(f"checkpoint() takes a non-empty step name, got {step!r}")
        if any(entry["step"] == step for entry in self._trace.steps):
            raise ConfigError(
                f"checkpoint '{step}' was recorded twice in run {self.run_id}; "
                f"give each step its own name, e.g. '{step}/2'"
            )
        value, keep, digest = checkpoint_parts(obj)
        return self._trace.record(step, value, keep=keep, digest=digest)

    def log_metrics(self, metrics: Mapping[str, Any], *, step: int | None = None) -> None:
        """Merge ``metrics`` into metrics.json (latest value wins); with ``step``, also keep the history."""
        if not isinstance(metrics, Mapping) or not all(isinstance(key, str) for key in metrics):
            raise ConfigError(f"log_metrics() takes a mapping of metric name to value, got {type(metrics).__name__}")
        values = {key: _json_number(key, value) for key, value in metrics.items()}
        self._metrics.update(values)
        if step is not None:
            self._history.append({"step": int(step), **values})

    def log_artifact(self, path: str | os.PathLike[str], *, name: str | None = None) -> Path:
        """Copy the file ``path`` into the run folder's artifacts/ (so verify covers it); return the copy."""
        from ..hashing import sha256_file

        source = Path(path)
        if not source.is_file():
            raise DataError(f"log_artifact({str(path)!r}): no such file; pass the path of a file your code wrote")
        target_name = _file_name(name or source.name, "artifact")
        relative = f"{ARTIFACTS_DIR}/{target_name}"
        target = self.folder.write_bytes(relative, source.read_bytes())
        self._artifacts[target_name] = {"path": relative, "sha256": sha256_file(target), "source": str(path)}
        return target

    def save_model(self, model: Any, name: str) -> Path:
        """Save ``model`` with skops into models/NAME.skops and record its fingerprint; return the path.

        A PyTorch module is saved as its state_dict (tensors as NumPy arrays, dtypes beside
        them), so the file's bytes depend on the weights alone; load it with
        ``trainlock.torch.load_state_dict``.
        """
        from ..errors import FingerprintError
        from ..fingerprint import fingerprint
        from ..hashing import sha256_file
        from ..model_io import dump_model
        from .values import is_torch_module

        model_name = _file_name(name, "model")
        relative = f"{MODELS_DIR}/{model_name}.skops"
        if model_name in self._models:
            raise ConfigError(
                f"model '{model_name}' was saved twice in run {self.run_id}; give each model its own name"
            )
        target = self.folder.file(relative)
        target.parent.mkdir(exist_ok=True)
        if is_torch_module(model):
            from ..torch_state import state_dict_document

            trusted = dump_model(state_dict_document(model), target)
            kind = "torch.state_dict"
        else:
            trusted = dump_model(model, target)
            kind = "skops"
        try:
            digest: str | None = fingerprint(model)
        except FingerprintError:
            digest = None  # no family registered: the file's hash still proves the bytes
        self._models[model_name] = {
            "path": relative,
            "sha256": sha256_file(target),
            "format": kind,
            "trusted_types": trusted,
            "fingerprint": digest,
            "type": _type_name(model),
        }
        self._trace.record(f"model/{model_name}", None, digest=digest or self._models[model_name]["sha256"])
        return target

    # -- hand-over ------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        trace = Trace(steps=list(self._trace.steps), kept=dict(self._trace.kept))
        if self._metrics:
            # metrics are a result: compared by value in diff, after every checkpoint
            trace.record("metrics", self._metrics, keep=True)
        return {
            "pid": os.getpid(),
            "trace": trace.steps,
            # JSON has no NaN or infinity: such a step is compared by its hash alone
            "kept": {step: values for step, values in trace.kept.items() if all(map(math.isfinite, values))},
            "seeds": self._seeds.issued(),
            "metrics": dict(sorted(self._metrics.items())),
            "history": list(self._history),
            "models": dict(sorted(self._models.items())),
            "artifacts": dict(sorted(self._artifacts.items())),
            "envelope": self._envelope.record(),
            "frameworks": _frameworks(),
        }


# -- wrapped: current_run() ---------------------------------------------------------

#: the run of this process, by pid: a forked worker must not reuse its parent's object
_CURRENT: dict[int, Run] = {}


def current_run() -> Run:
    """The run of the command wrapped by ``trainlock run``; enters the envelope on first call.

    The records are handed to trainlock when the interpreter exits normally.
    """
    pid = os.getpid()
    if pid in _CURRENT:
        return _CURRENT[pid]
    run_dir = os.environ.get(ENV_RUN_DIR)
    if not run_dir:
        raise TrainlockError(
            f"trainlock.current_run() works inside 'trainlock run -- COMMAND' only ({ENV_RUN_DIR} is not set); "
            "wrap the command, or use 'with trainlock.start(config=...) as run:' in-process"
        )
    config = _read_config(Path(os.environ.get(ENV_CONFIG, Path(run_dir) / SNAPSHOT.name)))
    seed = int(os.environ.get(ENV_SEED, config.get("seed", 0)))
    run = Run(os.environ.get(ENV_RUN_ID, Path(run_dir).name), Path(run_dir), config, seed, threads=envelope_threads())
    run._envelope.__enter__()
    _CURRENT[pid] = run
    atexit.register(_hand_over, run, pid)
    return run


def _hand_over(run: Run, pid: int) -> None:
    if os.getpid() != pid:
        return  # a forked child that exits through atexit is not the wrapped command
    path = run.folder.file(STATE_FILE)
    try:
        state = run._state()
        if path.is_file():
            # an earlier process of the same command (e.g. `sh -c "prep && train"`) recorded first
            state = merge_states(json.loads(path.read_text(encoding="utf-8")), state)
        run.folder.write_json(STATE_FILE, state)
    except Exception as exc:
        # an exception in atexit does not change the exit code, so tell the trainlock process instead
        run.folder.write_json(STATE_FILE, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        run._envelope.__exit__(None, None, None)


def merge_states(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two processes' records, in the order they finished; a step recorded by both is an error."""
    seen = {entry["step"] for entry in first.get("trace", [])}
    twice = sorted(seen & {entry["step"] for entry in second.get("trace", [])})
    if twice:
        raise ConfigError(f"checkpoint(s) {', '.join(twice)} recorded by two processes of one run; name them apart")
    merged = dict(first)
    merged["trace"] = first.get("trace", []) + second.get("trace", [])
    merged["history"] = first.get("history", []) + second.get("history", [])
    for key in ("kept", "seeds", "metrics", "models", "artifacts", "frameworks"):
        merged[key] = dict(sorted({**first.get(key, {}), **second.get(key, {})}.items()))
    merged["envelope"] = second.get("envelope") or first.get("envelope", {})
    return merged


def read_state(run_dir: Path) -> dict[str, Any]:
    """What the wrapped command recorded (empty when it did not use the API); removes the hand-over file."""
    path = run_dir / STATE_FILE
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise TrainlockError(f"{path} is damaged; the command's records are lost; run it again") from None
    path.unlink()
    if "error" in state:
        raise TrainlockError(
            f"the command exited 0 but could not hand over its trainlock records ({state['error']}); "
            "see stderr.log in the run folder"
        )
    return state


# -- in-process: start() -----------------------------------------------------------


@contextmanager
def start(
    config: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Mapping[str, Any] | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
) -> Iterator[Run]:
    """Record the block as a run (kind ``run``) in a new folder of ``store`` (or at ``run_dir``).

    ``config`` is a YAML path, a list of them (merged in order) or a mapping; ``store`` a
    folder, an object-storage URL or a :class:`~trainlock.store.Store` (default: as the
    CLI's ``--store``). On a normal exit the run is sealed with lineage.json
    (``run.lineage``); on an exception it is recorded as failed and the exception propagates.
    """
    resolved = load_user_config(config, overrides=overrides, seed=seed)
    home = open_store(store) if store is None or isinstance(store, (str, os.PathLike)) else store
    with RunRecorder(home, "run", fixed=run_dir) as recorder:
        start_wrapped(recorder, "run", sys.argv, resolved, name=name, api="start")
        run = Run(recorder.run_id, recorder.folder.path, resolved.values, resolved.seed, threads=envelope_threads())
        with run._envelope as envelope:
            yield run
            state = run._state()
            envelope_record = envelope.record()
        command = CommandRecord(argv=list(sys.argv), cwd=os.getcwd(), in_process=True)
        run.lineage = complete_wrapped(recorder, resolved, state, envelope=envelope_record, command=command, name=name)


# -- helpers ------------------------------------------------------------------------


def _read_config(path: Path) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the run's config {path} ({exc}); was the run folder changed?") from None
    return document if isinstance(document, dict) else {}


def _json_number(key: str, value: Any) -> Any:
    import numpy as np

    if isinstance(value, (np.generic,)):
        value = value.item()
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # a 0-d tensor or array
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise ConfigError(f"metric '{key}' is a {type(value).__name__}; log numbers (or strings)")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    return value


def _file_name(name: str, what: str) -> str:
    if (
        not isinstance(name, str)
        or not name
        or "/" in name
        or "\\" in name
        or name in (".", "..")
        or name.startswith(".")
    ):
        raise ConfigError(f"{what} name {name!r} must be a plain file name (no folders, not hidden), e.g. 'classifier'")
    return name


def _type_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _frameworks() -> dict[str, Any]:
    if "torch" not in sys.modules:
        return {}
    from ..torch_state import versions

    return {"torch": versions()}
