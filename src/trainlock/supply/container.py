"""`trainlock container`: a Dockerfile and .dockerignore that rebuild the run environment exactly.

The recipe pins the base image by digest (a tag can be moved to other bytes), sets the
envelope's process variables before any interpreter starts (so the CLI needs no
re-exec), installs only the hash-pinned lock, and leaves pip unable to reach an index
afterwards. Runs inside the image record the image digest when it is passed in as
``TRAINLOCK_IMAGE_DIGEST`` (an image cannot know its own digest when it is built).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, atomic
from ..envelope import PROCESS_ENV_DEFAULTS
from ..environment import IMAGE_DIGEST_ENV
from .errors import ContainerRecipeError

DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
DEFAULT_PLATFORM = "linux/amd64"
DEFAULT_LOCK = "requirements.lock"
DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
# registry[:port]/path[:tag]: the characters a reference may hold, so nothing else reaches the Dockerfile
REFERENCE_PATTERN = re.compile(r"^[a-z0-9][A-Za-z0-9._/:-]*$")
PLATFORM_PATTERN = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")
LOCK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
#: what the image's build needs from the project; everything else stays out of the context
CONTEXT_FILES = ("pyproject.toml", "README.md", "src/")


@dataclass(frozen=True)
class BaseImage:
    reference: str  # name[:tag] as given
    digest: str | None  # sha256:<64 hex>, or None for an allowed tag

    @property
    def pinned(self) -> str:
        return f"{self.reference}@{self.digest}" if self.digest else self.reference


@dataclass(frozen=True)
class ContainerRecipe:
    dockerfile: Path
    dockerignore: Path
    base: BaseImage
    platform: str


def parse_base(text: str | None, *, allow_tag: bool = False) -> BaseImage:
    """``IMAGE@sha256:DIGEST`` (or ``IMAGE:TAG`` with ``allow_tag``), checked character by character."""
    example = (
        "e.g. --base python:3.11-slim@sha256:<64 hex> (docker buildx imagetools inspect python:3.11-slim shows it)"
    )
    if not text:
        raise ContainerRecipeError(f"no base image given; pass one pinned by digest, {example}")
    reference, _, digest = text.partition("@")
    if not REFERENCE_PATTERN.match(reference):
        raise ContainerRecipeError(f"base image '{text}' is not an image reference; {example}")
    if digest:
        if not DIGEST_PATTERN.match(digest):
            raise ContainerRecipeError(f"base image digest '{digest}' is not sha256:<64 lower-case hex>; {example}")
        return BaseImage(reference, digest)
    if not allow_tag:
        raise ContainerRecipeError(
            f"base image '{text}' is not pinned by digest, so a rebuild may get other bytes; "
            f"pass IMAGE@sha256:DIGEST, {example}, or --allow-tag to accept the risk"
        )
    return BaseImage(reference, None)


def render_dockerfile(base: BaseImage, platform: str, lock: str = DEFAULT_LOCK) -> str:
    variables = {**PROCESS_ENV_DEFAULTS, "PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env_lines = " \\\n    ".join(f"{name}={json.dumps(value)}" for name, value in sorted(variables.items()))
    labels = [f'org.opencontainers.image.base.name="{base.reference}"']
    if base.digest:
        labels.append(f'org.opencontainers.image.base.digest="{base.digest}"')
    label_lines = " \\\n      ".join(labels)
    return f"""\
# syntax=docker/dockerfile:1
# Written by trainlock {__version__} ('trainlock container'). Build with this folder as the context:
#   docker build --platform {platform} -t IMAGE .
# Run without network, telling trainlock the image digest so that every run records it:
#   docker run --rm --network none -e {IMAGE_DIGEST_ENV}=sha256:... -v "$PWD:/work" IMAGE train config.yaml
FROM --platform={platform} {base.pinned}
LABEL {label_lines}

# The envelope's process variables: set before any interpreter starts, as trainlock's CLI would.
ENV {env_lines}

WORKDIR /opt/trainlock
COPY {lock} ./
# Only hash-pinned wheels and sdists: a changed or substituted file fails the build.
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r {lock}
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip install --no-cache-dir --no-deps --no-build-isolation . \\
 && useradd --create-home --uid 10001 trainlock

# Nothing is downloaded at run time: pip may not reach an index once the image is built.
ENV PIP_NO_INDEX=1
USER trainlock
WORKDIR /work
ENTRYPOINT ["trainlock"]
CMD ["--help"]
"""


def render_dockerignore(lock: str = DEFAULT_LOCK) -> str:
    allowed = "\n".join(f"!{name}" for name in (lock, *CONTEXT_FILES))
    return f"""\
# Written by trainlock {__version__}: the build context holds only what the image installs.
*
{allowed}
**/__pycache__
**/*.py[co]
"""


def write_recipe(
    out_dir: str | os.PathLike[str] = ".",
    *,
    base: str | None,
    platform: str = DEFAULT_PLATFORM,
    allow_tag: bool = False,
    lock: str = DEFAULT_LOCK,
    force: bool = False,
) -> ContainerRecipe:
    """Write Dockerfile and .dockerignore into ``out_dir`` (the build context)."""
    image = parse_base(base, allow_tag=allow_tag)
    if not PLATFORM_PATTERN.match(platform or ""):
        raise ContainerRecipeError(f"--platform '{platform}' is not OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64")
    if not LOCK_NAME_PATTERN.match(lock):
        raise ContainerRecipeError(f"--lock '{lock}' must be a file name in the build context, e.g. requirements.lock")
    folder = Path(out_dir)
    targets = (folder / DOCKERFILE, folder / DOCKERIGNORE)
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        raise ContainerRecipeError(
            f"{existing[0]} already exists; pass --force to replace it or --out DIR for another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic.write_text(targets[0], render_dockerfile(image, platform, lock))
    atomic.write_text(targets[1], render_dockerignore(lock))
    return ContainerRecipe(targets[0], targets[1], image, platform)
