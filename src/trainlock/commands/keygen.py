"""`trainlock keygen --out DIR`: make an Ed25519 key pair for `attest`."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "keygen",
        parents=parents(),
        help="make an Ed25519 key pair for attest",
        description="Write trainlock.key (private, owner-only) and trainlock.pub into DIR.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the key pair")
    parser.add_argument("--force", action="store_true", help="replace an existing key pair")
    parser.set_defaults(func=run, command="keygen")


def run(args: argparse.Namespace) -> int:
    from ..supply.attest import keygen

    pair = keygen(args.out, force=args.force)
    print(f"wrote {pair.private_key} (keep it secret) and {pair.public_key}")
    print(f"  key id   {pair.keyid}")
    return ExitCode.OK
