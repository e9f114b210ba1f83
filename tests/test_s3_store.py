"""Object-storage stores, tested against moto's S3 server on 127.0.0.1 (started by these tests)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import run_console
from trainlock.remote import claim
from trainlock.remote.location import RemoteLocation


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, tmp_path, monkeypatch):
    """AWS variables for the local server, a private cache, and a fresh bucket: returns the store URL."""
    env = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "TRAINLOCK_CACHE": str(tmp_path / "cache"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"runs-{secrets.token_hex(4)}"
    _fs().mkdir(bucket)
    return f"s3://{bucket}/team/runs"


def _fs():
    import fsspec

    # a filesystem of the test's own, for the endpoint of this module's server (cached per endpoint)
    fs = fsspec.filesystem("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    fs.invalidate_cache()  # trainlock wrote since this instance last listed
    return fs


def _key(url: str, *parts: str) -> str:
    return "/".join([url.removeprefix("s3://"), *parts])


def _train(cli, url: str, *more: str) -> dict:
    result = cli("train", "config.yaml", "--profile", "tiny", "--store", url, "--json", "--quiet", *more)
    assert result.code == 0, result.err
    return result.json()


def test_train_runs_verify_reproduce_report_on_s3(cli, s3_env, workdir, tmp_path):
    url = s3_env
    trained = _train(cli, url)
    run_id = trained["run_id"]
    assert trained["url"] == f"{url}/{run_id}"
    keys = sorted(_fs().find(url.removeprefix("s3://")))
    published = {key.rsplit("/", 1)[-1] for key in keys if f"/{run_id}/" in key}
    assert {"lineage.json", "model.skops", "predictions.csv", "events.jsonl", ".trainlock-claim"} <= published
    assert not [key for key in keys if "/.trainlock-tmp/" in key], "temporary keys were left behind"

    shutil.rmtree(tmp_path / "cache")  # everything below must come from the bucket, not from training's copy

    listed = cli("runs", "--store", url, "--json")
    assert listed.code == 0, listed.err
    assert [(r["run_id"], r["status"]) for r in listed.json()] == [(run_id, "complete")]

    verified = cli("verify", run_id, "--store", url)
    assert verified.code == 0, verified.err
    assert f"verified: run {run_id} matches its lineage" in verified.out

    reproduced = cli("reproduce", run_id, "--store", url, "--json")
    assert reproduced.code == 0, reproduced.err
    document = reproduced.json()
    assert document["diff"]["level"] == "exact"
    assert _fs().exists(_key(url, document["run_id"], "lineage.json")), "the reproduction was not published"

    listed = cli("runs", "--store", url, "--json").json()
    assert [r["run_id"] for r in listed] == sorted([run_id, document["run_id"]])
    assert cli("diff", run_id, document["run_id"], "--store", url).code == 0

    out = tmp_path / "report.html"
    report = cli("report", run_id, "--store", url, "--out", out)
    assert report.code == 0, report.err
    html = out.read_text(encoding="utf-8")
    assert run_id in html and "<svg" in html


@pytest.mark.parametrize(
    ("name", "damage", "expected"),
    [
        ("metrics.json", "edit", "metrics.json changed"),
        ("model.skops", "edit", "model.skops changed"),
        ("predictions.csv", "delete", "predictions.csv missing"),
    ],
)
def test_tampered_object_fails_verify_naming_it(cli, s3_env, name, damage, expected):
    url = s3_env
    run_id = _train(cli, url)["run_id"]
    assert cli("verify", run_id, "--store", url).code == 0  # the mirror now holds the good copy
    key = _key(url, run_id, name)
    fs = _fs()
    if damage == "edit":
        data = bytearray(fs.cat_file(key))
        data[len(data) // 2] ^= 0x01  # one bit of one byte
        fs.pipe_file(key, bytes(data))
    else:
        fs.rm_file(key)
    result = cli("verify", run_id, "--store", url)
    assert result.code == 1
    assert f"verify failed: run {run_id}: {expected}" in result.err


def test_two_concurrent_trains_into_one_bucket_get_distinct_ids(s3_env, workdir):
    url = s3_env
    env = {"TRAINLOCK_CACHE": os.environ["TRAINLOCK_CACHE"]}  # run_console passes AWS_* on, drops TRAINLOCK_*
    command = ["train", "config.yaml", "--profile", "tiny", "--store", url, "--json", "--quiet"]
    results: list[subprocess.CompletedProcess] = []
    threads = [
        threading.Thread(target=lambda: results.append(run_console(*command, cwd=workdir, env=env))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    ids = sorted(json.loads(r.stdout)["run_id"] for r in results)
    assert len(set(ids)) == 2
    listed = run_console("runs", "--store", url, "--json", cwd=workdir, env=env)
    assert [(r["run_id"], r["status"]) for r in json.loads(listed.stdout)] == [(i, "complete") for i in ids]


@pytest.mark.parametrize("exclusive", [True, False], ids=["conditional-put", "claim-and-check"])
def test_racing_claims_of_one_id_get_different_ids(s3_env, monkeypatch, exclusive):
    """Two claimers that draw the same id at the same moment: one wins it, the other draws again."""
    store = RemoteLocation.parse(s3_env)
    monkeypatch.setattr(claim, "SETTLE_SECONDS", 0.3)
    if not exclusive:
        monkeypatch.setattr(claim, "_honours_if_none_match", lambda store: False)
    else:
        assert claim._honours_if_none_match(store)  # moto refuses a second If-None-Match: * write
    first, second = "20260101T000000Z-aaaaaa", "20260101T000000Z-bbbbbb"
    barrier = threading.Barrier(2)
    won: list[str] = []

    def claimer() -> None:
        draws = iter([first, second])

        def draw() -> str:
            drawn = next(draws)
            if drawn == first:
                barrier.wait()  # both try the first id together
            return drawn

        won.append(claim.claim_run_id(store, draw=draw))

    threads = [threading.Thread(target=claimer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [first, second]


def test_a_backend_that_ignores_if_none_match_gets_claim_and_check(s3_env, monkeypatch):
    store = RemoteLocation.parse(s3_env)
    real = store.filesystem()

    class Ignoring:  # an S3-compatible server that accepts the header and overwrites anyway
        def pipe_file(self, path, data, mode="overwrite", **kwargs):
            return real.pipe_file(path, data, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(RemoteLocation, "filesystem", lambda self: Ignoring())
    assert claim._honours_if_none_match.__wrapped__(store) is False


def test_publish_copies_lineage_last_from_temporary_keys(cli, s3_env, monkeypatch):
    url = s3_env
    fs = RemoteLocation.parse(url).filesystem()
    copies: list[tuple[str, str]] = []
    real_copy = fs.copy

    def recording_copy(source, target, **kwargs):
        copies.append((source, target))
        return real_copy(source, target, **kwargs)

    monkeypatch.setattr(fs, "copy", recording_copy)
    run_id = _train(cli, url)["run_id"]
    targets = [target.rsplit("/", 1)[-1] for _, target in copies]
    assert targets[-1] == "lineage.json" and targets.count("lineage.json") == 1
    assert all("/.trainlock-tmp/" in source for source, _ in copies)
    assert all(f"/{run_id}/" in target for _, target in copies)


def test_a_failed_train_is_published_without_lineage(cli, s3_env):
    url = s3_env
    result = cli(
        "train", "config.yaml", "--profile", "tiny", "--store", url, "--quiet", "--set", "data.target=no_such_column"
    )
    assert result.code == 2
    listed = cli("runs", "--store", url, "--json").json()
    assert [r["status"] for r in listed] == ["failed"]
    assert not _fs().exists(_key(url, listed[0]["run_id"], "lineage.json"))
    assert cli("verify", listed[0]["run_id"], "--store", url).code == 2  # incomplete: nothing to verify


def test_storage_option_names_the_endpoint(cli, s3_env, s3_endpoint, monkeypatch):
    url = s3_env
    run_id = _train(cli, url)["run_id"]
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = cli("runs", "--store", url, "--storage-option", f"endpoint_url={s3_endpoint}", "--json")
    assert result.code == 0, result.err
    assert [r["run_id"] for r in result.json()] == [run_id]


def test_store_from_the_environment(cli, s3_env, monkeypatch):
    monkeypatch.setenv("TRAINLOCK_STORE", s3_env)
    result = cli("train", "config.yaml", "--profile", "tiny", "--json", "--quiet")
    assert result.code == 0, result.err
    assert result.json()["url"].startswith(s3_env + "/")


def test_export_openlineage_names_s3_outputs(cli, s3_env):
    url = s3_env
    run_id = _train(cli, url)["run_id"]
    result = cli("export", "openlineage", run_id, "--store", url)
    assert result.code == 0, result.err
    complete = [json.loads(line) for line in result.out.splitlines()][1]
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    assert {(o["namespace"], o["name"]) for o in complete["outputs"]} == {
        (f"s3://{bucket}", f"{prefix}/{run_id}/model.skops"),
        (f"s3://{bucket}", f"{prefix}/{run_id}/predictions.csv"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "--store", "s3://"), "store URL 's3://' names no bucket"),
        (("runs", "--store", "s3://bucket/../escape"), "has an empty, '.' or '..' path segment"),
        (
            ("runs", "--storage-option", "endpoint_url=http://127.0.0.1:1"),
            "--storage-option applies to object-storage stores",
        ),
        (
            ("runs", "--store", "s3://b/p", "--storage-option", "novalue"),
            "--storage-option 'novalue': expected KEY=VALUE",
        ),
        (
            ("gc", "--incomplete", "--store", "s3://bucket/runs"),
            "store 's3://bucket/runs' is on object storage, which gc does not support",
        ),
    ],
)
def test_store_url_problems_are_one_line(cli, args, message):
    result = cli(*args)
    assert result.code == 2
    assert result.err.startswith("trainlock: error: ") and message in result.err
    assert result.err.count("\n") == 1


def test_unknown_run_in_an_s3_store(cli, s3_env):
    result = cli("verify", "20990101T000000Z-abcdef", "--store", s3_env)
    assert result.code == 2
    assert f"no run '20990101T000000Z-abcdef' in store {s3_env}" in result.err


def test_help_does_not_import_the_s3_stack():
    code = (
        "import sys; from trainlock.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('fsspec', 's3fs', 'botocore', 'mlflow', 'openlineage') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
