"""`trainlock verify`: passes on a fresh run, names each file after one byte changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ARTIFACTS = [
    "config.snapshot.yaml",
    "drift_baseline.json",
    "environment.json",
    "events.jsonl",
    "metrics.json",
    "model.skops",
    "predictions.csv",
    "schema.json",
    "threshold.json",
    "trace_values.json",
]


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if offset is None else offset
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_passes_on_a_fresh_run(cli, trained):
    run_id, _ = trained
    result = cli("verify", run_id)
    assert result.code == 0, result.out + result.err
    assert f"verified: run {run_id}" in result.out
    report = cli("verify", run_id, "--json").json()
    assert report["ok"] is True
    names = {check["name"] for check in report["checks"]}
    assert {"dataset", "model fingerprint", "predictions fingerprint", "output model.skops"} <= names


def test_verify_accepts_a_folder_path_and_an_id_prefix(cli, trained):
    run_id, run_dir = trained
    assert cli("verify", str(run_dir)).code == 0
    assert cli("verify", run_id[:17]).code == 0


@pytest.mark.parametrize("name", ARTIFACTS)
def test_one_changed_byte_in_any_artifact_fails_naming_it(cli, trained, name):
    run_id, run_dir = trained
    flip_byte(run_dir / name)
    result = cli("verify", run_id)
    assert result.code == 1
    assert f"{name} changed" in result.err
    failures = [c for c in cli("verify", run_id, "--json").json()["checks"] if c["status"] not in ("ok", "skipped")]
    assert name in {c["path"] for c in failures}


def test_changed_model_is_never_loaded(cli, trained, monkeypatch):
    run_id, run_dir = trained
    flip_byte(run_dir / "model.skops", offset=200)
    import skops.io

    def refuse(*args, **kwargs):
        raise AssertionError("a model with a wrong hash was deserialised")

    monkeypatch.setattr(skops.io, "loads", refuse)
    monkeypatch.setattr(skops.io, "load", refuse)
    checks = {c["name"]: c for c in cli("verify", run_id, "--json").json()["checks"]}
    assert checks["output model.skops"]["status"] == "changed"
    assert checks["model fingerprint"]["status"] == "skipped"


def test_changed_dataset_fails_naming_it(cli, trained, workdir):
    run_id, _ = trained
    flip_byte(workdir / "data.csv", offset=300)
    result = cli("verify", run_id)
    assert result.code == 1
    assert "data.csv changed" in result.err


def test_missing_file_is_named(cli, trained):
    run_id, run_dir = trained
    (run_dir / "schema.json").unlink()
    result = cli("verify", run_id)
    assert result.code == 1 and "schema.json missing" in result.err


def test_moved_dataset_can_be_checked_with_data(cli, trained, workdir):
    run_id, _ = trained
    (workdir / "data.csv").rename(workdir / "moved.csv")
    assert cli("verify", run_id).code == 1
    assert cli("verify", run_id, "--data", "moved.csv").code == 0


def test_unknown_and_incomplete_runs_are_bad_input(cli, trained, workdir):
    result = cli("verify", "20990101T000000Z-abcdef")
    assert result.code == 2 and "no run '20990101T000000Z-abcdef'" in result.err
    _, run_dir = trained
    (run_dir / "lineage.json").unlink()
    result = cli("verify", str(run_dir))
    assert result.code == 2 and "no lineage.json" in result.err


def test_damaged_lineage_fails_the_check(cli, trained):
    run_id, run_dir = trained
    (run_dir / "lineage.json").write_text("{not json")
    result = cli("verify", run_id)
    assert result.code == 1 and "lineage.json is not valid JSON" in result.err


def test_lineage_path_escaping_the_run_folder_is_refused(cli, trained):
    run_id, run_dir = trained
    lineage = json.loads((run_dir / "lineage.json").read_text())
    lineage["outputs"]["metrics.json"]["path"] = "../../outside.json"
    (run_dir / "lineage.json").write_text(json.dumps(lineage))
    result = cli("verify", run_id)
    assert result.code == 2 and "escapes the run folder" in result.err


def test_verify_uses_the_stat_cache_and_rehash_bypasses_it(cli, trained, workdir, monkeypatch):
    import os

    from trainlock import hashcache

    run_id, run_dir = trained
    data = workdir / "data.csv"
    settled = data.stat().st_mtime_ns - 10_000_000_000
    os.utime(data, ns=(settled, settled))
    assert cli("verify", run_id).code == 0  # hashes the (now settled) file into the cache
    read = []
    real = hashcache.sha256_file
    monkeypatch.setattr(hashcache, "sha256_file", lambda path, progress=None: read.append(path) or real(path))
    assert cli("verify", run_id).code == 0
    assert str(data) not in map(str, read), "an unchanged dataset is served from the stat cache"
    assert cli("verify", run_id, "--rehash").code == 0
    assert str(data) in map(str, read)
