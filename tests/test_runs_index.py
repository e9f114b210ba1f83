"""`trainlock runs` and the run index: filters, replicate groups, corrupt or stale index."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _train(cli, *args):
    result = cli("train", "config.yaml", "--profile", "tiny", "--json", "--quiet", *args)
    assert result.code == 0, result.err
    return result.json()


def test_list_filter_limit_and_group(cli, workdir):
    a, b = _train(cli, "--seed", "1"), _train(cli, "--seed", "2")
    c = _train(cli, "--seed", "1", "--set", "models.decision_tree.max_depth=3")
    listed = cli("runs", "--json").json()
    assert [r["run_id"] for r in listed] == [a["run_id"], b["run_id"], c["run_id"]]
    assert all(r["status"] == "complete" and r["kind"] == "train" and r["metric"] == "roc_auc" for r in listed)
    assert [r["run_id"] for r in cli("runs", "--where", "seed=2", "--json").json()] == [b["run_id"]]
    assert [r["run_id"] for r in cli("runs", "--limit", "1", "--json").json()] == [c["run_id"]]
    groups = cli("runs", "--group-by", "replicate", "--json").json()
    assert [g["runs"] for g in groups] == [[a["run_id"], b["run_id"]], [c["run_id"]]]
    assert groups[0]["std"] is not None and groups[1]["std"] is None
    text = cli("runs", "--group-by", "replicate").out
    assert "±" in text
    assert cli("runs", "--where", "colour=red").code == 2


def test_corrupt_index_is_rebuilt_from_the_folders(cli, workdir):
    a = _train(cli)
    cli("runs")
    index = workdir / "runs" / "index.sqlite"
    assert index.is_file()
    index.write_bytes(b"this is not a database at all" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    listed = cli("runs", "--json")
    assert listed.code == 0 and [r["run_id"] for r in listed.json()] == [a["run_id"]]


def test_edited_index_rows_are_not_trusted(cli, workdir):
    a = _train(cli)
    cli("runs")
    connection = sqlite3.connect(workdir / "runs" / "index.sqlite")
    edited = connection.execute("""UPDATE runs SET summary = replace(summary, '"model": "', '"model": "forged-')""")
    assert edited.rowcount == 1
    connection.commit()
    connection.close()
    assert not cli("runs", "--json").json()[0]["model"].startswith("forged-")
    # a folder removed behind the index's back disappears from the listing
    import shutil

    shutil.rmtree(Path(a["run_dir"]))
    assert cli("runs", "--json").json() == []
    assert cli("index", "--rebuild").out.startswith("rebuilt the index of 0 runs")


def test_incomplete_and_failed_runs_are_listed_with_their_status(cli, workdir):
    a = _train(cli)
    (Path(a["run_dir"]) / "lineage.json").unlink()
    statuses = {r["run_id"]: r["status"] for r in cli("runs", "--json").json()}
    assert statuses[a["run_id"]] == "incomplete"
