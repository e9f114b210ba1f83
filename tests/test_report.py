"""`trainlock report`: the self-contained HTML report of a run, and runs compared."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from trainlock.lineage import Lineage
from trainlock.report.charts import calibration, precision_recall, predicted_vs_actual
from trainlock.report.graph import lineage_graph, steps_of

SECTIONS = (
    "summary",
    "verify",
    "test-metrics",
    "threshold",
    "cv",
    "precision-recall",
    "calibration",
    "config",
    "data",
    "environment",
    "drift",
    "fragility",
    "trace",
    "lineage",
)


def _train(cli, *args: str) -> str:
    result = cli("train", "config.yaml", "--profile", "tiny", "--json", "--quiet", *args)
    assert result.code == 0, result.err
    return result.json()["run_id"]


def test_report_is_one_self_contained_file_with_every_section(cli, trained, workdir):
    run_id, run_dir = trained
    result = cli("report", run_id)
    assert result.code == 0, result.err
    out = workdir / f"report-{run_id}.html"
    assert result.out == f"wrote report to report-{run_id}.html\n"
    text = out.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in text, section
    # nothing to fetch: no scripts, stylesheets, images or fonts by URL, and a policy that forbids them
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|<script|@import|url\(\s*["']?http""", text)
    assert "default-src &#x27;none&#x27;" in text
    assert {m for m in re.findall(r'data-chart="([^"]+)"', text)} == {"cv-folds", "precision-recall", "calibration"}
    assert text.count("<svg") == 4  # three charts and the lineage graph
    assert "verified: " in text and "FAILED" not in text
    threshold = json.loads((run_dir / "threshold.json").read_text())["threshold"]
    assert f"threshold {threshold:.3f}" in text  # the chosen threshold is marked on the PR curve
    fragility = json.loads((run_dir / "fragility.json").read_text())
    assert f"{fragility['n_fragile']} fragile decisions" in text and "model_selection" in text


def test_report_bytes_are_a_function_of_the_run(cli, trained, workdir):
    run_id, _ = trained
    assert cli("report", run_id, "--out", "a.html").code == 0
    assert cli("report", run_id, "--out", "b.html", "--rehash").code == 0
    assert (workdir / "a.html").read_bytes() == (workdir / "b.html").read_bytes()


def test_report_of_a_tampered_run_shows_the_failed_check(cli, trained, workdir):
    run_id, run_dir = trained
    metrics = run_dir / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"n_test"', '"n_tesT"'))
    result = cli("report", run_id, "--out", "tampered.html")
    assert result.code == 0, result.err  # the report is written; it shows the failure
    text = (workdir / "tampered.html").read_text()
    assert "verify failed" in text and "FAILED: 1 of" in text
    row = re.search(r"<tr><td>output metrics.json</td><td><span class=\"badge bad\">changed</span></td>", text)
    assert row is not None


def test_values_from_the_run_are_escaped(cli, workdir):
    hostile = "a<img src=x onerror=alert(1)>.csv"
    shutil.copy(workdir / "data.csv", workdir / hostile)
    run_id = _train(cli, "--set", f"data.path={hostile}")
    assert cli("report", run_id, "--out", "r.html").code == 0
    text = (workdir / "r.html").read_text()
    assert "<img src=x" not in text
    assert "a&lt;img src=x onerror=alert(1)&gt;.csv" in text


def test_compare_shows_the_diff_and_the_spread_across_seeds(cli, workdir):
    from trainlock.ops.diff import diff
    from trainlock.store import open_store

    a, b = _train(cli, "--seed", "1"), _train(cli, "--seed", "2")
    result = cli("report", "--compare", a, b, "--out", "compare.html", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"compare": True, "out": "compare.html", "runs": [a, b]}
    text = (workdir / "compare.html").read_text()
    step = diff(a, b, store=open_store()).first_divergence.step
    assert f'first divergent step: <strong class="first-divergence">{step}</strong>' in text
    assert "seed differs: 1 vs 2" in text
    assert 'data-chart="metric-distribution"' in text and 'data-chart="precision-recall-overlay"' in text
    assert re.search(r"Replicate group [0-9a-f]{12}: 2 runs, seeds 1, 2", text)


@pytest.mark.parametrize(
    "args, message",
    [
        (("report", "--compare", "RUN"), "compare needs at least two runs, found 1; name two or more run ids"),
        (("report", "RUN", "RUN"), "report takes one RUN, found 2; add --compare to compare them"),
        (
            ("report", "RUN", "--out", "missing/r.html"),
            "--out missing/r.html: folder missing does not exist; create it or choose another path",
        ),
        (
            ("report", "nope"),
            "no run 'nope' in store runs; list runs with 'trainlock runs --store runs' or pass a run folder path",
        ),
    ],
)
def test_report_usage_errors(cli, trained, args, message):
    run_id, _ = trained
    result = cli(*(run_id if a == "RUN" else a for a in args))
    assert (result.code, result.err) == (2, f"trainlock: error: {message}\n")


@pytest.mark.parametrize("command", [("report", "RUN"), ("ui", "--port", "0")])
def test_missing_matplotlib_names_the_extra(cli, trained, monkeypatch, command):
    run_id, _ = trained
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    result = cli(*(run_id if a == "RUN" else a for a in command))
    assert (result.code, result.err) == (
        2,
        "trainlock: error: reports draw their charts with matplotlib, which is not "
        "installed: pip install 'trainlock[report]'\n",
    )


def test_report_of_a_predict_run_shows_its_drift_and_parent(cli, trained, workdir):
    run_id, _ = trained
    predicted = cli("predict", run_id, "data.csv", "--json")
    assert predicted.code == 0, predicted.err
    child = predicted.json()["run_id"]
    assert cli("report", child, "--out", "p.html").code == 0
    text = (workdir / "p.html").read_text()
    assert 'id="drift"' in text and "drift in " in text
    assert f"parent run {run_id}" in text  # an input of the lineage graph
    assert 'id="cv"' not in text  # a predict run has no cross-validation to show


# -- the parts -----------------------------------------------------------------------------------


def test_steps_group_the_folds_of_one_model():
    trace = [
        {"step": "split", "sha256": "1"},
        {"step": "cv/knn/fold0", "sha256": "2"},
        {"step": "cv/knn/fold1", "sha256": "3"},
        {"step": "cv/svm/fold0", "sha256": "4"},
        {"step": "fit", "sha256": "5"},
    ]
    assert [label for label, _ in steps_of(trace)] == ["split", "cv/knn (2 folds)", "cv/svm (1 fold)", "fit"]


def test_lineage_graph_links_files_to_the_steps_that_made_them():
    lineage = {
        "kind": "train",
        "dataset": {"path": "/d/<b>.csv", "sha256": "ab"},
        "config": {"path": "config.snapshot.yaml", "sha256": "cd"},
        "model": {"path": "model.skops", "sha256": "ef"},
        "trace": [{"step": "load", "sha256": "1"}, {"step": "fit", "sha256": "2"}],
        "outputs": {
            name: {"path": name, "sha256": "0", "size": 1}
            for name in ("config.snapshot.yaml", "model.skops", "zz.json")
        },
    }
    svg = lineage_graph(Lineage.model_validate({"run_id": "r", **lineage}))
    assert "<b>" not in svg and "dataset &lt;b&gt;.csv" in svg
    by_label = {
        label: int(y) for y, label in re.findall(r'<rect x="\d+" y="(\d+)"[^>]*/><text[^>]*>([^<]+)</text>', svg)
    }
    assert by_label["model.skops"] == by_label["fit"]  # drawn level with the step that wrote it
    assert by_label["zz.json"] > by_label["fit"]  # a file no step claims hangs off the last step, below
    assert (
        "config config.snapshot.yaml" in by_label and "config.snapshot.yaml" not in by_label
    )  # shown once, as the input


def test_charts_are_inline_svg_with_ids_of_their_own():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    figures = [
        precision_recall(y, scores, {"threshold": 0.5, "target_precision": 0.7}),
        calibration(y, scores),
        predicted_vs_actual(scores * 10, scores * 9),
    ]
    for figure in figures:
        assert figure.startswith("<figure") and "<?xml" not in figure and "<!DOCTYPE" not in figure
    ids = [i for figure in figures for i in re.findall(r'\bid="([^"]+)"', figure)]
    assert ids and len(ids) == len(set(ids))  # one page can hold them all
    name = re.search(r'data-chart="([^"]+)"', figures[0]).group(1)
    assert all(i.startswith(f"{name}-") for i in re.findall(r'\bid="([^"]+)"', figures[0]))


def test_write_report_refuses_a_folder(tmp_path):
    from trainlock.report import write_report
    from trainlock.report.errors import ReportError

    with pytest.raises(ReportError, match="is a folder; name a file"):
        write_report("<html></html>", tmp_path)
    assert write_report("x", tmp_path / "r.html") == str(tmp_path / "r.html")
    assert Path(tmp_path / "r.html").read_text() == "x"
