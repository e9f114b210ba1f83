"""GOLDEN run folders: every trainlock must read and verify what lineage schema_version 1 wrote.

The folders under tests/data/golden/v1/ were made ONCE (by tests/data/golden/make_v1.py, with
the trainlock of that time) and are committed. They are NEVER regenerated: when a test here
fails, this trainlock can no longer read or verify run folders that users already have. Fix
the reader (lineage.READERS, verify), never the golden files. See tests/data/golden/README.md.

Each test works on a copy of the whole v1 tree in tmp_path (the store's layout included:
verify looks up a predict run's parent and the store's ledger.jsonl beside the run folder),
and points ``--data`` at the copied dataset, because the lineage records the dataset's
absolute path under the synthetic root /tmp/trainlock-golden-v1, which does not exist here.

What ``verify RUN`` checks today, per kind (v1 folders):

- every kind: the SHA-256 (and size) of every file in lineage ``outputs``; that the
  config/model/threshold entries agree with ``outputs``; the run's line in the store's
  ledger.jsonl (skipped when the store has no ledger).
- train (also a reproduce, which is a train with a parent, and a sweep's children): the
  dataset (``--data`` or the recorded path), the model's semantic fingerprint (the model
  is loaded only when its bytes match) and the predictions' fingerprint. The parent of a
  reproduce is not looked up.
- predict: its own dataset (the scored file), the predictions' fingerprint, and the
  parent train run's config, model and threshold files, found beside the run.
- sweep: its outputs only; its children are not looked up (``verify --store`` notices a
  missing child through the ledger).
- run (a wrapped command): its run folder's outputs (stdout.log, stderr.log, models/...,
  trace_values.json, ...) only. It does NOT re-hash the declared ``--in``/``--out`` files
  (``declared_inputs``/``declared_outputs``, relative to the recorded absolute cwd) nor
  the command's files (``code.command_files``), and it does not re-derive the saved
  models' fingerprints: a byte appended to output.csv still verifies. (``reproduce``
  re-checks the declared inputs before re-running; nothing re-checks the outputs.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from trainlock.cli import main
from trainlock.hashing import sha256_file
from trainlock.lineage import read_lineage

pytestmark = pytest.mark.golden

GOLDEN = ROOT / "tests" / "data" / "golden"
V1 = GOLDEN / "v1"
MANIFEST = json.loads((V1 / "golden.json").read_text(encoding="utf-8"))
RUNS: dict[str, str] = MANIFEST["runs"]  # label -> run id
SYNTHETIC_ROOT = MANIFEST["synthetic_root"]
KINDS = {"train": "train", "predict": "predict", "sweep": "sweep", "run": "run", "reproduce": "train",
         "sweep-child-1": "train", "sweep-child-2": "train"}


def committed_lineage(label: str) -> dict:
    return json.loads((V1 / "store" / RUNS[label] / "lineage.json").read_text(encoding="utf-8"))


#: (label, output file) for every file every golden lineage names in its outputs
OUTPUTS = [(label, name) for label in sorted(RUNS) for name in sorted(committed_lineage(label)["outputs"])]


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    """One copy of the v1 tree for the read-only tests."""
    copy = tmp_path_factory.mktemp("golden") / "v1"
    shutil.copytree(V1, copy)
    return copy


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRAINLOCK_STORE", raising=False)

    def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def verify_args(root: Path, label: str) -> list[str | Path]:
    data = MANIFEST["data"].get(label)
    # the store is given, as every command takes it: a predict run's parent is looked up there;
    # the wrapped command's working folder moved with the tree (--workdir)
    workdir = ["--workdir", root / "command"] if KINDS[label] == "run" else []
    return ["verify", root / "store" / RUNS[label], "--store", root / "store", *workdir,
            *(["--data", root / data] if data else [])]


def test_the_manifest_names_every_run_folder_and_ledger_line():
    folders = sorted(p.name for p in (V1 / "store").iterdir() if p.is_dir())
    assert folders == sorted(RUNS.values())
    ledger = [json.loads(line)["run_id"] for line in (V1 / "store" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(ledger) == folders
    assert MANIFEST["schema_version"] == 1
    assert not [p.name for p in V1.rglob("*") if p.name in ("hashcache.sqlite", "index.sqlite", ".running")]


@pytest.mark.parametrize("label", sorted(RUNS))
def test_read_lineage_reads_every_golden_run(golden, label):
    lineage = read_lineage(golden / "store" / RUNS[label] / "lineage.json").to_json()
    assert lineage["schema_version"] == 1
    assert lineage["run_id"] == RUNS[label]
    assert lineage["kind"] == KINDS[label]
    dataset = lineage.get("dataset")
    if dataset:  # recorded absolute and synthetic: the reason the tests pass --data
        assert dataset["path"] == f"{SYNTHETIC_ROOT}/{MANIFEST['data'][label]}"


def test_the_golden_runs_are_linked_as_made(golden):
    def lineage(label: str) -> dict:
        return read_lineage(golden / "store" / RUNS[label] / "lineage.json").to_json()

    assert lineage("predict")["parent"] == RUNS["train"]
    assert lineage("predict")["model"]["run"] == RUNS["train"]
    assert lineage("reproduce")["parent"] == RUNS["train"]
    assert lineage("reproduce")["fingerprints"] == lineage("train")["fingerprints"]
    assert lineage("sweep")["children"] == MANIFEST["sweep_children"] == [RUNS["sweep-child-1"], RUNS["sweep-child-2"]]
    assert [lineage(f"sweep-child-{i}")["seeds"]["base"] for i in (1, 2)] == [1, 2]
    wrapped = lineage("run")
    assert wrapped["command"] == {"argv": ["python", "script.py"], "cwd": f"{SYNTHETIC_ROOT}/command",
                                  "in_process": False}
    assert sorted(wrapped["declared_inputs"]) == ["input.csv"] and sorted(wrapped["declared_outputs"]) == ["output.csv"]
    # the wrapped command's files were kept beside the store, as it left them
    for name, described in {**wrapped["declared_inputs"], **wrapped["declared_outputs"]}.items():
        assert sha256_file(golden / "command" / name) == described["sha256"]


@pytest.mark.parametrize("label", sorted(RUNS))
def test_verify_passes_on_every_golden_run(golden, cli, label):
    code, out, err = cli(*verify_args(golden, label))
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith(f"verified: run {RUNS[label]} matches its lineage")
    code, out, _ = cli(*verify_args(golden, label), "--json")
    checks = {check["name"]: check["status"] for check in json.loads(out)["checks"]}
    # at least what verify checked when v1 was written; each of these must still pass
    expected = {f"output {name}" for name in committed_lineage(label)["outputs"]} | {"ledger entry"}
    if KINDS[label] == "train":
        expected |= {"dataset", "model fingerprint", "predictions fingerprint"}
    if label == "predict":
        expected |= {"dataset", "predictions fingerprint", "parent config", "parent model", "parent threshold"}
    assert {name: checks.get(name) for name in expected} == dict.fromkeys(expected, "ok")


def test_verify_store_walks_the_golden_ledger(golden, cli):
    code, out, err = cli("verify", "--store", golden / "store")
    assert code == 0, out + err
    assert f"holds {len(RUNS)} runs, chained and matching their lineage" in out


def change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    if data:
        data[len(data) // 2] ^= 0x01
    else:
        data.append(0x0A)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("label, name", OUTPUTS, ids=[f"{label}:{name}" for label, name in OUTPUTS])
def test_one_changed_byte_in_any_golden_output_fails_verify_naming_it(golden, cli, label, name):
    path = golden / "store" / RUNS[label] / name
    original = path.read_bytes()
    change_one_byte(path)
    try:
        code, out, err = cli(*verify_args(golden, label))
    finally:
        path.write_bytes(original)  # the module's copy is shared by the tests after this one
    assert code == 1, out + err
    assert f"{name} changed" in err
