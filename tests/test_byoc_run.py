"""`trainlock run -- COMMAND`, and verify, reproduce, diff and check of such runs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_console

EXAMPLE = ROOT / "examples" / "custom"
PY = sys.executable


def lineage(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "lineage.json").read_text())


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (Path(run_dir) / "events.jsonl").read_text().splitlines()]


def script(workdir: Path, name: str, body: str) -> str:
    path = workdir / name
    path.write_text(body)
    return name


# -- the example, as a user runs it -----------------------------------------------------


def test_wrapped_example_verifies_reproduces_and_diffs(tmp_path):
    env = {"PATH": f"{Path(PY).parent}:/usr/bin:/bin"}
    made = run_console(
        "run",
        "--store",
        tmp_path / "store",
        "--in",
        "examples/purchase/data.csv",
        "--json",
        "--",
        "python",
        "examples/custom/train.py",
        cwd=ROOT,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    run_dir = Path(json.loads(made.stdout)["run_dir"])
    record = lineage(run_dir)
    assert record["kind"] == "run" and record["parent"] is None
    assert [s["step"] for s in record["trace"]] == [
        "settings",
        "split",
        "bootstrap",
        "fit",
        "scores",
        "model/classifier",
        "metrics",
    ]
    assert sorted(record["seeds"]["derived"]) == ["bootstrap", "model", "split"]
    assert record["command"]["argv"] == ["python", "examples/custom/train.py"]
    assert record["declared_inputs"]["examples/purchase/data.csv"]["kind"] == "file"
    assert record["code"]["command_files"]["examples/custom/train.py"]
    assert record["fingerprints"]["model/classifier"] == record["models"]["classifier"]["fingerprint"]
    assert {
        "stdout.log",
        "stderr.log",
        "environment.json",
        "events.jsonl",
        "config.snapshot.yaml",
        "metrics.json",
        "trace_values.json",
        "models/classifier.skops",
    } <= set(record["outputs"])
    assert not (run_dir / ".trainlock-api.json").exists()
    started = events(run_dir)[0]
    assert started["event"] == "started" and started["wrapped"] == ["python", "examples/custom/train.py"]
    environment = json.loads((run_dir / "environment.json").read_text())
    assert environment["envelope"]["process_env"]["PYTHONHASHSEED"] == "0"
    assert environment["envelope"]["command"]["seed"] == record["seeds"]["base"] == 0  # no --config: seed 0

    verified = run_console("verify", run_dir, "--store", tmp_path / "store", cwd=ROOT, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().splitlines()[-1].startswith(f"verified: run {run_dir.name} matches its lineage")

    again = run_console("reproduce", run_dir, "--store", tmp_path / "store", "--json", cwd=ROOT, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    document = json.loads(again.stdout)
    assert document["diff"]["level"] == "exact" and document["diff"]["equivalent"]
    copy = Path(document["run_dir"])
    assert lineage(copy)["parent"] == run_dir.name
    if lineage(copy)["code"] == record["code"]:  # (trainlock's own source unchanged in between)
        assert lineage(copy)["identity"] == record["identity"]

    compared = run_console("diff", run_dir, copy, cwd=ROOT, env=env)
    assert compared.returncode == 0 and "equivalent at level exact" in compared.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, factor, code, expected",
    [
        (
            "train_unseeded.py",
            "PYTHONHASHSEED",
            1,
            "DIFFERS  PYTHONHASHSEED  (PYTHONHASHSEED=4242): first divergent step bootstrap",
        ),
        # another folder, with the script's path made absolute: the seeded script does not care
        ("train.py", "cwd", 0, "equal    cwd             (another working directory)"),
    ],
)
def test_check_of_a_command_names_the_first_divergent_checkpoint(workdir, name, factor, code, expected):
    env = {"PATH": f"{Path(PY).parent}:/usr/bin:/bin"}
    (workdir / "scripts").mkdir()
    for source in ("train.py", "train_unseeded.py", "config.yaml"):
        (workdir / "scripts" / source).write_text((EXAMPLE / source).read_text())
    result = run_console(
        "check",
        "--config",
        "scripts/config.yaml",
        "--set",
        f"data={workdir / 'data.csv'}",
        "--set",
        "model.n_estimators=5",
        "--factors",
        factor,
        "--",
        "python",
        f"scripts/{name}",
        cwd=workdir,
        env=env,
    )
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"check of python scripts/{name}: baseline run ")
    assert lines[1] == f"  {expected}"
    if code:
        assert result.stderr.strip() == "nondeterminism found: 1 of 1 factors changed the result: PYTHONHASHSEED"
    else:
        assert lines[2] == "deterministic: all 1 factors gave identical runs"


# -- the command's contract ------------------------------------------------------------


def test_failed_command_keeps_its_exit_code_and_leaves_no_lineage(cli, workdir):
    name = script(workdir, "fail.py", "import sys\nprint('partial')\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    result = cli("run", "--json", "--", PY, name)
    assert result.code == 3
    document = json.loads(result.out)
    run_dir = Path(document["run_dir"])
    assert document["status"] == "failed" and document["returncode"] == 3
    assert result.err.splitlines()[-1] == (
        f"trainlock: the command exited with code 3; run {run_dir.name} is recorded "
        f"as failed (its output: {run_dir / 'stderr.log'})"
    )
    assert (run_dir / "stdout.log").read_text() == "partial\n"
    assert (run_dir / "stderr.log").read_text() == "boom\n"
    assert not (run_dir / "lineage.json").exists()
    last = events(run_dir)[-1]
    assert last["event"] == "failed" and last["returncode"] == 3
    verified = cli("verify", run_dir)
    assert verified.code == 2 and "has no lineage.json" in verified.err


def test_command_gets_its_run_folder_seed_and_config(cli, workdir):
    (workdir / "params.yaml").write_text("seed: 5\nlr: 0.1\nlayers: [2, 3]\n")
    name = script(
        workdir,
        "show.py",
        (
            "import json, os, yaml\n"
            "keys = ['TRAINLOCK_RUN_DIR', 'TRAINLOCK_RUN_ID', 'TRAINLOCK_SEED', 'TRAINLOCK_CONFIG']\n"
            "found = {k: os.environ[k] for k in keys}\n"
            "found['config'] = yaml.safe_load(open(found['TRAINLOCK_CONFIG']))\n"
            "print(json.dumps(found))\n"
        ),
    )
    result = cli(
        "run", "--config", "params.yaml", "--set", "lr=0.2", "--seed", "9", "--quiet", "--json", "--", PY, name
    )
    assert result.code == 0, result.err
    run_dir = Path(result.json()["run_dir"])
    shown = json.loads((run_dir / "stdout.log").read_text())
    assert shown["TRAINLOCK_RUN_DIR"] == str(run_dir) and shown["TRAINLOCK_RUN_ID"] == run_dir.name
    assert shown["TRAINLOCK_SEED"] == "9"
    assert shown["TRAINLOCK_CONFIG"] == str(run_dir / "config.snapshot.yaml")
    assert shown["config"] == {"seed": 9, "lr": 0.2, "layers": [2, 3]}
    assert lineage(run_dir)["seeds"] == {"base": 9, "derived": {}}


def test_output_is_echoed_and_summarised(cli, workdir):
    name = script(workdir, "hello.py", "print('hello from the command')\n")
    result = cli("run", "--", PY, name)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "hello from the command"
    assert lines[1].startswith("run ") and lines[1].endswith(" complete (0 checkpoints)")


def test_declared_inputs_and_outputs_are_hashed_in_sorted_order(cli, workdir):
    data = workdir / "data"
    data.mkdir()
    for name in ("b.csv", "a.csv", "sub/c.csv"):
        (data / name).parent.mkdir(exist_ok=True)
        (data / name).write_text(f"{name}\n")
    name = script(
        workdir,
        "write.py",
        (
            "from pathlib import Path\n"
            "out = Path('out'); out.mkdir(exist_ok=True)\n"
            "(out / 'z.txt').write_text('z'); (out / 'y.txt').write_text('y')\n"
            "Path('model.bin').write_bytes(b'weights')\n"
        ),
    )
    result = cli(
        "run",
        "--in",
        "data",
        "--in",
        "config.yaml",
        "--out",
        "out",
        "--out",
        "model.bin",
        "--quiet",
        "--json",
        "--",
        PY,
        name,
    )
    assert result.code == 0, result.err
    record = lineage(Path(result.json()["run_dir"]))
    inputs = record["declared_inputs"]
    assert list(inputs) == ["config.yaml", "data"]
    assert list(inputs["data"]["files"]) == ["a.csv", "b.csv", "sub/c.csv"]
    assert inputs["config.yaml"]["kind"] == "file"
    outputs = record["declared_outputs"]
    assert list(outputs) == ["model.bin", "out"] and list(outputs["out"]["files"]) == ["y.txt", "z.txt"]
    assert [s["step"] for s in record["trace"]] == ["output:model.bin", "output:out"]
    assert record["trace"][0]["sha256"] == outputs["model.bin"]["sha256"]


def _wrapped_with_files(cli, workdir) -> Path:
    """A wrapped run that reads data/ and config.yaml and writes model.bin and out/ (two files)."""
    (workdir / "data").mkdir()
    (workdir / "data" / "rows.csv").write_text("1\n2\n")
    name = script(
        workdir,
        "fit.py",
        (
            "from pathlib import Path\n"
            "rows = Path('data/rows.csv').read_text()\n"
            "Path('model.bin').write_bytes(rows.encode() * 3)\n"
            "out = Path('out'); out.mkdir(exist_ok=True)\n"
            "(out / 'a.txt').write_text('a' + rows); (out / 'b.txt').write_text('b')\n"
        ),
    )
    made = cli(
        "run",
        "--in",
        "data",
        "--in",
        "config.yaml",
        "--out",
        "model.bin",
        "--out",
        "out",
        "--store",
        workdir / "runs",
        "--quiet",
        "--json",
        "--",
        PY,
        name,
    )
    assert made.code == 0, made.err
    return Path(made.json()["run_dir"])


@pytest.mark.parametrize(
    "edit, line, failure",
    [
        (
            lambda w: (w / "model.bin").open("ab").write(b"x"),
            "CHANGED  output model.bin  (size 13, recorded 12)",
            "model.bin changed",
        ),
        (lambda w: (w / "out" / "b.txt").write_text("B"), "CHANGED  output out  (b.txt changed)", "out changed"),
        (lambda w: (w / "out" / "new.txt").write_text("n"), "CHANGED  output out  (new.txt was added)", "out changed"),
        (
            lambda w: (w / "data" / "rows.csv").write_text("1\n3\n"),
            "CHANGED  input data  (rows.csv changed)",
            "data changed",
        ),
        (
            lambda w: (w / "config.yaml").open("a").write("#"),
            "CHANGED  input config.yaml  (size ",
            "config.yaml changed",
        ),
        (lambda w: (w / "model.bin").unlink(), "MISSING  output model.bin", "model.bin missing"),
        (
            lambda w: (w / "fit.py").open("a").write("# edited\n"),
            "CHANGED  command file fit.py  (content changed)",
            "fit.py changed",
        ),
    ],
)
def test_verify_rehashes_the_declared_files_of_a_wrapped_run(cli, workdir, edit, line, failure):
    run_dir = _wrapped_with_files(cli, workdir)
    assert cli("verify", run_dir, "--store", workdir / "runs").code == 0
    edit(workdir)
    result = cli("verify", run_dir, "--store", workdir / "runs")
    assert result.code == 1
    assert result.err == f"verify failed: run {run_dir.name}: {failure}\n"
    assert any(shown.startswith(line) for shown in result.out.splitlines()), result.out


def test_verify_checks_a_moved_working_folder_with_workdir(cli, workdir, tmp_path_factory):
    run_dir = _wrapped_with_files(cli, workdir)
    moved = tmp_path_factory.mktemp("moved")
    for name in ("data", "out"):
        shutil.copytree(workdir / name, moved / name)
    for name in ("model.bin", "config.yaml", "fit.py"):
        shutil.copy(workdir / name, moved / name)
    (workdir / "model.bin").unlink()
    assert cli("verify", run_dir, "--store", workdir / "runs").code == 1
    assert cli("verify", run_dir, "--store", workdir / "runs", "--workdir", moved).code == 0


def test_reproduce_never_writes_over_the_original_outputs(cli, workdir):
    run_dir = _wrapped_with_files(cli, workdir)
    original = {path: (workdir / path).read_bytes() for path in ("model.bin", "out/a.txt", "out/b.txt")}
    stamps = {path: (workdir / path).stat().st_mtime_ns for path in original}
    result = cli("reproduce", run_dir, "--store", workdir / "runs", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["diff"]["level"] == "exact"
    assert {path: (workdir / path).read_bytes() for path in original} == original
    assert {path: (workdir / path).stat().st_mtime_ns for path in original} == stamps
    copy = Path(document["run_dir"])
    assert (copy / "workspace" / "model.bin").read_bytes() == original["model.bin"]
    assert lineage(copy)["command"]["cwd"] == str(copy / "workspace")
    assert cli("verify", copy, "--store", workdir / "runs").code == 0
    assert cli("verify", run_dir, "--store", workdir / "runs").code == 0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--in", "nowhere.csv"], "--in nowhere.csv: no such file or folder"),
        (["--out", "never.bin"], "--out never.bin: the command exited 0 but did not write it"),
    ],
)
def test_missing_declared_paths_are_bad_input(cli, workdir, arguments, message):
    result = cli("run", *arguments, "--", PY, "-c", "pass")
    assert result.code == 2
    assert result.err.startswith(f"trainlock: error: {message}")


def test_a_changed_input_blocks_reproduce(cli, workdir):
    (workdir / "rows.txt").write_text("1\n2\n")
    made = cli("run", "--in", "rows.txt", "--quiet", "--json", "--", PY, "-c", "print(open('rows.txt').read())")
    assert made.code == 0, made.err
    (workdir / "rows.txt").write_text("1\n2\n3\n")
    result = cli("reproduce", made.json()["run_dir"])
    assert result.code == 2
    assert result.err.startswith("trainlock: error: --in rows.txt has sha256 ")
    assert "restore the input run" in result.err


def test_diff_measures_how_far_checkpoints_drifted(cli, workdir):
    name = script(
        workdir,
        "drift.py",
        (
            "import numpy as np, trainlock\n"
            "run = trainlock.current_run()\n"
            "run.checkpoint('data', np.arange(4.0))\n"
            "run.checkpoint('weights', np.arange(4.0) * run.config['scale'])\n"
        ),
    )
    runs = []
    for scale in ("1.0", "1.000001"):
        result = cli("run", "--set", f"scale={scale}", "--quiet", "--json", "--", PY, name)
        assert result.code == 0, result.err
        runs.append(result.json()["run_dir"])
    report = cli("diff", *runs, "--json").json()
    assert report["config"] == [{"key": "scale", "a": 1.0, "b": 1.000001}]
    first = report["first_divergence"]
    assert first["step"] == "weights" and first["status"] == "different"  # beyond the default rtol 1e-9
    assert first["max_abs"] == pytest.approx(3e-6) and first["n_differing"] == 3 and first["n_values"] == 4
    loose = cli("diff", *runs, "--level", "numeric", "--rtol", "1e-5", "--json").json()
    assert loose["first_divergence"]["status"] == "numeric"


def test_run_dir_is_claimed_once_and_names_the_run(cli, workdir):
    target = workdir / "stages" / "one"
    first = cli("run", "--run-dir", target, "--quiet", "--json", "--", PY, "-c", "pass")
    assert first.code == 0, first.err
    assert first.json()["run_id"] == "one" and Path(first.json()["run_dir"]) == target
    assert lineage(target)["run_id"] == "one"
    again = cli("run", "--run-dir", target, "--", PY, "-c", "pass")
    assert again.code == 2
    assert again.err.strip() == (
        f"trainlock: error: --run-dir {target} already holds a run (or one is being "
        "written); remove the folder or choose another"
    )
    busy = workdir / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = cli("run", "--run-dir", busy, "--", PY, "-c", "pass")
    assert result.code == 2
    assert result.err.strip() == (
        f"trainlock: error: --run-dir {busy} is not empty (it holds notes.txt); remove it or choose an empty folder"
    )
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def test_parents_come_from_inputs_inside_run_folders(cli, workdir):
    first = cli(
        "run",
        "--run-dir",
        "stages/prepare",
        "--quiet",
        "--",
        PY,
        "-c",
        "import os; open(os.environ['TRAINLOCK_RUN_DIR'] + '/rows.csv', 'w').write('x\\n1\\n')",
    )
    assert first.code == 0, first.err
    second = cli("run", "--run-dir", "stages/use", "--in", "stages/prepare/rows.csv", "--quiet", "--", PY, "-c", "pass")
    assert second.code == 0, second.err
    record = lineage(workdir / "stages" / "use")
    assert record["parent"] == "prepare" and record["parents"] == ["prepare"]
    explicit = cli("run", "--parent", "stages/prepare", "--quiet", "--json", "--", PY, "-c", "pass")
    assert lineage(Path(explicit.json()["run_dir"]))["parent"] == "prepare"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["run"], "trainlock: error: no command to run; put it after --, e.g. trainlock run -- python train.py"),
        (["run", "--", "no-such-program-here"], "trainlock: error: cannot run 'no-such-program-here': no such program"),
        (["check"], "trainlock: error: check needs a CONFIG, or a command after --"),
        (
            ["check", "--factors", "workers", "--", "python", "t.py"],
            "trainlock: error: factor(s) workers do not apply to a command; choose from PYTHONHASHSEED, threads, cwd",
        ),
    ],
)
def test_bad_commands_are_bad_input(cli, arguments, message):
    result = cli(*arguments)
    assert result.code == 2
    assert result.err.strip().startswith(message)


def test_only_run_and_check_take_a_command(cli):
    with pytest.raises(SystemExit) as stopped:
        cli("verify", "--", "python", "x.py")
    assert stopped.value.code == 2


def test_seed_must_be_an_integer(cli, workdir):
    (workdir / "params.yaml").write_text("seed: forty-two\n")
    result = cli("run", "--config", "params.yaml", "--", PY, "-c", "pass")
    assert result.code == 2
    assert result.err.strip() == (
        "trainlock: error: seed: expected a non-negative integer, found 'forty-two'; "
        "set e.g. seed: 42 or pass --seed 42"
    )


def test_help_imports_nothing_heavy():
    code = (
        "import sys, trainlock.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('numpy', 'pandas', 'yaml', 'sklearn', 'torch') if m in sys.modules))"
    )
    import subprocess

    shown = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
