"""`trainlock ui` over HTTP (no browser): routes, JSON API, refused paths, and a store left untouched."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest

from trainlock.store import open_store
from trainlock.ui import make_server


@pytest.fixture
def served(trained, workdir):
    """The trained run's store served on a free loopback port; yields (port, run_id)."""
    run_id, _ = trained
    server = make_server(open_store(workdir / "runs"), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], run_id
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


def get(port: int, path: str, *, method: str = "GET", host: str | None = None) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    # skip_host: send the Host header we choose (or the usual one) without http.client adding its own
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/runs/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/runs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/runs/..%5c..%5cetc",
        "/api/runs/..",
        "/api/runs/%2e%2e",
        "/./",
        "/runs/x%00y",
    ],
)
def test_traversal_is_refused(served, path):
    port, _ = served
    status, headers, body = get(port, path)
    assert status == 400
    assert "path refused" in body and "root:" not in body


@pytest.mark.parametrize(
    "path, status",
    [
        ("/runs/not-a-run", 404),
        ("/runs/20991231T000000Z-abcdef", 404),
        ("/api/runs/2099", 404),
        ("/runs/%252e%252e%252fetc", 404),
        ("/favicon.ico", 404),
        ("/api/diff?a=x", 400),
        ("/compare?run=x", 404),
    ],
)
def test_unknown_runs_and_paths_are_not_found(served, path, status):
    port, _ = served
    assert get(port, path)[0] == status


def test_pages_and_api(served, workdir):
    port, run_id = served
    status, headers, body = get(port, "/")
    assert status == 200 and run_id in body and "showing 1 of 1 runs" in body
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert get(port, "/?seed=12345")[2].count('class="run"') == 0  # a filter that matches nothing

    status, _, body = get(port, f"/runs/{run_id}")
    assert status == 200 and f"Run {run_id}" in body and 'data-chart="precision-recall"' in body

    status, headers, body = get(port, "/api/runs")
    assert status == 200 and headers["content-type"] == "application/json"
    assert [r["run_id"] for r in json.loads(body)] == [run_id]
    document = json.loads(get(port, f"/api/runs/{run_id}")[2])
    assert document["summary"]["status"] == "complete" and document["verify"]["ok"] is True
    assert document["lineage"]["run_id"] == run_id
    diff = json.loads(get(port, f"/api/diff?a={run_id}&b={run_id}")[2])
    assert diff["level"] == "exact" and diff["first_divergence"] is None


def test_only_get_and_only_our_host_name(served):
    port, _ = served
    assert get(port, "/", method="POST")[0] == 405
    assert get(port, "/", method="DELETE")[0] == 405
    assert get(port, "/", host="attacker.example:80")[0] == 403  # DNS rebinding: a foreign name is refused
    assert get(port, "/", host=f"localhost:{port}")[0] == 200


def test_serving_never_writes_to_the_store(served, workdir):
    port, run_id = served
    store = workdir / "runs"
    before = snapshot(store)
    for path in (
        "/",
        "/?group=replicate",
        f"/runs/{run_id}",
        "/api/runs",
        f"/api/runs/{run_id}",
        f"/api/diff?a={run_id}&b={run_id}",
        f"/compare?run={run_id}",
    ):
        get(port, path)
    assert snapshot(store) == before


def test_ui_rejects_a_bad_port(cli, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli("ui", "--port", "70000")
    assert stopped.value.code == 2
    assert "argument --port: expected a port number from 0 to 65535, found '70000'" in capsys.readouterr().err


def test_ui_says_when_the_port_is_taken(cli, served):
    port, _ = served
    result = cli("ui", "--port", str(port))
    assert result.code == 2
    assert (
        result.err.startswith(f"trainlock: error: cannot serve on 127.0.0.1:{port}: ")
        and "choose another --port" in result.err
    )
