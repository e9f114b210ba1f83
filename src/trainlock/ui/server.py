"""`trainlock ui`: a read-only web app over a run store, on the standard library's HTTP server.

Pages: ``/`` (run list), ``/runs/<id>`` (the run's report), ``/compare?run=A&run=B`` (runs
side by side with the first divergent step). JSON behind them: ``/api/runs``,
``/api/runs/<id>``, ``/api/diff?a=A&b=B``.

Safety: only GET; a request path with a ``..`` segment, a backslash or a NUL (raw or
percent-decoded) is refused with 400 before routing; a run id must match the run id pattern
before the store looks it up, and only the store's own run folders are served; when bound
to loopback, a request naming another Host is refused (DNS rebinding). Nothing is written to
the store: verify re-reads the dataset instead of using the store's stat cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import IncompleteRunError, RunNotFoundError, TrainlockError
from ..index import summarize
from ..ops.diff import diff_folders
from ..ops.runs import group_by_replicate
from ..ops.verify import ledger_provider, verify
from ..report import compare_report, run_report
from ..report.charts import require_matplotlib
from ..report.errors import ReportError
from ..report.markup import CONTENT_SECURITY_POLICY
from ..run import METRICS
from ..store import Store
from .catalog import Catalog
from .pages import NAV, error_page, run_href, run_list

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_RUN_PAGE = re.compile(r"^/runs/([^/]+)/?$")
_RUN_API = re.compile(r"^/api/runs/([^/]+)/?$")

Log = Callable[[str], None]


class Response:
    def __init__(self, status: int, body: str, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body.encode("utf-8"), content_type


class UIServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow browser connection never keeps the process alive at exit

    def __init__(self, address: tuple[str, int], catalog: Catalog, log: Log | None) -> None:
        self.catalog, self.log = catalog, log
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        address, port = self.server_address[:2]
        # typeshed allows an address in bytes; a TCP server bound to a host name or IP has a str
        host = address.decode("ascii") if isinstance(address, (bytes, bytearray)) else address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


def make_server(store: Store, *, host: str = "127.0.0.1", port: int = 8765, log: Log | None = None) -> UIServer:
    """A server for ``store`` bound to ``host:port`` (port 0: any free port); call ``serve_forever()``."""
    require_matplotlib()  # the run pages are reports: say what to install before serving anything
    return UIServer((host, port), Catalog(store), log)


class Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "trainlock-ui"
    sys_version = ""

    def do_GET(self) -> None:  # the name http.server dispatches to
        try:
            response = self._route()
        except Exception as exc:  # the server's one boundary: a bug shows as 500, the server keeps serving
            self._log(f"internal error on {self.path}: {type(exc).__name__}: {exc}")
            response = self._error(
                self._is_api(), HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}"
            )
        self._send(response)

    def do_HEAD(self) -> None:
        self._send(Response(HTTPStatus.METHOD_NOT_ALLOWED, "", "text/plain"))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD  # read-only: nothing but GET

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature, `format` included
        self._log(f"{self.address_string()} {format % args}")

    # -- routing ------------------------------------------------------------------------

    def _route(self) -> Response:
        api = self._is_api()
        if not self._host_allowed():
            return self._error(
                api, HTTPStatus.FORBIDDEN, "this server answers only requests addressed to its own host name"
            )
        split = urlsplit(self.path)
        if not _safe_path(split.path):
            return self._error(api, HTTPStatus.BAD_REQUEST, "path refused: no '..' segments, backslashes or NUL bytes")
        path = unquote(split.path)
        query = {key: values for key, values in parse_qs(split.query, keep_blank_values=False).items()}
        single = {key: values[-1] for key, values in query.items()}
        catalog = self.server.catalog
        try:
            if path == "/":
                return _html(run_list(catalog.listing(single), single, catalog.store.location))
            if path == "/compare":
                return _html(self._compare(query.get("run") or [v for v in (single.get("a"), single.get("b")) if v]))
            if match := _RUN_PAGE.match(path):
                return _html(
                    run_report(
                        catalog.folder(match.group(1)), store=catalog.store, rehash=True, run_href=run_href, nav=NAV
                    )
                )
            if path == "/api/runs":
                return _json(self._api_runs(single))
            if match := _RUN_API.match(path):
                return _json(self._api_run(match.group(1)))
            if path == "/api/diff":
                if not single.get("a") or not single.get("b"):
                    return self._error(True, HTTPStatus.BAD_REQUEST, "give two runs: /api/diff?a=RUN&b=RUN")
                report = diff_folders(catalog.folder(single["a"]), catalog.folder(single["b"]), store=catalog.store)
                return _json(report.to_dict())
        except (RunNotFoundError, IncompleteRunError) as exc:
            return self._error(api, HTTPStatus.NOT_FOUND, str(exc))
        except TrainlockError as exc:
            return self._error(api, HTTPStatus.BAD_REQUEST, str(exc))
        return self._error(api, HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def _compare(self, run_ids: list[str]) -> str:
        catalog = self.server.catalog
        # oldest first: the first run is the baseline the others are diffed against
        folders = [catalog.folder(run_id) for run_id in sorted(set(run_ids))]
        if len(folders) < 2:
            raise ReportError(f"choose at least two runs to compare, found {len(folders)}")
        return compare_report(folders, store=catalog.store, run_href=run_href, nav=NAV)

    def _api_runs(self, query: dict[str, str]) -> Any:
        listing = self.server.catalog.listing(query)
        if query.get("group") == "replicate":
            return [group.to_dict() for group in group_by_replicate(listing.runs)]
        return [summary.to_dict() for summary in listing.runs]

    def _api_run(self, run_id: str) -> Any:
        catalog = self.server.catalog
        folder = catalog.folder(run_id)
        report = verify(str(folder.path), store=catalog.store, rehash=True, providers=(ledger_provider,))
        return {
            "summary": summarize(folder).to_dict(),
            "lineage": folder.lineage().to_json(),
            "metrics": folder.metrics() if folder.has(METRICS) else None,
            "verify": report.to_dict(),
        }

    # -- helpers ------------------------------------------------------------------------

    def _is_api(self) -> bool:
        return self.path.startswith("/api/")

    def _host_allowed(self) -> bool:
        bound = str(self.server.server_address[0])
        if bound not in LOOPBACK:
            return True  # served on purpose to a network: names cannot be predicted
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.strip("[]") in LOOPBACK

    def _error(self, api: bool, status: int, message: str) -> Response:
        if api:
            return Response(status, json.dumps({"error": message, "status": int(status)}), "application/json")
        return Response(status, error_page(int(status), message), "text/html; charset=utf-8")

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _log(self, line: str) -> None:
        if self.server.log is not None:
            self.server.log(line)


def _safe_path(raw: str) -> bool:
    """No traversal in the path as sent, nor once percent-decoded (``%2e%2e``, ``%2f``, ``%5c``)."""
    for text in (raw, unquote(raw)):
        if "\\" in text or "\x00" in text:
            return False
        if any(segment in ("..", ".") for segment in text.split("/")):
            return False
    return True


def _html(body: str) -> Response:
    return Response(HTTPStatus.OK, body, "text/html; charset=utf-8")


def _json(document: Any) -> Response:
    return Response(
        HTTPStatus.OK, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", "application/json"
    )
