"""`trainlock report` and `trainlock ui`: parse, one library call, render.

Nothing heavy is imported here (matplotlib, pandas and the report modules load inside the
handlers), so ``trainlock --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0


def register(subparsers: Any, *, common: argparse.ArgumentParser, reporting: argparse.ArgumentParser) -> None:
    report = subparsers.add_parser(
        "report", parents=[common, reporting], help="write a self-contained HTML report of a run (or compare runs)",
        description="Write one HTML file that needs no network to view: summary and verify status, config, data, "
                    "environment, CV table, test metrics, precision-recall and calibration charts, drift baseline, "
                    "step trace and lineage graph. With --compare: runs side by side, each diffed against the first, "
                    "and the spread of each metric across seeds for replicates. Needs: pip install 'trainlock[report]'.",
    )
    report.add_argument("runs", metavar="RUN", nargs="+", help="run id (or unique prefix) in the store, or a run folder path")
    report.add_argument("--compare", action="store_true", help="compare two or more runs")
    report.add_argument("--out", default=None, metavar="FILE",
                        help="the HTML file to write (default: report-RUN.html or compare-RUN-...html here)")
    report.add_argument("--rehash", action="store_true", help="verify re-reads the dataset even when the stat cache knows it")
    report.set_defaults(handler=_report, command="report")

    ui = subparsers.add_parser(
        "ui", parents=[common], help="serve a read-only web app over the store",
        description="Serve the store's runs on a local, read-only web app: run list with filters and replicate "
                    "groups, run reports, compare pages, and a JSON API (/api/runs, /api/runs/ID, /api/diff?a=&b=). "
                    "Needs: pip install 'trainlock[report]'.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
    ui.add_argument("--quiet", action="store_true", help="do not log requests")
    ui.set_defaults(handler=_ui, command="ui")


def _report(args: argparse.Namespace) -> int:
    from ..report import compare_report, run_report, write_report
    from ..report.errors import ReportError
    from ..store import find_run

    if len(args.runs) > 1 and not args.compare:
        raise ReportError(f"report takes one RUN, found {len(args.runs)}; add --compare to compare them")
    refs = [find_run(run, args.store) for run in args.runs]
    if args.compare:
        document = compare_report(refs)
        default = f"compare-{'-'.join(ref.run_id for ref in refs[:3])}{'-etc' if len(refs) > 3 else ''}.html"
    else:
        document = run_report(refs[0], rehash=args.rehash)
        default = f"report-{refs[0].run_id}.html"
    out = write_report(document, args.out or default)
    if args.json:
        print(json.dumps({"out": out, "runs": [ref.run_id for ref in refs], "compare": args.compare}, indent=2, sort_keys=True))
    else:
        print(f"wrote {'comparison' if args.compare else 'report'} to {out}")
    return EXIT_OK


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, found '{text}'")
    return port


def _ui(args: argparse.Namespace) -> int:
    from ..store import resolve_store
    from ..ui import make_server

    store = resolve_store(args.store)
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        server = make_server(store, host=args.host, port=args.port, log=log)
    except OSError as exc:
        from ..errors import TrainlockError

        raise TrainlockError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}; choose another --port") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach this address can read the runs", file=sys.stderr)
    print(f"serving {store} read-only at {server.url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM: the way to stop a server; nothing was running to record
    finally:
        server.server_close()
    print("stopped", file=sys.stderr)
    return EXIT_OK
