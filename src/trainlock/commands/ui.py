"""`trainlock ui`: serve a read-only web app over the store."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitCode, TrainlockError
from .common import Parents, Subparsers, store_of

#: addresses only this machine can reach
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "ui",
        parents=parents("store", quiet="do not log requests"),
        help="serve a read-only web app over the store",
        description="Serve the store's runs on a local, read-only web app: run list with filters and replicate "
        "groups, run reports, compare pages, and a JSON API (/api/runs, /api/runs/ID, /api/diff?a=&b=). "
        "Needs: pip install 'trainlock[report]'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.set_defaults(func=run, command="ui")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, found '{text}'")
    return port


def run(args: argparse.Namespace) -> int:
    from ..ui import make_server

    store = store_of(args)
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        server = make_server(store, host=args.host, port=args.port, log=log)
    except OSError as exc:
        raise TrainlockError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}; choose another --port"
        ) from None
    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}: anyone who can reach this address can read the runs", file=sys.stderr)
    print(f"serving {store.location} read-only at {server.url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM: the way to stop a server; nothing was running to record
    finally:
        server.server_close()
    print("stopped", file=sys.stderr)
    return ExitCode.OK
