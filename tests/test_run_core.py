"""One life cycle for every kind of run: train, predict, sweep, reproduce and `run -- CMD` leave the
same event sequence and lineage shape, and a run killed or terminated never looks complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from trainlock.hashing import sha256_file
from trainlock.lineage import SCHEMA_VERSION, Lineage
from trainlock.run import RunFolder

FIXTURES = Path(__file__).parent / "fixtures"
PY = sys.executable
KINDS = ("train", "predict", "sweep", "reproduce", "run")


def _slow_config(workdir: Path) -> Path:
    """The fast config with one estimator that sleeps where TRAINLOCK_TEST_SLEEP asks (see worker_faults)."""
    document = yaml.safe_load((workdir / "config.yaml").read_text())
    document["models"] = {"custom": {"probe": {"estimator": "worker_faults:SleepsWhenAsked"}}}
    document["calibration"] = {"method": "none"}
    path = workdir / "slow.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINLOCK_", "PYTHONHASHSEED"))}
    return {**env, "PYTHONPATH": str(FIXTURES), **extra}


def _trainlock(*args: object, cwd: Path, env: dict[str, str], wait: bool = True) -> subprocess.Popen | dict:
    command = [str(Path(PY).parent / "trainlock"), *map(str, args)]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _command_for(kind: str, workdir: Path, env: dict[str, str]) -> list[object]:
    """The arguments that make a run of ``kind`` (after any run it needs, made here and completed)."""
    store = workdir / "runs"
    if kind == "train":
        return ["train", "slow.yaml", "--store", store, "--json", "--quiet"]
    if kind == "sweep":
        return ["sweep", "slow.yaml", "--seeds", "1-2", "--store", store, "--json"]
    if kind == "run":
        return [
            "run",
            "--in",
            "data.csv",
            "--store",
            store,
            "--json",
            "--quiet",
            "--",
            PY,
            "-c",
            "import os, time; time.sleep(60 if os.environ.get('TRAINLOCK_TEST_SLEEP') else 0)",
        ]
    trained = _trainlock("train", "slow.yaml", "--store", store, "--json", "--quiet", cwd=workdir, env=env)
    if kind == "predict":
        return ["predict", trained["run_id"], "data.csv", "--store", store, "--json"]
    return ["reproduce", trained["run_id"], "--store", store, "--json", "--quiet"]


def _new_folders(store: Path, before: set[str]) -> list[RunFolder]:
    return [RunFolder(p) for p in sorted(store.iterdir()) if p.is_dir() and p.name not in before]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_run_has_the_same_life_cycle(workdir, kind):
    _slow_config(workdir)
    env = _env()
    arguments = _command_for(kind, workdir, env)
    store = workdir / "runs"
    before = {p.name for p in store.iterdir()} if store.is_dir() else set()
    _trainlock(*arguments, cwd=workdir, env=env)
    folders = _new_folders(store, before)
    assert folders
    ledger = [json.loads(line) for line in (store / "ledger.jsonl").read_text().splitlines()]
    for folder in folders:
        events = folder.events()
        names = [event["event"] for event in events]
        assert names[0] == "started" and names[-1] == "completed" and set(names[1:-1]) <= {"step"}, names
        started = events[0]
        assert started["run_id"] == folder.run_id and started["kind"] in ("train", "predict", "sweep", "run")
        assert {"argv", "cwd", "git_commit", "trainlock", "pid"} <= set(started)
        document = json.loads(folder.file("lineage.json").read_text())
        assert set(document) == set(Lineage.model_fields)  # one shape for every kind
        assert document["schema_version"] == SCHEMA_VERSION and document["kind"] == started["kind"]
        lineage = folder.lineage()
        assert lineage.code and lineage.code["source_sha256"]
        assert set(lineage.outputs) == set(folder.describe_files())
        assert {"events.jsonl", "environment.json"} <= set(lineage.outputs)
        assert {"run_id": folder.run_id, "lineage_sha256": sha256_file(folder.file("lineage.json"))} in [
            {k: e[k] for k in ("run_id", "lineage_sha256")} for e in ledger
        ]
        if lineage.parent is not None:
            assert lineage.parents[0] == lineage.parent
        verified = subprocess.run(
            [str(Path(PY).parent / "trainlock"), "verify", folder.path, "--store", store],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr


#: where each kind is made to wait (TRAINLOCK_TEST_SLEEP) so that a signal reaches it mid-run
SLEEP_IN = {"train": "fit", "sweep": "fit", "reproduce": "fit", "predict": "predict", "run": "command"}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
@pytest.mark.parametrize("kind", KINDS)
def test_a_signalled_run_of_any_kind_never_looks_complete(workdir, kind, how):
    _slow_config(workdir)
    arguments = _command_for(kind, workdir, _env())
    store = workdir / "runs"
    before = {p.name for p in store.iterdir()} if store.is_dir() else set()
    process = _trainlock(*arguments, cwd=workdir, env=_env(TRAINLOCK_TEST_SLEEP=SLEEP_IN[kind]), wait=False)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until every new run has started and the slow part is under way
            folders = _new_folders(store, before) if store.is_dir() else []
            started = [f for f in folders if f.started()]
            if started and len(started) == len(folders) and (kind != "sweep" or len(folders) >= 2):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the {kind} run never started")
        time.sleep(1.5)
        process.send_signal(how)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    folders = _new_folders(store, before)
    assert folders and not any(f.complete for f in folders)
    for folder in folders:
        assert folder.state() == ("failed" if how == signal.SIGTERM else "incomplete"), folder.events()
    if how == signal.SIGTERM:
        assert process.returncode == 143, err
        assert (
            err.strip().splitlines()[-1]
            == "trainlock: terminated by SIGTERM; any run in progress was recorded as failed"
        )
        for folder in folders:
            last = folder.events()[-1]
            assert last["event"] == "failed" and last["interrupted"] is True, last
    else:
        assert process.returncode == -signal.SIGKILL
