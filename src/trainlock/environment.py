"""What the run's machine and software were: the content of environment.json.

Also the identity of the installed software (:func:`environment_digest`), which
:mod:`trainlock.supply.envcheck` builds its lock and RECORD checks on.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from . import __version__
from .hashing import canonical_hash, sha256_bytes

IMAGE_DIGEST_ENV = "TRAINLOCK_IMAGE_DIGEST"


def collect(envelope: dict[str, Any] | None = None, installed: Software | None = None) -> dict[str, Any]:
    """The environment document; ``installed`` is :func:`software`'s result where a helper process computed it."""
    from threadpoolctl import threadpool_info

    # Never on a background thread: collected on one during training it made runs slower, not
    # faster (measured: the thread competes with model fitting for the GIL). See trainlock.sidecar.
    installed = installed if installed is not None else software()
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "trainlock": __version__,
        "packages": installed.packages,
        "environment_digest": installed.environment_digest,
        "threadpools": sorted(
            (
                {
                    key: pool.get(key)
                    for key in ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
                }
                for pool in threadpool_info()
            ),
            key=lambda pool: (str(pool["user_api"]), str(pool["internal_api"]), str(pool["version"])),
        ),
        "envelope": envelope or {},
        "container_image_digest": os.environ.get(IMAGE_DIGEST_ENV),
    }


@dataclass(frozen=True)
class Software:
    """The installed distributions: the part of :func:`collect` that reads every package's metadata."""

    packages: dict[str, str]
    #: versions alone miss a package rebuilt or edited in place; the RECORD hashes do not
    environment_digest: str


def software() -> Software:
    return Software(installed_packages(), environment_digest())


def installed_packages() -> dict[str, str]:
    """Distribution name (normalised, lower case) → version, sorted by name."""
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = _field(dist.metadata, "Name")
        if name:
            packages[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(packages.items()))


# -- the installed software's identity ------------------------------------------------

SearchPath = Sequence[str | os.PathLike[str]] | None


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name: ``Foo_Bar.baz`` → ``foo-bar-baz``."""
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


@dataclass(frozen=True)
class Installed:
    """One installed distribution, its metadata parsed once (parsing dominates the cost)."""

    name: str  # PEP 503 normalised
    version: str
    dist: metadata.Distribution


def installed_distributions(path: SearchPath = None) -> list[Installed]:
    """Installed distributions, one per normalised name, sorted by name.

    When a name is found twice (an editable install also leaves ``*.egg-info`` in the
    source tree), the first one on the search path wins, as it does for ``import``.
    """
    search = [os.fspath(p) for p in path] if path is not None else None
    found = metadata.distributions(path=search) if search is not None else metadata.distributions()
    chosen: dict[str, Installed] = {}
    for dist in found:
        fields = dist.metadata
        name = _field(fields, "Name")
        if name and normalize_name(name) not in chosen:
            chosen[normalize_name(name)] = Installed(normalize_name(name), str(_field(fields, "Version")), dist)
    return [chosen[name] for name in sorted(chosen)]


def environment_digest(path: SearchPath = None) -> str:
    """SHA-256 over the sorted (name, version, SHA-256 of RECORD) of every installed distribution.

    RECORD lists every installed file with its hash, so its hash stands for the files
    as installed; a distribution without RECORD (legacy egg-info) contributes ``None``.
    """
    entries = []
    for installed in installed_distributions(path):
        record = installed.dist.read_text("RECORD")
        entries.append(
            [installed.name, installed.version, None if record is None else sha256_bytes(record.encode("utf-8"))]
        )
    return canonical_hash(entries)


def _field(fields: metadata.PackageMetadata, key: str) -> str | None:
    """The first value of a metadata field, None where a (broken or hand-made) install lacks it."""
    values = fields.get_all(key)
    return str(values[0]) if values else None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
