"""HTML reports of runs: one self-contained file per run, or several runs compared.

The functions return the document as a string; writing it (atomically) is the caller's choice.
Charts need matplotlib (``pip install 'trainlock[report]'``); without it a
:class:`~trainlock.report.errors.ReportExtraMissing` says so in one line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .. import atomic
from ..run import RunFolder
from ..store import Store
from .charts import require_matplotlib
from .compare import compare_body
from .errors import ReportError
from .load import RunView, load_run
from .markup import page
from .run import RunHref, run_body

__all__ = ["compare_report", "report_views", "run_report", "write_report"]


def run_report(
    run: str | RunFolder,
    *,
    store: Store,
    rehash: bool = False,
    run_href: RunHref | None = None,
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """The report of one run (a run folder, or a reference ``store`` finds) as a complete HTML document.

    ``store`` is the run's store: verify checks its ledger line and finds the parent runs in it.
    ``rehash`` re-reads the dataset for verify instead of trusting the store's stat cache (the
    web UI sets it: the cache lives in the store, which the UI never writes). ``run_href`` turns
    run ids into links (the web UI); a file report has none.
    """
    require_matplotlib()  # fail before any work, with the one-line hint
    view = load_run(run if isinstance(run, RunFolder) else store.find(run))
    return page(f"trainlock run {view.run_id}", run_body(view, store=store, rehash=rehash, run_href=run_href), nav=nav)


def compare_report(
    runs: Sequence[str | RunFolder],
    *,
    store: Store,
    run_href: RunHref | None = None,
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    """Runs side by side, each diffed against the first, with the spread across seeds of each replicate group."""
    require_matplotlib()
    views = report_views(runs, store=store)
    if len(views) < 2:
        raise ReportError(f"compare needs at least two runs, found {len(views)}; name two or more run ids")
    return page(f"trainlock compare {len(views)} runs", compare_body(views, store=store, run_href=run_href), nav=nav)


def report_views(runs: Sequence[str | RunFolder], *, store: Store) -> list[RunView]:
    """What the report shows of each run, in the order given; a run named twice is shown once."""
    folders = [run if isinstance(run, RunFolder) else store.find(run) for run in runs]
    seen: dict[str, RunFolder] = {}
    for folder in folders:
        seen.setdefault(folder.run_id, folder)
    return [load_run(folder) for folder in seen.values()]


def write_report(document: str, out: str | os.PathLike[str]) -> str:
    """Write ``document`` atomically to ``out`` (its folder must exist); returns the path written."""
    target = Path(out)
    if target.is_dir():
        raise ReportError(f"--out {out} is a folder; name a file, e.g. {Path(out) / 'report.html'}")
    if not target.parent.is_dir():
        raise ReportError(f"--out {out}: folder {target.parent} does not exist; create it or choose another path")
    atomic.write_text(target, document)
    return str(target)
