"""HTML building blocks: every value is escaped unless it is :class:`Safe` (markup we generated).

The stdlib ``html`` module is enough for a handful of tables and sections; a template engine
would add a dependency for no gain. A value from a run folder (a config key, a model name, a
path) never reaches the page unescaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

#: the report loads nothing from anywhere: no scripts, no fonts, no images by URL
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'"

STYLE = """
:root { --fg:#1d2430; --muted:#5b6575; --line:#d9dee6; --bg:#f6f7f9; --ok:#1a7f37; --bad:#c62828;
        --accent:#2f5d9e; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--fg); background:var(--bg); }
header.top { background:#1d2430; color:#fff; padding:10px 24px; display:flex; gap:18px; align-items:baseline;
             flex-wrap:wrap; }
header.top a { color:#cfe0ff; text-decoration:none; }
header.top .brand { font-weight:700; letter-spacing:.02em; }
main { max-width:1180px; margin:0 auto; padding:18px 24px 48px; }
h1 { font-size:22px; margin:6px 0 4px; word-break:break-all; }
h2 { font-size:17px; margin:0 0 10px; }
h3 { font-size:14px; margin:14px 0 6px; color:var(--muted); }
section.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 18px; margin:14px 0; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:14px; }
.grid > section.card { margin:0; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f0f2f5; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
tr.best td { background:#eef6ee; }
tr.diverged td { background:#fdecea; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size:12px; }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:10px; overflow:auto;
      max-height:420px; font-size:12px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff;
         background:var(--muted); }
.badge.ok { background:var(--ok); } .badge.bad { background:var(--bad); } .badge.warn { background:#b26a00; }
.muted { color:var(--muted); }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap:3px 14px; margin:0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; word-break:break-all; }
figure.chart { margin:0; }
figure.chart svg { width:100%; height:auto; display:block; }
section.card > figure.chart { max-width:820px; }  /* a chart alone in a wide card: keep its text at reading size */
figure.chart figcaption { color:var(--muted); font-size:12px; margin-top:4px; }
.graph svg { width:100%; height:auto; display:block; }
details > summary { cursor:pointer; color:var(--accent); }
form.filters { display:flex; gap:10px; flex-wrap:wrap; align-items:end; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
form.filters input, form.filters select { font:inherit; padding:3px 6px; border:1px solid var(--line);
                                          border-radius:4px; }
button { font:inherit; padding:4px 12px; border:1px solid var(--accent); background:var(--accent); color:#fff;
         border-radius:4px; cursor:pointer; }
a { color:var(--accent); }
"""


class Safe(str):
    """Markup built here (or an SVG we rendered): inserted as is."""


def esc(value: Any) -> Safe:
    """``value`` as HTML text; :class:`Safe` passes through, ``None`` shows as an em dash."""
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe('<span class="muted">—</span>')
    return Safe(html.escape(str(value), quote=True))


def join(parts: Iterable[Any]) -> Safe:
    """The parts in a row; ``None`` parts are left out (a section the run does not have)."""
    return Safe("".join(esc(part) for part in parts if part is not None))


def _attributes(attributes: dict[str, Any]) -> str:
    return "".join(
        f' {key.rstrip("_").replace("_", "-")}="{html.escape(str(value), quote=True)}"'
        for key, value in attributes.items()
        if value is not None
    )


def tag(element: str, /, *children: Any, **attributes: Any) -> Safe:
    """``<element attr="...">children</element>``; ``class_`` stands for ``class``, ``None`` attributes are left out."""
    return Safe(f"<{element}{_attributes(attributes)}>{join(children)}</{element}>")


def void(element: str, /, **attributes: Any) -> Safe:
    """An element without content or end tag, such as ``<input>``."""
    return Safe(f"<{element}{_attributes(attributes)}>")


def link(href: str, text: Any, **attributes: Any) -> Safe:
    return tag("a", text, href=href, **attributes)


def number(value: Any, digits: int = 4) -> Any:
    """A float at fixed precision; anything else unchanged."""
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 10**-digits or value == 0 else f"{value:.3g}"
    return value


def table(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    row_classes: Sequence[str | None] | None = None,
    **attributes: Any,
) -> Safe:
    head = tag("tr", *(tag("th", h, class_="num" if i in numeric else None) for i, h in enumerate(headers)))
    body = []
    for r, row in enumerate(rows):
        cells = [tag("td", esc(number(cell)), class_="num" if i in numeric else None) for i, cell in enumerate(row)]
        body.append(tag("tr", *cells, class_=row_classes[r] if row_classes else None))
    return tag("table", tag("thead", head), tag("tbody", *body), **attributes)


def facts(pairs: Iterable[tuple[Any, Any]]) -> Safe:
    return tag("dl", *(join([tag("dt", key), tag("dd", esc(value))]) for key, value in pairs), class_="facts")


def card(title: Any, *body: Any, id: str | None = None) -> Safe:
    return tag("section", tag("h2", title), *body, class_="card", id=id)


def badge(text: str, kind: str) -> Safe:
    return tag("span", text, class_=f"badge {kind}")


def short(digest: Any, n: int = 12) -> Safe | None:
    """A hash shortened for reading, the whole value in its tooltip; ``None`` when there is none."""
    if not isinstance(digest, str) or not digest:
        return None
    return tag("span", digest[:n], class_="mono", title=digest)


def page(title: str, body: Any, *, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A complete, self-contained HTML document."""
    links = join(link(href, text) for href, text in nav)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # else browsers fetch /favicon.ico: a request, and a 404 in the console
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<header class="top"><span class="brand">trainlock</span>{links}</header>'
        f"<main>{esc(body)}</main></body></html>\n"
    )
