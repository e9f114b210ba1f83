"""The run folder of a ``run`` kind run: claimed, logged and sealed with lineage like ``train``.

Shared by ``trainlock run -- COMMAND`` (the recorder lives in the trainlock process and
the wrapped command reports through a state file) and ``trainlock.start()`` (both live
in one process).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__, atomic, environment
from ..hashing import canonical_hash, sha256_file
from ..lineage import EventLog, invocation, write_lineage
from ..ops._outputs import describe_outputs
from ..store import claim_fixed_run_dir, claim_run_dir, resolve_store
from ..trace import Trace
from .userconfig import SNAPSHOT_FILE, UserConfig

KIND = "run"
METRICS_FILE = "metrics.json"
TRACE_VALUES_FILE = "trace_values.json"
ENVIRONMENT_FILE = "environment.json"


class RunRecorder:
    """Owns one run folder from its claim to its lineage (or its failure)."""

    def __init__(self, run_id: str, run_dir: Path) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.events = EventLog.for_run(run_dir)

    @classmethod
    def claim(cls, *, store: str | os.PathLike[str] | None = None,
              run_dir: str | os.PathLike[str] | None = None) -> RunRecorder:
        """A new run folder in the store, or the fixed folder ``run_dir`` (absent or empty)."""
        if run_dir is not None:
            return cls(*claim_fixed_run_dir(run_dir))
        return cls(*claim_run_dir(resolve_store(store)))

    def started(self, command: str, argv: Sequence[str] | None, config: UserConfig, **fields: Any) -> None:
        self.events.emit("started", **invocation(command, list(argv) if argv is not None else None),
                         config_sha256=config.sha256, seed=config.seed, trainlock=__version__,
                         run_id=self.run_id, **fields)
        atomic.write_text(self.run_dir / SNAPSHOT_FILE, config.snapshot)

    @property
    def snapshot_path(self) -> Path:
        return self.run_dir / SNAPSHOT_FILE

    def failed(self, error: BaseException | str, **fields: Any) -> None:
        if isinstance(error, BaseException):
            fields.update(error=str(error) or type(error).__name__, error_type=type(error).__name__,
                          interrupted=isinstance(error, (KeyboardInterrupt, SystemExit)))
        else:
            fields["error"] = error
        self.events.emit("failed", **fields)

    def complete(
        self,
        config: UserConfig,
        state: dict[str, Any],
        *,
        envelope: dict[str, Any],
        command: dict[str, Any] | None = None,
        inputs: dict[str, dict[str, Any]] | None = None,
        outputs: dict[str, dict[str, Any]] | None = None,
        parents: Sequence[str] = (),
        name: str | None = None,
    ) -> dict[str, Any]:
        """Write metrics, trace values and environment, then lineage.json (last: the completion mark)."""
        from ..identity import code_identity

        inputs, outputs = inputs or {}, outputs or {}
        trace = Trace(steps=[dict(step) for step in state.get("trace", [])], kept=dict(state.get("kept", {})))
        for path, described in outputs.items():
            # a declared output is a result like a checkpoint: a changed file is a divergence
            trace.record(f"output:{path}", None, digest=described["sha256"])
        if state.get("metrics") or state.get("history"):
            atomic.write_json(self.run_dir / METRICS_FILE, {"metrics": state.get("metrics", {}),
                                                             "history": state.get("history", [])})
        if trace.kept:
            atomic.write_json(self.run_dir / TRACE_VALUES_FILE, trace.kept, compact=True)
        record = {**envelope}
        if state.get("envelope"):
            record["command"] = state["envelope"]
        document = environment.collect(record)
        if state.get("frameworks"):
            document["frameworks"] = state["frameworks"]
        atomic.write_json(self.run_dir / ENVIRONMENT_FILE, document)
        models = state.get("models", {})
        code = {**code_identity(), "command_files": _command_files(command)}
        self.events.emit("completed", steps=len(trace.steps), models=sorted(models))
        identity_source = {"inputs": {path: item["sha256"] for path, item in inputs.items()},
                           "command": (command or {}).get("argv"), "code": code}
        lineage = {
            "run_id": self.run_id,
            "kind": KIND,
            "name": name,
            "parent": parents[0] if parents else None,
            "parents": list(parents),
            "dataset": None,
            "config": {"path": SNAPSHOT_FILE, "sha256": sha256_file(self.snapshot_path)},
            "model": None,
            "threshold": None,
            "command": command,
            "declared_inputs": inputs,
            "declared_outputs": outputs,
            "outputs": describe_outputs(self.run_dir),
            "models": models,
            "artifacts": state.get("artifacts", {}),
            "fingerprints": {f"model/{key}": entry["fingerprint"] for key, entry in sorted(models.items())
                             if entry.get("fingerprint")},
            "trace": trace.steps,
            "identity": {
                "strict_key": canonical_hash({**identity_source, "config": config.sha256}),
                "replicate_key": canonical_hash({**identity_source, "config": config.replicate_sha256}),
            },
            "seeds": {"base": config.seed, "derived": dict(sorted(state.get("seeds", {}).items()))},
            "code": code,
        }
        write_lineage(self.run_dir, lineage)
        return lineage


def _command_files(command: dict[str, Any] | None) -> dict[str, str]:
    """SHA-256 of each argument of the command that names a file (the script, mostly)."""
    if not command:
        return {}
    cwd = Path(command.get("cwd") or ".")
    hashes = {}
    for argument in command.get("argv", []):
        path = cwd / argument
        if argument and not argument.startswith("-") and path.is_file():
            hashes[argument] = sha256_file(path)
    return dict(sorted(hashes.items()))
