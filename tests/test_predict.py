"""`trainlock predict`: verified model, frozen schema, threshold, drift, a predict run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from test_verify import flip_byte


def test_predict_writes_predictions_and_a_child_run(cli, trained, workdir):
    run_id, _ = trained
    result = cli("predict", run_id, "data.csv", "--out", "out/predictions.csv")
    assert result.code == 0, result.err
    predictions = pd.read_csv(workdir / "out" / "predictions.csv")
    assert list(predictions.columns) == ["row", "score", "label"]
    assert len(predictions) == 3000 and set(predictions["label"]) <= {0, 1}
    threshold = json.loads((Path(trained[1]) / "threshold.json").read_text())["threshold"]
    assert ((predictions["score"] >= threshold).astype(int) == predictions["label"]).all()
    document = cli("predict", run_id, "data.csv", "--json").json()
    child = Path(document["run_dir"])
    lineage = json.loads((child / "lineage.json").read_text())
    assert lineage["kind"] == "predict" and lineage["parent"] == run_id
    assert cli("verify", document["run_id"]).code == 0


def test_predictions_match_the_test_predictions_of_training(cli, trained, workdir):
    run_id, run_dir = trained
    test_predictions = pd.read_csv(run_dir / "predictions.csv")
    data = pd.read_csv(workdir / "data.csv")
    data.iloc[test_predictions["row"]].to_csv(workdir / "test_rows.csv", index=False)
    cli("predict", run_id, "test_rows.csv", "--out", "scored.csv")
    scored = pd.read_csv(workdir / "scored.csv")
    assert scored["score"].tolist() == test_predictions["score"].tolist()


def test_columns_in_another_order_give_the_same_predictions(cli, trained, workdir):
    run_id, _ = trained
    data = pd.read_csv(workdir / "data.csv")
    data[list(reversed(data.columns))].to_csv(workdir / "reordered.csv", index=False)
    assert cli("predict", run_id, "data.csv", "--out", "a.csv").code == 0
    assert cli("predict", run_id, "reordered.csv", "--out", "b.csv").code == 0
    assert (workdir / "a.csv").read_bytes() == (workdir / "b.csv").read_bytes()


def test_missing_column_is_named(cli, trained, workdir):
    run_id, _ = trained
    pd.read_csv(workdir / "data.csv").drop(columns=["minutes_watched"]).to_csv(workdir / "partial.csv", index=False)
    result = cli("predict", run_id, "partial.csv")
    assert result.code == 2
    assert "missing columns: minutes_watched" in result.err
    assert "Traceback" not in result.err


def test_unexpected_column_and_wrong_dtype_are_named(cli, trained, workdir):
    run_id, _ = trained
    data = pd.read_csv(workdir / "data.csv")
    data["surprise"] = 1
    data["days_on_platform"] = "many"
    data.to_csv(workdir / "odd.csv", index=False)
    result = cli("predict", run_id, "odd.csv")
    assert result.code == 2
    assert "unexpected columns: surprise" in result.err
    assert "days_on_platform (expected numeric" in result.err


def test_tampered_model_is_refused_before_loading(cli, trained, workdir, monkeypatch):
    run_id, run_dir = trained
    flip_byte(run_dir / "model.skops", offset=100)
    import skops.io

    monkeypatch.setattr(skops.io, "loads", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    result = cli("predict", run_id, "data.csv")
    assert result.code == 1
    assert "refusing to load a changed model" in result.err


def test_drift_is_reported(cli, trained, workdir):
    run_id, _ = trained
    data = pd.read_csv(workdir / "data.csv")
    data["minutes_watched"] = data["minutes_watched"] * 5 + 1000
    data.to_csv(workdir / "drifted.csv", index=False)
    document = cli("predict", run_id, "drifted.csv", "--json").json()
    assert "minutes_watched" in document["drift"]["drifted"]
    assert document["drift"]["features"]["minutes_watched"]["z"] > 3
    calm = cli("predict", run_id, "data.csv", "--json").json()
    assert "minutes_watched" not in calm["drift"]["drifted"]
    assert "class_rate_shift" in calm["drift"]


def test_unknown_data_file_is_bad_input(cli, trained):
    result = cli("predict", trained[0], "nope.csv")
    assert result.code == 2 and "data file not found: nope.csv" in result.err
