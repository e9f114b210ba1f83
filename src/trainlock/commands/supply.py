"""`trainlock env | sbom | container | keygen | attest`, and `verify --store`: parse, one library call, render.

Nothing heavy is imported here (cryptography, cyclonedx and spdx-tools load inside the
library functions), so ``trainlock --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_CHECK_FAILED = 0, 1


def register(subparsers: Any, *, common: argparse.ArgumentParser, reporting: argparse.ArgumentParser) -> None:
    searching = argparse.ArgumentParser(add_help=False)
    searching.add_argument("--path", action="append", default=None, metavar="DIR",
                           help="look for installed distributions in DIR (a site-packages folder; repeatable) "
                                "instead of this interpreter's sys.path")

    env = subparsers.add_parser("env", parents=[common], help="check the Python environment against a lock or its RECORDs",
                                description="Compare the installed distributions with a pip-tools lock, or re-hash "
                                            "their installed files against their RECORDs.")
    env.set_defaults(handler=_env_usage, command="env", env_parser=env)
    env_sub = env.add_subparsers(title="checks", metavar="CHECK")
    check = env_sub.add_parser("check", parents=[common, reporting, searching], help="compare with a pip-tools lock",
                               description="Report locked packages that are missing or installed at another "
                                           "version, and with --strict installed packages the lock does not name.")
    check.add_argument("--lock", required=True, metavar="FILE", help="the pip-tools lock, e.g. requirements.lock")
    check.add_argument("--strict", action="store_true", help="also fail on installed packages that are not in the lock")
    check.set_defaults(handler=_env_check, command="env check")
    verify = env_sub.add_parser("verify", parents=[common, reporting, searching],
                                help="re-hash installed files against their RECORDs",
                                description="Re-hash every file each installed distribution's RECORD lists "
                                            "and report modified or missing files (a tampered site-packages).")
    verify.set_defaults(handler=_env_verify, command="env verify")

    sbom = subparsers.add_parser("sbom", parents=[common], help="write a CycloneDX or SPDX SBOM of a run",
                                 description="Write a CycloneDX 1.6 or SPDX 2.3 JSON document of a run: its "
                                             "packages with purls, its dataset, config and model with SHA-256 "
                                             "hashes, and how they relate. Needs: pip install 'trainlock[sbom]'.")
    sbom.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    sbom.add_argument("--format", choices=("cyclonedx", "spdx"), default="cyclonedx", help="default: cyclonedx")
    sbom.add_argument("--out", default=None, metavar="FILE", help="write to FILE instead of standard output")
    sbom.set_defaults(handler=_sbom, command="sbom")

    container = subparsers.add_parser("container", parents=[common],
                                      help="write a Dockerfile that rebuilds the environment exactly",
                                      description="Write a Dockerfile and .dockerignore: base image pinned by "
                                                  "digest, the envelope's variables, pip install --require-hashes "
                                                  "of the lock, no index at run time, trainlock as entry point.")
    container.add_argument("--base", default=None, metavar="IMAGE@sha256:DIGEST", help="the base image, pinned by digest")
    container.add_argument("--platform", default="linux/amd64", metavar="OS/ARCH", help="default: linux/amd64")
    container.add_argument("--lock", default="requirements.lock", metavar="FILE",
                           help="the hash-pinned lock in the build context (default: requirements.lock)")
    container.add_argument("--out", default=".", metavar="DIR", help="the build context folder (default: .)")
    container.add_argument("--allow-tag", action="store_true", help="accept a base image tag without a digest")
    container.add_argument("--force", action="store_true", help="replace an existing Dockerfile and .dockerignore")
    container.set_defaults(handler=_container, command="container")

    keygen = subparsers.add_parser("keygen", parents=[common], help="make an Ed25519 key pair for attest",
                                   description="Write trainlock.key (private, owner-only) and trainlock.pub into DIR.")
    keygen.add_argument("--out", required=True, metavar="DIR", help="folder for the key pair")
    keygen.add_argument("--force", action="store_true", help="replace an existing key pair")
    keygen.set_defaults(handler=_keygen, command="keygen")

    attest = subparsers.add_parser("attest", parents=[common], help="sign a run's provenance (in-toto, SLSA, DSSE)",
                                   description="Write attestation.dsse.json into the run folder: an in-toto "
                                               "Statement v1 over every output, with a SLSA Provenance v1 predicate, "
                                               "signed with an Ed25519 key. Check it with 'trainlock verify RUN "
                                               "--pubkey trainlock.pub'.")
    attest.add_argument("run", metavar="RUN", help="run id (or unique prefix) in the store, or a run folder path")
    attest.add_argument("--key", required=True, metavar="KEY", help="the private key from 'trainlock keygen'")
    attest.add_argument("--lock", default=None, metavar="FILE",
                        help="the lock to record as a resolved dependency (default: ./requirements.lock if present)")
    attest.add_argument("--out", default=None, metavar="FILE", help="write here instead of the run folder")
    attest.set_defaults(handler=_attest, command="attest")


# -- env -----------------------------------------------------------------------------


def _env_usage(args: argparse.Namespace) -> int:
    args.env_parser.print_help(sys.stderr)
    return 2


def _env_check(args: argparse.Namespace) -> int:
    from ..supply.envcheck import check_lock

    report = check_lock(args.lock, strict=args.strict, path=args.path)
    if args.json:
        _print_json(report.to_dict())
    elif report.ok:
        extra = " and nothing else" if args.strict else ""
        print(f"environment matches {args.lock}: {report.locked} locked packages installed at their versions{extra}")
    else:
        for difference in report.differences:
            print(f"{difference.problem.upper():<8} {difference.describe()}")
        listed = ", ".join(d.describe() for d in report.differences[:5])
        more = f" and {len(report.differences) - 5} more" if len(report.differences) > 5 else ""
        print(f"environment does not match {args.lock}: {listed}{more}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _env_verify(args: argparse.Namespace) -> int:
    from ..supply.envcheck import verify_installed

    report = verify_installed(path=args.path)
    if args.json:
        _print_json(report.to_dict())
        return EXIT_OK if report.ok else EXIT_CHECK_FAILED
    for finding in report.findings:
        print(f"{finding.problem.upper():<9} {finding.describe()}")
    for name in report.unverifiable:
        print(f"skipped   {name}: no RECORD (not installed from a wheel)")
    print(f"environment digest {report.digest}")
    if report.ok:
        print(f"verified: {report.files} files of {report.distributions} distributions match their RECORDs")
        return EXIT_OK
    listed = ", ".join(f.describe() for f in report.findings[:5])
    more = f" and {len(report.findings) - 5} more" if len(report.findings) > 5 else ""
    print(f"env verify failed: {listed}{more}", file=sys.stderr)
    return EXIT_CHECK_FAILED


# -- sbom, container -----------------------------------------------------------------


def _sbom(args: argparse.Namespace) -> int:
    from ..atomic import dumps_json
    from ..supply.sbom import sbom

    result = sbom(args.run, store=args.store, format=args.format, out=args.out)
    if result.path is None:
        sys.stdout.write(dumps_json(result.document))
    else:
        print(f"wrote {result.format} SBOM of run {result.run_id} to {result.path} ({result.components} components)")
    return EXIT_OK


def _container(args: argparse.Namespace) -> int:
    from ..supply.container import write_recipe

    recipe = write_recipe(args.out, base=args.base, platform=args.platform, allow_tag=args.allow_tag,
                          lock=args.lock, force=args.force)
    print(f"wrote {recipe.dockerfile} and {recipe.dockerignore} (base {recipe.base.pinned})")
    if recipe.base.digest is None:
        print(f"warning: base image {recipe.base.reference} is a tag, not a digest: a rebuild may get other bytes",
              file=sys.stderr)
    print(f"  build    docker build --platform {recipe.platform} -t IMAGE {args.out}")
    print("  run      docker run --rm --network none -e TRAINLOCK_IMAGE_DIGEST=sha256:... IMAGE train CONFIG")
    return EXIT_OK


# -- keygen, attest, verify --store --------------------------------------------------


def _keygen(args: argparse.Namespace) -> int:
    from ..supply.attest import keygen

    pair = keygen(args.out, force=args.force)
    print(f"wrote {pair.private_key} (keep it secret) and {pair.public_key}")
    print(f"  key id   {pair.keyid}")
    return EXIT_OK


def _attest(args: argparse.Namespace) -> int:
    from ..supply.attest import attest

    result = attest(args.run, key=args.key, store=args.store, lock=args.lock, out=args.out)
    print(f"signed run {result.run_id}: {result.subjects} subjects, key {result.keyid[:16]}")
    print(f"  attestation  {result.path}")
    return EXIT_OK


def verify_store(args: argparse.Namespace) -> int:
    """`trainlock verify --store DIR` without RUN: walk the store's ledger."""
    from ..supply.errors import LedgerError
    from ..supply.ledger import verify_ledger

    given = [flag for flag, value in (("--env", args.env), ("--pubkey", args.pubkey), ("--data", args.data)) if value]
    if given:
        raise LedgerError(f"{', '.join(given)} checks one run; pass RUN, or drop {given[0]} to walk the store's ledger")
    report = verify_ledger(args.store)
    if args.json:
        _print_json(report.to_dict())
        return EXIT_OK if report.ok else EXIT_CHECK_FAILED
    for problem in report.problems:
        print(f"{problem.kind.upper():<16} {problem.message}")
    if report.ok:
        print(f"verified: ledger of {report.store} holds {report.entries} runs, chained and matching their lineage")
        if report.head:
            print(f"  head     {report.head}")
        return EXIT_OK
    more = len(report.problems) - 1
    print(f"ledger verify failed: {report.store}: {report.problems[0].message}"
          + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""), file=sys.stderr)
    return EXIT_CHECK_FAILED


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str))
