"""The command line's boundary: the list of commands, the global options, the one place errors become exit codes.

Each command lives in ``trainlock.commands.<verb>``: ``register(subparsers, parents)``
parses, ``run(args)`` makes one library call and renders it. Exit codes are
:class:`trainlock.errors.ExitCode`. The command modules import nothing heavy, so that
``trainlock --help`` stays fast (benchmarks: ``help_start_s``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any

from . import __version__
from .commands import (
    attest,
    check,
    container,
    diff,
    env,
    export,
    gc,
    index,
    keygen,
    lint,
    predict,
    report,
    reproduce,
    run,
    runs,
    sbom,
    sweep,
    train,
    ui,
    verify,
)
from .commands.common import add_global_options, parents, settle_global_options
from .errors import ExitCode, TrainlockError

#: every command, in the order `trainlock --help` lists them
COMMANDS = (
    train,
    verify,
    predict,
    diff,
    reproduce,
    check,
    sweep,
    runs,
    index,
    gc,
    run,
    lint,
    env,
    sbom,
    container,
    keygen,
    attest,
    report,
    ui,
    export,
)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; ``argv=None`` means the real command line (and allows re-executing)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    options, wrapped = split_wrapped_command(arguments)
    args, unrecognized = parser.parse_known_args(options)
    if args.command is None and not unrecognized:
        parser.print_help()
        return ExitCode.BAD_INPUT
    if args.command is not None:
        refused = settle_global_options(args, verb_parser(parser, args.command), unrecognized)
        if refused is not None:
            print(
                f"trainlock: error: 'trainlock {args.command}' does not take {refused}; drop it "
                f"(see trainlock {args.command} --help)",
                file=sys.stderr,
            )
            return ExitCode.BAD_INPUT
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")  # as parse_args() says it
    if wrapped is not None:
        if not args.wraps_command:
            parser.error(f"'trainlock {args.command}' takes no command after --")
        args.wrapped = wrapped
    args.argv = ["trainlock", *arguments]  # as recorded in the run's lineage
    if argv is None and args.enveloped:
        _reexec_into_envelope(arguments)
    previous_handler = _terminate_as_interrupt()
    try:
        return _run_command(args)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainlock",
        description="Reproducible, auditable training: same data + same config => same model, with a proof. "
        "The options below may also follow the command's name, where the command takes them.",
    )
    add_global_options(parser)
    parser.add_argument("--version", action="version", version=f"trainlock {__version__}")
    parser.set_defaults(command=None, enveloped=False, wraps_command=False)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers, parents)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of a parser's commands by name (none for a command without sub-commands)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def verb_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of ``command``, e.g. ``"env check"``."""
    for name in command.split():
        parser = subcommands(parser)[name]
    return parser


def split_wrapped_command(arguments: list[str]) -> tuple[list[str], list[str] | None]:
    """Everything after the first ``--`` is a command to wrap (``run``, ``check``), not our options."""
    if "--" not in arguments:
        return arguments, None
    index = arguments.index("--")
    return arguments[:index], arguments[index + 1 :]


# -- the one error boundary ---------------------------------------------------------------


def _run_command(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except TrainlockError as exc:
        if args.debug:
            raise
        print(f"trainlock: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # a bare KeyboardInterrupt (Ctrl-C) has no text; Terminated says which signal
        print(
            f"trainlock: {str(exc) or 'interrupted (Ctrl-C)'}; any run in progress was recorded as failed",
            file=sys.stderr,
        )
        return ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # the one boundary: anything else is a bug, shown briefly
        if args.debug:
            raise
        print(
            f"trainlock: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL


# -- signals and the process envelope -------------------------------------------------------


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run in progress records a `failed` event."""


def _terminate_as_interrupt() -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated("terminated by SIGTERM")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner's worker thread)
        return None


def _reexec_into_envelope(arguments: list[str]) -> None:
    """Set the variables that only work before start-up, by re-executing this command once."""
    from .envelope import REEXEC_MARKER, process_env_changes

    changes = process_env_changes()
    if not changes:
        return
    environ = {**os.environ, **changes, REEXEC_MARKER: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "trainlock", *arguments], environ)
