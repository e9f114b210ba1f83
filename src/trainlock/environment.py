"""What the run's machine and software were: the content of environment.json."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from . import __version__

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
                {key: pool.get(key) for key in ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")}
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
    from .supply.envcheck import environment_digest

    return Software(installed_packages(), environment_digest())


def installed_packages() -> dict[str, str]:
    """Distribution name (normalised, lower case) → version, sorted by name."""
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            packages[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(packages.items()))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
