"""`trainlock gc --incomplete`: remove run folders that never completed."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json

SECONDS_PER_HOUR = 3600


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "gc",
        parents=parents("store", "json"),
        help="remove run folders that never completed",
        description="Remove incomplete run folders (crashed or killed runs) older than a grace period. "
        "A run whose process is alive on this host is never removed.",
    )
    parser.add_argument("--incomplete", action="store_true", required=True, help="remove incomplete runs (required)")
    parser.add_argument("--failed", action="store_true", help="also remove runs that recorded a failure")
    parser.add_argument("--now", action="store_true", help="skip the grace period")
    parser.add_argument("--grace", type=float, default=24.0, metavar="HOURS", help="grace period in hours (default 24)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed")
    parser.set_defaults(func=run, command="gc")


def run(args: argparse.Namespace) -> int:
    from ..ops.gc import gc

    report = gc(
        store=store_of(args),
        failed=args.failed,
        now=args.now,
        grace_seconds=args.grace * SECONDS_PER_HOUR,
        dry_run=args.dry_run,
    )
    if args.json:
        print_json(report.to_dict())
        return ExitCode.OK
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report.removed)} run folder(s){': ' + ', '.join(report.removed) if report.removed else ''}")
    if report.running:
        print(f"kept {len(report.running)} running: {', '.join(report.running)}")
    if report.recent:
        print(f"kept {len(report.recent)} younger than the grace period (use --now): {', '.join(report.recent)}")
    return ExitCode.OK
