"""Unit tests of the building blocks: hashing, seeds, store, envelope, atomic writes, model files."""

from __future__ import annotations

import multiprocessing
import os
import random
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainlock import atomic
from trainlock.envelope import PROCESS_ENV_DEFAULTS, REEXEC_MARKER, Envelope, process_env_changes
from trainlock.errors import EnvelopeError, IntegrityError, StorePathError
from trainlock.hashing import array_hash, canonical_hash, frame_hash, sha256_bytes, sha256_file
from trainlock.run import RUN_ID_PATTERN, inside
from trainlock.seeds import SeedLedger, derive_seed
from trainlock.store import LocalStore

# -- hashing ---------------------------------------------------------------------------


def test_canonical_hash_ignores_key_order_and_negative_zero():
    assert canonical_hash({"a": 1, "b": [0.0, 2]}) == canonical_hash({"b": [-0.0, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 1.0000000000000002})
    assert canonical_hash({"s": {3, 1, 2}}) == canonical_hash({"s": {2, 3, 1}})


def test_array_hash_covers_dtype_shape_and_values():
    base = np.arange(6, dtype="float64")
    assert array_hash(base) == array_hash(base.copy())
    assert array_hash(base) != array_hash(base.astype("float32"))
    assert array_hash(base) != array_hash(base.reshape(2, 3))
    bumped = base.copy()
    bumped[3] = np.nextafter(bumped[3], np.inf)
    assert array_hash(base) != array_hash(bumped)
    assert array_hash(np.array([0.0, np.nan])) == array_hash(np.array([-0.0, -np.nan]))
    assert array_hash(base) == array_hash(base.astype(">f8"))  # byte order does not matter
    assert array_hash(np.array(["a", "b"], dtype=object)) != array_hash(np.array(["a", "c"], dtype=object))


def test_frame_hash_covers_names_dtypes_and_values():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None]})
    assert frame_hash(frame) == frame_hash(frame.copy())
    assert frame_hash(frame) != frame_hash(frame.rename(columns={"a": "c"}))
    assert frame_hash(frame) != frame_hash(frame[["b", "a"]])
    assert frame_hash(frame) != frame_hash(frame.assign(a=[1.0, 2.0]))


def test_sha256_file_streams(tmp_path):
    data = os.urandom(9 * 1024 * 1024 + 17)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == sha256_bytes(data)


# -- seeds -----------------------------------------------------------------------------


def test_derived_seeds_depend_only_on_base_and_scope():
    ledger = SeedLedger(42)
    first = ledger.seed_for("model/random_forest")
    ledger.seed_for("cv")
    assert SeedLedger(42).seed_for("model/random_forest") == first == derive_seed(42, "model/random_forest")
    assert derive_seed(42, "cv") != derive_seed(43, "cv") and derive_seed(42, "cv") != derive_seed(42, "split")
    assert 0 <= first < 2**32
    assert list(ledger.issued()) == ["cv", "model/random_forest"]


# -- store -----------------------------------------------------------------------------


def _claim(store: str) -> str:
    return LocalStore(Path(store)).claim().folder.run_id


def test_concurrent_claims_never_collide(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = pool.map(_claim, [str(tmp_path)] * 32)
    assert len(set(ids)) == 32 and all(RUN_ID_PATTERN.match(i) for i in ids)


def test_run_ids_sort_in_start_order_within_one_second():
    from datetime import datetime

    from trainlock.run import new_run_id

    second = datetime(2026, 11, 22, 23, 0, 0, tzinfo=UTC)
    starts = [second.replace(microsecond=us) for us in (0, 1_000, 250_000, 500_000, 999_999)]
    ids = [new_run_id(start) for start in starts]
    assert all(RUN_ID_PATTERN.match(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_recorded_paths_cannot_escape_the_run_folder(tmp_path):
    assert inside(tmp_path, "a/b.json") == (tmp_path / "a" / "b.json").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(StorePathError):
            inside(tmp_path, bad)


# -- atomic writes ---------------------------------------------------------------------


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic.write_json(tmp_path / "x.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "x.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    with pytest.raises(ValueError):
        atomic.write_json(tmp_path / "y.json", {"nan": float("nan")})
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# -- envelope --------------------------------------------------------------------------


def _global_state():
    from threadpoolctl import threadpool_info

    return (
        random.getstate(),
        np.random.get_state()[1].tolist(),
        sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info()),
    )


def test_envelope_restores_every_global_it_touched():
    random.seed(123)
    np.random.seed(456)
    before = _global_state()
    with Envelope(seed=7, threads=1) as envelope:
        inside_draw = (random.random(), np.random.random())
        record = envelope.record()
    assert _global_state() == before
    with Envelope(seed=7, threads=1):
        assert (random.random(), np.random.random()) == inside_draw
    assert _global_state() == before
    assert record["seed"] == 7 and record["threads"] == 1 and set(record["process_env"]) == set(PROCESS_ENV_DEFAULTS)


def test_envelope_as_decorator_and_after_an_exception():
    before = _global_state()

    @Envelope(seed=3)
    def draw():
        return np.random.random()

    assert draw() == draw()
    with pytest.raises(RuntimeError), Envelope(seed=3):
        raise RuntimeError("boom")
    assert _global_state() == before


def test_strict_envelope_fails_when_it_cannot_be_established(monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    before = _global_state()
    with pytest.raises(EnvelopeError, match="PYTHONHASHSEED is not fixed"), Envelope(seed=1, strict=True):
        pass
    assert _global_state()[0] == before[0]


def test_process_env_changes_respect_user_values_and_the_marker():
    changes = process_env_changes({"PYTHONHASHSEED": "5"})
    assert "PYTHONHASHSEED" not in changes and changes["OMP_NUM_THREADS"] == "1"
    assert process_env_changes({REEXEC_MARKER: "1"}) == {}


# -- model files -----------------------------------------------------------------------


def test_model_files_are_byte_reproducible_and_load_only_when_verified(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    from trainlock.fingerprint import fingerprint
    from trainlock.model_io import dump_model, load_model

    X = np.random.default_rng(0).normal(size=(100, 4))
    y = (X[:, 0] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    trusted = dump_model(model, tmp_path / "a.skops")
    dump_model(RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    digest = sha256_file(tmp_path / "a.skops")
    loaded = load_model(tmp_path / "a.skops", digest, trusted)
    assert fingerprint(loaded) == fingerprint(model)
    with pytest.raises(IntegrityError, match="refusing to load a changed model"):
        load_model(tmp_path / "a.skops", "0" * 64, trusted)


def test_model_needing_unrecorded_types_is_refused(tmp_path):
    from sklearn.pipeline import Pipeline

    from trainlock.model_io import dump_model, load_model

    model = Pipeline([("f", Opaque())])
    trusted = dump_model(model, tmp_path / "m.skops")
    assert trusted == [f"{Opaque.__module__}.Opaque"]
    with pytest.raises(IntegrityError, match="not recorded at training time"):
        load_model(tmp_path / "m.skops", sha256_file(tmp_path / "m.skops"), [])


class Opaque:
    """A type skops does not trust by default."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


# -- hash cache ------------------------------------------------------------------------


def test_hash_cache_trusts_only_unchanged_settled_files(tmp_path, monkeypatch):
    from trainlock import hashcache
    from trainlock.hashcache import HashCache, hash_files

    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 1000)
    old = 1_600_000_000_000_000_000
    os.utime(data, ns=(old, old))
    cache = HashCache(tmp_path / "cache.sqlite")
    first = cache.sha256(data)
    calls = []
    monkeypatch.setattr(hashcache, "sha256_file", lambda path, progress=None: calls.append(path) or "rehashed")
    assert cache.sha256(data) == first and calls == []  # served from the cache
    data.write_bytes(b"b" * 1000)  # same size, new mtime
    assert cache.sha256(data) == "rehashed" and len(calls) == 1
    # a file hashed right after it changed is "racy": hashed again next time
    assert cache.sha256(data) == "rehashed" and len(calls) == 2
    assert HashCache(None).sha256(data) == "rehashed"
    monkeypatch.undo()
    files = [tmp_path / f"f{i}" for i in range(5)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 5000)
    assert hash_files(reversed(files)) == {f: sha256_file(f) for f in files}


def test_hash_cache_in_an_unwritable_place_falls_back_to_hashing(tmp_path):
    from trainlock.hashcache import HashCache

    (tmp_path / "f").write_bytes(b"x")
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    assert HashCache(blocker / "cache.sqlite").sha256(tmp_path / "f") == sha256_bytes(b"x")
