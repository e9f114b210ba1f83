"""`benchmarks/run.py --quick` as CI's smoke test: both recipes run end to end and the table is complete.

Timings are never asserted (see benchmarks/README.md); this checks the harness, not the speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    "train_overhead",
    "workers_2_vs_1",
    "workers_2_vs_plain_njobs_all",
    "help_start_s",
    "fingerprint_forest_s",
    "hashing_vs_hashlib",
    "cached_reverify_s",
    "runs_10000_s",
]


def test_quick_benchmark_prints_every_row_and_writes_results(tmp_path):
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [
        line.split()[0] for line in done.stdout.splitlines()[3:] if line.strip() and not line.startswith("results:")
    ]
    assert printed == ROWS
    results = json.loads(output.read_text())
    assert results["mode"] == "quick"
    assert [r["name"] for r in results["benchmarks"]] == ROWS
    for entry in results["benchmarks"]:
        assert entry["value"] is not None and entry["value"] > 0, entry
        assert entry["pass"] in (True, False), entry  # every row has a target to compare with
    assert set(results["raw"]["train_seconds"]) == {
        "trainlock_workers_1",
        "plain_njobs_1",
        "trainlock_workers_2",
        "plain_njobs_all",
    }
