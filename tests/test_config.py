"""Config: validation errors name the key path, composition order, canonical snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trainlock.errors import ConfigError
from trainlock.pipeline.config import load_config


def write(path: Path, document) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False) if not isinstance(document, str) else document)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"models": {"random_forst": {"n_estimators": 10}}},
            "models.random_forst: unknown key; did you mean 'random_forest'?",
        ),
        ({"cv": {"n_split": 3}}, "cv.n_split: unknown key; did you mean 'n_splits'?"),
        ({"preprocesing": {}}, "preprocesing: unknown key; did you mean 'preprocessing'?"),
        (
            {"models": {"random_forest": {"n_estimator": 10}}},
            "models.random_forest.n_estimator: unknown key; did you mean 'n_estimators'?",
        ),
        (
            {"features": {"derived": {"x": {"weighted_sums": {"a": 1}}}}},
            "features.derived.x.weighted_sums: unknown key; did you mean 'weighted_sum'?",
        ),
        ({"cv": {"n_splits": 1}}, "cv.n_splits = 1: input should be greater than or equal to 2"),
        ({"cv": {"n_splits": "five"}}, "cv.n_splits = 'five': input should be a valid integer"),
        ({"data": {"test_size": 1.5}}, "data.test_size = 1.5: input should be less than 1"),
        ({"models": {"svm": {"kernel": "cubic"}}}, "models.svm.kernel = 'cubic'"),
        ({"task": "clustering"}, "task = 'clustering'"),
        ({"cv": {"metric": "rmse"}}, "cv.metric 'rmse' is not a classification metric"),
        ({"models": {"ridge": {}}}, "model family 'ridge' does not fit task 'classification'"),
    ],
)
def test_invalid_config_exits_2_naming_the_key(cli, workdir, edit, message):
    document = yaml.safe_load((workdir / "config.yaml").read_text())
    for key, value in edit.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    write(workdir / "bad.yaml", document)
    result = cli("train", "bad.yaml")
    assert result.code == 2
    assert message in result.err, result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert not (workdir / "runs").exists(), "no work may start before the config is valid"


def test_missing_required_key(cli, workdir):
    write(workdir / "bad.yaml", {"models": {"knn": {}}, "data": {"path": "data.csv"}})
    result = cli("train", "bad.yaml")
    assert result.code == 2 and "data.target: required key is missing" in result.err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: [1, 2\n", "is not valid YAML at line"),
        ("", "is empty"),
        ("- a\n- b\n", "must hold a mapping"),
        ("a: &x 1\nb: *x\n", "a: unknown key"),
    ],
)
def test_malformed_files(cli, workdir, text, message):
    write(workdir / "bad.yaml", text)
    result = cli("train", "bad.yaml")
    assert result.code == 2 and message in result.err


def test_non_utf8_and_missing_files(cli, workdir):
    (workdir / "bad.yaml").write_bytes(b"seed: \xff\xfe\n")
    assert "not UTF-8" in cli("train", "bad.yaml").err
    result = cli("train", "nothere.yaml")
    assert result.code == 2 and "config file not found: nothere.yaml" in result.err


def test_composition_order(workdir, tmp_path):
    base = workdir / "config.yaml"
    overlay = write(workdir / "overlay.yaml", {"seed": 11, "cv": {"n_splits": 4}, "profiles": {"tiny": {"seed": 12}}})
    resolved = load_config([base, overlay])
    assert resolved.config.seed == 11 and resolved.config.cv.n_splits == 4
    assert resolved.config.cv.metric == "roc_auc"  # merged, not replaced
    resolved = load_config([base, overlay], profiles=["tiny"])
    assert resolved.config.seed == 12 and resolved.config.cv.n_splits == 2  # both files' tiny profiles
    resolved = load_config([base, overlay], profiles=["tiny"], overrides=["seed=13", "models.knn.n_neighbors=3"])
    assert resolved.config.seed == 13 and resolved.config.models.knn.n_neighbors == 3
    resolved = load_config([base], overrides=["seed=13"], seed=14)
    assert resolved.config.seed == 14


def test_unknown_profile_lists_the_declared_ones(workdir):
    with pytest.raises(ConfigError, match="unknown profile 'prod'; the config declares: tiny"):
        load_config([workdir / "config.yaml"], profiles=["prod"])


def test_bad_override_syntax(workdir):
    with pytest.raises(ConfigError, match="expected dotted.key=value"):
        load_config([workdir / "config.yaml"], overrides=["seed"])


def test_data_path_is_relative_to_the_config_file(workdir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    resolved = load_config([workdir / "config.yaml"])
    assert Path(resolved.config.data.path) == (workdir / "data.csv").resolve()
    (workdir / "sub").mkdir()
    monkeypatch.chdir(workdir / "sub")
    resolved = load_config([workdir / "config.yaml"], overrides=["data.path=../other.csv"])
    assert Path(resolved.config.data.path) == (workdir / "other.csv").resolve()


def test_snapshot_hash_identifies_the_config(workdir):
    a = load_config([workdir / "config.yaml"])
    b = load_config([workdir / "config.yaml"])
    c = load_config([workdir / "config.yaml"], overrides=["models.random_forest.n_estimators=16"])
    assert a.sha256 == b.sha256 != c.sha256
    assert a.snapshot == b.snapshot
    # the snapshot reloads to itself
    snapshot = write(workdir / "snap.yaml", a.snapshot)
    from trainlock.pipeline.config import load_snapshot

    assert load_snapshot(snapshot).snapshot == a.snapshot


def test_seed_override_from_the_cli(cli):
    result = cli("train", "config.yaml", "--profile", "tiny", "--seed", "99", "--json", "--quiet")
    run_dir = Path(result.json()["run_dir"])
    assert yaml.safe_load((run_dir / "config.snapshot.yaml").read_text())["seed"] == 99


def test_missing_optional_family_package_is_a_clear_error(cli, workdir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes `import lightgbm` fail
    result = cli("train", "config.yaml", "--quiet", "--set", "models.lightgbm.n_estimators=5")
    assert result.code == 2 and "pip install 'trainlock[lightgbm]'" in result.err
    assert not (workdir / "runs").exists(), "checked before any work starts"
