"""The web UI's own pages: the run list (filters, replicate groups) and error pages.

No scripts: filtering and choosing runs to compare are plain GET forms, so the pages work
with JavaScript off and the content security policy can forbid scripts altogether.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..index import RunSummary
from ..ops.runs import group_by_replicate
from ..report.markup import Safe, badge, card, esc, join, link, page, short, tag, void
from .catalog import Listing

NAV = (("/", "runs"),)


def run_href(run_id: str) -> str:
    return f"/runs/{run_id}"


def compare_href(run_ids: list[str]) -> str:
    return "/compare?" + urlencode([("run", run_id) for run_id in run_ids])


def run_list(listing: Listing, query: Mapping[str, str], store: str) -> str:
    grouped = query.get("group") == "replicate"
    body = [
        tag("h1", "Runs"),
        tag("p", f"store {store}: showing {len(listing.runs)} of {listing.total} runs", class_="muted", id="count"),
        card("Filter", _filters(listing, query)),
    ]
    if grouped:
        body.append(card("Replicate groups", _grouped(listing.runs), id="runs"))
    else:
        body.append(card("Runs", _table(listing.runs), id="runs"))
    return page("trainlock runs", join(body), nav=NAV)


def _filters(listing: Listing, query: Mapping[str, str]) -> Safe:
    def select(name: str, values: list[str]) -> Safe:
        options = [tag("option", "any", value="")]
        options += [tag("option", v, value=v, selected="selected" if query.get(name) == v else None) for v in values]
        return tag("label", name, tag("select", *options, name=name))

    return tag(
        "form",
        tag(
            "label",
            "search",
            void("input", type="search", name="q", value=query.get("q") or "", placeholder="run id or model"),
        ),
        select("kind", listing.kinds),
        select("status", listing.statuses),
        select("model", listing.models),
        tag("label", "seed", void("input", type="text", name="seed", value=query.get("seed") or "", size="6")),
        tag(
            "label",
            "group",
            tag(
                "select",
                tag("option", "none", value=""),
                tag(
                    "option",
                    "replicates",
                    value="replicate",
                    selected="selected" if query.get("group") == "replicate" else None,
                ),
                name="group",
            ),
        ),
        tag("button", "apply", type="submit"),
        link("/", "clear"),
        class_="filters",
        method="get",
        action="/",
        id="filters",
    )


def _row(summary: RunSummary) -> Safe:
    value = f"{summary.metric} {summary.value:.4f}" if summary.metric and isinstance(summary.value, float) else ""
    status_kind = {"complete": "ok", "running": "warn"}.get(summary.status, "bad")
    run = (
        link(run_href(summary.run_id), summary.run_id, class_="run-link")
        if summary.status == "complete"
        else esc(summary.run_id)
    )
    return tag(
        "tr",
        tag(
            "td",
            void(
                "input",
                type="checkbox",
                name="run",
                value=summary.run_id,
                disabled="disabled" if summary.status != "complete" else None,
            ),
        ),
        tag("td", run, class_="mono"),
        tag("td", (summary.started_utc or "")[:19].replace("T", " ")),
        tag("td", summary.kind),
        tag("td", badge(summary.status, status_kind)),
        tag("td", summary.seed, class_="num"),
        tag("td", summary.model),
        tag("td", value),
        tag("td", short(summary.replicate_key)),
        class_="run",
        data_run=summary.run_id,
    )


_HEAD = ("", "run", "started (UTC)", "kind", "status", "seed", "model", "test metric", "replicate key")


def _table(runs: list[RunSummary]) -> Safe:
    if not runs:
        return tag("p", "no runs match", class_="muted")
    head = tag("tr", *(tag("th", h) for h in _HEAD))
    rows = [_row(summary) for summary in reversed(runs)]  # newest first, as people look for the last run
    return tag(
        "form",
        tag("table", tag("thead", head), tag("tbody", *rows), id="run-table"),
        tag("p", tag("button", "compare selected", type="submit")),
        method="get",
        action="/compare",
    )


def _grouped(runs: list[RunSummary]) -> Safe:
    if not runs:
        return tag("p", "no runs match", class_="muted")
    by_id = {summary.run_id: summary for summary in runs}
    parts: list[Any] = []
    for group in group_by_replicate(runs):
        spread = (
            f"{group.metric} {group.mean:.4f} ± {group.std:.4f}"
            if group.std is not None
            else f"{group.metric} {group.mean:.4f}"
            if group.mean is not None
            else ""
        )
        complete = [run_id for run_id in group.runs if by_id[run_id].status == "complete"]
        compare = (
            link(compare_href(complete), "compare this group", class_="compare-group") if len(complete) > 1 else ""
        )
        count = f"{len(group.runs)} run{'s' if len(group.runs) != 1 else ''}"
        seeds = f", seeds {', '.join(map(str, group.seeds))}" if group.seeds else ""
        title = (
            f"replicate group {group.replicate_key[:12]}: {count}{seeds}"
            if group.replicate_key
            else f"without a replicate key (sweeps, predictions): {count}"
        )
        parts.append(tag("h3", title, " ", tag("span", spread, class_="muted"), " ", compare))
        head = tag("tr", *(tag("th", h) for h in _HEAD))
        parts.append(
            tag("table", tag("thead", head), tag("tbody", *(_row(by_id[r]) for r in group.runs)), class_="group")
        )
    parts.append(tag("p", tag("button", "compare selected", type="submit")))
    return tag("form", *parts, method="get", action="/compare")


def error_page(status: int, message: str) -> str:
    return page(f"trainlock: {status}", card(f"{status}", tag("p", message)), nav=NAV)
