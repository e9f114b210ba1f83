"""The Python API: trainlock.start() in-process, current_run() outside a wrapped command, checkpoints."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

import trainlock
from trainlock.byoc.api import merge_states
from trainlock.byoc.values import checkpoint_parts
from trainlock.errors import ConfigError, DataError, StorePathError, TrainlockError
from trainlock.run import CLAIM_FILE, RunFolder, claim_fixed_folder
from trainlock.seeds import derive_seed


def test_start_records_a_complete_verifiable_run(tmp_path, cli):
    from sklearn.linear_model import LogisticRegression

    (tmp_path / "notes.txt").write_text("hello\n")
    with trainlock.start(config={"seed": 3, "C": 0.5}, store=tmp_path / "store", name="demo") as run:
        assert run.config == {"seed": 3, "C": 0.5}
        assert run.seed_for("model") == derive_seed(3, "model") == run.seed_for("model")
        x = np.random.default_rng(run.seed_for("data")).normal(size=(40, 2))
        y = (x[:, 0] > 0).astype(int)
        run.checkpoint("data", pd.DataFrame(x, columns=["a", "b"]))
        model = LogisticRegression(C=run.config["C"], random_state=run.seed_for("model")).fit(x, y)
        run.checkpoint("fit", model)
        run.checkpoint("summary", {"n": 40, "labels": [0, 1], "tag": "x"})
        run.log_metrics({"loss": np.float64(0.25)}, step=1)
        run.log_metrics({"loss": 0.125, "accuracy": 1.0}, step=2)
        copied = run.log_artifact(tmp_path / "notes.txt")
        saved = run.save_model(model, "classifier")
    lineage = run.lineage.to_json()
    assert lineage is not None and lineage["kind"] == "run" and lineage["name"] == "demo"
    assert [s["step"] for s in lineage["trace"]] == ["data", "fit", "summary", "model/classifier", "metrics"]
    assert lineage["seeds"] == {
        "base": 3,
        "derived": {"data": derive_seed(3, "data"), "model": derive_seed(3, "model")},
    }
    assert copied == run.run_dir / "artifacts" / "notes.txt" and copied.read_text() == "hello\n"
    assert lineage["artifacts"]["notes.txt"]["source"] == str(tmp_path / "notes.txt")
    assert saved == run.run_dir / "models" / "classifier.skops"
    from trainlock.fingerprint import fingerprint

    assert lineage["fingerprints"] == {"model/classifier": fingerprint(model)}
    assert lineage["trace"][1]["sha256"] == fingerprint(model)
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert metrics == {
        "metrics": {"accuracy": 1.0, "loss": 0.125},
        "history": [{"step": 1, "loss": 0.25}, {"step": 2, "loss": 0.125, "accuracy": 1.0}],
    }
    kept = json.loads((run.run_dir / "trace_values.json").read_text())
    assert kept["data"] == x.ravel().tolist() and kept["summary"] == [0.0, 1.0, 40.0]  # keys in sorted order
    assert [e["event"] for e in RunFolder(run.run_dir).events()] == ["started", "completed"]
    result = cli("verify", run.run_dir)
    assert result.code == 0, result.out + result.err


def test_start_restores_the_global_state_it_touched(tmp_path):
    random.seed(123)
    np.random.seed(123)
    before = (random.getstate(), np.random.get_state()[1].copy())
    with trainlock.start(config={"seed": 1}, store=tmp_path) as run:
        first = np.random.rand()
        run.checkpoint("x", first)
    with trainlock.start(config={"seed": 1}, store=tmp_path):
        assert np.random.rand() == first  # the envelope seeded the global generator from the base seed
    assert random.getstate() == before[0]
    assert (np.random.get_state()[1] == before[1]).all()


def test_an_exception_records_a_failed_run_without_lineage(tmp_path):
    with pytest.raises(RuntimeError, match="diverged"), trainlock.start(store=tmp_path) as run:
        raise RuntimeError("loss diverged")
    assert not (run.run_dir / "lineage.json").exists()
    failed = RunFolder(run.run_dir).events()[-1]
    assert failed["event"] == "failed" and failed["error"] == "loss diverged" and failed["error_type"] == "RuntimeError"


def test_start_reads_config_files_and_fixed_folders(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 4\nmodel: {depth: 3, leaves: 8}\n")
    (tmp_path / "more.yaml").write_text("model: {depth: 5}\n")
    with trainlock.start(
        config=[tmp_path / "base.yaml", tmp_path / "more.yaml"],
        overrides=["model.leaves=16"],
        run_dir=tmp_path / "stage",
    ) as run:
        assert run.config == {"seed": 4, "model": {"depth": 5, "leaves": 16}}
    assert run.run_id == "stage" and run.lineage.run_id == "stage"
    assert (tmp_path / "stage" / "config.snapshot.yaml").read_text() == "model:\n  depth: 5\n  leaves: 16\nseed: 4\n"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda run: run.checkpoint("", 1), ConfigError, "checkpoint() takes a non-empty step name"),
        (
            lambda run: [run.checkpoint("a", 1), run.checkpoint("a", 2)],
            ConfigError,
            "checkpoint 'a' was recorded twice",
        ),
        (lambda run: run.seed_for(""), ConfigError, "seed_for() takes a non-empty scope name"),
        (lambda run: run.log_metrics({"m": [1, 2]}), ConfigError, "metric 'm' is a list; log numbers"),
        (lambda run: run.log_artifact("missing.bin"), DataError, "log_artifact('missing.bin'): no such file"),
        (
            lambda run: run.save_model(object(), "../escape"),
            ConfigError,
            "model name '../escape' must be a plain file name",
        ),
        (
            lambda run: run.checkpoint("x", object()),
            TrainlockError,
            "no fingerprint function for builtins.object; register",
        ),
    ],
)
def test_api_misuse_names_the_problem(tmp_path, call, error, message):
    with pytest.raises(error) as caught, trainlock.start(store=tmp_path) as run:
        call(run)
    assert message in str(caught.value)


def test_current_run_outside_a_wrapped_command_says_what_to_do(monkeypatch):
    monkeypatch.delenv("TRAINLOCK_RUN_DIR", raising=False)
    with pytest.raises(TrainlockError) as caught:
        trainlock.current_run()
    assert str(caught.value) == (
        "trainlock.current_run() works inside 'trainlock run -- COMMAND' only (TRAINLOCK_RUN_DIR is not set); "
        "wrap the command, or use 'with trainlock.start(config=...) as run:' in-process"
    )


def test_public_names_are_lazy_and_listed():
    assert {"Run", "current_run", "start"} <= set(trainlock.__all__)
    assert trainlock.start.__module__ == "trainlock.byoc.api"


@pytest.mark.parametrize(
    "a, b, equal",
    [
        (np.arange(3, dtype="float64"), np.arange(3, dtype="float64"), True),
        (np.arange(3, dtype="float64"), np.arange(3, dtype="float32"), False),  # dtype is part of the hash
        (np.array([0.0, 1.0]), np.array([-0.0, 1.0]), True),
        ({"b": 1, "a": [1.5, "x"]}, {"a": [1.5, "x"], "b": 1}, True),
        (pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [1, 2]}), True),
        (pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"b": [1, 2]}), False),
    ],
)
def test_checkpoint_hashes_are_canonical(a, b, equal):
    assert (checkpoint_parts(a)[2] == checkpoint_parts(b)[2]) is equal


def test_checkpoint_keeps_numbers_only_where_they_are_finite(tmp_path):
    with trainlock.start(store=tmp_path) as run:
        run.checkpoint("finite", np.array([1.0, 2.0]))
        run.checkpoint("gaps", np.array([1.0, np.nan]))
        run.checkpoint("text", np.array(["a", "b"]))
    kept = json.loads((run.run_dir / "trace_values.json").read_text())
    assert kept == {"finite": [1.0, 2.0]}
    assert [s["step"] for s in run.lineage.trace] == ["finite", "gaps", "text"]


def test_two_processes_of_one_command_merge_in_order():
    first = {"trace": [{"step": "prep", "sha256": "1"}], "seeds": {"a": 1}, "metrics": {"m": 1}}
    second = {"trace": [{"step": "fit", "sha256": "2"}], "seeds": {"b": 2}, "metrics": {"m": 2}}
    merged = merge_states(first, second)
    assert [s["step"] for s in merged["trace"]] == ["prep", "fit"]
    assert merged["seeds"] == {"a": 1, "b": 2} and merged["metrics"] == {"m": 2}
    with pytest.raises(ConfigError, match="checkpoint.s. prep recorded by two processes"):
        merge_states(first, first)


def test_fixed_run_dir_claim(tmp_path):
    folder = claim_fixed_folder(tmp_path / "a" / "b")
    assert folder.run_id == "b" and (folder.path / CLAIM_FILE).is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorePathError, match="is a file"):
        claim_fixed_folder(tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim_fixed_folder(empty).path == empty
