"""GOLDEN run folders: every trainlock must read and verify what every lineage schema_version wrote.

The folders under tests/data/golden/vN/ were made ONCE (by tests/data/golden/make_vN.py, with
the trainlock of that time) and are committed. They are NEVER regenerated: when a test here
fails, this trainlock can no longer read or verify run folders that users already have. Fix
the reader (lineage.READERS, verify), never the golden files. See tests/data/golden/README.md.

Each test works on a copy of the whole v1 tree in tmp_path (the store's layout included:
verify looks up a predict run's parent and the store's ledger.jsonl beside the run folder),
and points ``--data`` at the copied dataset, because the lineage records the dataset's
absolute path under the synthetic root /tmp/trainlock-golden-v1, which does not exist here.

What ``verify RUN`` checked when v1 was written, per kind (v1 folders; since v2 it also re-hashes
a wrapped command's declared ``--in``/``--out`` files, found below ``--workdir`` here):

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
#: every schema version ever written has a folder; a new version adds one, none is ever removed
VERSIONS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name.startswith("v"))
MANIFESTS = {
    version: json.loads((GOLDEN / version / "golden.json").read_text(encoding="utf-8")) for version in VERSIONS
}
KINDS = {
    "train": "train",
    "predict": "predict",
    "sweep": "sweep",
    "run": "run",
    "reproduce": "train",
    "reproduce-run": "run",
    "sweep-child-1": "train",
    "sweep-child-2": "train",
}


def committed_lineage(version: str, label: str) -> dict:
    run_id = MANIFESTS[version]["runs"][label]
    return json.loads((GOLDEN / version / "store" / run_id / "lineage.json").read_text(encoding="utf-8"))


#: (version, label) of every golden run
RUN_LABELS = [(version, label) for version in VERSIONS for label in sorted(MANIFESTS[version]["runs"])]
#: (version, label, output file) for every file every golden lineage names in its outputs
OUTPUTS = [
    (version, label, name)
    for version, label in RUN_LABELS
    for name in sorted(committed_lineage(version, label)["outputs"])
]


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """One copy of each version's tree for the read-only tests."""
    copies = {}
    for version in VERSIONS:
        copies[version] = tmp_path_factory.mktemp("golden") / version
        shutil.copytree(GOLDEN / version, copies[version])
    return copies


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


def verify_args(root: Path, version: str, label: str) -> list[str | Path]:
    manifest = MANIFESTS[version]
    run_id = manifest["runs"][label]
    data = manifest["data"].get(label)
    # the store is given, as every command takes it: a predict run's parent is looked up there;
    # the wrapped command's working folder moved with the tree (--workdir): command/ for the
    # original, the workspace inside its own run folder for a reproduction
    workdir = {
        "run": ["--workdir", root / "command"],
        "reproduce-run": ["--workdir", root / "store" / run_id / "workspace"],
    }.get(label, [])
    return [
        "verify",
        root / "store" / run_id,
        "--store",
        root / "store",
        *workdir,
        *(["--data", root / data] if data else []),
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_manifest_names_every_run_folder_and_ledger_line(version):
    tree, manifest = GOLDEN / version, MANIFESTS[version]
    folders = sorted(p.name for p in (tree / "store").iterdir() if p.is_dir())
    assert folders == sorted(manifest["runs"].values())
    ledger = [json.loads(line)["run_id"] for line in (tree / "store" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(ledger) == folders
    assert manifest["schema_version"] == int(version[1:])
    assert not [p.name for p in tree.rglob("*") if p.name in ("hashcache.sqlite", "index.sqlite", ".running")]


@pytest.mark.parametrize("version, label", RUN_LABELS)
def test_read_lineage_reads_every_golden_run(trees, version, label):
    manifest = MANIFESTS[version]
    lineage = read_lineage(trees[version] / "store" / manifest["runs"][label] / "lineage.json").to_json()
    assert lineage["schema_version"] == int(version[1:])
    assert lineage["run_id"] == manifest["runs"][label]
    assert lineage["kind"] == KINDS[label]
    dataset = lineage.get("dataset")
    if dataset:  # recorded absolute and synthetic: the reason the tests pass --data
        assert dataset["path"] == f"{manifest['synthetic_root']}/{manifest['data'][label]}"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_golden_runs_are_linked_as_made(trees, version):
    golden, manifest = trees[version], MANIFESTS[version]
    runs, synthetic_root = manifest["runs"], manifest["synthetic_root"]

    def lineage(label: str) -> dict:
        return read_lineage(golden / "store" / runs[label] / "lineage.json").to_json()

    assert lineage("predict")["parent"] == runs["train"]
    assert lineage("predict")["model"]["run"] == runs["train"]
    assert lineage("reproduce")["parent"] == runs["train"]
    assert lineage("reproduce")["fingerprints"] == lineage("train")["fingerprints"]
    assert lineage("sweep")["children"] == manifest["sweep_children"] == [runs["sweep-child-1"], runs["sweep-child-2"]]
    assert [lineage(f"sweep-child-{i}")["seeds"]["base"] for i in (1, 2)] == [1, 2]
    wrapped = lineage("run")
    assert wrapped["command"] == {
        "argv": ["python", "script.py"],
        "cwd": f"{synthetic_root}/command",
        "in_process": False,
    }
    assert sorted(wrapped["declared_inputs"]) == ["input.csv"] and sorted(wrapped["declared_outputs"]) == ["output.csv"]
    # the wrapped command's files were kept beside the store, as it left them
    for name, described in {**wrapped["declared_inputs"], **wrapped["declared_outputs"]}.items():
        assert sha256_file(golden / "command" / name) == described["sha256"]


@pytest.mark.parametrize("version, label", RUN_LABELS)
def test_verify_passes_on_every_golden_run(trees, cli, version, label):
    golden, run_id = trees[version], MANIFESTS[version]["runs"][label]
    code, out, err = cli(*verify_args(golden, version, label))
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith(f"verified: run {run_id} matches its lineage")
    code, out, _ = cli(*verify_args(golden, version, label), "--json")
    checks = {check["name"]: check["status"] for check in json.loads(out)["checks"]}
    # at least what verify checked when v1 was written, and the declared files since v2; each must pass
    lineage = committed_lineage(version, label)
    expected = {f"output {name}" for name in lineage["outputs"]} | {"ledger entry"}
    expected |= {f"input {name}" for name in lineage.get("declared_inputs", {})}
    expected |= {f"output {name}" for name in lineage.get("declared_outputs", {})}
    if KINDS[label] == "train":
        expected |= {"dataset", "model fingerprint", "predictions fingerprint"}
    if label == "predict":
        expected |= {"dataset", "predictions fingerprint", "parent config", "parent model", "parent threshold"}
    assert {name: checks.get(name) for name in expected} == dict.fromkeys(expected, "ok")


@pytest.mark.parametrize("version", VERSIONS)
def test_verify_store_walks_the_golden_ledger(trees, cli, version):
    code, out, err = cli("verify", "--store", trees[version] / "store")
    assert code == 0, out + err
    assert f"holds {len(MANIFESTS[version]['runs'])} runs, chained and matching their lineage" in out


def change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    if data:
        data[len(data) // 2] ^= 0x01
    else:
        data.append(0x0A)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("version, label, name", OUTPUTS, ids=[f"{v}:{label}:{name}" for v, label, name in OUTPUTS])
def test_one_changed_byte_in_any_golden_output_fails_verify_naming_it(trees, cli, version, label, name):
    golden = trees[version]
    path = golden / "store" / MANIFESTS[version]["runs"][label] / name
    original = path.read_bytes()
    change_one_byte(path)
    try:
        code, out, err = cli(*verify_args(golden, version, label))
    finally:
        path.write_bytes(original)  # the module's copy is shared by the tests after this one
    assert code == 1, out + err
    assert f"{name} changed" in err
