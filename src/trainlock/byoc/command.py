"""`trainlock run -- COMMAND`: any command inside the envelope, recorded as a verifiable run.

The trainlock process claims the run folder, hashes the declared inputs, runs the
command with the process variables of the envelope plus ``TRAINLOCK_*`` variables that
name its run folder, seed and config, captures its output, then hashes the declared
outputs and seals the folder with lineage.json. A command that exits non-zero leaves a
failed run (no lineage) and its exit code is passed through.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import atomic, runlock
from ..envelope import THREADS_ENV, Envelope, envelope_threads
from ..errors import CheckFailed, DataError, TrainlockError
from ..store import RunRef, find_run
from . import declared
from .api import ENV_CONFIG, ENV_RUN_DIR, ENV_RUN_ID, ENV_SEED, read_state
from .recorder import RunRecorder
from .userconfig import load_user_config

STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"

#: receives each chunk the command writes, as ("stdout" | "stderr", bytes); the CLI echoes them
OutputSink = Callable[[str, bytes], None]


@dataclass(frozen=True)
class CommandRun:
    run_id: str
    run_dir: Path
    returncode: int
    lineage: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_command(
    command: Sequence[str],
    *,
    configs: Sequence[str | os.PathLike[str]] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    name: str | None = None,
    parent: str | None = None,
    store: str | os.PathLike[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    on_output: OutputSink | None = None,
    argv: list[str] | None = None,
    label: str = "run",
) -> CommandRun:
    """Run ``command`` as a run of kind ``run``; see the module docstring."""
    command = [str(part) for part in command]
    if not command:
        raise TrainlockError("no command to run; put it after --, e.g. trainlock run -- python train.py")
    workdir = Path(cwd).absolute() if cwd is not None else Path.cwd()
    config = load_user_config(configs, overrides=overrides, seed=seed)
    described_inputs = declared.describe_all(inputs, cwd=workdir, role="input")
    parents = _parents(parent, inputs, workdir, store)
    recorder = RunRecorder.claim(store=store, run_dir=run_dir)
    recorder.started(label, argv, config, wrapped=command, wrapped_cwd=str(workdir), name=name,
                     parent=parents[0] if parents else None, inputs=sorted(described_inputs))
    with runlock.hold(recorder.run_dir):  # `trainlock gc` leaves a run alone while we hold this
        try:
            child_env = {**os.environ, **(env or {}), ENV_RUN_DIR: str(recorder.run_dir), ENV_RUN_ID: recorder.run_id,
                         ENV_SEED: str(config.seed), ENV_CONFIG: str(recorder.snapshot_path)}
            with Envelope(config.seed, threads=envelope_threads(child_env)) as envelope:
                returncode, stdout, stderr = _execute(command, workdir, child_env, on_output)
                envelope_record = envelope.record()
            atomic.write_bytes(recorder.run_dir / STDOUT_FILE, stdout)
            atomic.write_bytes(recorder.run_dir / STDERR_FILE, stderr)
            if returncode != 0:
                # what the command recorded stays in the (hidden) hand-over file: how far it got
                recorder.failed(f"the command exited with code {returncode}", returncode=returncode)
                return CommandRun(recorder.run_id, recorder.run_dir, returncode, None)
            state = read_state(recorder.run_dir)
            described_outputs = declared.describe_all(outputs, cwd=workdir, role="output")
            lineage = recorder.complete(config, state, envelope=envelope_record,
                                        command={"argv": command, "cwd": str(workdir)},
                                        inputs=described_inputs, outputs=described_outputs, parents=parents, name=name)
        except BaseException as exc:
            recorder.failed(exc)
            raise
    return CommandRun(recorder.run_id, recorder.run_dir, 0, lineage)


def rerun(original: RunRef, lineage: dict[str, Any], *, argv: list[str] | None = None,
          on_output: OutputSink | None = None) -> CommandRun:
    """Run a recorded command again, beside the original, with its config, seed and envelope."""
    command = lineage.get("command") or {}
    if not command.get("argv") or command.get("in_process"):
        raise TrainlockError(
            f"run {original.run_id} was recorded in-process by trainlock.start(), so there is no command to re-run; "
            "run its script again and compare with 'trainlock diff'"
        )
    cwd = Path(command.get("cwd") or ".")
    if not cwd.is_dir():
        raise DataError(f"run {original.run_id} ran in {cwd}, which is gone; restore it to reproduce the run")
    for recorded in (lineage.get("declared_inputs") or {}).values():
        problem = declared.changed(recorded, cwd=cwd)
        if problem:
            raise DataError(f"{problem}; restore the input run {original.run_id} was made from, then reproduce it")
    config_entry = lineage.get("config") or {}
    snapshot = original.run_dir / config_entry.get("path", "config.snapshot.yaml")
    result = run_command(
        command["argv"], configs=[snapshot], inputs=sorted(lineage.get("declared_inputs") or {}),
        outputs=sorted(lineage.get("declared_outputs") or {}), name=lineage.get("name"), parent=str(original.run_dir),
        store=original.run_dir.parent, cwd=cwd, env=_recorded_env(original.run_dir), on_output=on_output,
        argv=argv, label="reproduce",
    )
    if not result.ok:
        raise CheckFailed(f"the reproduced command exited with code {result.returncode}; "
                          f"its output is in {result.run_dir / STDERR_FILE}")
    return result


def _recorded_env(run_dir: Path) -> dict[str, str]:
    """The process variables and thread count the original run's envelope recorded."""
    import json

    try:
        document = json.loads((run_dir / "environment.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    envelope = document.get("envelope") or {}
    env = {key: value for key, value in (envelope.get("process_env") or {}).items() if isinstance(value, str)}
    if isinstance(envelope.get("threads"), int):
        env[THREADS_ENV] = str(envelope["threads"])
    return env


def _parents(parent: str | None, inputs: Sequence[str], cwd: Path,
             store: str | os.PathLike[str] | None) -> list[str]:
    """The explicit parent, then every run folder a declared input lies in, in order, once each."""
    found = [find_run(parent, store).run_id] if parent else []
    for path in inputs:
        folder = declared.run_folder_of((cwd / path).absolute())
        if folder is not None:
            found.append(folder.name)
    return list(dict.fromkeys(found))


def _execute(command: list[str], cwd: Path, env: dict[str, str], on_output: OutputSink | None) -> tuple[int, bytes, bytes]:
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise TrainlockError(f"cannot run {command[0]!r}: no such program; check the command after --") from None
    except PermissionError:
        raise TrainlockError(f"cannot run {command[0]!r}: permission denied; make it executable or call its interpreter") from None
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    pumps = [threading.Thread(target=_pump, args=(stream, name, chunks[name], on_output), daemon=True)
             for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))]
    for pump in pumps:
        pump.start()
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the command too, SIGTERM only us: let it stop, then make it stop
        for stop in (None, process.terminate, process.kill):
            if stop is not None:
                stop()
            try:
                process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        raise
    finally:
        for pump in pumps:
            pump.join()
    return returncode, b"".join(chunks["stdout"]), b"".join(chunks["stderr"])


def _pump(stream: IO[bytes] | None, name: str, chunks: list[bytes], on_output: OutputSink | None) -> None:
    assert stream is not None
    with stream:
        for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
            chunks.append(chunk)
            if on_output is not None:
                on_output(name, chunk)
