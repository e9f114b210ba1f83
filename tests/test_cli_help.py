"""Every command, nested ones included, explains itself and every option it takes."""

from __future__ import annotations

import argparse

import pytest

from trainlock.cli import build_parser, main, subcommands


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for name, sub in subcommands(parser).items():
        yield (*path, name), sub
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(build_parser()))


def test_the_walk_finds_nested_commands():
    assert {("train",), ("env", "check"), ("env", "verify"), ("export", "openlineage"), ("export", "mlflow")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_a_description_and_every_option_a_help(path):
    parser = COMMANDS[path]
    assert parser.description, f"'trainlock {' '.join(path)}' has no description"
    # the list of sub-commands is checked by the next test, one summary per command
    helps = {
        action.dest: action.help
        for action in parser._actions
        if action.help is not argparse.SUPPRESS and not isinstance(action, argparse._SubParsersAction)
    }
    blank = sorted(dest for dest, text in helps.items() if not (text or "").strip())
    assert blank == [], f"'trainlock {' '.join(path)}': no help for {blank}"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_lists_in_its_parent_with_a_summary(path):
    parent = build_parser()
    for name in path[:-1]:
        parent = subcommands(parent)[name]
    listing = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction))
    summaries = {choice.dest: choice.help for choice in listing._choices_actions}
    assert (summaries.get(path[-1]) or "").strip(), f"'trainlock {' '.join(path)}' has no summary in its parent's help"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_help_exits_0_and_prints_the_description(path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: trainlock {' '.join(path)}")
    first_words = " ".join(COMMANDS[path].description.split()[:3])
    assert first_words in " ".join(out.split())


def test_top_level_help_lists_every_command_and_global_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--debug", "--store", "--storage-option", "--json", "--quiet", "--version"):
        assert option in out
    for name, *_ in COMMANDS:
        assert f"    {name} " in out or f"    {name}\n" in out


def test_building_the_parser_imports_no_library_layer():
    """Help must stay fast: a command imports its library half only when it runs."""
    import subprocess
    import sys

    code = (
        "import sys; from trainlock.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'numpy', 'pandas', 'rich') "
        "or m.startswith(('trainlock.ops', 'trainlock.store', 'trainlock.supply', 'trainlock.lineage'))))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_no_option_overwrites_what_the_boundary_reads(path):
    """An argument with one of these dests would replace the value the boundary reads (RUN once replaced func)."""
    reserved = {"func", "command", "enveloped", "wraps_command", "group_parser", "argv", "opened_store"}
    assert {action.dest for action in COMMANDS[path]._actions} & reserved == set()
