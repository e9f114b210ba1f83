"""PyTorch guardrails with the CPU build of torch (installed by `make test` from requirements-torch.lock)."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_console

EXAMPLE = ROOT / "examples" / "custom"


@pytest.fixture(scope="module")
def torch():
    if importlib.util.find_spec("torch") is None:
        pytest.fail(
            "torch is not installed in this environment: run `make test`, which installs requirements-torch.lock"
        )
    import torch as module

    return module


@pytest.mark.slow
def test_torch_example_trains_twice_to_identical_state_dict_fingerprints(torch, tmp_path):
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    runs = []
    for _ in range(2):
        result = run_console(
            "run",
            "--store",
            tmp_path / "store",
            "--config",
            EXAMPLE / "torch.yaml",
            "--set",
            "epochs=2",
            "--json",
            "--quiet",
            "--",
            "python",
            EXAMPLE / "train_torch.py",
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        runs.append(Path(json.loads(result.stdout)["run_dir"]))
    first, second = (json.loads((run / "lineage.json").read_text()) for run in runs)
    assert first["fingerprints"]["model/mlp"] == second["fingerprints"]["model/mlp"]
    assert first["trace"] == second["trace"]
    assert [s["step"] for s in first["trace"]] == [
        "settings",
        "data",
        "init",
        "epoch/0",
        "epoch/1",
        "model/mlp",
        "metrics",
    ]
    assert first["models"]["mlp"]["format"] == "torch.state_dict"
    environment = json.loads((runs[0] / "environment.json").read_text())
    flags = environment["frameworks"]["torch"]
    assert flags["torch"] == torch.__version__ and flags["deterministic_algorithms"] is True
    assert (flags["cudnn_benchmark"], flags["tf32_matmul"], flags["num_threads"]) == (False, False, 1)
    assert environment["envelope"]["command"]["torch"] is True
    compared = run_console("diff", *runs, cwd=tmp_path, env=env)
    assert compared.returncode == 0 and "equivalent at level exact" in compared.stdout

    from trainlock.fingerprint import fingerprint
    from trainlock.torch import load_state_dict

    record = first["models"]["mlp"]
    rebuilt = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    rebuilt.load_state_dict(load_state_dict(runs[0] / record["path"], record["sha256"]))
    assert fingerprint(rebuilt) == record["fingerprint"]  # the saved weights are the fingerprinted ones


def test_generator_and_worker_seeding_are_reproducible(torch):
    from trainlock.seeds import derive_seed
    from trainlock.torch import generator, seed_worker

    a = torch.rand(4, generator=generator("loader", seed=5))
    b = torch.rand(4, generator=generator("loader", seed=5))
    c = torch.rand(4, generator=generator("other", seed=5))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert generator("loader", seed=5).initial_seed() == derive_seed(5, "loader")
    saved = torch.random.get_rng_state(), random.getstate(), np.random.get_state()
    try:
        torch.manual_seed(123)
        seed_worker(0)
        first = (random.random(), np.random.rand())
        torch.manual_seed(123)
        seed_worker(0)
        assert (random.random(), np.random.rand()) == first
    finally:
        torch.random.set_rng_state(saved[0])
        random.setstate(saved[1])
        np.random.set_state(saved[2])


def test_start_sets_torch_flags_and_restores_them(torch, tmp_path):
    import trainlock

    before = torch.are_deterministic_algorithms_enabled()
    with trainlock.start(config={"seed": 2}, store=tmp_path) as run:
        assert torch.are_deterministic_algorithms_enabled()
        weights = torch.nn.Linear(3, 2).state_dict()
        run.checkpoint("init", weights)
        run.checkpoint("bf16", torch.ones(2, dtype=torch.bfloat16))
        run.save_model(torch.nn.Linear(3, 2), "head")
    assert torch.are_deterministic_algorithms_enabled() == before
    with trainlock.start(config={"seed": 2}, store=tmp_path) as again:
        again.checkpoint("init", torch.nn.Linear(3, 2).state_dict())
    assert run.lineage.trace[0] == again.lineage.trace[0]  # seeded init: same weights, same hash
    from trainlock.byoc.values import checkpoint_parts

    assert (
        checkpoint_parts(torch.ones(2, dtype=torch.bfloat16))[2]
        != checkpoint_parts(torch.ones(2, dtype=torch.float64))[2]
    )
    assert run.lineage.models["head"]["trusted_types"] == []
