"""`trainlock export openlineage`: events that validate, written to a file or posted to an HTTP endpoint."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "openlineage" / "RunEvent.schema.json").read_text())


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def lineage_server():
    """An OpenLineage HTTP endpoint on 127.0.0.1 that records what it is sent; ``status`` sets its answer."""
    received: list[tuple[str, dict]] = []
    state = {"status": 201}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(state["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received, state
    server.shutdown()
    server.server_close()


def test_events_validate_and_describe_the_run(cli, trained, workdir):
    run_id, run_dir = trained
    result = cli("export", "openlineage", run_id, "--out", "events.jsonl")
    assert result.code == 0, result.err
    assert result.out == f"run {run_id}: 2 OpenLineage events (START, COMPLETE) written to events.jsonl\n"
    events = [json.loads(line) for line in (workdir / "events.jsonl").read_text().splitlines()]
    validator = _validator()
    for event in events:
        errors = sorted(validator.iter_errors(event), key=str)
        assert not errors, [e.message for e in errors]
    start, complete = events
    assert [start["eventType"], complete["eventType"]] == ["START", "COMPLETE"]
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert complete["job"] == {**complete["job"], "namespace": "trainlock", "name": "config"}
    lineage = json.loads((run_dir / "lineage.json").read_text())
    (dataset,) = complete["inputs"]
    assert dataset["namespace"] == "file" and dataset["name"] == str(Path(lineage["dataset"]["path"]).absolute())
    assert dataset["facets"]["version"]["datasetVersion"] == lineage["dataset"]["sha256"]
    assert [f["name"] for f in dataset["facets"]["schema"]["fields"]][:2] == ["student_country", "days_on_platform"]
    outputs = {Path(o["name"]).name: o["facets"]["version"]["datasetVersion"] for o in complete["outputs"]}
    assert outputs == {name: lineage["outputs"][name]["sha256"] for name in ("model.skops", "predictions.csv")}
    assert start["outputs"] == []


def test_a_damaged_event_fails_the_schema(cli, trained, workdir):
    """The schema is not vacuous: the same event with a run id that is no UUID, or no dataset name, fails."""
    run_id, _ = trained
    complete = json.loads(cli("export", "openlineage", run_id).out.splitlines()[1])
    validator = _validator()
    bad_run = {**complete, "run": {"runId": run_id}}
    bad_input = {**complete, "inputs": [{k: v for k, v in complete["inputs"][0].items() if k != "name"}]}
    assert [e.message for e in validator.iter_errors(bad_run)] == [f"'{run_id}' is not a 'uuid'"]
    assert any("'name' is a required property" in e.message for e in validator.iter_errors(bad_input))


def test_events_are_posted_to_an_http_endpoint(cli, trained, lineage_server):
    run_id, _ = trained
    url, received, _ = lineage_server
    printed = [json.loads(line) for line in cli("export", "openlineage", run_id).out.splitlines()]
    result = cli("export", "openlineage", run_id, "--url", url)
    assert result.code == 0, result.err
    assert [path for path, _ in received] == ["/api/v1/lineage", "/api/v1/lineage"]
    assert [event for _, event in received] == printed


def test_an_endpoint_that_refuses_is_one_error_line(cli, trained, lineage_server):
    run_id, _ = trained
    url, _, state = lineage_server
    state["status"] = 400
    result = cli("export", "openlineage", run_id, "--url", url)
    assert result.code == 2
    assert result.err.startswith(f"trainlock: error: could not post OpenLineage events to {url}: ")
    assert result.err.count("\n") == 1


def test_a_reproduced_run_keeps_the_job_and_names_its_parent(cli, trained):
    run_id, _ = trained
    reproduced = cli("reproduce", run_id, "--json", "--quiet")
    assert reproduced.code == 0, reproduced.err
    new_id = reproduced.json()["run_id"]
    original = json.loads(cli("export", "openlineage", run_id).out.splitlines()[0])
    again = json.loads(cli("export", "openlineage", new_id).out.splitlines()[0])
    assert again["job"]["name"] == "config"
    assert again["run"]["facets"]["parent"]["run"]["runId"] == original["run"]["runId"]
    assert not list(_validator().iter_errors(again))


def test_export_needs_a_target(cli):
    result = cli("export")
    assert result.code == 2
    assert "choose a target: openlineage or mlflow" in result.err
