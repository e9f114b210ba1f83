"""`trainlock run -- COMMAND` and `trainlock lint PATH ...`: parse, one library call, render.

Nothing heavy is imported here: the library modules load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_FINDINGS = 0, 1


def register(subparsers: Any, *, common: argparse.ArgumentParser, reporting: argparse.ArgumentParser) -> None:
    run = subparsers.add_parser(
        "run", parents=[common, reporting], help="run your own training command as a verifiable run",
        description="Run COMMAND inside the envelope and record it as a run folder: config snapshot, hashed "
                    "inputs and outputs, captured output, environment and lineage. The command finds its run "
                    "folder, seed and config in TRAINLOCK_RUN_DIR, TRAINLOCK_SEED and TRAINLOCK_CONFIG, or "
                    "through trainlock.current_run(). A non-zero exit is a failed run; its code is passed through.",
        usage="trainlock run [options] -- COMMAND [ARG ...]",
    )
    run.add_argument("--config", dest="configs", action="append", default=[], metavar="C",
                     help="YAML config for the command (repeatable, merged in order)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config value")
    run.add_argument("--seed", type=int, default=None, metavar="N", help="the base seed (default: the config's seed, else 0)")
    run.add_argument("--in", dest="inputs", action="append", default=[], metavar="PATH",
                     help="an input file or folder, hashed before the command starts (repeatable)")
    run.add_argument("--out", dest="outputs", action="append", default=[], metavar="PATH",
                     help="an output file or folder, hashed after the command ends (repeatable)")
    run.add_argument("--name", default=None, help="a name for the run")
    run.add_argument("--parent", default=None, metavar="RUN",
                     help="the run this one builds on (inputs inside a run folder name theirs already)")
    run.add_argument("--run-dir", default=None, metavar="DIR",
                     help="write the run folder at DIR (absent or empty) instead of a new folder of the store")
    run.add_argument("--quiet", action="store_true", help="do not echo the command's output")
    run.add_argument("wrapped", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(handler=_run, command="run", enveloped=True, wraps_command=True)

    lint = subparsers.add_parser(
        "lint", parents=[common, reporting], help="find code that breaks reproducibility",
        description="Scan Python files for hard-coded hyperparameters, estimators without random_state, "
                    "unseeded global random generators, set iteration order, unsorted directory listings and "
                    "wall-clock time or uuid4 flowing into training. Suppress a line with "
                    "'# trainlock: ignore[CODE]'; choose rules under [tool.trainlock.lint] in pyproject.toml.",
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders")
    lint.set_defaults(handler=_lint, command="lint")


def _run(args: argparse.Namespace) -> int:
    from ..byoc.command import run_command

    command = list(args.wrapped)
    if command[:1] == ["--"]:
        command = command[1:]
    echo = None if args.quiet else _echo(to_stderr_only=args.json)
    result = run_command(
        command, configs=args.configs, overrides=args.overrides, seed=args.seed, inputs=args.inputs,
        outputs=args.outputs, name=args.name, parent=args.parent, store=args.store, run_dir=args.run_dir,
        on_output=echo, argv=["trainlock", *sys.argv[1:]],
    )
    if args.json:
        print(json.dumps({"run_id": result.run_id, "run_dir": str(result.run_dir), "returncode": result.returncode,
                          "status": "complete" if result.ok else "failed"}, indent=2, sort_keys=True))
    if not result.ok:
        print(f"trainlock: the command exited with code {result.returncode}; run {result.run_id} is recorded as "
              f"failed (its output: {result.run_dir / 'stderr.log'})", file=sys.stderr)
        return result.returncode
    if not args.json:
        steps = len(result.lineage.trace) if result.lineage else 0
        print(f"run {result.run_id} complete ({steps} checkpoints)")
        print(f"  folder   {result.run_dir}")
        print(f"  verify   trainlock verify {result.run_dir}")
    return EXIT_OK


def _echo(*, to_stderr_only: bool) -> Any:
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


def _lint(args: argparse.Namespace) -> int:
    from ..lint import lint_paths

    report = lint_paths(args.paths)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        for finding in report.findings:
            print(finding)
        if report.findings:
            print(f"{len(report.findings)} finding(s) in {report.files} file(s)", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FINDINGS
