"""Concurrency: eight trainings started at once into one store."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_eight_concurrent_trainings(cli, workdir):
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    env.pop("TRAINLOCK_STORE", None)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trainlock",
                "train",
                "config.yaml",
                "--profile",
                "tiny",
                "--json",
                "--quiet",
                "--seed",
                str(seed),
            ],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(8)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in outputs]
    ids = [json.loads(out)["run_id"] for out, _ in outputs]
    assert len(set(ids)) == 8
    listed = cli("runs", "--json").json()
    assert sorted(r["run_id"] for r in listed) == sorted(ids)
    assert all(r["status"] == "complete" for r in listed)
    for run_id in ids:
        assert cli("verify", run_id).code == 0
    entries = [json.loads(line) for line in (workdir / "runs" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(e["run_id"] for e in entries) == sorted(ids)  # one ledger line per run, none lost
    walked = cli("verify", "--store", str(workdir / "runs"))
    assert walked.code == 0, walked.out + walked.err
