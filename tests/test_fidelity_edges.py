"""Values at the edges of the real range and missing rates: known answers, and the report's use of them.

A generator that clips numbers to the observed range piles values up at the real min or max
while "data validity" reads 1.000; these tests pin down that the report now says so.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from synthgan import evaluate
from synthgan.errors import DataError
from synthgan.evaluation.edges import EdgeShare, MissingRate, edge_shares, missing_rates
from synthgan.evaluation.fidelity import EDGE_TABLE, MISSING_TABLE, _verdict, fidelity
from synthgan.evaluation.inputs import check_tables

CLIPPED = "mean radius"


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def numbers(cancer) -> list[str]:
    return [c for c in cancer.columns if c != "target"]


def shifted_and_clipped(real: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` moved down by one standard deviation, then clipped to the real minimum."""
    out = real.copy()
    values = real[column]
    out[column] = (values - values.std()).clip(lower=values.min())
    return out


def real_shares(values: pd.Series) -> tuple[float, float]:
    return float((values == values.min()).mean()), float((values == values.max()).mean())


# -- edge shares --------------------------------------------------------------------------------
@pytest.mark.parametrize("copy", ["itself", "resample"])
def test_copying_the_real_rows_scores_the_real_shares_and_flags_nothing(cancer, numbers, copy):
    synthetic = cancer if copy == "itself" else cancer.sample(frac=1, replace=True, random_state=0)
    shares = edge_shares(cancer, synthetic, numbers)
    assert [s.column for s in shares] == numbers
    assert not [s.column for s in shares if s.flagged]
    for share in shares:
        low, high = real_shares(cancer[share.column])
        assert (share.real_low, share.real_high) == (low, high)
        assert 0 < low < 1 and 0 < high < 1
    if copy == "itself":
        assert all(s.synthetic_low == s.real_low and s.synthetic_high == s.real_high for s in shares)
        assert all(s.ratio == 1.0 for s in shares)
    else:  # a resample moves the shares (by sampling noise), and still nothing is flagged
        assert any(s.synthetic_low != s.real_low or s.synthetic_high != s.real_high for s in shares)


def test_a_fresh_half_of_the_same_population_is_not_flagged(cancer, numbers):
    shares = edge_shares(cancer.iloc[::2], cancer.iloc[1::2], numbers)
    assert not [s.column for s in shares if s.flagged]


def test_clipping_a_shifted_copy_flags_that_column_with_the_hand_computed_shares(cancer, numbers):
    synthetic = shifted_and_clipped(cancer, CLIPPED)
    values = cancer[CLIPPED]
    by_hand_low = float(((values - values.std()) <= values.min()).mean())
    assert by_hand_low == 65 / 569  # every radius within one standard deviation of the smallest
    shares = {s.column: s for s in edge_shares(cancer, synthetic, numbers)}
    clipped = shares[CLIPPED]
    low, high = real_shares(values)
    assert clipped == EdgeShare(CLIPPED, low, high, by_hand_low, 0.0, True)
    assert clipped.ratio == pytest.approx(by_hand_low / low)
    assert [c for c, s in shares.items() if s.flagged] == [CLIPPED]


def test_values_beyond_the_real_range_count_at_the_edge():
    real = pd.DataFrame({"x": np.arange(100, dtype=float)})
    synthetic = pd.DataFrame({"x": np.r_[np.full(10, -5.0), np.arange(1, 85, dtype=float), np.full(6, 99.0)]})
    [share] = edge_shares(real, synthetic, ["x"])
    assert (share.real_low, share.real_high) == (0.01, 0.01)
    assert (share.synthetic_low, share.synthetic_high) == (0.10, 0.06)
    assert share.flagged and share.ratio == pytest.approx(10.0)


def test_datetimes_are_compared_as_datetimes_and_constant_columns_are_skipped():
    days = pd.date_range("2024-01-01", periods=50, freq="D", tz="Europe/Paris")
    real = pd.DataFrame({"when": days, "same": 1.0, "n": pd.array(range(50), dtype="Int64")})
    clipped = days.to_series().clip(lower=days[10]).clip(upper=days[39])  # 11 at the min, 11 at the max
    synthetic = pd.DataFrame(
        {
            "when": clipped.dt.tz_convert("UTC").reset_index(drop=True),  # another time zone, same instants
            "same": 1.0,
            "n": pd.array([0] * 25 + [None] * 25, dtype="Int64"),
        }
    )
    shares = edge_shares(real, synthetic, ["when", "same", "n"])
    assert [s.column for s in shares] == ["when", "n"]  # "same" has one real value: no range
    when, n = shares
    # the synthetic min is days[10], not the real min: nothing sits at or beyond the real edges
    assert (when.real_low, when.synthetic_low, when.synthetic_high, when.flagged) == (0.02, 0.0, 0.0, False)
    # missing values are left out: 25 known synthetic values, all at the real minimum 0
    assert (n.real_low, n.synthetic_low, n.synthetic_high, n.flagged) == (0.02, 1.0, 0.0, True)


def test_datetime_pile_up_at_the_real_edges_is_counted():
    days = pd.date_range("2024-01-01", periods=50, freq="D", tz="Europe/Paris")
    real = pd.DataFrame({"when": days})
    squeezed = days.to_series().clip(lower=days[10]).clip(upper=days[39]) - (days[10] - days[0])
    synthetic = pd.DataFrame({"when": squeezed.reset_index(drop=True)})  # 11 rows moved onto the real min
    [when] = edge_shares(real, synthetic, ["when"])
    assert (when.synthetic_low, when.synthetic_high, when.flagged) == (0.22, 0.0, True)


def test_a_missing_column_raises_naming_it(cancer, numbers):
    with pytest.raises(DataError, match="mean texture"):
        edge_shares(cancer, cancer.drop(columns=["mean texture"]), numbers)
    with pytest.raises(DataError, match="no such column"):
        edge_shares(cancer, cancer, ["no such column"])
    with pytest.raises(DataError, match="mean area"):
        missing_rates(cancer.drop(columns=["mean area"]), cancer, numbers)
    with pytest.raises(DataError, match="colour"):
        edge_shares(pd.DataFrame({"colour": ["a", "b"]}), pd.DataFrame({"colour": ["a", "a"]}), ["colour"])


# -- missing rates ------------------------------------------------------------------------------
def test_missing_rates_are_the_planted_shares(cancer):
    real, synthetic = cancer.iloc[:500].copy(), cancer.iloc[:500].copy()
    real.loc[real.index[::10], "mean area"] = np.nan  # 50 of 500
    synthetic.loc[synthetic.index[::50], "mean area"] = np.nan  # 10 of 500
    rates = {r.column: r for r in missing_rates(real, synthetic, list(cancer.columns))}
    assert len(rates) == len(cancer.columns)
    assert rates["mean area"] == MissingRate("mean area", 0.1, 0.02)
    assert rates["mean area"].error == pytest.approx(0.08, abs=1e-12)
    assert all(r == MissingRate(c, 0.0, 0.0) for c, r in rates.items() if c != "mean area")


# -- the report -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


@pytest.fixture(scope="module")
def clipped_report(wine):
    """The real rows resampled, one column shifted and clipped, and planted missing values."""
    synthetic = shifted_and_clipped(wine.sample(frac=1, replace=True, random_state=0), "alcohol")
    real = wine.copy()
    real.loc[real.index[:18], "magnesium"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(real=real, synthetic=synthetic, verbose=False), real, synthetic


def test_the_report_carries_the_edge_and_missing_tables(clipped_report, tmp_path):
    report, real, synthetic = clipped_report
    section = report["fidelity"]
    data = json.loads(json.dumps(report.to_dict()))
    details = next(s for s in data["sections"] if s["key"] == "fidelity")["details"]
    assert details["flagged_edge_columns"] == ["alcohol"]
    edges = {e["column"]: e for e in details["edge_shares"]}
    assert set(edges) >= {"alcohol", "malic_acid", "proline"}
    expected = {s.column: s for s in edge_shares(real, synthetic, list(edges))}
    assert edges["alcohol"]["synthetic_low"] == expected["alcohol"].synthetic_low > 2 * edges["alcohol"]["real_low"]
    assert edges["alcohol"]["flagged"] and not edges["malic_acid"]["flagged"]
    assert edges["alcohol"]["ratio"] == pytest.approx(expected["alcohol"].ratio)
    missing = {m["column"]: m for m in details["missing_rates"]}
    assert missing["magnesium"] == {"column": "magnesium", "real": 18 / 178, "synthetic": 0.0, "error": 18 / 178}
    assert missing["alcohol"]["error"] == 0.0

    tables = {t.title: t for t in section.tables}
    edge_rows = {r[0]: r for r in tables[EDGE_TABLE].rows}
    assert tables[EDGE_TABLE].rows[0][0] == "alcohol"  # flagged first
    assert edge_rows["alcohol"][5] == "!" and edge_rows["malic_acid"][5] == ""
    assert not tables[EDGE_TABLE].collapsed
    assert [r[0] for r in tables[MISSING_TABLE].rows] == ["magnesium"]
    assert "1 column has more than twice the real share of values" in section.summary
    assert section.summary.endswith("min or max: alcohol.")
    validity = next(h.meaning for h in section.headline if h.label == "data validity")
    assert "enforce_bounds" in validity and "by construction" in validity and EDGE_TABLE in validity

    page = report.to_html(tmp_path / "report.html").read_text(encoding="utf-8")
    assert EDGE_TABLE in page and MISSING_TABLE in page
    assert "at (or beyond) its min or max: alcohol." in page


def test_a_flagged_column_keeps_the_verdict_from_good(clipped_report):
    report, real, synthetic = clipped_report
    assert report["fidelity"].verdict == "fair"
    tables = check_tables(real, synthetic)
    result = fidelity(tables.real, tables.synthetic, tables.schema)
    assert result.flagged_edges == ("alcohol",)
    # the same scores without the flag earn "good": the flag alone lowers the verdict
    assert _verdict(dataclasses.replace(result, edges=())) == "good"
    assert _verdict(result) == "fair"


def test_a_resample_gets_no_flags_and_no_missing_table(wine):
    synthetic = wine.sample(frac=1, replace=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        section = evaluate(real=wine, synthetic=synthetic, verbose=False)["fidelity"]
    titles = [t.title for t in section.tables]
    assert EDGE_TABLE in titles and MISSING_TABLE not in titles
    assert section.details["flagged_edge_columns"] == []
    assert "more than twice" not in section.summary
    assert section.verdict == "good"
    assert all(m["error"] == 0.0 for m in section.details["missing_rates"])
