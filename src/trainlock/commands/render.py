"""Output that more than one command writes: JSON documents, the diff of two runs, the progress bar."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def print_json(document: Any) -> None:
    """A ``--json`` document on stdout: indented, keys sorted, anything else as its ``str``."""
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def first_few(descriptions: Sequence[str], shown: int = 5) -> str:
    """``a, b, c, d, e and 3 more``: the start of a long list for a one-line summary."""
    more = f" and {len(descriptions) - shown} more" if len(descriptions) > shown else ""
    return ", ".join(descriptions[:shown]) + more


def render_diff(report: Any) -> None:
    """The lines of ``trainlock diff`` (and of ``reproduce``, which diffs the two runs)."""
    print(f"{report.run_a} vs {report.run_b}: {report.level}")
    for cause in report.causes:
        print(f"  cause     {cause}")
    for change in report.dataset:
        print(f"  dataset   {change.key}: {change.a} -> {change.b}")
    if report.seed is not None:
        print(f"  seed      {report.seed.a} -> {report.seed.b}")
    for change in report.config:
        print(f"  config    {change.key}: {change.a!r} -> {change.b!r}")
    for change in report.code:
        print(f"  code      {change.key}: {change.a} -> {change.b}")
    for change in report.environment[:20]:
        print(f"  env       {change.key}: {change.a} -> {change.b}")
    step = report.first_divergence
    if step is not None:
        measure = ""
        if step.max_abs is not None:
            measure = (
                f" (max abs {step.max_abs:.3g}, max rel {step.max_rel:.3g}, {step.max_ulp} ulp, "
                f"{step.n_differing} of {step.n_values} values differ)"
            )
        print(f"  diverges  at step {step.step}: {step.status}{measure}")
        later = [s.step for s in report.steps if s.status != "equal"][1:]
        if later:
            print(
                f"  then      {len(later)} later steps differ: {', '.join(later[:6])}{' ...' if len(later) > 6 else ''}"
            )
    shared = [key for key in ("strict_key", "replicate_key") if key not in {c.key for c in report.identity}]
    if report.identity:
        print(
            f"  identity  differs in {', '.join(c.key for c in report.identity)}"
            + (f"; shares {', '.join(shared)}" if shared else "")
        )
    for change in report.fingerprints:
        print(f"  fprint    {change.key}: {str(change.a)[:16]} -> {str(change.b)[:16]}")
    for change in report.metrics[:10]:
        print(f"  metric    {change.key}: {change.a} -> {change.b}")
    verdict = "equivalent" if report.equivalent else "not equivalent"
    print(f"{verdict} at level {report.requested}")


def progress_of(args: argparse.Namespace) -> RichProgress | None:
    """A progress bar for a long computation, unless ``--quiet``, ``--json`` or stderr is not a terminal."""
    if args.quiet or args.json or not sys.stderr.isatty():
        return None
    return RichProgress()


class RichProgress:
    """A progress bar on stderr, shown only on a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
