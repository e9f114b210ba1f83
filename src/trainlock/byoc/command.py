"""`trainlock run -- COMMAND`: any command inside the envelope, recorded as a verifiable run.

The trainlock process claims the run folder, hashes the declared inputs, runs the
command with the process variables of the envelope plus ``TRAINLOCK_*`` variables that
name its run folder, seed and config, captures its output, then hashes the declared
outputs and seals the folder with lineage.json. A command that exits non-zero leaves a
failed run (no lineage) and its exit code is passed through.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..envelope import THREADS_ENV, Envelope, envelope_threads
from ..errors import CheckFailed, DataError, TrainlockError
from ..ledger import LEDGER_FILE
from ..lineage import CommandRecord, DeclaredFile, Lineage
from ..run import (
    LINEAGE,
    RUN_ID_PATTERN,
    SNAPSHOT,
    STDERR,
    STDOUT,
    RunFolder,
    RunRecorder,
    declared_difference,
    describe_all_declared,
    describe_declared,
)
from ..store import Store
from .api import ENV_CONFIG, ENV_RUN_DIR, ENV_RUN_ID, ENV_SEED, read_state
from .recorder import complete_wrapped, start_wrapped
from .userconfig import load_user_config

#: where ``reproduce`` re-runs a command, inside the new run folder: never over the original's outputs
WORKSPACE = "workspace"
#: the largest working directory ``reproduce`` copies into a workspace
MAX_WORKSPACE_BYTES = 4 * 2**30

#: receives each chunk the command writes, as ("stdout" | "stderr", bytes); the CLI echoes them
OutputSink = Callable[[str, bytes], None]


@dataclass(frozen=True)
class CommandRun:
    run_id: str
    run_dir: Path
    returncode: int
    lineage: Lineage | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_command(
    command: Sequence[str],
    *,
    store: Store,
    configs: Sequence[str | os.PathLike[str]] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    name: str | None = None,
    parent: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    on_output: OutputSink | None = None,
    argv: list[str] | None = None,
    label: str = "run",
    staged: bool = False,
) -> CommandRun:
    """Run ``command`` as a run of kind ``run``; see the module docstring.

    ``staged=True`` runs it in the new run folder's ``workspace/``, a copy of ``cwd`` (see
    :func:`_stage`), so that nothing is written into ``cwd`` (``reproduce``).
    """
    command = [str(part) for part in command]
    if not command:
        raise TrainlockError("no command to run; put it after --, e.g. trainlock run -- python train.py")
    origin = Path(cwd).absolute() if cwd is not None else Path.cwd()
    config = load_user_config(configs, overrides=overrides, seed=seed)
    described_inputs = describe_all_declared(tuple(inputs), cwd=origin, role="input")
    if staged:
        _check_stageable(inputs, outputs)
    parents = _parents(parent, inputs, origin, store)
    with RunRecorder(store, "run", fixed=run_dir) as recorder:
        workdir = _stage(recorder.folder, origin, outputs, store) if staged else origin
        start_wrapped(
            recorder,
            label,
            argv,
            config,
            wrapped=command,
            wrapped_cwd=str(workdir),
            name=name,
            parent=parents[0] if parents else None,
            inputs=sorted(described_inputs),
        )
        child_env = {
            **os.environ,
            **(env or {}),
            ENV_RUN_DIR: str(recorder.folder.path),
            ENV_RUN_ID: recorder.run_id,
            ENV_SEED: str(config.seed),
            ENV_CONFIG: str(recorder.folder.file(SNAPSHOT)),
        }
        with Envelope(config.seed, threads=envelope_threads(child_env)) as envelope:
            returncode, stdout, stderr = _execute(command, workdir, child_env, on_output)
            envelope_record = envelope.record()
        recorder.folder.write_bytes(STDOUT, stdout)
        recorder.folder.write_bytes(STDERR, stderr)
        if returncode != 0:
            # what the command recorded stays in the (hidden) hand-over file: how far it got
            recorder.failed(f"the command exited with code {returncode}", returncode=returncode)
            return CommandRun(recorder.run_id, recorder.folder.path, returncode, None)
        state = read_state(recorder.folder.path)
        described_outputs = describe_all_declared(tuple(outputs), cwd=workdir, role="output")
        lineage = complete_wrapped(
            recorder,
            config,
            state,
            envelope=envelope_record,
            command=CommandRecord(argv=command, cwd=str(workdir)),
            inputs=described_inputs,
            outputs=described_outputs,
            parents=parents,
            name=name,
        )
    assert recorder.result is not None
    return CommandRun(recorder.run_id, recorder.result.path, 0, lineage)


def rerun(
    original: RunFolder,
    lineage: Lineage,
    *,
    store: Store,
    argv: list[str] | None = None,
    on_output: OutputSink | None = None,
) -> CommandRun:
    """Run a recorded command again, beside the original, with its config, seed and envelope.

    It runs in the new run folder's workspace, so the original's outputs are never written over.
    """
    command = lineage.command
    if command is None or not command.argv or command.in_process:
        raise TrainlockError(
            f"run {original.run_id} was recorded in-process by trainlock.start(), so there is no command to re-run; "
            "run its script again and compare with 'trainlock diff'"
        )
    cwd = Path(command.cwd or ".")
    if not cwd.is_dir():
        raise DataError(f"run {original.run_id} ran in {cwd}, which is gone; restore it to reproduce the run")
    for recorded in lineage.declared_inputs.values():
        problem = changed_declared(recorded, cwd=cwd)
        if problem:
            raise DataError(f"{problem}; restore the input run {original.run_id} was made from, then reproduce it")
    snapshot = original.file(lineage.config.path if lineage.config else SNAPSHOT)
    result = run_command(
        command.argv,
        store=store,
        configs=[snapshot],
        inputs=sorted(lineage.declared_inputs),
        outputs=sorted(lineage.declared_outputs),
        name=lineage.name,
        parent=str(original.path),
        cwd=cwd,
        env=_recorded_env(original),
        on_output=on_output,
        argv=argv,
        label="reproduce",
        staged=True,
    )
    if not result.ok:
        raise CheckFailed(
            f"the reproduced command exited with code {result.returncode}; "
            f"its output is in {result.run_dir / STDERR.name}"
        )
    return result


def changed_declared(recorded: DeclaredFile, *, cwd: Path) -> str | None:
    """Why a declared file or folder no longer matches what is on disk, or None."""
    try:
        now = describe_declared(recorded.path, cwd=cwd, role="input")
    except DataError as exc:
        return str(exc)
    if now.sha256 == recorded.sha256:
        return None
    if recorded.kind == "file" and now.kind == "file":
        return f"--in {recorded.path} has sha256 {now.sha256}, the run recorded {recorded.sha256}"
    return f"--in {recorded.path}: {declared_difference(recorded, now)}"


def _check_stageable(inputs: Sequence[str], outputs: Sequence[str]) -> None:
    """Paths that a copy of the working directory cannot hold: they would be read or written elsewhere."""
    for role, paths in (("--in", inputs), ("--out", outputs)):
        for path in paths:
            escapes = ".." in Path(path).parts or (role == "--out" and Path(path).is_absolute())
            if escapes:
                raise DataError(
                    f"{role} {path} lies outside the command's working directory, so reproduce cannot re-run the "
                    "command in a copy of it without touching the original; declare paths inside it"
                )


def _stage(folder: RunFolder, origin: Path, outputs: Sequence[str], store: Store) -> Path:
    """The new run's workspace: a copy of the working directory, so the command reads what it read before.

    Left out: the declared outputs (the command writes them anew), hidden entries (``.git``,
    ``.venv``, caches), ``__pycache__``, and run stores and run folders. A copy rather than
    links: a command that opens an undeclared file for writing must not change the original.
    """
    workspace = folder.path / WORKSPACE
    skipped = {(origin / path).absolute() for path in outputs} | {store.local_root.absolute(), folder.path.absolute()}

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        return {
            name
            for name in names
            if name.startswith(".")
            or name == "__pycache__"
            or RUN_ID_PATTERN.match(name)
            or (here / name).absolute() in skipped
            or (here / name / LEDGER_FILE).is_file()
        }

    size = _tree_size(origin, ignore)
    if size > MAX_WORKSPACE_BYTES:
        raise DataError(
            f"reproduce copies the working directory {origin} ({size / 2**30:.1f} GiB) into the new run's workspace "
            f"so that nothing of the original is written over, but that is over {MAX_WORKSPACE_BYTES // 2**30} GiB; "
            "run the command from a folder that holds only what it needs"
        )
    shutil.copytree(origin, workspace, symlinks=True, ignore=ignore)
    return workspace


def _tree_size(root: Path, ignore: Callable[[str, list[str]], set[str]]) -> int:
    total = 0
    for directory, names, files in os.walk(root):
        left_out = ignore(directory, [*names, *files])
        names[:] = sorted(name for name in names if name not in left_out)
        total += sum((Path(directory) / name).lstat().st_size for name in files if name not in left_out)
    return total


def _recorded_env(original: RunFolder) -> dict[str, str]:
    """The process variables and thread count the original run's envelope recorded."""
    envelope = original.environment().get("envelope") or {}
    env = {key: value for key, value in (envelope.get("process_env") or {}).items() if isinstance(value, str)}
    if isinstance(envelope.get("threads"), int):
        env[THREADS_ENV] = str(envelope["threads"])
    return env


def _parents(parent: str | None, inputs: Sequence[str], cwd: Path, store: Store) -> list[str]:
    """The explicit parent, then every run folder a declared input lies in, in order, once each."""
    found = [store.find(parent).run_id] if parent else []
    for path in inputs:
        folder = _run_folder_of((cwd / path).absolute())
        if folder is not None:
            found.append(folder.name)
    return list(dict.fromkeys(found))


def _run_folder_of(path: Path) -> Path | None:
    """The run folder holding ``path`` (or being it), if any: the run it came from."""
    for candidate in [path, *path.parents]:
        if (candidate / LINEAGE.name).is_file():
            return candidate
    return None


def _execute(
    command: list[str], cwd: Path, env: dict[str, str], on_output: OutputSink | None
) -> tuple[int, bytes, bytes]:
    try:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError:
        raise TrainlockError(f"cannot run {command[0]!r}: no such program; check the command after --") from None
    except PermissionError:
        raise TrainlockError(
            f"cannot run {command[0]!r}: permission denied; make it executable or call its interpreter"
        ) from None
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    pumps = [
        threading.Thread(target=_pump, args=(stream, name, chunks[name], on_output), daemon=True)
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for pump in pumps:
        pump.start()
    try:
        returncode = process.wait()
        if returncode < 0:  # killed by a signal: the shell's convention, 128 + the signal's number
            returncode = 128 - returncode
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
