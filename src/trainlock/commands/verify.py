"""`trainlock verify RUN`: re-check every hash of a run; without RUN, walk the store's ledger."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json

if TYPE_CHECKING:  # the library is imported when the command runs, keeping --help fast
    from ..ops.verify import CheckProvider

#: how a check's status reads in the text output
LABELS = {"ok": "ok", "skipped": "skipped", "changed": "CHANGED", "missing": "MISSING"}


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=parents("store", "json"),
        help="re-check every hash of a run",
        description="Re-hash every input and output a run's lineage names, re-derive its fingerprints. "
        "Without RUN, walk the store's ledger: its chain, and every run against its line.",
    )
    parser.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        default=None,
        help="run id (or unique prefix) in the store, or a run folder path; "
        "without RUN, walk the store's ledger (verify --store DIR)",
    )
    parser.add_argument(
        "--data", default=None, metavar="PATH", help="check the dataset at PATH instead of its recorded path"
    )
    parser.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="for a wrapped command's run: check its --in/--out files below DIR (a moved copy of "
        "the folder it ran in) instead of the recorded working directory",
    )
    parser.add_argument("--rehash", action="store_true", help="re-read the dataset even when the stat cache knows it")
    parser.add_argument(
        "--env", action="store_true", help="also compare the running environment with the run's recorded one"
    )
    parser.add_argument(
        "--pubkey",
        default=None,
        metavar="KEY",
        help="also check the run's attestation.dsse.json: its Ed25519 signature and every signed file",
    )
    parser.set_defaults(func=run, command="verify")


def run(args: argparse.Namespace) -> int:
    if args.run is None:
        return _walk_ledger(args)
    from ..ops.verify import ledger_provider, verify

    providers: list[CheckProvider] = [ledger_provider]
    if args.env:
        from ..supply.envcheck import environment_checks

        providers.append(environment_checks)
    if args.pubkey is not None:
        from ..supply.attest import attestation_provider

        providers.append(attestation_provider(args.pubkey))
    report = verify(
        args.run,
        store=store_of(args),
        data_path=args.data,
        workdir=args.workdir,
        rehash=args.rehash,
        providers=providers,
    )
    if args.json:
        print_json(report.to_dict())
        return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
    for check in report.checks:
        detail = f"  ({check.detail})" if check.detail and check.status != "ok" else ""
        print(f"{LABELS[check.status]:<8} {check.name}{detail}")
    if report.ok:
        print(f"verified: run {report.run_id} matches its lineage ({len(report.checks)} checks)")
        return ExitCode.OK
    # a check without a file (ledger, environment, signature) needs its detail to say which
    names = ", ".join(
        f"{c.path or c.name} {c.status}" + (f": {c.detail}" if c.path is None and c.detail else "")
        for c in report.failures
    )
    print(f"verify failed: run {report.run_id}: {names}", file=sys.stderr)
    return ExitCode.CHECK_FAILED


def _walk_ledger(args: argparse.Namespace) -> int:
    """`trainlock verify --store DIR` without RUN."""
    from ..errors import LedgerError
    from ..store import require_local
    from ..supply.ledger import verify_ledger

    given = [
        flag
        for flag, value in (
            ("--env", args.env),
            ("--pubkey", args.pubkey),
            ("--data", args.data),
            ("--rehash", args.rehash),
            ("--workdir", args.workdir),
        )
        if value
    ]
    if given:
        raise LedgerError(f"{', '.join(given)} checks one run; pass RUN, or drop {given[0]} to walk the store's ledger")
    report = verify_ledger(require_local(store_of(args), "verify --store (walking the ledger)"))
    if args.json:
        print_json(report.to_dict())
        return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
    for problem in report.problems:
        print(f"{problem.kind.upper():<16} {problem.message}")
    if report.ok:
        print(f"verified: ledger of {report.store} holds {report.entries} runs, chained and matching their lineage")
        if report.head:
            print(f"  head     {report.head}")
        return ExitCode.OK
    more = len(report.problems) - 1
    print(
        f"ledger verify failed: {report.store}: {report.problems[0].message}"
        + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""),
        file=sys.stderr,
    )
    return ExitCode.CHECK_FAILED
