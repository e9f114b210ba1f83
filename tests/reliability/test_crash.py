"""Crash safety: SIGKILL at seeded random moments never leaves a run that looks complete but
fails verify; killed runs are listed as incomplete and removed by `gc --incomplete`.
SIGINT and SIGTERM end a run with a `failed` event that says it was interrupted.

`pytest --long` kills at hundreds of points instead of the CI-sized 20.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainlock.run import RunFolder

BASE_ENV = {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _start(workdir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, **BASE_ENV}
    env.pop("TRAINLOCK_STORE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "trainlock", "train", "config.yaml", "--profile", "tiny", "--quiet", *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )


def _as_from_a_terminal() -> None:
    """Start as a shell's foreground job would: SIGINT handled, not ignored.

    A child inherits an ignored SIGINT, and Python then leaves it ignored; a library that an
    earlier test ran in this pytest process (loky's resource tracker ignores SIGINT) can leave
    it so, and Ctrl-C would then never reach the run under test.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _measure_run_seconds(workdir: Path) -> float:
    started = time.perf_counter()
    process = _start(workdir)
    process.communicate(timeout=300)
    assert process.returncode == 0
    return time.perf_counter() - started


def test_sigkill_at_random_moments(cli, workdir, request):
    points = 300 if request.config.getoption("--long") else 20
    duration = _measure_run_seconds(workdir)
    rng = random.Random(20261122)
    delays = sorted(rng.uniform(0.05, duration * 1.1) for _ in range(points))
    for batch in range(0, len(delays), 2):  # two at a time: both cores busy, and runs overlap in one store
        processes = []
        for delay in delays[batch : batch + 2]:
            processes.append((_start(workdir), delay, time.perf_counter()))
        for process, delay, began in processes:
            remaining = delay - (time.perf_counter() - began)
            if remaining > 0:
                time.sleep(remaining)
            process.send_signal(signal.SIGKILL)
        for process, _, _ in processes:
            process.communicate(timeout=60)
    runs = cli("runs", "--json").json()
    assert len(runs) <= points + 1  # a kill during interpreter start-up leaves no folder at all
    for run in runs:
        if run["status"] == "complete":
            assert cli("verify", run["run_id"]).code == 0, f"{run['run_id']} looks complete but fails verify"
        else:
            assert run["status"] == "incomplete", run
            assert not (Path(run["run_dir"]) / "lineage.json").exists()
    incomplete = {r["run_id"] for r in runs if r["status"] == "incomplete"}
    assert incomplete, "no kill landed before completion; the delays are wrong"
    kept = cli("gc", "--incomplete", "--json").json()
    assert kept["removed"] == [] and set(kept["recent"]) == incomplete  # within the grace period
    removed = cli("gc", "--incomplete", "--now", "--json").json()
    assert set(removed["removed"]) == incomplete
    after = cli("runs", "--json").json()
    assert {r["status"] for r in after} == {"complete"}
    assert all(cli("verify", r["run_id"]).code == 0 for r in after)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_records_a_failed_event(workdir, sig, code):
    process = _start(workdir, "--set", "models.random_forest.n_estimators=600")  # long enough to interrupt
    store = workdir / "runs"
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until the run has started writing
        started = [p for p in store.glob("*/events.jsonl")] if store.is_dir() else []
        if started and any(json.loads(line)["event"] == "step" for line in started[0].read_text().splitlines()):
            break
        time.sleep(0.02)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    cause = "interrupted (Ctrl-C)" if sig == signal.SIGINT else "terminated by SIGTERM"
    assert err.strip().splitlines() == [f"trainlock: {cause}; any run in progress was recorded as failed"]
    [run_dir] = [p for p in store.iterdir() if p.is_dir()]
    assert not (run_dir / "lineage.json").exists()
    last = RunFolder(run_dir).events()[-1]
    assert last["event"] == "failed" and last["interrupted"] is True and last["error"].startswith("interrupted")


def test_gc_never_removes_a_running_run(cli, workdir):
    process = _start(workdir, "--set", "models.random_forest.n_estimators=400")
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((workdir / "runs").glob("*/events.jsonl")):
            time.sleep(0.02)
        report = cli("gc", "--incomplete", "--now", "--json").json()
        assert report["removed"] == [] and len(report["running"]) == 1
        assert cli("runs", "--json").json()[0]["status"] == "running"
    finally:
        process.kill()
        process.communicate()
