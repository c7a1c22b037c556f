"""The :class:`Report`: an ordered list of sections, as text, a dict, JSON or one HTML page."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from synthgan.errors import InputFileError
from synthgan.io import atomic_path
from synthgan.report import html as html_page
from synthgan.report.section import Section, plain
from synthgan.report.svg import esc, fmt

FORMAT = "synthgan-report"
FORMAT_VERSION = 1
#: headline numbers shown per section in :meth:`Report.summary`
SUMMARY_HEADLINES = 4


class Summary(str):
    """Text that shows as itself in a REPL or a notebook, not as a quoted string."""

    def __repr__(self) -> str:
        return str(self)


@dataclass
class Report:
    """What :func:`synthgan.evaluate` returns: one section per metric family.

    Sections are added in order (:meth:`add`); later metric families (privacy, bias,
    diversity) add theirs the same way. ``dataset`` describes the tables compared.

    Examples
    --------
    >>> from synthgan.report import Report, Section
    >>> report = Report("demo", {"rows": 3}).add(Section("x", "X", "Nothing measured."))
    >>> [s.key for s in report.sections]
    ['x']
    """

    title: str
    dataset: dict = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    versions: dict = field(default_factory=dict)

    def add(self, section: Section) -> "Report":
        if any(s.key == section.key for s in self.sections):
            raise ValueError(f"the report already has a section {section.key!r}")
        self.sections.append(section)
        return self

    def __getitem__(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"no section {key!r}; the report has {[s.key for s in self.sections]}")

    def __contains__(self, key: str) -> bool:
        return any(s.key == key for s in self.sections)

    # -- text -----------------------------------------------------------------------------
    def summary(self) -> Summary:
        """A short text table: one line per section with its verdict and headline numbers."""
        shape = ", ".join(f"{k} {v}" for k, v in self.dataset.items() if not isinstance(v, dict))
        width = max([len(s.title) for s in self.sections] + [7])
        lines = [self.title, shape, ""]
        lines.append(f"{'section':<{width}}  {'verdict':<15}  headline")
        for s in self.sections:
            heads = " \u00b7 ".join(f"{h.label} {fmt(h.value)}" for h in s.headline[:SUMMARY_HEADLINES])
            lines.append(f"{s.title:<{width}}  {s.verdict or '':<15}  {heads or s.summary}")
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {', '.join(s.key for s in self.sections)}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><b>{esc(s.title)}</b></td><td>{html_page._badge(s.verdict)}</td>"
            f"<td>{esc(s.summary)}</td></tr>"
            for s in self.sections
        )
        heads = "".join(html_page.headline_html(s) for s in self.sections)
        return (
            f'<div class="synthgan-report"><style>{_NOTEBOOK_CSS}</style>'
            f"<b>{esc(self.title)}</b><table>{rows}</table>{heads}"
            "<p><i>report.to_html(path) writes the full page with every plot.</i></p></div>"
        )

    # -- dict / JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "title": self.title,
            "dataset": plain(self.dataset),
            "versions": plain(self.versions),
            "sections": [s.to_dict() for s in self.sections],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputFileError("not a synthgan report (no 'format': 'synthgan-report' field)")
        if data.get("version") != FORMAT_VERSION:
            raise InputFileError(
                f"report format version {data.get('version')!r} is not supported (this synthgan reads {FORMAT_VERSION})"
            )
        return cls(
            title=data["title"],
            dataset=dict(data.get("dataset", {})),
            sections=[Section.from_dict(s) for s in data.get("sections", [])],
            versions=dict(data.get("versions", {})),
        )

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The report as JSON text; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)
        if path is not None:
            with atomic_path(path) as tmp:
                tmp.write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Report":
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(f"cannot read report {str(path)!r}: {exc}") from None

    # -- HTML -----------------------------------------------------------------------------
    def html(self) -> str:
        footer = (
            "Made by "
            + ", ".join(f"{k} {v}" for k, v in self.versions.items())
            + ". Self-contained: no network needed."
        )
        return html_page.page(self.title, self.dataset, self.sections, footer)

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the report as one self-contained HTML file (atomically)."""
        text = self.html()
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path)


_NOTEBOOK_CSS = """
.synthgan-report{font-family:system-ui,sans-serif}
.synthgan-report td{padding:2px 8px;text-align:left}
.synthgan-report .headline{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0}
.synthgan-report .metric{background:#f3f4f6;border-radius:6px;padding:4px 10px;min-width:150px}
.synthgan-report .metric .v{font-size:18px;font-weight:600}
.synthgan-report .metric p{display:none}
.synthgan-report .badge{border-radius:8px;padding:0 7px;background:#e6e8ec}
.synthgan-report .badge.good,.synthgan-report .badge.helped{background:#dcf2e3}
.synthgan-report .badge.fair{background:#fdf0d5}
.synthgan-report .badge.poor,.synthgan-report .badge.hurt{background:#fbdede}
"""
