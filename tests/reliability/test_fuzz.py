"""Fuzz suite: generated configs and CSVs end in success or one clear line with exit 2 —
never a traceback, never an internal error, never a failed run marked complete, and never
a file written outside the store."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST_CONFIG

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

KEYS = [
    "seed",
    "task",
    "data",
    "path",
    "target",
    "test_size",
    "models",
    "knn",
    "n_neighbors",
    "cv",
    "n_splits",
    "metric",
    "calibration",
    "method",
    "features",
    "derived",
    "ratio",
    "weighted_sum",
    "preprocessing",
    "outlier_factor",
    "business",
    "target_precision",
    "profiles",
    "random_forest",
    "n_estimators",
    "zzz",
    "",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(KEYS),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _assert_clean(result, store: Path) -> None:
    assert result.code in (0, 2), (result.code, result.err)
    if result.code == 2:
        assert result.err.startswith("trainlock: error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    for run_dir in (p for p in store.glob("*") if p.is_dir()) if store.is_dir() else []:
        events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
        if events[-1]["event"] == "failed":
            assert not (run_dir / "lineage.json").exists()


@SETTINGS
@given(document=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6), base=st.booleans())
def test_generated_configs(tmp_path_factory, document, base):
    from trainlock.cli import main

    root = tmp_path_factory.mktemp("cfg")
    if base:  # mutate a valid config, so that deep keys are reached too
        merged = json.loads(json.dumps(FAST_CONFIG))
        merged.update(document)
        document = merged
    (root / "config.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    before = _snapshot(root)
    result = _run(main, ["train", str(root / "config.yaml"), "--store", str(root / "store"), "--quiet"])
    _assert_clean(result, root / "store")
    assert {p for p in _snapshot(root) - before if not p.startswith("store")} == set(), "wrote outside the store"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"a: &x [1, 2]\nb: *x\nseed: *x\n",
                b"seed: 1e400\n",
                b"seed: 99999999999999999999999999\n",
                b"seed: \xff\xfe\xfd\n",
                b"\xef\xbb\xbfseed: 1\n",
                b"!!python/object:os.system {}\n",
                b"seed: !!binary aGVsbG8=\n",
                b"<<: {a: 1}\n",
                b"--- 1\n--- 2\n",
                b"[",
            ]
        ),
    )
)
def test_yaml_oddities(tmp_path_factory, raw):
    from trainlock.cli import main

    root = tmp_path_factory.mktemp("yaml")
    (root / "config.yaml").write_bytes(raw)
    result = _run(main, ["train", str(root / "config.yaml"), "--store", str(root / "store"), "--quiet"])
    _assert_clean(result, root / "store")
    assert result.code == 2


COLUMN = st.sampled_from(
    [
        "student_country",
        "days_on_platform",
        "minutes_watched",
        "courses_started",
        "practice_exams_started",
        "practice_exams_passed",
        "minutes_spent_on_exams",
        "purchased",
        "x",
    ]
)
CELL = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["", "a", "NA", "1e5", "0"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    columns=st.lists(COLUMN, min_size=0, max_size=9), rows=st.lists(st.lists(CELL, min_size=9, max_size=9), max_size=40)
)
def test_generated_csvs(tmp_path_factory, columns, rows):
    from trainlock.cli import main

    root = tmp_path_factory.mktemp("csv")
    lines = [",".join(columns)] + [",".join(str(cell) for cell in row[: len(columns)]) for row in rows]
    (root / "data.csv").write_text("\n".join(lines) + "\n" if columns else "")
    _train_minimal(main, root)


def test_named_csv_shapes(tmp_path):
    from trainlock.cli import main

    header = "student_country,days_on_platform,minutes_watched,courses_started,practice_exams_started,practice_exams_passed,minutes_spent_on_exams,purchased"
    cases = {
        "empty": "",
        "header_only": header + "\n",
        "one_class": header + "\n" + "\n".join(f"US,{i},{i},1,1,1,1,0" for i in range(60)) + "\n",
        "all_missing_column": header + "\n" + "\n".join(f"US,,{i},1,1,1,1,{i % 2}" for i in range(60)) + "\n",
        "mixed_types": header
        + "\n"
        + "\n".join(f"US,{'x' if i % 7 == 0 else i},{i},1,1,1,1,{i % 2}" for i in range(60))
        + "\n",
        "duplicate_columns": header
        + ",purchased\n"
        + "\n".join(f"US,{i},{i},1,1,1,1,{i % 2},1" for i in range(60))
        + "\n",
        "million_columns": ",".join(f"c{i}" for i in range(1_000_000)) + "\n",
        "not_utf8": header + "\n" + "\xe9t\xe9,1,1,1,1,1,1,1\n",
    }
    for name, text in cases.items():
        root = tmp_path / name
        root.mkdir()
        (root / "data.csv").write_bytes(text.encode("latin-1") if name == "not_utf8" else text.encode())
        result = _train_minimal(main, root)
        # a numeric column with a stray word is read as text: it trains as a categorical column
        assert result.code == (0 if name == "mixed_types" else 2), (name, result.out, result.err)


def _train_minimal(main, root: Path):
    config = {
        "seed": 1,
        "data": {"path": "data.csv", "target": "purchased", "test_size": 0.25},
        "models": {"decision_tree": {"max_depth": 3}},
        "cv": {"n_splits": 2},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    before = _snapshot(root)
    result = _run(main, ["train", str(root / "config.yaml"), "--store", str(root / "store"), "--quiet"])
    _assert_clean(result, root / "store")
    assert {p for p in _snapshot(root) - before if not p.startswith("store")} == set()
    return result


class _Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def _run(main, argv):
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return _Result(code, out.getvalue(), err.getvalue())


def test_data_path_outside_the_config_folder_is_only_read(tmp_path):
    from trainlock.cli import main

    (tmp_path / "inner").mkdir()
    config = {"data": {"path": "../../../../../../etc/hostname", "target": "purchased"}, "models": {"knn": {}}}
    (tmp_path / "inner" / "config.yaml").write_text(yaml.safe_dump(config))
    before = _snapshot(tmp_path)
    result = _run(
        main, ["train", str(tmp_path / "inner" / "config.yaml"), "--store", str(tmp_path / "store"), "--quiet"]
    )
    assert result.code == 2
    assert {p for p in _snapshot(tmp_path) - before if not p.startswith("store")} == set()
