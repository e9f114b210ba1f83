"""`trainlock runs`: list the runs of a store, or their replicate groups."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "runs",
        parents=parents("store", "json"),
        help="list the runs of a store",
        description="List the runs of the store, newest last, from its index: id, start time, kind, status, seed, "
        "model and headline metric. With --group-by replicate: runs that differ only by seed, together.",
    )
    parser.add_argument("--kind", default=None, help="only runs of this kind (train, predict, sweep, ...)")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="filter, e.g. --where model=knn --where status=complete (repeatable)",
    )
    parser.add_argument(
        "--group-by", choices=("replicate",), default=None, help="group replicates (runs differing only by seed)"
    )
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the newest N runs")
    parser.set_defaults(func=run, command="runs")


def run(args: argparse.Namespace) -> int:
    from ..ops.runs import group_by_replicate, runs

    summaries = runs(store=store_of(args), kind=args.kind, where=args.where, limit=args.limit)
    if args.group_by == "replicate":
        groups = group_by_replicate(summaries)
        if args.json:
            print_json([group.to_dict() for group in groups])
            return ExitCode.OK
        print(f"{'replicate key':<14} {'runs':>5} {'seeds':<20} metric")
        for group in groups:
            if group.std is not None:
                spread = f"{group.mean:.4f} ± {group.std:.4f}"
            else:
                spread = f"{group.mean:.4f}" if group.mean is not None else ""
            seeds = ",".join(map(str, group.seeds))
            print(
                f"{(group.replicate_key or '-')[:12]:<14} {len(group.runs):>5} {seeds[:20]:<20} "
                f"{group.metric or ''} {spread}"
            )
        return ExitCode.OK
    if args.json:
        print_json([summary.to_dict() for summary in summaries])
        return ExitCode.OK
    if not summaries:
        print("no runs in the store")
        return ExitCode.OK
    print(f"{'run id':<24} {'time (UTC)':<20} {'kind':<9} {'status':<10} {'seed':>6} {'model':<24} metric")
    for s in summaries:
        metric = f"{s.metric} {s.value:.4f}" if s.metric and isinstance(s.value, float) else ""
        seed = "" if s.seed is None else str(s.seed)
        started = (s.started_utc or "")[:19].replace("T", " ")
        print(f"{s.run_id:<24} {started:<20} {s.kind or '':<9} {s.status:<10} {seed:>6} {s.model or '':<24} {metric}")
    return ExitCode.OK
