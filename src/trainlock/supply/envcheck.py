"""Environment identity: the digest of the installed distributions, lock checks, and RECORD checks.

* :func:`environment_digest` (from :mod:`trainlock.environment`) — one SHA-256 that changes
  when any installed distribution's name, version or RECORD (the list of its files with their
  hashes) changes;
* :func:`check_lock` — the running environment against a pip-tools lock (``env check``);
* :func:`verify_installed` — every installed file re-hashed against its RECORD (``env verify``);
* :func:`environment_checks` — the current environment against a run's environment.json
  (``verify RUN --env``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..checks import Check

# the digest and the distribution list live below supply, in the core that environment.json comes from
from ..environment import SearchPath, environment_digest, installed_distributions, normalize_name
from ..lineage import Lineage
from ..run import ENVIRONMENT, RunFolder
from ..store import Store
from .errors import LockFileError

#: installed but never pinned by a lock: the project itself (installed from its source tree)
#: and pip, which every virtual environment carries in order to install the lock
NEVER_EXTRA = frozenset({"trainlock", "pip"})

# -- env check --lock ----------------------------------------------------------------


Problem = Literal["missing", "extra", "version"]


@dataclass(frozen=True)
class PackageDifference:
    name: str
    problem: Problem
    locked: str | None
    installed: str | None

    def describe(self) -> str:
        if self.problem == "missing":
            return f"{self.name}: locked {self.locked}, not installed"
        if self.problem == "extra":
            return f"{self.name}: installed {self.installed}, not in the lock"
        return f"{self.name}: locked {self.locked}, installed {self.installed}"


@dataclass
class LockCheckReport:
    lock: str
    strict: bool
    locked: int
    differences: list[PackageDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "lock": self.lock,
            "strict": self.strict,
            "locked": self.locked,
            "ok": self.ok,
            "differences": [asdict(d) for d in self.differences],
        }


def read_lock(path: str | os.PathLike[str]) -> dict[str, str]:
    """The pins of a pip-tools lock: normalised name → version, for this platform's markers."""
    from packaging.requirements import InvalidRequirement, Requirement

    lock = Path(path)
    try:
        text = lock.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockFileError(
            f"lock file {lock} does not exist; pass the pip-tools lock, e.g. --lock requirements.lock"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockFileError(f"lock file {lock} cannot be read ({exc}); pass a pip-tools lock file") from None
    pins: dict[str, str] = {}
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            continue  # pip options (--index-url, -c constraints.txt) pin nothing themselves
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise LockFileError(
                f"{lock}:{number}: '{line}' is not a requirement ({exc}); regenerate the lock with pip-compile"
            ) from None
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # pinned for another platform or Python
        pinned = [spec.version for spec in requirement.specifier if spec.operator in ("==", "===")]
        if requirement.url or len(pinned) != 1 or "*" in pinned[0]:
            raise LockFileError(
                f"{lock}:{number}: '{requirement}' is not pinned to one version with ==; "
                "regenerate the lock with pip-compile"
            )
        pins[normalize_name(requirement.name)] = pinned[0]
    return pins


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, requirement text) with continuations joined, comments and hashes dropped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            # drop the per-requirement options pip-compile appends (--hash=sha256:...)
            yield start, " ".join(part for part in joined.split() if not part.startswith("--hash"))
    if pending.strip():
        yield start, pending.strip()


def check_lock(lock: str | os.PathLike[str], *, strict: bool = False, path: SearchPath = None) -> LockCheckReport:
    """Compare the installed distributions with a lock: missing and mismatched always, extra with ``strict``."""
    pins = read_lock(lock)
    installed = {item.name: item.version for item in installed_distributions(path)}
    report = LockCheckReport(str(lock), strict, len(pins))
    for name, version in sorted(pins.items()):
        if name not in installed:
            report.differences.append(PackageDifference(name, "missing", version, None))
        elif installed[name] != version:
            report.differences.append(PackageDifference(name, "version", version, installed[name]))
    if strict:
        for name in sorted(set(installed) - set(pins) - NEVER_EXTRA):
            report.differences.append(PackageDifference(name, "extra", None, installed[name]))
    return report


# -- env verify ----------------------------------------------------------------------


FileProblem = Literal["modified", "missing", "no RECORD"]


@dataclass(frozen=True)
class FileFinding:
    distribution: str
    version: str
    path: str  # as written in RECORD, relative to the folder holding the .dist-info
    problem: FileProblem

    def describe(self) -> str:
        if self.problem == "no RECORD":
            return f"{self.distribution} {self.version}: its RECORD is missing, so its files cannot be checked"
        return f"{self.distribution} {self.version}: {self.path} {self.problem}"


@dataclass
class InstalledFilesReport:
    digest: str
    distributions: int
    files: int
    findings: list[FileFinding] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "distributions": self.distributions,
            "files": self.files,
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
            "unverifiable": self.unverifiable,
        }


def verify_installed(path: SearchPath = None) -> InstalledFilesReport:
    """Re-hash every file each installed distribution's RECORD lists with a hash."""
    dists = installed_distributions(path)
    report = InstalledFilesReport(environment_digest(path), len(dists), 0)
    for installed in dists:
        name, version, dist = installed.name, installed.version, installed.dist
        record = dist.read_text("RECORD")
        if record is None:
            # a wheel install always writes RECORD; its absence there means it was removed
            if dist.read_text("WHEEL") is not None:
                report.findings.append(FileFinding(name, version, "RECORD", "no RECORD"))
            else:
                report.unverifiable.append(f"{name} {version}")
            continue
        # RECORD is parsed here rather than through Distribution.files, which silently
        # drops listed files that no longer exist: exactly the ones to report
        for row in csv.reader(record.splitlines()):
            if len(row) < 2 or "=" not in row[1]:
                continue  # RECORD itself and compiled caches are listed without a hash
            relative, (algorithm, expected) = row[0], row[1].split("=", 1)
            report.files += 1
            located = Path(str(dist.locate_file(relative)))  # a SimplePath: str() is its file system path
            if not located.is_file():
                report.findings.append(FileFinding(name, version, relative, "missing"))
            # a hash name unknown to hashlib cannot come from an installer: the RECORD was edited
            elif algorithm not in hashlib.algorithms_available or _record_hash(located, algorithm) != expected:
                report.findings.append(FileFinding(name, version, relative, "modified"))
    return report


def _record_hash(path: Path, algorithm: str) -> str:
    """A file's hash in RECORD's form: urlsafe base64 without padding (PEP 376 / the wheel spec)."""
    import base64

    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, algorithm).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- verify RUN --env ----------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentDifference:
    key: str
    recorded: Any
    current: Any


#: the facts of environment.json that identify the software and machine a result came from
COMPARED_FACTS = ("platform", "machine", "cpu", "container_image_digest")


def compare_environments(recorded: dict[str, Any], current: dict[str, Any]) -> list[EnvironmentDifference]:
    """What differs between two environment.json documents: Python, platform, packages, digest."""
    differences = []
    for key in ("version", "implementation"):
        a, b = (recorded.get("python") or {}).get(key), (current.get("python") or {}).get(key)
        if a != b:
            differences.append(EnvironmentDifference(f"python {key}", a, b))
    differences += [
        EnvironmentDifference(key, recorded.get(key), current.get(key))
        for key in COMPARED_FACTS
        if recorded.get(key) != current.get(key)
    ]
    packages_a, packages_b = recorded.get("packages") or {}, current.get("packages") or {}
    differences += [
        EnvironmentDifference(f"package {name}", packages_a.get(name), packages_b.get(name))
        for name in sorted(set(packages_a) | set(packages_b))
        if packages_a.get(name) != packages_b.get(name)
    ]
    # runs recorded before the digest existed have none; there is nothing to compare then
    if recorded.get("environment_digest") and recorded.get("environment_digest") != current.get("environment_digest"):
        differences.append(
            EnvironmentDifference(
                "environment digest", recorded["environment_digest"], current.get("environment_digest")
            )
        )
    return differences


def environment_checks(folder: RunFolder, lineage: Lineage, store: Store) -> list[Check]:
    """Checks for ``verify RUN --env``: one per difference, or one "ok" when there is none."""
    from .. import environment

    path = folder.file(ENVIRONMENT)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [Check("environment", "missing", ENVIRONMENT.name, detail="the run recorded no environment")]
    except (OSError, ValueError) as exc:
        return [Check("environment", "changed", ENVIRONMENT.name, detail=f"unreadable: {exc}")]
    differences = compare_environments(recorded, environment.collect())
    if not differences:
        count = len(recorded.get("packages") or {})
        return [Check("environment", "ok", detail=f"Python, platform and {count} packages match the run's")]
    return [
        Check(f"environment {d.key}", "changed", detail=f"recorded {d.recorded}, now {d.current}") for d in differences
    ]
