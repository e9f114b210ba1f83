"""What a run of kind ``run`` adds to the one life cycle (:class:`trainlock.run.RunRecorder`).

Shared by ``trainlock run -- COMMAND`` (the recorder lives in the trainlock process and
the wrapped command reports through a state file) and ``trainlock.start()`` (both live
in one process): the config snapshot at the start, and at the end the metrics, trace
values, environment and a lineage that names every declared input and output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import environment
from ..hashing import canonical_hash, sha256_file
from ..identity import code_identity
from ..lineage import CommandRecord, DeclaredFile, FileRef, Identity, Lineage, Seeds
from ..run import ENVIRONMENT, METRICS, SNAPSHOT, TRACE_VALUES, RunRecorder
from ..trace import Trace
from .userconfig import UserConfig


def start_wrapped(
    recorder: RunRecorder, command: str, argv: Sequence[str] | None, config: UserConfig, **fields: Any
) -> None:
    """The ``started`` event and the config snapshot of a wrapped run."""
    recorder.start(
        command, list(argv) if argv is not None else None, config_sha256=config.sha256, seed=config.seed, **fields
    )
    recorder.folder.write_text(SNAPSHOT, config.snapshot)


def complete_wrapped(
    recorder: RunRecorder,
    config: UserConfig,
    state: dict[str, Any],
    *,
    envelope: dict[str, Any],
    command: CommandRecord,
    inputs: dict[str, DeclaredFile] | None = None,
    outputs: dict[str, DeclaredFile] | None = None,
    parents: Sequence[str] = (),
    name: str | None = None,
) -> Lineage:
    """Write metrics, trace values and environment, then seal the run."""
    folder = recorder.folder
    inputs, outputs = inputs or {}, outputs or {}
    trace = Trace(steps=[dict(step) for step in state.get("trace", [])], kept=dict(state.get("kept", {})))
    for path, described in outputs.items():
        # a declared output is a result like a checkpoint: a changed file is a divergence
        trace.record(f"output:{path}", None, digest=described.sha256)
    if state.get("metrics") or state.get("history"):
        folder.write_json(METRICS, {"metrics": state.get("metrics", {}), "history": state.get("history", [])})
    if trace.kept:
        folder.write_json(TRACE_VALUES, trace.kept, compact=True)
    record = {**envelope}
    if state.get("envelope"):
        record["command"] = state["envelope"]
    document = environment.collect(record)
    if state.get("frameworks"):
        document["frameworks"] = state["frameworks"]
    folder.write_json(ENVIRONMENT, document)
    models = state.get("models", {})
    code = {**code_identity(), "command_files": _command_files(command)}
    identity_source = {
        "inputs": {path: item.sha256 for path, item in inputs.items()},
        "command": command.argv,
        "code": code,
    }
    return recorder.complete(
        {"steps": len(trace.steps), "models": sorted(models)},
        name=name,
        parent=parents[0] if parents else None,
        parents=list(parents),
        config=FileRef(path=SNAPSHOT.name, sha256=sha256_file(folder.file(SNAPSHOT))),
        command=command,
        declared_inputs=inputs,
        declared_outputs=outputs,
        models=models,
        artifacts=state.get("artifacts", {}),
        fingerprints={
            f"model/{key}": entry["fingerprint"] for key, entry in sorted(models.items()) if entry.get("fingerprint")
        },
        trace=trace.steps,
        identity=Identity(
            strict_key=canonical_hash({**identity_source, "config": config.sha256}),
            replicate_key=canonical_hash({**identity_source, "config": config.replicate_sha256}),
        ),
        seeds=Seeds(base=config.seed, derived=dict(sorted(state.get("seeds", {}).items()))),
        code=code,
    )


def _command_files(command: CommandRecord) -> dict[str, str]:
    """SHA-256 of each argument of the command that names a file (the script, mostly)."""
    cwd = Path(command.cwd or ".")
    hashes = {}
    for argument in command.argv:
        path = cwd / argument
        if argument and not argument.startswith("-") and path.is_file():
            hashes[argument] = sha256_file(path)
    return dict(sorted(hashes.items()))
