"""What a report is made of: sections holding headline numbers, tables, figures and notes.

These are plain data. A metric module describes its result as a :class:`Section`; the
renderers (:mod:`synthgan.report.html`, :mod:`synthgan.report.svg`) turn sections into a
page, and ``to_dict`` turns them into JSON. Figures are stored as the numbers they plot, not
as pictures, so the JSON carries everything the page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

#: verdict words the renderers know how to colour; any other word is shown in grey
VERDICTS = ("good", "fair", "poor", "helped", "no clear change", "hurt", "skipped")
#: figure kinds the renderers draw: SVG charts, and ``image`` (an embedded PNG)
FIGURE_KINDS = ("bars", "columns", "heatmap", "lines", "image")


def plain(value):
    """NumPy scalars/arrays, tuples and NaN -> JSON-ready Python values (NaN and inf become None)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # timestamps, categories of odd types: shown as text


@dataclass(frozen=True)
class Headline:
    """One headline number and what it means, in a sentence."""

    label: str
    value: float | str | None
    meaning: str = ""


@dataclass(frozen=True)
class Table:
    """A table of plain cells (text, numbers, None). ``collapsed``: shown folded in HTML."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    note: str = ""
    collapsed: bool = False


@dataclass(frozen=True)
class Figure:
    """A chart as data.

    kind ``bars``: one horizontal bar per label and series (scores, model comparisons);
    ``columns``: vertical bars per label and series (a distribution, real against synthetic);
    ``heatmap``: ``matrix[i][j]`` coloured over ``domain``, ``labels`` naming rows and columns;
    ``lines``: one polyline per series over the x values ``labels`` (numbers are spaced by
    value, text evenly), ``None`` leaving a gap (training curves); ``marker``, an x value,
    draws a dashed vertical line captioned ``marker_label`` (the best epoch);
    ``image``: a picture (sample grids), ``png`` holding the PNG file base64-encoded, so the
    JSON still carries everything the page shows and the page embeds it as a ``data:`` URI.
    ``value_label`` names what the values measure (the bars' axis, the heatmap's colour key).
    Figures sharing a ``group`` are laid out side by side as small multiples.
    """

    kind: str
    title: str
    labels: tuple  # text, or numbers for the x values of ``lines``
    series: dict[str, tuple] = field(default_factory=dict)
    matrix: tuple[tuple, ...] | None = None
    domain: tuple[float, float] | None = None
    caption: str = ""
    group: str = ""
    png: str = ""
    marker: float | None = None
    marker_label: str = ""
    value_label: str = ""  # what the values measure: the bars' axis title, the heatmap's colour key

    def __post_init__(self):
        assert self.kind in FIGURE_KINDS, self.kind
        assert (self.kind == "image") == bool(self.png), "an image figure, and only it, carries a png"
        assert self.marker is None or self.kind == "lines", "only a lines figure carries a marker"

    @classmethod
    def from_image(cls, image, title: str, caption: str = "", group: str = "") -> "Figure":
        """An ``image`` figure from a PIL image (stored as base64 PNG)."""
        import base64
        import io

        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        return cls("image", title, (), png=png, caption=caption, group=group)


@dataclass
class Section:
    """One part of a report: a metric family's result in words, numbers, tables and figures.

    ``details`` holds the complete result (every per-column score...) for scripts; the other
    fields are what a reader sees.
    """

    key: str
    title: str
    summary: str
    verdict: str | None = None
    headline: list[Headline] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def value(self, label: str):
        """The headline value called ``label``."""
        for item in self.headline:
            if item.label == label:
                return item.value
        raise KeyError(f"section {self.key!r} has no headline {label!r}; it has {[h.label for h in self.headline]}")

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "summary": self.summary,
            "verdict": self.verdict,
            "headline": [plain(_fields(h)) for h in self.headline],
            "notes": list(self.notes),
            "tables": [plain(_fields(t)) for t in self.tables],
            "figures": [plain(_fields(f)) for f in self.figures],
            "details": plain(self.details),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Section":
        return cls(
            key=data["key"],
            title=data["title"],
            summary=data["summary"],
            verdict=data.get("verdict"),
            headline=[Headline(**h) for h in data.get("headline", [])],
            notes=list(data.get("notes", [])),
            tables=[_table(t) for t in data.get("tables", [])],
            figures=[_figure(f) for f in data.get("figures", [])],
            details=dict(data.get("details", {})),
        )


def _fields(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _table(data: dict) -> Table:
    return Table(
        title=data["title"],
        columns=tuple(data["columns"]),
        rows=tuple(tuple(r) for r in data["rows"]),
        note=data.get("note", ""),
        collapsed=bool(data.get("collapsed", False)),
    )


def _figure(data: dict) -> Figure:
    matrix = data.get("matrix")
    domain = data.get("domain")
    return Figure(
        kind=data["kind"],
        title=data["title"],
        labels=tuple(data["labels"]),
        series={k: tuple(v) for k, v in data.get("series", {}).items()},
        matrix=tuple(tuple(r) for r in matrix) if matrix is not None else None,
        domain=tuple(domain) if domain is not None else None,
        caption=data.get("caption", ""),
        group=data.get("group", ""),
        png=data.get("png", ""),
        marker=data.get("marker"),
        marker_label=data.get("marker_label", ""),
        value_label=data.get("value_label", ""),
    )
