"""`trainlock keygen`, `attest` and `verify RUN --pubkey`: in-toto v1 + SLSA v1 in a DSSE envelope, Ed25519."""

from __future__ import annotations

import base64
import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, FAST_CONFIG
from trainlock.hashing import sha256_file
from trainlock.store import open_store
from trainlock.supply.attest import key_id, load_public_key, pae


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    """One small trained run; each test signs and tampers with its own copy."""
    from trainlock.ops.train import train

    folder = tmp_path_factory.mktemp("attest")
    shutil.copy(EXAMPLE / "data.csv", folder / "data.csv")
    (folder / "config.yaml").write_text(yaml.safe_dump(FAST_CONFIG, sort_keys=False))
    result = train([folder / "config.yaml"], profiles=["tiny"], store=open_store(folder / "runs"))
    return result.run_id, result.run_dir, folder / "data.csv"


@pytest.fixture
def signed(cli, shared_run, tmp_path):
    """A copy of the shared run, a key pair, and the run signed with it: (run_id, run_dir, keys folder)."""
    run_id, original, _ = shared_run
    run_dir = tmp_path / "runs" / run_id
    shutil.copytree(original, run_dir)
    keys = tmp_path / "keys"
    made = cli("keygen", "--out", keys)
    assert made.code == 0, made.err
    assert made.out.startswith(f"wrote {keys / 'trainlock.key'} (keep it secret) and {keys / 'trainlock.pub'}\n")
    result = cli("attest", run_dir, "--key", keys / "trainlock.key")
    assert result.code == 0, result.err
    outputs = json.loads((run_dir / "lineage.json").read_text())["outputs"]
    assert result.out.startswith(f"signed run {run_id}: {len(outputs) + 1} subjects, key ")  # + lineage.json
    return run_id, run_dir, keys


def envelope_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "attestation.dsse.json").read_text())


def statement_of(run_dir: Path) -> dict:
    return json.loads(base64.b64decode(envelope_of(run_dir)["payload"]))


def test_keygen_attest_verify_passes(cli, signed):
    run_id, run_dir, keys = signed
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 0, result.out + result.err
    assert "ok       attestation signature\n" in result.out
    assert "ok       attested model.skops\n" in result.out
    assert "ok       attested lineage.json\n" in result.out
    assert result.out.splitlines()[-1].startswith(f"verified: run {run_id} matches its lineage")


def test_private_key_is_readable_by_its_owner_only(signed):
    _, _, keys = signed
    assert stat.S_IMODE((keys / "trainlock.key").stat().st_mode) == 0o600
    assert (keys / "trainlock.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_statement_is_in_toto_v1_with_slsa_provenance_v1(signed, shared_run):
    run_id, run_dir, _ = signed
    _, _, data = shared_run
    envelope = envelope_of(run_dir)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = statement_of(run_dir)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    lineage = json.loads((run_dir / "lineage.json").read_text())
    assert set(subjects) == set(lineage["outputs"]) | {"lineage.json"}
    assert subjects["model.skops"] == sha256_file(run_dir / "model.skops")
    assert subjects["lineage.json"] == sha256_file(run_dir / "lineage.json")
    predicate = statement["predicate"]
    definition = predicate["buildDefinition"]
    assert definition["externalParameters"]["config"]["seed"] == FAST_CONFIG["seed"]
    assert definition["externalParameters"]["config"]["cv"]["n_splits"] == 2  # the resolved config: profile applied
    assert definition["internalParameters"]["envelope"]["process_env"].keys() >= {"PYTHONHASHSEED", "OMP_NUM_THREADS"}
    dependencies = {d["name"]: d for d in definition["resolvedDependencies"]}
    assert dependencies["dataset"]["digest"] == {"sha256": sha256_file(data)}
    assert dependencies["trainlock"]["digest"] == {"sha256": lineage["code"]["source_sha256"]}
    environment = json.loads((run_dir / "environment.json").read_text())
    assert dependencies["python environment"]["digest"] == {"sha256": environment["environment_digest"]}
    metadata = predicate["runDetails"]["metadata"]
    assert metadata["invocationId"] == run_id
    assert metadata["startedOn"] < metadata["finishedOn"]
    assert predicate["runDetails"]["builder"]["id"]


def test_signature_is_ed25519_over_the_dsse_pae(signed):
    from cryptography.hazmat.primitives import serialization

    _, run_dir, keys = signed
    envelope = envelope_of(run_dir)
    public = serialization.load_pem_public_key((keys / "trainlock.pub").read_bytes())
    payload = base64.b64decode(envelope["payload"])
    public.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae(envelope["payloadType"], payload))


def test_lock_file_is_a_resolved_dependency(cli, signed, tmp_path):
    _, run_dir, keys = signed
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.0.0\n")
    assert cli("attest", run_dir, "--key", keys / "trainlock.key", "--lock", lock).code == 0
    dependencies = {d["name"]: d for d in statement_of(run_dir)["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert dependencies["requirements.lock"]["digest"] == {"sha256": sha256_file(lock)}


CHANGED_AFTER_SIGNING = (
    "attestation signature changed: attestation.dsse.json was changed after signing: "
    "its signature does not match its statement"
)


@pytest.mark.parametrize("where", ["middle of the file", "payload", "signature"])
def test_one_changed_byte_in_the_attestation_fails(cli, signed, where):
    run_id, run_dir, keys = signed
    path = run_dir / "attestation.dsse.json"
    text = path.read_text()
    field = {"payload": '"payload": "', "signature": '"sig": "'}.get(where)
    offset = None if field is None else text.index(field) + len(field) + 10
    flip_byte(path, offset)
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert result.err == f"verify failed: run {run_id}: {CHANGED_AFTER_SIGNING}\n"


def test_a_changed_keyid_is_named(cli, signed):
    run_id, run_dir, keys = signed
    path = run_dir / "attestation.dsse.json"
    flip_byte(path, path.read_text().index('"keyid": "') + 12)
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert result.err == (
        f"verify failed: run {run_id}: attestation signature changed: attestation.dsse.json was "
        "changed after signing: its keyid is not the signing key's\n"
    )


def test_attestation_that_is_no_longer_json_fails(cli, signed):
    run_id, run_dir, keys = signed
    flip_byte(run_dir / "attestation.dsse.json", 0)  # "{" becomes "z"
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert result.err == (
        f"verify failed: run {run_id}: attestation signature changed: attestation.dsse.json is "
        "not valid JSON: it was changed or damaged\n"
    )


def test_verification_with_another_public_key_fails_naming_the_key(cli, signed, tmp_path):
    run_id, run_dir, keys = signed
    assert cli("keygen", "--out", tmp_path / "other").code == 0
    result = cli("verify", run_dir, "--pubkey", tmp_path / "other" / "trainlock.pub")
    assert result.code == 1
    signer = envelope_of(run_dir)["signatures"][0]["keyid"]
    given = key_id(load_public_key(tmp_path / "other" / "trainlock.pub"))
    assert signer != given
    assert result.err == (
        f"verify failed: run {run_id}: attestation signature changed: attestation.dsse.json is "
        f"signed by key {signer[:16]}, not by the given public key {given[:16]}: wrong key\n"
    )
    report = cli("verify", run_dir, "--pubkey", tmp_path / "other" / "trainlock.pub", "--json").json()
    assert [c["name"] for c in report["checks"] if c["status"] in ("changed", "missing")] == ["attestation signature"]


def test_one_changed_byte_in_the_model_fails_naming_it(cli, signed):
    run_id, run_dir, keys = signed
    flip_byte(run_dir / "model.skops", 200)
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert result.err == (
        f"verify failed: run {run_id}: model.skops changed, attested model.skops changed: "
        "the file differs from its signed digest: it was changed after signing\n"
    )


def test_a_rewritten_lineage_cannot_pass_as_the_signed_one(cli, signed):
    """Changing a file and its hash in lineage.json fools plain verify, never the signed statement."""
    run_id, run_dir, keys = signed
    metrics = run_dir / "metrics.json"
    metrics.write_text(metrics.read_text().replace("{", "{ ", 1))
    lineage_path = run_dir / "lineage.json"
    lineage = json.loads(lineage_path.read_text())
    lineage["outputs"]["metrics.json"]["sha256"] = sha256_file(metrics)
    lineage["outputs"]["metrics.json"]["size"] = metrics.stat().st_size
    lineage_path.write_text(json.dumps(lineage, indent=2, sort_keys=True) + "\n")
    assert cli("verify", run_dir).code == 0
    result = cli("verify", run_dir, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert "attested metrics.json changed: the file differs from its signed digest" in result.err
    assert "attested lineage.json changed: the file differs from its signed digest" in result.err


def test_an_attestation_of_another_run_is_refused(cli, signed, tmp_path):
    run_id, run_dir, keys = signed
    twin = tmp_path / "elsewhere" / "20200101T000000Z-abcdef"
    shutil.copytree(run_dir, twin)
    result = cli("verify", twin, "--pubkey", keys / "trainlock.pub")
    assert result.code == 1
    assert (
        f"attestation statement changed: the attestation is of run {run_id}, not of run 20200101T000000Z-abcdef"
    ) in result.err


def test_missing_attestation_is_named(cli, shared_run, tmp_path):
    run_id, original, _ = shared_run
    run_dir = tmp_path / "runs" / run_id
    shutil.copytree(original, run_dir)
    assert cli("keygen", "--out", tmp_path / "keys").code == 0
    result = cli("verify", run_dir, "--pubkey", tmp_path / "keys" / "trainlock.pub")
    assert result.code == 1
    assert result.err == f"verify failed: run {run_id}: attestation.dsse.json missing\n"


def test_attest_refuses_a_run_that_does_not_verify(cli, shared_run, tmp_path):
    run_id, original, _ = shared_run
    run_dir = tmp_path / "runs" / run_id
    shutil.copytree(original, run_dir)
    assert cli("keygen", "--out", tmp_path / "keys").code == 0
    flip_byte(run_dir / "schema.json")
    result = cli("attest", run_dir, "--key", tmp_path / "keys" / "trainlock.key")
    assert result.code == 1
    assert result.err == (
        f"trainlock: error: run {run_id} does not verify (schema.json changed); attest signs only "
        f"runs that verify: run 'trainlock verify {run_id}'\n"
    )
    assert not (run_dir / "attestation.dsse.json").exists()


def test_keygen_never_overwrites_a_key_pair_silently(cli, tmp_path):
    assert cli("keygen", "--out", tmp_path).code == 0
    before = (tmp_path / "trainlock.key").read_bytes()
    result = cli("keygen", "--out", tmp_path)
    assert result.code == 2
    assert result.err.startswith(f"trainlock: error: {tmp_path / 'trainlock.key'} already exists; pass --force")
    assert (tmp_path / "trainlock.key").read_bytes() == before
    assert cli("keygen", "--out", tmp_path, "--force").code == 0
    assert (tmp_path / "trainlock.key").read_bytes() != before


@pytest.mark.parametrize(
    ("which", "message"),
    [
        (
            "private",
            "{key} is not a PEM public key (it is a private key); pass the trainlock.pub that 'trainlock keygen' wrote",
        ),
        ("missing", "public key file {key} does not exist; make a key pair with 'trainlock keygen --out DIR'"),
    ],
)
def test_a_wrong_public_key_file_is_bad_input(cli, signed, which, message):
    _, run_dir, keys = signed
    key = keys / ("trainlock.key" if which == "private" else "absent.pub")
    result = cli("verify", run_dir, "--pubkey", key)
    assert result.code == 2
    assert result.err == f"trainlock: error: {message.format(key=key)}\n"


def test_attest_with_a_public_key_is_bad_input(cli, signed):
    _, run_dir, keys = signed
    result = cli("attest", run_dir, "--key", keys / "trainlock.pub")
    assert result.code == 2
    assert result.err == (
        f"trainlock: error: {keys / 'trainlock.pub'} is not an unencrypted PEM private key; "
        "pass the trainlock.key that 'trainlock keygen' wrote\n"
    )
