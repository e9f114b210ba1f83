"""Tamper suite: every file of a run, flipped, truncated or deleted, is named by verify; a
model is never deserialised unless it is the recorded one and holds only types trainlock writes."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import pytest

from trainlock.hashing import sha256_file

RUN_FILES = [
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


def _flip(path: Path, position: float) -> None:
    data = bytearray(path.read_bytes())
    data[int((len(data) - 1) * position)] ^= 0x20
    path.write_bytes(bytes(data))


def _truncate(path: Path, position: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * position)])


def _delete(path: Path, position: float) -> None:
    path.unlink()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """One trained run, copied afresh for each tampering."""
    import shutil

    import yaml

    from conftest import EXAMPLE, FAST_CONFIG
    from trainlock.cli import main

    root = tmp_path_factory.mktemp("pristine")
    shutil.copy(EXAMPLE / "data.csv", root / "data.csv")
    config = dict(FAST_CONFIG, data={**FAST_CONFIG["data"], "path": str(root / "data.csv")})
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    assert (
        main(["train", str(root / "config.yaml"), "--store", str(root / "runs"), "--quiet", "--profile", "tiny"]) == 0
    )
    [run_dir] = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return run_dir


@pytest.mark.parametrize("name", RUN_FILES)
@pytest.mark.parametrize(
    ("tamper", "positions"), [(_flip, (0.0, 0.5, 1.0)), (_truncate, (0.0, 0.5)), (_delete, (0.0,))]
)
def test_every_tampering_of_every_file_is_named(cli, pristine, tmp_path, name, tamper, positions):
    import shutil

    for position in positions:
        run_dir = tmp_path / f"{tamper.__name__}-{position}" / pristine.name
        shutil.copytree(pristine, run_dir)
        tamper(run_dir / name, position)
        result = cli("verify", str(run_dir), "--json")
        assert result.code == 1, (name, tamper.__name__, position)
        named = {c["path"] for c in result.json()["checks"] if c["status"] in ("changed", "missing")}
        assert name in named, (name, tamper.__name__, position, named)


def _forge(run_dir: Path, payload: bytes, trusted: list[str]) -> None:
    """Replace the model and make lineage.json agree with it, as an attacker with write access would."""
    (run_dir / "model.skops").write_bytes(payload)
    lineage = json.loads((run_dir / "lineage.json").read_text())
    digest = sha256_file(run_dir / "model.skops")
    lineage["model"].update(sha256=digest, trusted_types=trusted)
    lineage["outputs"]["model.skops"].update(sha256=digest, size=len(payload))
    (run_dir / "lineage.json").write_text(json.dumps(lineage))


def test_a_pickle_payload_with_a_forged_lineage_is_refused(cli, pristine, tmp_path, workdir):
    import shutil

    run_dir = tmp_path / pristine.name
    shutil.copytree(pristine, run_dir)
    _forge(run_dir, pickle.dumps({"boom": print}), ["builtins.print"])
    result = cli("predict", str(run_dir), "data.csv")
    assert result.code == 1 and "is not a valid skops file" in result.err


def test_a_skops_payload_with_untrusted_types_is_refused_even_if_lineage_lists_them(
    cli, pristine, tmp_path, workdir, monkeypatch
):
    import shutil

    import skops.io

    run_dir = tmp_path / pristine.name
    shutil.copytree(pristine, run_dir)
    # a genuine skops file whose schema names a type trainlock never writes (os.system)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "schema.json",
            json.dumps(
                {
                    "__class__": "system",
                    "__module__": "os",
                    "__loader__": "TypeNode",
                    "__id__": 1,
                    "protocol": 2,
                    "_trainlock": "crafted",
                }
            ),
        )
    monkeypatch.setattr(skops.io, "loads", lambda *a, **k: (_ for _ in ()).throw(AssertionError("deserialised")))
    _forge(run_dir, archive.getvalue(), ["os.system", "posix.system"])
    result = cli("predict", str(run_dir), "data.csv")
    assert result.code == 1
    assert "refusing" in result.err
