"""`trainlock run -- COMMAND`: run your own training command as a verifiable run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import ExitCode
from .common import Parents, Subparsers, store_of
from .render import print_json


def register(subparsers: Subparsers, parents: Parents) -> None:
    parser = subparsers.add_parser(
        "run",
        parents=parents("store", "json", quiet="do not echo the command's output"),
        help="run your own training command as a verifiable run",
        description="Run COMMAND inside the envelope and record it as a run folder: config snapshot, hashed "
        "inputs and outputs, captured output, environment and lineage. The command finds its run "
        "folder, seed and config in TRAINLOCK_RUN_DIR, TRAINLOCK_SEED and TRAINLOCK_CONFIG, or "
        "through trainlock.current_run(). A non-zero exit is a failed run; its code is passed through.",
        usage="trainlock run [options] -- COMMAND [ARG ...]",
    )
    parser.add_argument(
        "--config",
        dest="configs",
        action="append",
        default=[],
        metavar="C",
        help="YAML config for the command (repeatable, merged in order)",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one config value"
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="N", help="the base seed (default: the config's seed, else 0)"
    )
    parser.add_argument(
        "--in",
        dest="inputs",
        action="append",
        default=[],
        metavar="PATH",
        help="an input file or folder, hashed before the command starts (repeatable)",
    )
    parser.add_argument(
        "--out",
        dest="outputs",
        action="append",
        default=[],
        metavar="PATH",
        help="an output file or folder, hashed after the command ends (repeatable)",
    )
    parser.add_argument("--name", default=None, help="a name for the run")
    parser.add_argument(
        "--parent",
        default=None,
        metavar="RUN",
        help="the run this one builds on (inputs inside a run folder name theirs already)",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        metavar="DIR",
        help="write the run folder at DIR (absent or empty) instead of a new folder of the store",
    )
    parser.add_argument("wrapped", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run, command="run", enveloped=True, wraps_command=True)


def run(args: argparse.Namespace) -> int:
    from ..byoc.command import run_command

    command = list(args.wrapped)
    if command[:1] == ["--"]:
        command = command[1:]
    echo = None if args.quiet else _echo(to_stderr_only=args.json)
    result = run_command(
        command,
        configs=args.configs,
        overrides=args.overrides,
        seed=args.seed,
        inputs=args.inputs,
        outputs=args.outputs,
        name=args.name,
        parent=args.parent,
        store=store_of(args),
        run_dir=args.run_dir,
        on_output=echo,
        argv=args.argv,
    )
    if args.json:
        print_json(
            {
                "run_id": result.run_id,
                "run_dir": str(result.run_dir),
                "returncode": result.returncode,
                "status": "complete" if result.ok else "failed",
            }
        )
    if not result.ok:
        print(
            f"trainlock: the command exited with code {result.returncode}; run {result.run_id} is recorded as "
            f"failed (its output: {result.run_dir / 'stderr.log'})",
            file=sys.stderr,
        )
        return int(result.returncode)
    if not args.json:
        steps = len(result.lineage.trace) if result.lineage else 0
        print(f"run {result.run_id} complete ({steps} checkpoints)")
        print(f"  folder   {result.run_dir}")
        print(f"  verify   trainlock verify {result.run_dir}")
    return ExitCode.OK


def _echo(*, to_stderr_only: bool) -> Callable[[str, bytes], None]:
    """Pass the command's output through as it comes; with --json, stdout is ours, so all of it goes to stderr."""

    def write(stream: str, chunk: bytes) -> None:
        target = sys.stderr if to_stderr_only or stream == "stderr" else sys.stdout
        target.flush()  # keep our own earlier lines before the command's bytes
        if hasattr(target, "buffer"):
            target.buffer.write(chunk)
            target.buffer.flush()
        else:  # a text-only stream (e.g. under a test harness)
            target.write(chunk.decode("utf-8", "replace"))
            target.flush()

    return write
