"""Environment identity: the digest in environment.json, `env check --lock`, `env verify`, `verify RUN --env`.

`env verify` is only ever pointed at throwaway fixture distributions built in tmp_path.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import metadata
from pathlib import Path

import pytest

from conftest import ROOT
from trainlock import environment
from trainlock.supply.envcheck import environment_digest


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_distribution(
    site: Path,
    name: str = "demo_pkg",
    version: str = "1.0",
    *,
    files: dict[str, bytes] | None = None,
    wheel: bool = True,
) -> Path:
    """A minimal installed distribution: package files, METADATA, WHEEL and a RECORD with their hashes."""
    files = files or {f"{name}/__init__.py": b"ANSWER = 42\n", f"{name}/core.py": b"def f():\n    return 1\n"}
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    written = dict(files)
    written[f"{info.name}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    if wheel:
        written[f"{info.name}/WHEEL"] = (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
    for relative, data in written.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(data)
    rows = [f"{relative},{record_hash(data)},{len(data)}" for relative, data in written.items()]
    rows.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return info


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- the digest ----------------------------------------------------------------------


def test_environment_json_records_the_digest_of_the_running_environment(trained):
    _, run_dir = trained
    recorded = json.loads((run_dir / "environment.json").read_text())
    assert recorded["environment_digest"] == environment_digest()
    assert len(recorded["environment_digest"]) == 64


def test_digest_changes_with_a_version_or_a_record(tmp_path):
    site = tmp_path / "site"
    info = make_distribution(site)
    before = environment_digest([site])
    assert environment_digest([site]) == before  # stable
    record = info / "RECORD"
    original = record.read_text()
    record.write_text(original + "demo_pkg/added.py,sha256=AAAA,1\n")  # a file slipped into the install
    assert record.read_text() != original
    assert environment_digest([site]) != before
    record.write_text(original)
    assert environment_digest([site]) == before
    other = tmp_path / "other"
    make_distribution(other, version="1.1")
    assert environment_digest([other]) != before


def test_container_image_digest_is_recorded_when_declared(cli, monkeypatch):
    digest = "sha256:" + "ab" * 32
    monkeypatch.setenv("TRAINLOCK_IMAGE_DIGEST", digest)
    result = cli("train", "config.yaml", "--json", "--quiet", "--profile", "tiny")
    assert result.code == 0, result.err
    recorded = json.loads((Path(result.json()["run_dir"]) / "environment.json").read_text())
    assert recorded["container_image_digest"] == digest


# -- env check --lock ----------------------------------------------------------------


def test_env_check_passes_against_the_projects_own_lock(cli):
    result = cli("env", "check", "--lock", ROOT / "requirements.lock")
    assert result.code == 0, result.out + result.err
    locked = sum(1 for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line)
    assert result.out == (
        f"environment matches {ROOT / 'requirements.lock'}: {locked} locked packages installed at their versions\n"
    )


def test_env_check_fails_naming_a_package_whose_locked_version_changed(cli, tmp_path):
    installed = metadata.version("scikit-learn")
    text = (ROOT / "requirements.lock").read_text()
    assert f"\nscikit-learn=={installed} " in text
    lock = tmp_path / "changed.lock"
    lock.write_text(text.replace(f"\nscikit-learn=={installed} ", "\nscikit-learn==0.0.1 "))
    result = cli("env", "check", "--lock", lock)
    assert result.code == 1
    assert result.err == f"environment does not match {lock}: scikit-learn: locked 0.0.1, installed {installed}\n"
    assert result.out == f"VERSION  scikit-learn: locked 0.0.1, installed {installed}\n"
    document = cli("env", "check", "--lock", lock, "--json").json()
    assert document["differences"] == [
        {"name": "scikit-learn", "problem": "version", "locked": "0.0.1", "installed": installed}
    ]


def test_env_check_reports_missing_always_and_extra_only_when_strict(cli, tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "demo_pkg", "1.0")
    make_distribution(site, "extra_pkg", "2.0")
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# via pip-compile\ndemo-pkg==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via x\nabsent-pkg==3.0\n"
    )
    result = cli("env", "check", "--lock", lock, "--path", site)
    assert result.code == 1
    assert result.out == "MISSING  absent-pkg: locked 3.0, not installed\n"
    strict = cli("env", "check", "--lock", lock, "--path", site, "--strict")
    assert strict.code == 1
    assert strict.out == (
        "MISSING  absent-pkg: locked 3.0, not installed\nEXTRA    extra-pkg: installed 2.0, not in the lock\n"
    )
    lock.write_text("demo-pkg==1.0\nextra_pkg==2.0\n")
    assert cli("env", "check", "--lock", lock, "--path", site, "--strict").code == 0


def test_env_check_skips_pins_for_other_platforms(cli, tmp_path):
    site = tmp_path / "site"
    make_distribution(site)
    lock = tmp_path / "requirements.lock"
    lock.write_text('demo-pkg==1.0\nwindows-only==1.0 ; sys_platform == "win32"\n')
    assert cli("env", "check", "--lock", lock, "--path", site).code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "demo-pkg>=1.0\n",
            "'demo-pkg>=1.0' is not pinned to one version with ==; regenerate the lock with pip-compile",
        ),
        (
            "demo-pkg==1.*\n",
            "'demo-pkg==1.*' is not pinned to one version with ==; regenerate the lock with pip-compile",
        ),
        ("this is not a requirement\n", "'this is not a requirement' is not a requirement"),
    ],
)
def test_env_check_refuses_a_lock_that_pins_nothing(cli, tmp_path, content, message):
    lock = tmp_path / "requirements.lock"
    lock.write_text(content)
    result = cli("env", "check", "--lock", lock)
    assert result.code == 2
    assert result.err.startswith(f"trainlock: error: {lock}:1: {message}")


def test_env_check_names_a_missing_lock(cli, tmp_path):
    result = cli("env", "check", "--lock", tmp_path / "nope.lock")
    assert result.code == 2
    assert result.err == (
        f"trainlock: error: lock file {tmp_path / 'nope.lock'} does not exist; pass the pip-tools "
        "lock, e.g. --lock requirements.lock\n"
    )


# -- env verify ----------------------------------------------------------------------


def test_env_verify_passes_on_an_untouched_distribution(cli, tmp_path):
    site = tmp_path / "site"
    make_distribution(site)
    result = cli("env", "verify", "--path", site)
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[-1] == "verified: 4 files of 1 distributions match their RECORDs"
    assert f"environment digest {environment_digest([site])}" in result.out


def test_env_verify_names_a_modified_installed_file(cli, tmp_path):
    site = tmp_path / "site"
    make_distribution(site)
    flip_byte(site / "demo_pkg" / "core.py")
    result = cli("env", "verify", "--path", site)
    assert result.code == 1
    assert result.out.splitlines()[0] == "MODIFIED  demo-pkg 1.0: demo_pkg/core.py modified"
    assert result.err == "env verify failed: demo-pkg 1.0: demo_pkg/core.py modified\n"


def test_env_verify_names_a_deleted_installed_file(cli, tmp_path):
    site = tmp_path / "site"
    make_distribution(site)
    (site / "demo_pkg" / "__init__.py").unlink()
    result = cli("env", "verify", "--path", site, "--json")
    assert result.code == 1
    assert result.json()["findings"] == [
        {"distribution": "demo-pkg", "version": "1.0", "path": "demo_pkg/__init__.py", "problem": "missing"}
    ]


def test_env_verify_fails_when_a_wheel_install_lost_its_record(cli, tmp_path):
    site = tmp_path / "site"
    info = make_distribution(site)
    (info / "RECORD").unlink()
    result = cli("env", "verify", "--path", site)
    assert result.code == 1
    assert "demo-pkg 1.0: its RECORD is missing, so its files cannot be checked" in result.err


def test_env_verify_lists_legacy_installs_it_cannot_check(cli, tmp_path):
    site = tmp_path / "site"
    info = make_distribution(site, wheel=False)
    (info / "RECORD").unlink()
    make_distribution(site, "other_pkg", "2.0")
    result = cli("env", "verify", "--path", site)
    assert result.code == 0
    assert "skipped   demo-pkg 1.0: no RECORD (not installed from a wheel)" in result.out


def test_env_without_a_check_shows_its_usage(cli):
    result = cli("env")
    assert result.code == 2
    assert "check" in result.err and "verify" in result.err


# -- verify RUN --env ----------------------------------------------------------------


def test_verify_env_passes_in_the_environment_that_made_the_run(cli, trained):
    run_id, _ = trained
    result = cli("verify", run_id, "--env")
    assert result.code == 0, result.out + result.err
    assert "ok       environment\n" in result.out


def test_verify_env_lists_a_changed_package_version(cli, trained, monkeypatch):
    run_id, _ = trained
    real = environment.installed_packages()
    monkeypatch.setattr(environment, "installed_packages", lambda: {**real, "scikit-learn": "0.0.1"})
    result = cli("verify", run_id, "--env")
    assert result.code == 1
    assert result.err == (
        f"verify failed: run {run_id}: environment package scikit-learn changed: "
        f"recorded {real['scikit-learn']}, now 0.0.1\n"
    )
    # without --env the same run verifies: the environment is only compared when asked
    assert cli("verify", run_id).code == 0


def test_verify_env_notices_a_rebuilt_package_through_the_digest(cli, trained, monkeypatch):
    run_id, run_dir = trained
    recorded = json.loads((run_dir / "environment.json").read_text())["environment_digest"]
    monkeypatch.setattr(environment, "environment_digest", lambda path=None: "0" * 64)
    result = cli("verify", run_id, "--env")
    assert result.code == 1
    assert result.err == (
        f"verify failed: run {run_id}: environment environment digest changed: recorded {recorded}, now {'0' * 64}\n"
    )
