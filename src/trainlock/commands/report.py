"""`trainlock report RUN` (or `--compare RUN RUN ...`): a self-contained HTML report."""

from __future__ import annotations

import argparse

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json

#: run ids a comparison's default file name holds
NAMED_IN_FILE = 3


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "report",
        parents=parents("store", "json"),
        help="write a self-contained HTML report of a run (or compare runs)",
        description="Write one HTML file that needs no network to view: summary and verify status, config, data, "
        "environment, CV table, test metrics, precision-recall and calibration charts, drift baseline, "
        "step trace and lineage graph. With --compare: runs side by side, each diffed against the first, "
        "and the spread of each metric across seeds for replicates. Needs: pip install 'trainlock[report]'.",
    )
    parser.add_argument(
        "runs", metavar="RUN", nargs="+", help="run id (or unique prefix) in the store, or a run folder path"
    )
    parser.add_argument("--compare", action="store_true", help="compare two or more runs")
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="the HTML file to write (default: report-RUN.html or compare-RUN-...html here)",
    )
    parser.add_argument(
        "--rehash", action="store_true", help="verify re-reads the dataset even when the stat cache knows it"
    )
    parser.set_defaults(func=run, command="report")


def run(args: argparse.Namespace) -> int:
    from ..report import compare_report, run_report, write_report
    from ..report.errors import ReportError

    if len(args.runs) > 1 and not args.compare:
        raise ReportError(f"report takes one RUN, found {len(args.runs)}; add --compare to compare them")
    store = store_of(args)
    folders = [store.find(run) for run in args.runs]
    if args.compare:
        document = compare_report(folders, store=store)
        named = "-".join(folder.run_id for folder in folders[:NAMED_IN_FILE])
        default = f"compare-{named}{'-etc' if len(folders) > NAMED_IN_FILE else ''}.html"
    else:
        document = run_report(folders[0], store=store, rehash=args.rehash)
        default = f"report-{folders[0].run_id}.html"
    out = write_report(document, args.out or default)
    if args.json:
        print_json({"out": out, "runs": [folder.run_id for folder in folders], "compare": args.compare})
    else:
        print(f"wrote {'comparison' if args.compare else 'report'} to {out}")
    return ExitCode.OK
