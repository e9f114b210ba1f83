"""Global options (--store, --storage-option, --debug, --json, --quiet) work before or after the verb.

Most tests here put a stand-in library module in ``sys.modules``: a verb imports its
library function when it runs, so it gets the stand-in, and the test sees exactly what
the command line handed to the library. The tests marked "end to end" train for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from trainlock.cli import main
from trainlock.commands.render import RichProgress


def _stand_in(monkeypatch, module: str, **functions: Any) -> None:
    fake = types.ModuleType(module)
    for name, function in functions.items():
        setattr(fake, name, function)
    monkeypatch.setitem(sys.modules, module, fake)


def _stand_in_train(monkeypatch) -> dict[str, Any]:
    """``trainlock.ops.train.train`` that records its arguments and returns a finished run."""
    seen: dict[str, Any] = {}

    def train(configs, **options):
        seen.update(options, configs=configs)
        metrics = {
            "cv": {"metric": "roc_auc", "table": {"knn": {"mean": 0.9, "std": 0.01}}},
            "selected_model": "knn",
            "test": {"roc_auc": 0.875},
        }
        return SimpleNamespace(
            run_id="20990101T000000Z-abcdef", run_dir=Path("X/20990101T000000Z-abcdef"), url=None, metrics=metrics
        )

    _stand_in(monkeypatch, "trainlock.ops.train", train=train)
    return seen


def _stand_in_runs_raising(monkeypatch) -> None:
    def runs(**options):
        raise RuntimeError("boom")

    _stand_in(monkeypatch, "trainlock.ops.runs", runs=runs, group_by_replicate=None)


# -- --store and --storage-option -------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ("--store", "elsewhere", "train", "config.yaml"),
        ("train", "config.yaml", "--store", "elsewhere"),
        ("--store", "ignored", "train", "config.yaml", "--store", "elsewhere"),  # the later one wins
    ],
    ids=["before", "after", "both"],
)
def test_the_store_reaches_the_library_wherever_it_is_given(cli, monkeypatch, arguments):
    seen = _stand_in_train(monkeypatch)
    result = cli(*arguments, "--json")
    assert result.code == 0, result.err
    assert seen["store"].location == "elsewhere"


def test_the_store_given_before_the_verb_is_named_in_the_verify_hint(cli, monkeypatch):
    _stand_in_train(monkeypatch)
    result = cli("--store", "elsewhere", "train", "config.yaml")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "run 20990101T000000Z-abcdef complete",
        "  folder   X/20990101T000000Z-abcdef",
        "  model    knn (cv roc_auc 0.9000 ± 0.0100)",
        "  test     roc_auc 0.8750",
        "  verify   trainlock verify 20990101T000000Z-abcdef --store elsewhere",
    ]


def test_without_store_the_library_gets_the_default_store(cli, monkeypatch):
    seen = _stand_in_train(monkeypatch)
    assert cli("train", "config.yaml", "--json").code == 0
    assert seen["store"].location == "runs"


def test_storage_options_before_and_after_the_verb_are_all_kept(cli, monkeypatch):
    opened: list[tuple[Any, list[str]]] = []

    def open_store(where, storage_options=()):
        opened.append((where, list(storage_options)))
        return SimpleNamespace(location=where)

    monkeypatch.setattr("trainlock.store.open_store", open_store)
    _stand_in_train(monkeypatch)
    result = cli(
        "--storage-option",
        "a=1",
        "--store",
        "s3://bucket/prefix",
        "train",
        "config.yaml",
        "--storage-option",
        "b=2",
        "--json",
    )
    assert result.code == 0, result.err
    assert opened == [("s3://bucket/prefix", ["a=1", "b=2"])]


@pytest.mark.parametrize(
    "arguments, providers",
    [
        (("--store", "X", "verify", "RUN"), ["ledger"]),
        (("verify", "RUN", "--env", "--store", "X"), ["ledger", "environment"]),
        (
            ("--store", "X", "verify", "RUN", "--pubkey", "k.pub", "--env"),
            ["ledger", "environment", "attestation k.pub"],
        ),
    ],
    ids=["ledger", "env", "env-and-pubkey"],
)
def test_verify_hands_the_library_its_run_the_store_and_the_check_providers(cli, monkeypatch, arguments, providers):
    from trainlock.checks import Check, CheckReport

    seen: dict[str, Any] = {}

    def verify(run, **options):
        seen.update(options, run=run)
        return CheckReport("RUN", "X/RUN", "train", [Check("output model.skops", "ok", "model.skops")])

    _stand_in(
        monkeypatch, "trainlock.ops.verify", verify=verify, ledger_provider=lambda folder, lineage, store: ["ledger"]
    )
    _stand_in(
        monkeypatch, "trainlock.supply.envcheck", environment_checks=lambda folder, lineage, store: ["environment"]
    )
    _stand_in(
        monkeypatch,
        "trainlock.supply.attest",
        attestation_provider=lambda pubkey: lambda folder, lineage, store: [f"attestation {pubkey}"],
    )
    result = cli(*arguments)
    assert result.code == 0, result.err
    assert result.out == "ok       output model.skops\nverified: run RUN matches its lineage (1 checks)\n"
    assert seen["run"] == "RUN" and seen["store"].location == "X"
    assert [name for provider in seen["providers"] for name in provider(None, None, None)] == providers


# -- --debug ------------------------------------------------------------------------------


def test_an_internal_error_is_one_line_without_debug(cli, monkeypatch):
    _stand_in_runs_raising(monkeypatch)
    result = cli("runs")
    assert result.code == 3
    assert result.err == "trainlock: internal error: RuntimeError: boom (rerun with --debug for the traceback)\n"


@pytest.mark.parametrize("arguments", [("--debug", "runs"), ("runs", "--debug")], ids=["before", "after"])
def test_debug_lets_the_traceback_through_wherever_it_is_given(cli, monkeypatch, arguments):
    _stand_in_runs_raising(monkeypatch)
    with pytest.raises(RuntimeError, match="boom"):
        cli(*arguments)


def test_debug_before_the_verb_prints_the_traceback_of_a_real_process(tmp_path):
    code = (
        "import sys, types\n"
        "fake = types.ModuleType('trainlock.ops.runs')\n"
        "def runs(**options): raise RuntimeError('boom')\n"
        "fake.runs, fake.group_by_replicate = runs, None\n"
        "sys.modules['trainlock.ops.runs'] = fake\n"
        "from trainlock.cli import main\n"
        "sys.exit(main(['--debug', 'runs']))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert shown.returncode == 1  # an uncaught exception
    assert "Traceback (most recent call last)" in shown.stderr
    assert shown.stderr.rstrip().endswith("RuntimeError: boom")


def test_debug_before_the_verb_shows_the_traceback_of_a_bad_input(cli, workdir):
    assert cli("lint", "missing.py").err == (
        "trainlock: error: lint path missing.py does not exist; pass Python files or folders\n"
    )
    with pytest.raises(Exception, match="lint path missing.py does not exist"):
        cli("--debug", "lint", "missing.py")


# -- --json and --quiet ----------------------------------------------------------------------


@pytest.mark.parametrize("position", ["before", "after"])
def test_json_wherever_it_is_given(cli, monkeypatch, position):
    _stand_in_train(monkeypatch)
    arguments = ("--json", "train", "config.yaml") if position == "before" else ("train", "config.yaml", "--json")
    result = cli(*arguments)
    assert result.code == 0, result.err
    assert result.json() == {"run_id": "20990101T000000Z-abcdef", "run_dir": "X/20990101T000000Z-abcdef"}


def test_json_before_lint(cli, workdir):
    (workdir / "clean.py").write_text("x = 1\n")
    result = cli("--json", "lint", "clean.py")
    assert result.code == 0
    assert result.json()["findings"] == [] and result.json()["files"] == 1


@pytest.mark.parametrize(
    "arguments, bar",
    [
        (("train", "config.yaml"), True),
        (("--quiet", "train", "config.yaml"), False),
        (("train", "config.yaml", "--quiet"), False),
        (("--json", "train", "config.yaml"), False),
    ],
    ids=["neither", "quiet-before", "quiet-after", "json-before"],
)
def test_quiet_turns_the_progress_bar_off_wherever_it_is_given(cli, monkeypatch, arguments, bar):
    seen = _stand_in_train(monkeypatch)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a bar is only ever drawn on a terminal
    assert cli(*arguments).code == 0
    assert isinstance(seen["progress"], RichProgress) is bar


# -- a global option the verb does not take -------------------------------------------------


@pytest.mark.parametrize(
    "arguments, verb, flag",
    [
        (("--json", "index", "--rebuild"), "index", "--json"),
        (("index", "--rebuild", "--json"), "index", "--json"),
        (("--store", "X", "keygen", "--out", "keys"), "keygen", "--store"),
        (("keygen", "--out", "keys", "--store=X"), "keygen", "--store"),
        (("--quiet", "verify", "RUN"), "verify", "--quiet"),
        (("--storage-option", "a=b", "lint", "x.py"), "lint", "--storage-option"),
        (("--store", "X", "env", "check", "--lock", "r.lock"), "env check", "--store"),
        (("--json", "container"), "container", "--json"),
    ],
)
def test_a_global_option_the_verb_does_not_take_is_refused(cli, workdir, arguments, verb, flag):
    result = cli(*arguments)
    assert result.code == 2
    assert result.out == ""
    assert (
        result.err
        == f"trainlock: error: 'trainlock {verb}' does not take {flag}; drop it (see trainlock {verb} --help)\n"
    )
    assert not (workdir / "keys").exists() and not (workdir / "Dockerfile").exists()


def test_an_unknown_option_is_still_argparse_s_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["lint", "x.py", "--bogus"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith("trainlock: error: unrecognized arguments: --bogus\n")


# -- end to end: these train, so they need the library ------------------------------------------


def test_store_before_the_verb_trains_into_that_store(cli, workdir):
    result = cli("--store", "X", "train", "config.yaml", "--profile", "tiny", "--json", "--quiet")
    assert result.code == 0, result.err
    run_dir = Path(result.json()["run_dir"])
    assert run_dir.resolve().parent == (workdir / "X").resolve()
    assert not (workdir / "runs").exists()
    verified = cli("--store", "X", "verify", result.json()["run_id"])
    assert verified.code == 0, verified.err


def test_quiet_and_json_before_the_verb_train(cli, workdir):
    result = cli("--quiet", "--json", "train", "config.yaml", "--profile", "tiny")
    assert result.code == 0, result.err
    assert set(result.json()) == {"run_id", "run_dir"}
    assert json.loads((Path(result.json()["run_dir"]) / "lineage.json").read_text())["kind"] == "train"
