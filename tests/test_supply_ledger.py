"""The store's tamper-evident ledger: appended at every completed run, walked by `verify --store`."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pytest

from trainlock.hashing import canonical_json, sha256_bytes, sha256_file
from trainlock.run import RunRecorder
from trainlock.store import LocalStore


def fake_run(store: Path, note: str = "") -> str:
    """A completed run folder with a minimal lineage, written the way every run kind writes it."""
    with RunRecorder(LocalStore(store), "run") as recorder:
        recorder.folder.write_text("note.txt", note or recorder.run_id)
        recorder.complete()
    return recorder.run_id


def ledger_lines(store: Path) -> list[str]:
    return (store / "ledger.jsonl").read_text().splitlines()


def write_lines(store: Path, lines: list[str]) -> None:
    (store / "ledger.jsonl").write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def store(tmp_path) -> tuple[Path, list[str]]:
    folder = tmp_path / "runs"
    return folder, [fake_run(folder) for _ in range(4)]


# -- appending -----------------------------------------------------------------------


def test_each_line_chains_to_the_one_before(store):
    folder, run_ids = store
    lines = ledger_lines(folder)
    entries = [json.loads(line) for line in lines]
    assert [e["run_id"] for e in entries] == run_ids
    assert entries[0]["prev"] is None
    for before, entry in zip(lines[:-1], entries[1:], strict=True):
        assert entry["prev"] == sha256_bytes(before.encode())
    for run_id, entry in zip(run_ids, entries, strict=True):
        assert entry["lineage_sha256"] == sha256_file(folder / run_id / "lineage.json")
    assert lines[0] == canonical_json(entries[0])


def test_train_appends_to_the_ledger_of_its_store(cli, trained):
    run_id, run_dir = trained
    (entry,) = [json.loads(line) for line in ledger_lines(run_dir.parent)]
    assert entry == {"run_id": run_id, "lineage_sha256": sha256_file(run_dir / "lineage.json"), "prev": None}
    result = cli("verify", run_id)
    assert result.code == 0
    assert "ok       ledger entry\n" in result.out


def _append_runs(store: str, count: int) -> None:
    for _ in range(count):
        fake_run(Path(store))


def test_concurrent_appends_never_fork_the_chain(cli, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_runs, args=(str(folder), 8)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert len(ledger_lines(folder)) == 32
    result = cli("verify", "--store", folder)
    assert result.code == 0, result.out + result.err
    assert result.out.startswith(f"verified: ledger of {folder} holds 32 runs, chained and matching their lineage\n")


# -- verify --store ------------------------------------------------------------------


def test_verify_store_passes_and_shows_the_head(cli, store):
    folder, _ = store
    result = cli("verify", "--store", folder)
    assert result.code == 0, result.out + result.err
    head = sha256_bytes(ledger_lines(folder)[-1].encode())
    assert result.out == (
        f"verified: ledger of {folder} holds 4 runs, chained and matching their lineage\n  head     {head}\n"
    )
    assert cli("verify", "--store", folder, "--json").json() == {
        "store": str(folder),
        "entries": 4,
        "head": head,
        "ok": True,
        "problems": [],
    }


def test_deleted_run_folder_is_named(cli, store):
    folder, run_ids = store
    shutil.rmtree(folder / run_ids[1])
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert result.out == (
        f"RUN_MISSING      run {run_ids[1]} (ledger line 2) is missing from the store: its folder was deleted\n"
    )
    assert result.err == (
        f"ledger verify failed: {folder}: run {run_ids[1]} (ledger line 2) is missing from the "
        "store: its folder was deleted\n"
    )


def test_one_edited_ledger_line_is_named(cli, store):
    folder, run_ids = store
    path = folder / "ledger.jsonl"
    data = bytearray(path.read_bytes())
    offset = data.index(b'"lineage_sha256":"', sum(len(line) + 1 for line in ledger_lines(folder)[:1])) + 20
    data[offset] = ord("0") if data[offset] != ord("0") else ord("1")  # one hex digit of line 2
    path.write_bytes(bytes(data))
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert result.out == (
        f"LINEAGE_CHANGED  run {run_ids[1]} (ledger line 2): lineage.json does not match its ledger entry: "
        "the lineage or the line was changed\n"
        f"EDITED           ledger line 3 (run {run_ids[2]}) does not follow line 2: line 2 was edited or a line "
        "after it was deleted\n"
    )
    assert result.err == (
        f"ledger verify failed: {folder}: run {run_ids[1]} (ledger line 2): lineage.json does not "
        "match its ledger entry: the lineage or the line was changed (and 1 more problem)\n"
    )


def test_a_line_that_is_no_longer_an_entry_is_named(cli, store):
    folder, _ = store
    lines = ledger_lines(folder)
    lines[2] = lines[2].replace('{"lineage_sha256"', '{ "lineage_sha256"')  # still JSON, no longer the original
    write_lines(folder, lines)
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert "EDITED           ledger line 3 is not a ledger entry: it was edited\n" in result.out


def test_a_deleted_ledger_line_is_named_with_its_run(cli, store):
    folder, run_ids = store
    lines = ledger_lines(folder)
    del lines[1]
    write_lines(folder, lines)
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert result.out == (
        f"EDITED           ledger line 2 (run {run_ids[2]}) does not follow line 1: line 1 was edited or a line "
        "after it was deleted\n"
        f"UNLISTED         run {run_ids[1]} is complete but not in ledger.jsonl: its ledger line was deleted\n"
    )


def test_reordered_lines_are_named(cli, store):
    folder, run_ids = store
    lines = ledger_lines(folder)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(folder, lines)
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        f"REORDERED        ledger line 2 (run {run_ids[2]}) should follow line 3, not line 1: lines were reordered"
    )


def test_deleting_the_first_lines_is_named(cli, store):
    folder, run_ids = store
    write_lines(folder, ledger_lines(folder)[2:])
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert (
        f"DELETED          ledger line 1 (run {run_ids[2]}) follows a line that is gone: the first lines were deleted\n"
    ) in result.out


def test_a_copied_line_is_named(cli, store):
    folder, run_ids = store
    lines = ledger_lines(folder)
    write_lines(folder, [*lines, lines[0]])
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert f"DUPLICATE        run {run_ids[0]} is on ledger lines 1 and 5: a line was copied\n" in result.out


def test_a_rewritten_lineage_is_named_by_the_store_and_by_verify_run(cli, store):
    folder, run_ids = store
    lineage = folder / run_ids[3] / "lineage.json"
    document = json.loads(lineage.read_text())
    document["name"] = "edited"  # still a valid lineage: only the ledger can tell
    lineage.write_text(json.dumps(document, sort_keys=True))
    result = cli("verify", "--store", folder)
    assert result.code == 1
    assert result.out == (
        f"LINEAGE_CHANGED  run {run_ids[3]} (ledger line 4): lineage.json does not match its "
        "ledger entry: the lineage or the line was changed\n"
    )
    single = cli("verify", run_ids[3], "--store", folder)
    assert single.code == 1
    assert single.err == (
        f"verify failed: run {run_ids[3]}: ledger entry changed: lineage.json does not match its "
        "line in ledger.jsonl: the lineage was changed\n"
    )


def test_a_store_without_a_ledger_but_with_runs_fails(cli, store):
    folder, run_ids = store
    (folder / "ledger.jsonl").unlink()
    result = cli("verify", "--store", folder, "--json")
    assert result.code == 1
    assert sorted(p["run_id"] for p in result.json()["problems"]) == sorted(run_ids)
    assert {p["kind"] for p in result.json()["problems"]} == {"unlisted"}


def test_verify_store_needs_an_existing_store(cli, tmp_path):
    result = cli("verify", "--store", tmp_path / "nowhere")
    assert result.code == 2
    assert (
        result.err
        == f"trainlock: error: no store at {tmp_path / 'nowhere'}; pass --store DIR of an existing run store\n"
    )


def test_run_checks_without_a_run_are_bad_input(cli, store):
    folder, _ = store
    result = cli("verify", "--store", folder, "--env")
    assert result.code == 2
    assert result.err == (
        "trainlock: error: --env checks one run; pass RUN, or drop --env to walk the store's ledger\n"
    )
