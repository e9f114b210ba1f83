"""`trainlock attest RUN --key KEY`: sign a run's provenance (in-toto Statement, SLSA predicate, DSSE)."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "attest",
        parents=parents("store"),
        help="sign a run's provenance (in-toto, SLSA, DSSE)",
        description="Write attestation.dsse.json into the run folder: an in-toto "
        "Statement v1 over every output, with a SLSA Provenance v1 predicate, "
        "signed with an Ed25519 key. Check it with 'trainlock verify RUN "
        "--pubkey trainlock.pub'.",
    )
    parser.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    parser.add_argument("--key", required=True, metavar="KEY", help="the private key from 'trainlock keygen'")
    parser.add_argument(
        "--lock",
        default=None,
        metavar="FILE",
        help="the lock to record as a resolved dependency (default: ./requirements.lock if present)",
    )
    parser.add_argument("--out", default=None, metavar="FILE", help="write here instead of the run folder")
    parser.set_defaults(func=run, command="attest")


def run(args: argparse.Namespace) -> int:
    from ..supply.attest import attest

    result = attest(args.run, key=args.key, store=store_of(args), lock=args.lock, out=args.out)
    print(f"signed run {result.run_id}: {result.subjects} subjects, key {result.keyid[:16]}")
    print(f"  attestation  {result.path}")
    return ExitCode.OK
