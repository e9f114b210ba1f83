"""`trainlock container`: write a Dockerfile that rebuilds the environment exactly."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode
from .common import Parents, Subparsers


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "container",
        parents=parents(),
        help="write a Dockerfile that rebuilds the environment exactly",
        description="Write a Dockerfile and .dockerignore: base image pinned by "
        "digest, the envelope's variables, pip install --require-hashes "
        "of the lock, no index at run time, trainlock as entry point.",
    )
    parser.add_argument("--base", default=None, metavar="IMAGE@sha256:DIGEST", help="the base image, pinned by digest")
    parser.add_argument(
        "--platform", default="linux/amd64", metavar="OS/ARCH", help="the image platform (default: linux/amd64)"
    )
    parser.add_argument(
        "--lock",
        default="requirements.lock",
        metavar="FILE",
        help="the hash-pinned lock in the build context (default: requirements.lock)",
    )
    parser.add_argument("--out", default=".", metavar="DIR", help="the build context folder (default: .)")
    parser.add_argument("--allow-tag", action="store_true", help="accept a base image tag without a digest")
    parser.add_argument("--force", action="store_true", help="replace an existing Dockerfile and .dockerignore")
    parser.set_defaults(func=run, command="container")


def run(args: argparse.Namespace) -> int:
    from ..supply.container import write_recipe

    recipe = write_recipe(
        args.out, base=args.base, platform=args.platform, allow_tag=args.allow_tag, lock=args.lock, force=args.force
    )
    print(f"wrote {recipe.dockerfile} and {recipe.dockerignore} (base {recipe.base.pinned})")
    if recipe.base.digest is None:
        print(
            f"warning: base image {recipe.base.reference} is a tag, not a digest: a rebuild may get other bytes",
            file=sys.stderr,
        )
    print(f"  build    docker build --platform {recipe.platform} -t IMAGE {args.out}")
    print("  run      docker run --rm --network none -e TRAINLOCK_IMAGE_DIGEST=sha256:... IMAGE train CONFIG")
    return ExitCode.OK
