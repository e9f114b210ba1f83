"""`--workers N` on forked worker processes: identical results, clear failure when a worker dies,
and no worker, nor the bookkeeping helper, outlives its training (SIGKILL, SIGTERM)."""

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

from conftest import run_console
from trainlock.parallel import run_ordered, worker_pool, worker_processes
from trainlock.run import RunFolder

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are used on Linux only")


def _custom_config(workdir: Path, estimator: str) -> Path:
    document = yaml.safe_load((workdir / "config.yaml").read_text())
    document["models"] = {"custom": {"probe": {"estimator": estimator}}, "logistic_regression": {"C": 1.0}}
    document["calibration"] = {"method": "none"}
    path = workdir / "custom.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"  # a zombie has ended; only its exit status waits to be collected


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_forked_workers_give_the_serial_bytes_and_are_recorded(workdir):
    runs = []
    for workers in ("1", "2"):
        done = run_console("train", "config.yaml", "--json", "--quiet", "--workers", workers, cwd=workdir)
        assert done.returncode == 0, done.stderr
        runs.append(Path(json.loads(done.stdout)["run_dir"]))
    lineages = [json.loads((run / "lineage.json").read_text()) for run in runs]
    assert lineages[0]["trace"] == lineages[1]["trace"]
    assert (runs[0] / "model.skops").read_bytes() == (runs[1] / "model.skops").read_bytes()
    envelopes = [json.loads((run / "environment.json").read_text())["envelope"] for run in runs]
    assert [e["worker_processes"] for e in envelopes] == ["none", "fork"]


def test_a_worker_killed_mid_task_fails_the_run_in_one_line(workdir):
    _custom_config(workdir, "worker_faults:DiesInWorker")
    done = run_console(
        "train", "custom.yaml", "--quiet", "--workers", "2", cwd=workdir, env={"PYTHONPATH": str(FIXTURES)}, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "trainlock: error: a worker process of --workers 2 died mid-task (killed by a signal, often the "
        "out-of-memory killer); the run was not completed; retry with fewer --workers or more memory"
    ]
    (run_dir,) = [p for p in (workdir / "runs").iterdir() if p.is_dir()]
    assert not (run_dir / "lineage.json").exists()
    assert RunFolder(run_dir).events()[-1]["event"] == "failed"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize(
    ("workers", "estimator", "children"),
    [
        ("2", "worker_faults:SleepsInWorker", 3),  # the bookkeeping helper and two workers
        ("1", "worker_faults:SleepsInFit", 1),  # the helper alone, the model fitting in the training process
    ],
)
def test_no_helper_or_worker_outlives_its_training(workdir, how, workers, estimator, children):
    _custom_config(workdir, estimator)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINLOCK_")}
    env["PYTHONPATH"] = str(FIXTURES)
    parent = subprocess.Popen(
        [str(Path(sys.executable).parent / "trainlock"), "train", "custom.yaml", "--quiet", "--workers", workers],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: len(_children(parent.pid)) >= children), "the helper and workers never started"
        forked = _children(parent.pid)
        assert _wait_for(lambda: any(p.is_dir() for p in (workdir / "runs").glob("*/"))), "no run folder"
        time.sleep(1.0)  # the sleeping tasks are now running
        parent.send_signal(how)
        parent.communicate(timeout=60)
        assert _wait_for(lambda: not any(_alive(pid) for pid in forked), timeout=15), (
            f"processes {forked} outlived their training"
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.communicate()
    if how == signal.SIGTERM:
        assert parent.returncode == 143
        (run_dir,) = [p for p in (workdir / "runs").iterdir() if p.is_dir()]
        assert RunFolder(run_dir).events()[-1]["interrupted"] is True


def _square(value: int) -> int:
    return value * value


def test_run_ordered_keeps_task_order_on_any_pool():
    tasks = list(range(12))
    expected = [t * t for t in tasks]
    assert run_ordered(_square, tasks, workers=1) == expected
    assert run_ordered(_square, tasks, workers=3, cost=lambda t: t % 5) == expected  # loky, or the pool below
    with worker_pool(2):
        # under pytest-xdist other threads run, so the pool declines to fork and loky serves
        assert worker_processes(2) in ("fork", "loky")
        assert run_ordered(_square, tasks, workers=2, cost=lambda t: -t) == expected
    assert worker_processes(1) == "none"
