"""The Report: sections in, text / dict / JSON / one self-contained HTML page out."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan import Report, evaluate
from synthgan.errors import InputFileError
from synthgan.report import Figure, Headline, Section, Table
from synthgan.report import svg

ODD = "<b>x</b>"  # a column name that would be markup if it were not escaped


def make_section(key: str = "fidelity", verdict: str = "good") -> Section:
    return Section(
        key=key,
        title=f"Section {key} & co",
        summary="What it measures, in a sentence.",
        verdict=verdict,
        headline=[Headline("score", 0.8512, "1 is best."), Headline("missing", None, "not computed")],
        notes=["a note with <angle> brackets"],
        tables=[Table("scores", ("column", "score"), ((ODD, 0.5), ("âge", None)), collapsed=True)],
        figures=[
            Figure("bars", "per column", (ODD, "âge"), {"score": (0.5, None)}, domain=(0.0, 1.0)),
            Figure(
                "columns", ODD, ("a", "b", "c"), {"real": (0.2, 0.3, 0.5), "synthetic": (0.1, 0.4, 0.5)}, group="dist"
            ),
            Figure("heatmap", "corr", ("u", ODD), matrix=((1.0, -0.4), (-0.4, None)), domain=(-1.0, 1.0)),
        ],
        details={"nan": float("nan"), "array": np.arange(3), "numpy": np.float32(0.25), "inf": math.inf},
    )


@pytest.fixture
def report() -> Report:
    out = Report("A <report>", {"real rows": 10, "column kinds": {"continuous": 2}})
    return out.add(make_section()).add(make_section("utility", "poor"))


# -- dict and JSON ----------------------------------------------------------------------------


def test_section_round_trips_through_a_dict():
    section = make_section()
    data = section.to_dict()
    assert data["details"] == {"nan": None, "array": [0, 1, 2], "numpy": 0.25, "inf": None}
    assert Section.from_dict(data).to_dict() == data


def test_json_round_trips(report, tmp_path):
    path = tmp_path / "r.json"
    text = report.to_json(path)
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: NaN became null
    assert json.loads(path.read_text(encoding="utf-8")) == report.to_dict()
    again = Report.from_json(path)
    assert again.to_dict() == report.to_dict()
    assert again["utility"].verdict == "poor"


def test_reading_something_else_is_a_clear_error(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(InputFileError, match="not a synthgan report"):
        Report.from_json(tmp_path / "x.json")
    (tmp_path / "v.json").write_text('{"format": "synthgan-report", "version": 99}')
    with pytest.raises(InputFileError, match="version 99 is not supported"):
        Report.from_json(tmp_path / "v.json")


def test_sections_have_unique_keys(report):
    with pytest.raises(ValueError, match="already has a section 'utility'"):
        report.add(make_section("utility"))
    with pytest.raises(KeyError, match="no section 'privacy'"):
        report["privacy"]


# -- text -------------------------------------------------------------------------------------


def test_summary_is_a_short_text_table(report):
    text = report.summary()
    lines = text.splitlines()
    assert lines[0] == "A <report>"
    assert any(line.startswith("Section fidelity & co") and "good" in line and "score 0.851" in line for line in lines)
    assert repr(text) == str(text)  # shows as a table in a REPL or notebook, not a quoted string
    assert len(lines) <= 8


def test_notebook_html_escapes_and_has_no_page_chrome(report):
    snippet = report._repr_html_()
    assert "A &lt;report&gt;" in snippet and "<html" not in snippet


# -- HTML ---------------------------------------------------------------------------------------


def test_html_is_one_self_contained_page(report, tmp_path):
    path = report.to_html(tmp_path / "sub" / "r.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "http" not in page and "src=" not in page and "<script" not in page and "<link" not in page
    assert page.count("<svg") == 6  # three figures per section
    assert 'id="section-fidelity"' in page and 'id="section-utility"' in page
    assert "Section fidelity &amp; co" in page


def test_html_escapes_every_user_string(report):
    page = report.html()
    assert ODD not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<angle>" not in page and "<report>" not in page
    assert "âge" in page  # unicode kept as is (the file is UTF-8)


def test_failed_write_leaves_nothing(report, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        report.to_html(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_svg_charts_handle_missing_and_negative_values():
    chart = svg.bars(Figure("bars", "r2", ("linear", "trees"), {"real": (-0.5, 0.8), "synthetic": (None, 0.7)}))
    assert chart.count("<rect") == 2 + 3  # legend squares + the three known bars
    assert "n/a" in chart and "-0.500" in chart
    many = svg.columns(Figure("columns", "x", tuple(str(i) for i in range(40)), {"real": tuple([0.025] * 40)}))
    assert many.count("<rect") == 1 + 40
    heat = svg.heatmap(Figure("heatmap", "c", ("a", "b"), matrix=((1.0, None), (None, 1.0)), domain=(-1.0, 1.0)))
    assert "#eeeeee" in heat  # undefined cells are grey


def test_colours_run_from_blue_through_white_to_red():
    assert svg._colour(0.0, -1, 1) == "#ffffff"
    assert svg._colour(1.0, -1, 1) == "#b2182b"
    assert svg._colour(-1.0, -1, 1) == "#2166ac"


# -- a real report --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_report():
    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame(
        {
            ODD: rng.normal(size=n),
            "größe ±": rng.normal(size=n),
            "class": rng.choice(["a", "b"], n, p=[0.7, 0.3]),
        }
    )
    df["größe ±"] += df[ODD]
    return evaluate(
        df.iloc[:160], df.iloc[:160].sample(frac=1.0, random_state=1), df.iloc[160:], target="class", verbose=False
    )


def test_report_of_an_evaluation_has_every_part(odd_report):
    page = odd_report.html()
    for title in ("Fidelity (sdmetrics)", "Utility (train synthetic, test real)", "Augmentation lift"):
        assert title in page
    assert "Distributions, real vs synthetic" in page and "Correlations of numeric columns" in page
    assert "Trained on real vs trained on synthetic" in page
    assert ODD not in page and "http" not in page
    assert len(re.findall(r"<svg", page)) >= 3 + 2 + 1 + 1  # marginals, heatmaps, shapes, utility


def test_report_dict_schema(odd_report):
    data = json.loads(odd_report.to_json())
    assert {"format", "version", "title", "dataset", "versions", "sections"} <= set(data)
    for section in data["sections"]:
        assert {"key", "title", "summary", "verdict", "headline", "notes", "tables", "figures", "details"} <= set(
            section
        )
    fidelity = data["sections"][0]["details"]
    assert [c["column"] for c in fidelity["per_column_shapes"]] == [ODD, "größe ±", "class"]
    assert fidelity["rows_used"] == {"real": 160, "synthetic": 160, "max_rows": 5000}
