"""`trainlock lint`: each rule at its exact line, suppressions, rule selection, and a clean bill for our examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trainlock.cli import main
from trainlock.errors import ConfigError
from trainlock.lint import lint_paths, settings_from
from trainlock.lint.rules import RULES
from trainlock.lint.scan import scan_source

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "lint_cases.py"

#: (line, col, code) of every finding in the fixture, in output order
EXPECTED = [
    (15, 45, "TL001"),  # RandomForestClassifier(n_estimators=100)
    (16, 9, "TL002"),  # train_test_split without random_state
    (17, 54, "TL002"),  # KFold(shuffle=True, random_state=None)
    (18, 9, "TL003"),  # np.random.rand before any seeding call
    (19, 8, "TL003"),  # random.random
    (20, 11, "TL003"),  # torch.rand without generator
    (21, 9, "TL003"),  # np.random.default_rng() without a seed
    (22, 13, "TL004"),  # for over a set literal
    (24, 16, "TL004"),  # list(set(...))
    (25, 9, "TL005"),  # os.listdir
    (26, 9, "TL005"),  # glob.glob
    (28, 44, "TL006"),  # time.time() through a name into random_state
    (38, 19, "TL004"),  # ",".join(a set)
    (40, 43, "TL006"),  # uuid4 through a name into random_state
    (45, 20, "TL006"),  # datetime.now() into np.random.seed, inside a function
    (46, 18, "TL005"),  # Path.iterdir() in a for loop
]


@pytest.fixture
def lint(tmp_path, capsys, monkeypatch):
    """`trainlock lint ARGS` in-process, from a folder without a pyproject.toml."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        capsys.readouterr()
        code = main(["lint", *map(str, args)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_each_rule_is_found_at_its_line(lint):
    code, out, err = lint("--json", FIXTURE)
    assert code == 1
    report = json.loads(out)
    assert [(f["line"], f["col"], f["code"]) for f in report["findings"]] == EXPECTED
    assert {f["code"] for f in report["findings"]} == set(RULES)
    assert report["files"] == 1 and report["ok"] is False


def test_text_output_is_file_line_col_code_message(lint):
    code, out, err = lint(FIXTURE)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(EXPECTED)
    assert lines[0] == (
        f"{FIXTURE}:15:45 TL001 RandomForestClassifier(n_estimators=100) hard-codes a hyperparameter; "
        "read it from the config (run.config) so the config stays the single source of truth"
    )
    assert lines[11].startswith(
        f"{FIXTURE}:28:44 TL006 time.time() flows into RandomForestClassifier(random_state=...);"
    )
    assert lines[14].startswith(f"{FIXTURE}:45:20 TL006 datetime.datetime.now() flows into numpy.random.seed();")
    assert err.strip() == f"{len(EXPECTED)} finding(s) in 1 file(s)"


def test_the_projects_examples_are_clean(lint):
    code, out, err = lint(ROOT / "examples")
    assert (code, out) == (0, ""), out


@pytest.mark.parametrize(
    "source, expected",
    [
        # seeded, sorted, through the config: nothing to say
        ("import numpy as np\nrng = np.random.default_rng(7)\nx = rng.random(3)\n", []),
        ("import os\nfiles = os.listdir('.')\nfiles.sort()\n", []),
        ("import random\nrandom.seed(1)\nx = random.random()\n", []),
        ("import trainlock\nimport numpy as np\nrun = trainlock.current_run()\nx = np.random.rand(2)\n", []),
        ("s = {1, 2}\nn = len(s)\ntotal = sorted(x for x in s)\n", []),
        ("from sklearn.svm import SVC\nm = SVC(C=cfg['C'], random_state=seed, **extra)\n", []),
        ("from sklearn.model_selection import KFold\nk = KFold(n_splits=n)\n", []),
        ("import time\nstart = time.time()\nprint(time.time() - start)\n", []),
        # the same mistakes in other spellings
        ("from numpy.random import rand\nx = rand(3)\n", [(2, "TL003")]),
        ("import numpy.random as npr\nx = npr.permutation(4)\n", [(2, "TL003")]),
        ("from torch.optim import SGD\nopt = SGD(params, lr=0.1)\n", [(2, "TL001")]),
        (
            "from sklearn.neural_network import MLPClassifier\nm = MLPClassifier(hidden_layer_sizes=(64, 32), random_state=1)\n",
            [(2, "TL001")],
        ),
        ("s = set(names)\nout = [n.upper() for n in s]\n", [(2, "TL004")]),
        ("from pathlib import Path\nfirst = next(iter(Path('d').rglob('*.csv')))\n", [(2, "TL005")]),
    ],
)
def test_rule_cases(source, expected):
    assert [(f.line, f.code) for f in scan_source(source, "case.py")] == expected


def test_suppression_comment_silences_only_its_codes(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(
        "import numpy as np\nimport os\n"
        "x = np.random.rand(2)  # trainlock: ignore[TL003]\n"
        "y = np.random.rand(2)  # trainlock: ignore[TL005]\n"
        "z = os.listdir('.')  # trainlock: ignore[TL003, TL005]\n"
        "w = '# trainlock: ignore[TL003]'; v = np.random.rand(1)\n"
    )
    report = lint_paths([path], settings=settings_from({}))
    assert [(f.line, f.code) for f in report.findings] == [(4, "TL003"), (6, "TL003")]


def test_rule_selection_comes_from_pyproject(lint, tmp_path):
    shutil.copy(FIXTURE, tmp_path / "cases.py")
    (tmp_path / "pyproject.toml").write_text('[tool.trainlock.lint]\nselect = ["TL003", "TL005"]\nignore = ["TL005"]\n')
    code, out, err = lint("--json", "cases.py")
    assert code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} == {"TL003"}
    assert json.loads(out)["rules"] == ["TL003"]


def test_a_clean_selection_exits_zero(lint, tmp_path):
    shutil.copy(FIXTURE, tmp_path / "cases.py")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.trainlock.lint]\nignore = ["TL001", "TL002", "TL003", "TL004", "TL005", "TL006"]\n'
    )
    assert lint("cases.py") == (0, "", "")


@pytest.mark.parametrize(
    "section, message",
    [
        ({"select": ["TL999"]}, "[tool.trainlock.lint] select: unknown rule(s) TL999; known: TL001, TL002"),
        ({"ignore": "TL001"}, "[tool.trainlock.lint] ignore must be a list of rule codes"),
        ({"exclude": []}, "[tool.trainlock.lint]: unknown key(s) exclude; use select and ignore"),
    ],
)
def test_bad_lint_settings_name_the_key(section, message):
    with pytest.raises(ConfigError, match=None) as caught:
        settings_from(section)
    assert str(caught.value).startswith(message)


def test_bad_pyproject_is_bad_input(lint, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlock.lint]\nselect = ["TL999"]\n')
    (tmp_path / "a.py").write_text("x = 1\n")
    code, out, err = lint("a.py")
    assert code == 2 and "unknown rule(s) TL999" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "trainlock: error: lint path missing.py does not exist; pass Python files or folders"),
        ("def broken(:\n", "trainlock: error: missing.py:1: cannot parse"),
    ],
)
def test_unreadable_input_is_bad_input(lint, tmp_path, content, message):
    if content is not None:
        (tmp_path / "missing.py").write_text(content)
    code, out, err = lint("missing.py")
    assert code == 2
    assert err.startswith(message)


def test_folders_are_scanned_in_sorted_order(tmp_path):
    for name in ("b.py", "a.py", "sub/c.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("import random\nx = random.random()\n")
    (tmp_path / "notes.txt").write_text("random.random()\n")
    report = lint_paths([tmp_path], settings=settings_from({}))
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in report.findings] == ["a.py", "b.py", "sub/c.py"]
