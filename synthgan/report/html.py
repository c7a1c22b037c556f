"""One self-contained HTML page per report: inline CSS, inline SVG, no scripts, no network."""

from __future__ import annotations

import numbers
import re

from synthgan.report.section import Figure, Section, Table
from synthgan.report.svg import esc, fmt, render

CSS = """
:root{--ink:#1d2430;--muted:#5b6473;--line:#dde2ea;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:21px;margin:0 0 6px}h3{font-size:15px;margin:18px 0 8px;color:var(--muted)}
header,section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 18px}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 14px;padding:0;list-style:none}
.chips li{background:var(--bg);border:1px solid var(--line);border-radius:14px;padding:2px 10px;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card a{color:var(--ink);font-weight:600;text-decoration:none}
.card p{margin:6px 0 0;font-size:13px;color:var(--muted)}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;vertical-align:middle;margin-left:6px;background:#e6e8ec;color:#444}
.badge.good,.badge.helped{background:#dcf2e3;color:#17603a}.badge.fair,.badge.no-clear-change{background:#fdf0d5;color:#7a5300}
.badge.poor,.badge.hurt{background:#fbdede;color:#8f1d1d}
.summary{margin:4px 0 12px}
.headline{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px;margin:0 0 8px}
.metric{background:var(--bg);border-radius:8px;padding:8px 12px}
.metric .v{font-size:22px;font-weight:650}.metric .l{font-size:13px;font-weight:600}.metric p{margin:3px 0 0;font-size:12px;color:var(--muted)}
.grid{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;overflow-x:auto}.ftitle{font-size:12px;font-weight:600;margin:0 0 4px}
img.pic{image-rendering:pixelated;max-width:100%;border:1px solid var(--line)}figcaption{font-size:12px;color:var(--muted);max-width:640px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:3px 10px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:var(--bg)}
details{margin:6px 0}summary{cursor:pointer;color:var(--muted);font-weight:600}
.notes{color:var(--muted);font-size:13px;padding-left:18px}
footer{color:var(--muted);font-size:12px;text-align:center}
"""


def _slug(key: str) -> str:
    return "section-" + (re.sub(r"[^a-z0-9]+", "-", str(key).lower()).strip("-") or "x")


def _badge(verdict: str | None) -> str:
    if not verdict:
        return ""
    cls = re.sub(r"[^a-z]+", "-", verdict.lower()).strip("-")
    return f'<span class="badge {esc(cls)}">{esc(verdict)}</span>'


def _cell(value) -> str:
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return f'<td class="n">{esc(fmt(value))}</td>'
    return f"<td>{esc(fmt(value))}</td>"


def table_html(table: Table) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    note = f'<p class="notes">{esc(table.note)}</p>' if table.note else ""
    inner = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    if table.collapsed:
        return f"<details><summary>{esc(table.title)} ({len(table.rows)} rows)</summary>{inner}</details>"
    return f"<h3>{esc(table.title)}</h3>{inner}"


def _image_html(figure: Figure) -> str:
    """The PNG inline as a data: URI (base64 has no characters that need escaping in an attribute)."""
    assert re.fullmatch(r"[A-Za-z0-9+/=]*", figure.png), "png must be base64"
    return (
        f'<div class="ftitle">{esc(figure.title)}</div>'
        f'<img class="pic" alt="{esc(figure.title)}" src="data:image/png;base64,{figure.png}">'
    )


def _figure_html(figure: Figure) -> str:
    caption = f"<figcaption>{esc(figure.caption)}</figcaption>" if figure.caption else ""
    body = _image_html(figure) if figure.kind == "image" else render(figure)
    return f"<figure>{body}{caption}</figure>"


def _figures_html(figures: list[Figure]) -> str:
    groups: dict[str, list[Figure]] = {}
    for figure in figures:
        groups.setdefault(figure.group, []).append(figure)
    out = []
    for group, members in groups.items():
        if group:
            out.append(f"<h3>{esc(group)}</h3>")
        out.append('<div class="grid">' + "".join(_figure_html(f) for f in members) + "</div>")
    return "".join(out)


def headline_html(section: Section) -> str:
    items = "".join(
        f'<div class="metric"><div class="v">{esc(fmt(h.value))}</div><div class="l">{esc(h.label)}</div>'
        + (f"<p>{esc(h.meaning)}</p>" if h.meaning else "")
        + "</div>"
        for h in section.headline
    )
    return f'<div class="headline">{items}</div>' if items else ""


def section_html(section: Section) -> str:
    notes = "".join(f"<li>{esc(n)}</li>" for n in section.notes)
    return (
        f'<section id="{_slug(section.key)}"><h2>{esc(section.title)}{_badge(section.verdict)}</h2>'
        f'<p class="summary">{esc(section.summary)}</p>{headline_html(section)}'
        f"{_figures_html(section.figures)}{''.join(table_html(t) for t in section.tables)}"
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + "</section>"
    )


def _chip(name: str, value) -> str:
    if isinstance(value, dict):
        value = ", ".join(f"{v} {k}" for k, v in value.items())
    return f"<li><b>{esc(name)}</b>: {esc(fmt(value))}</li>"


def page(title: str, dataset: dict, sections: list[Section], footer: str) -> str:
    chips = "".join(_chip(k, v) for k, v in dataset.items())
    cards = "".join(
        f'<div class="card"><a href="#{_slug(s.key)}">{esc(s.title)}</a>{_badge(s.verdict)}<p>{esc(s.summary)}</p></div>'
        for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f'<header><h1>{esc(title)}</h1><ul class="chips">{chips}</ul><div class="cards">{cards}</div></header>'
        + "".join(section_html(s) for s in sections)
        + f"<footer>{esc(footer)}</footer></main></body></html>\n"
    )
