"""Signed provenance: Ed25519 keys, an in-toto Statement v1 with a SLSA Provenance v1 predicate, in DSSE.

* https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
* https://slsa.dev/spec/v1.0/provenance
* https://github.com/secure-systems-lab/dsse/blob/master/protocol.md — the signature covers
  PAE(payloadType, payload), never the JSON around it, so ``keyid`` is only a hint.

The statement's subjects are every output of the run plus its lineage.json, so a valid
signature over them, re-checked against the files on disk, proves the run is the one signed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__, atomic
from ..checks import Check
from ..errors import IntegrityError, StorePathError
from ..hashing import canonical_json, sha256_bytes, sha256_file
from ..lineage import Lineage
from ..ops.verify import CheckProvider, ledger_provider, verify
from ..run import ENVIRONMENT, LINEAGE, RunFolder
from ..store import Store
from .errors import KeyFileError, LockFileError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ATTESTATION_FILE = "attestation.dsse.json"
PRIVATE_KEY_FILE = "trainlock.key"
PUBLIC_KEY_FILE = "trainlock.pub"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: what kind of build the predicate describes; a URN because trainlock publishes no web page for it
BUILD_TYPE = "urn:trainlock:buildtype:run:v1"
BUILDER_ID = "urn:trainlock:builder:local"
DEFAULT_LOCK = "requirements.lock"


# -- keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private_key: Path
    public_key: Path
    keyid: str


def keygen(out_dir: str | os.PathLike[str], *, force: bool = False) -> KeyPair:
    """Write a new Ed25519 key pair: ``trainlock.key`` (PKCS#8 PEM, owner-only) and ``trainlock.pub``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = Path(out_dir)
    private_path, public_path = folder / PRIVATE_KEY_FILE, folder / PUBLIC_KEY_FILE
    existing = [p for p in (private_path, public_path) if p.exists()]
    if existing and not force:
        raise KeyFileError(
            f"{existing[0]} already exists; pass --force to replace the key pair, "
            "or --out DIR for another folder (runs signed with the old key then no longer verify with it)"
        )
    # a new folder for keys is private to its owner from the start
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    atomic.write_bytes(private_path, private_pem)
    os.chmod(private_path, 0o600)  # atomic writes use the umask's mode; a private key must not be readable by others
    atomic.write_bytes(
        public_path,
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    return KeyPair(private_path, public_path, key_id(key.public_key()))


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key: a stable name for it in envelopes and messages."""
    from cryptography.hazmat.primitives import serialization

    return sha256_bytes(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_key_file(path, "private")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(
            f"{path} is not an unencrypted PEM private key; pass the trainlock.key that 'trainlock keygen' wrote"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key; make one with 'trainlock keygen'")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_key_file(path, "public")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        hint = " (it is a private key)" if b"PRIVATE KEY" in data else ""
        raise KeyFileError(
            f"{path} is not a PEM public key{hint}; pass the trainlock.pub that 'trainlock keygen' wrote"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 key; pass the trainlock.pub of the signer"
        )
    return key


def _read_key_file(path: str | os.PathLike[str], which: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            f"{which} key file {path} does not exist; make a key pair with 'trainlock keygen --out DIR'"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"{which} key file {path} cannot be read ({exc})") from None


# -- DSSE ----------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(statement: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    payload = canonical_json(statement).encode("utf-8")
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode("ascii")}],
    }


# -- the statement -------------------------------------------------------------------


def build_statement(folder: RunFolder, lineage: Lineage, *, lock: Path | None) -> dict[str, Any]:
    """An in-toto Statement v1 over the run's files, with a SLSA Provenance v1 predicate."""
    subjects = [
        {"name": relative, "digest": {"sha256": output.sha256}} for relative, output in sorted(lineage.outputs.items())
    ]
    subjects.append({"name": LINEAGE.name, "digest": {"sha256": sha256_file(folder.file(LINEAGE))}})
    started, finished = folder.started(), folder.completed()
    environment = folder.read_json_object(ENVIRONMENT)
    external: dict[str, Any] = {"kind": lineage.kind, "argv": started.get("argv"), "seed": started.get("seed")}
    config = lineage.config
    if config is not None and config.run is None:
        import yaml

        # the resolved config itself, not only its hash: a reviewer reads what was asked for
        external["config"] = yaml.safe_load(folder.read_text(config.path))
    run_details: dict[str, Any] = {
        "builder": {"id": BUILDER_ID, "version": {"trainlock": str(started.get("trainlock") or __version__)}},
        "metadata": {"invocationId": lineage.run_id},
    }
    for key, event in (("startedOn", started), ("finishedOn", finished)):
        if event.get("time_utc"):
            run_details["metadata"][key] = event["time_utc"]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"envelope": environment.get("envelope") or {}},
                "resolvedDependencies": _resolved_dependencies(lineage, started, environment, lock),
            },
            "runDetails": run_details,
        },
    }


def _resolved_dependencies(
    lineage: Lineage, started: dict[str, Any], environment: dict[str, Any], lock: Path | None
) -> list[dict[str, Any]]:
    """SLSA ResourceDescriptors: the dataset, the lock, the code commit, trainlock's source, the environment."""
    dependencies: list[dict[str, Any]] = []
    dataset = lineage.dataset
    if dataset is not None:
        dependencies.append(
            {"name": "dataset", "digest": {"sha256": dataset.sha256}, "annotations": {"path": dataset.path}}
        )
    for entry in ("model", "threshold", "config"):
        record = getattr(lineage, entry)
        if record is not None and record.run:  # a predict run uses its parent's files
            dependencies.append(
                {
                    "name": entry,
                    "digest": {"sha256": record.sha256},
                    "annotations": {"run": record.run, "path": record.path},
                }
            )
    if lock is not None:
        dependencies.append({"name": lock.name, "digest": {"sha256": sha256_file(lock)}})
    if started.get("git_commit"):
        dependencies.append(
            {
                "name": "code",
                "digest": {"gitCommit": started["git_commit"]},
                "annotations": {"dirty": started.get("git_dirty")},
            }
        )
    code = lineage.code or {}
    if code.get("source_sha256"):
        dependencies.append(
            {
                "name": "trainlock",
                "digest": {"sha256": code["source_sha256"]},
                "annotations": {"version": code.get("version")},
            }
        )
    if environment.get("environment_digest"):
        dependencies.append(
            {
                "name": "python environment",
                "digest": {"sha256": environment["environment_digest"]},
                "annotations": {"packages": environment.get("packages") or {}},
            }
        )
    return dependencies


# -- attest --------------------------------------------------------------------------


@dataclass(frozen=True)
class AttestResult:
    run_id: str
    path: Path
    keyid: str
    subjects: int


def attest(
    run: str,
    *,
    key: str | os.PathLike[str],
    store: Store,
    lock: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> AttestResult:
    """Sign the provenance of a run that verifies; refuse to sign one whose files changed."""
    private_key = load_private_key(key)
    lock_path = _lock_path(lock)
    report = verify(run, store=store, providers=[ledger_provider])
    if not report.ok:
        failures = ", ".join(f"{c.path or c.name} {c.status}" for c in report.failures)
        raise IntegrityError(
            f"run {report.run_id} does not verify ({failures}); attest signs only runs "
            f"that verify: run 'trainlock verify {report.run_id}'"
        )
    folder = store.find(run)
    statement = build_statement(folder, folder.lineage(), lock=lock_path)
    if out is not None:
        target = Path(out)
        atomic.write_json(target, sign_envelope(statement, private_key))
    else:
        target = folder.write_json(ATTESTATION_FILE, sign_envelope(statement, private_key))
    return AttestResult(folder.run_id, target, key_id(private_key.public_key()), len(statement["subject"]))


def _lock_path(lock: str | os.PathLike[str] | None) -> Path | None:
    if lock is None:
        default = Path(DEFAULT_LOCK)
        return default if default.is_file() else None  # no lock beside us: nothing to record
    path = Path(lock)
    if not path.is_file():
        raise LockFileError(f"lock file {path} does not exist; pass --lock FILE of the lock the run was installed from")
    return path


# -- verify RUN --pubkey -------------------------------------------------------------


def attestation_provider(pubkey: str | os.PathLike[str]) -> CheckProvider:
    """``verify RUN --pubkey KEY``'s checks, as a provider; the key is read once, now."""
    public_key = load_public_key(pubkey)

    def provide(folder: RunFolder, lineage: Lineage, store: Store) -> list[Check]:
        return attestation_checks(folder, public_key)

    return provide


def attestation_checks(folder: RunFolder, public_key: Ed25519PublicKey) -> list[Check]:
    """The signature, then every subject against its file."""
    run_dir, run_id = folder.path, folder.run_id
    path = run_dir / ATTESTATION_FILE
    if not path.is_file():
        return [
            Check(
                "attestation",
                "missing",
                ATTESTATION_FILE,
                detail=f"no {ATTESTATION_FILE} in the run folder; sign the run with 'trainlock attest RUN --key KEY'",
            )
        ]
    statement, problem = _open_envelope(path, public_key)
    if problem is not None:
        return [Check("attestation signature", "changed", detail=problem)]
    checks = [Check("attestation signature", "ok", detail=f"signed by key {key_id(public_key)[:16]}")]
    invocation = ((statement.get("predicate") or {}).get("runDetails") or {}).get("metadata", {}).get("invocationId")
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        checks.append(
            Check(
                "attestation statement",
                "changed",
                detail=f"not an in-toto v1 statement with a SLSA v1 predicate ({statement.get('predicateType')})",
            )
        )
    elif invocation != run_id:
        checks.append(
            Check(
                "attestation statement",
                "changed",
                detail=f"the attestation is of run {invocation}, not of run {run_id}",
            )
        )
    for subject in statement.get("subject") or []:
        checks.append(_subject_check(run_dir, subject))
    return checks


def _open_envelope(path: Path, public_key: Ed25519PublicKey) -> tuple[dict[str, Any], str | None]:
    """The signed statement, or the reason it cannot be trusted under ``public_key``."""
    from cryptography.exceptions import InvalidSignature

    changed = f"{ATTESTATION_FILE} was changed after signing: its signature does not match its statement"
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}, f"{ATTESTATION_FILE} is not valid JSON: it was changed or damaged"
    if (
        not isinstance(envelope, dict)
        or not isinstance(envelope.get("signatures"), list)
        or not isinstance(envelope.get("payload"), str)
        or envelope.get("payloadType") != PAYLOAD_TYPE
    ):
        return {}, f"{ATTESTATION_FILE} is not a DSSE envelope of an in-toto statement: it was changed"
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (binascii.Error, ValueError):
        return {}, changed
    if base64.b64encode(payload).decode("ascii") != envelope["payload"]:
        return {}, changed  # unused low bits of the last characters were altered: still a change
    wanted = key_id(public_key)
    signatures = [s for s in envelope["signatures"] if isinstance(s, dict)]
    for signature in signatures:
        try:
            public_key.verify(base64.b64decode(str(signature.get("sig")), validate=True), pae(PAYLOAD_TYPE, payload))
        except (InvalidSignature, binascii.Error, ValueError):
            continue
        if signature.get("keyid") != wanted:
            return {}, f"{ATTESTATION_FILE} was changed after signing: its keyid is not the signing key's"
        try:
            return json.loads(payload), None
        except ValueError:
            return {}, f"{ATTESTATION_FILE} holds a signed payload that is not JSON; it is not a trainlock attestation"
    signers = sorted({str(s.get("keyid"))[:16] for s in signatures})
    if signers and wanted not in {s.get("keyid") for s in signatures}:
        return {}, (
            f"{ATTESTATION_FILE} is signed by key {', '.join(signers)}, not by the given public key "
            f"{wanted[:16]}: wrong key"
        )
    return {}, changed


def _subject_check(run_dir: Path, subject: Any) -> Check:
    name = str((subject or {}).get("name"))
    expected = ((subject or {}).get("digest") or {}).get("sha256")
    try:
        path = RunFolder(run_dir).file(name)
    except StorePathError:
        return Check(f"attested {name}", "changed", detail="the subject names a path outside the run folder")
    if not path.is_file():
        return Check(f"attested {name}", "missing", detail="the signed file is gone from the run folder")
    actual = sha256_file(path)
    if actual != expected:
        return Check(
            f"attested {name}",
            "changed",
            None,
            expected,
            actual,
            "the file differs from its signed digest: it was changed after signing",
        )
    return Check(f"attested {name}", "ok", None, expected, actual)
