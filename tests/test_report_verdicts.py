"""Honest verdicts (issue 15, items 4, 12, 13): a broken synthetic column is named and rated poor;
privacy, augmentation and bias verdicts say what they weighed; charts carry their labels; no
sdmetrics FutureWarning.

The base table has an independent numeric column (``noise``) that no column pair trend
involves, so breaking it can only show through the column checks: exactly the case where
sdmetrics alone called a table with a dead column "good".
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from synthgan.errors import SchemaError
from synthgan.evaluation import evaluate
from synthgan.evaluation.augmentation import AUGMENTED, REAL, LiftResult, augmentation_section
from synthgan.evaluation.bias import GAP_TOLERANCE, TRAINED_REAL, TRAINED_SYNTHETIC, GroupErrors, OddsGap, Spread, bias
from synthgan.evaluation.bias_section import bias_section
from synthgan.evaluation.columns import ALL_MISSING, CONSTANT, FRACTIONS, MISSING_RATE, OUT_OF_RANGE, UNSEEN, WRONG_TYPE
from synthgan.evaluation.evaluate import DISTANCE_RATIO, _weigh_distance
from synthgan.evaluation.inputs import check_tables, resolve_target
from synthgan.evaluation.utility import ArmResult
from synthgan.privacy.metrics import PrivacyResult
from synthgan.report import Section
from synthgan.report.section import Figure
from synthgan.report.svg import columns as svg_columns
from synthgan.report.svg import heatmap


def table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(0, 0.3, n),
            "noise": rng.uniform(10, 20, n),
            "count": rng.integers(0, 40, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def tables():
    df = table()
    return df.iloc[::2].reset_index(drop=True), df.iloc[1::2].reset_index(drop=True)


@pytest.fixture(scope="module")
def clean(tables):
    real, synthetic = tables
    return evaluate(real, synthetic, verbose=False)["fidelity"]


def _fidelity(real, synthetic):
    return evaluate(real, synthetic, verbose=False)["fidelity"]


def _broken(synthetic: pd.DataFrame, member: str) -> tuple[str, pd.DataFrame]:
    s = synthetic.copy()
    n = len(s)
    if member == "all missing (number)":
        return "noise", s.assign(noise=np.nan)
    if member == "all missing (category)":
        return "colour", s.assign(colour=None)
    if member == "all missing (datetime)":
        return "when", s.assign(when=pd.NaT)
    if member == "constant (number)":
        return "noise", s.assign(noise=15.0)
    if member == "constant (category)":
        return "colour", s.assign(colour="red")
    if member == "numbers as text":
        return "noise", s.assign(noise=s["noise"].map(lambda v: f"{v:.3f}"))
    if member == "text in a numeric column":
        return "noise", s.assign(noise=np.where(np.arange(n) % 2, "n/a", s["noise"].astype(str)))
    if member == "numbers in a category column":
        return "colour", s.assign(colour=np.arange(n) % 3)
    if member == "dates as text":
        return "when", s.assign(when=s["when"].dt.strftime("%Y-%m-%d"))
    if member == "numbers in a date column":
        return "when", s.assign(when=np.arange(n, dtype=float))
    raise AssertionError(member)


UNUSABLE = {
    "all missing (number)": ALL_MISSING,
    "all missing (category)": ALL_MISSING,
    "all missing (datetime)": ALL_MISSING,
    "constant (number)": CONSTANT,
    "constant (category)": CONSTANT,
    "numbers as text": WRONG_TYPE,
    "text in a numeric column": WRONG_TYPE,
    "numbers in a category column": WRONG_TYPE,
    "dates as text": WRONG_TYPE,
    "numbers in a date column": WRONG_TYPE,
}


# -- item 4: a broken column is named, rated poor and scores lower ---------------------------------
def test_clean_table_is_good(clean):
    assert clean.verdict == "good"
    assert clean.details["column_problems"] == []


@pytest.mark.parametrize("member", list(UNUSABLE))
def test_unusable_column_is_named_and_rated_poor(tables, clean, member):
    real, synthetic = tables
    column, broken = _broken(synthetic, member)
    section = _fidelity(real, broken)
    assert section.verdict == "poor"
    assert section.details["unusable_columns"] == [column]
    [problem] = [p for p in section.details["column_problems"] if p["column"] == column]
    assert problem["kind"] == UNUSABLE[member]
    assert any(n.startswith(f"Column {column!r} is unusable") for n in section.notes)
    assert repr(column) in section.summary
    shape = {r["column"]: r["score"] for r in section.details["per_column_shapes"]}
    assert shape[column] == 0.0  # counted, not skipped
    assert section.value("column shapes") < clean.value("column shapes") - 0.1
    assert section.value("quality score") < clean.value("quality score")


def test_dead_column_no_longer_scores_like_a_clean_one(tables, clean):
    """sdmetrics alone skips an all-missing column: its column shapes equal the clean table's."""
    real, synthetic = tables
    section = _fidelity(real, synthetic.assign(noise=np.nan))
    raw = section.details["sdmetrics_scores"]
    assert raw["column_shapes"] == pytest.approx(
        np.mean([r["score"] for r in clean.details["per_column_shapes"] if r["column"] != "noise"])
    )
    expected = np.mean([0.0 if r["column"] == "noise" else r["score"] for r in clean.details["per_column_shapes"]])
    assert section.value("column shapes") == pytest.approx(expected)


def test_wrong_type_column_keeps_its_readable_values(tables):
    real, synthetic = tables
    column, broken = _broken(synthetic, "text in a numeric column")
    tables_ = check_tables(real, broken)
    assert tables_.synthetic["noise"].dtype == np.float64
    assert tables_.synthetic["noise"].isna().sum() == len(broken) // 2  # the "n/a" half
    [problem] = tables_.converted
    assert problem.kind == WRONG_TYPE and "'n/a'" in problem.message and "300 of 600" in problem.message


@pytest.mark.parametrize(
    "member, column, kind",
    [
        ("out of range", "noise", OUT_OF_RANGE),
        ("unseen categories", "colour", UNSEEN),
        ("fractions in an integer column", "count", FRACTIONS),
        ("missing rate", "noise", MISSING_RATE),
        ("dates out of range", "when", OUT_OF_RANGE),
    ],
)
def test_suspicious_column_is_named_and_caps_the_verdict(tables, clean, member, column, kind):
    real, synthetic = tables
    s = synthetic.copy()
    rows = np.arange(len(s)) % 20 == 0  # 5% of rows
    if member == "out of range":
        s.loc[rows, "noise"] = 1000.0
    elif member == "unseen categories":
        s.loc[rows, "colour"] = "purple"
    elif member == "fractions in an integer column":
        s["count"] = s["count"].astype(float)
        s.loc[rows, "count"] += 0.5
    elif member == "missing rate":
        s.loc[np.arange(len(s)) % 4 == 0, "noise"] = np.nan  # 25% missing against 0%
    else:
        s.loc[rows, "when"] = pd.Timestamp("2090-01-01")
    section = _fidelity(real, s)
    assert section.verdict == "fair"  # the clean table is good
    assert section.details["suspicious_columns"] == [column]
    assert [p["kind"] for p in section.details["column_problems"]] == [kind]
    assert any(n.startswith(f"Column {column!r}") for n in section.notes)
    assert repr(column) in section.summary
    assert section.value("column shapes") <= clean.value("column shapes")


def test_out_of_range_message_quotes_the_values(tables):
    real, synthetic = tables
    s = synthetic.copy()
    s.loc[np.arange(len(s)) % 10 == 0, "noise"] = 1000.0
    [problem] = _fidelity(real, s).details["column_problems"]
    assert problem["share"] == pytest.approx(0.1)
    assert "e.g. 1000" in problem["message"] and "np.float64" not in problem["message"]


def test_what_a_fresh_sample_could_show_is_not_flagged():
    """A real column 99.8% one value and 0.4% missing: 100 synthetic rows all of that value, or
    without a missing value, are what a sample of the real column looks like."""
    rng = np.random.default_rng(1)
    n = 5000
    real = pd.DataFrame(
        {
            "rare": np.where(rng.random(n) < 0.998, "common", "rare"),
            "sparse": np.where(rng.random(n) < 0.004, np.nan, rng.normal(0, 1, n)),
            "x": rng.normal(0, 1, n),
        }
    )
    synthetic = pd.DataFrame({"rare": ["common"] * 100, "sparse": rng.normal(0, 1, 100), "x": rng.normal(0, 1, 100)})
    section = _fidelity(real, synthetic)
    assert section.details["column_problems"] == []


def test_missing_and_extra_columns_are_named_errors(tables):
    real, synthetic = tables
    with pytest.raises(SchemaError) as err:
        evaluate(real, synthetic.drop(columns=["noise"]).assign(extra=1.0), verbose=False)
    assert "['noise'] of the real table are missing from the synthetic table" in str(err.value)
    assert "['extra'] of the synthetic table are not in the real table" in str(err.value)


def test_cli_names_the_broken_column(tables, tmp_path):
    from synthgan.cli import main

    real, synthetic = tables
    real.to_csv(tmp_path / "real.csv", index=False)
    synthetic.assign(noise="").to_csv(tmp_path / "synthetic.csv", index=False)  # an empty column in the CSV
    out = tmp_path / "report.json"
    code = main(["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "synthetic.csv"), "--json", str(out), "-q"])
    assert code == 0
    fidelity = next(s for s in json.loads(out.read_text())["sections"] if s["key"] == "fidelity")
    assert fidelity["verdict"] == "poor"
    assert fidelity["details"]["unusable_columns"] == ["noise"]


# -- item 13: the unified sdmetrics reports, no FutureWarning --------------------------------------
def test_no_future_warning_from_sdmetrics(tables):
    import importlib
    import sys

    real, synthetic = tables
    sys.modules.pop("synthgan.evaluation.fidelity", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module("synthgan.evaluation.fidelity")
        tables_ = check_tables(real, synthetic)
        module.fidelity(tables_.real, tables_.synthetic, tables_.schema)
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []
    assert module.QualityReport.__module__ == "sdmetrics.reports.quality_report"


# -- item 12: privacy weighs fidelity ---------------------------------------------------------------
def _privacy(synthetic_median: float, holdout_median: float) -> PrivacyResult:
    return PrivacyResult(
        dcr_synthetic=np.full(100, synthetic_median),
        nndr_synthetic=np.ones(100),
        exact_match_rate=0.0,
        dcr_holdout=np.full(100, holdout_median),
        nndr_holdout=np.ones(100),
        holdout_exact_match_rate=0.0,
        closer_to_train=0.5,
        below_holdout_low=0.0,
        mia_auc=0.5,
    )


@pytest.mark.parametrize(
    "fidelity_verdict, synthetic_median, fidelity_after, privacy_after",
    [
        ("good", 0.5, "good", "good"),  # as near as holdout rows: nothing to say
        ("good", 1.18, "fair", "good"),  # the 1.18 vs 0.47: a fidelity problem, named
        ("poor", 1.18, "poor", "fair"),  # noise is private and useless
        ("poor", 0.5, "poor", "fair"),
    ],
)
def test_distance_is_a_sign_of_low_fidelity_not_privacy(fidelity_verdict, synthetic_median, fidelity_after, privacy_after):
    fid = Section("fidelity", "Fidelity", "", verdict=fidelity_verdict)
    result = _privacy(synthetic_median, 0.47)
    priv = Section("privacy", "Privacy", "", verdict=result.verdict)
    assert priv.verdict == "good"
    _weigh_distance(fid, priv, result)
    assert (fid.verdict, priv.verdict) == (fidelity_after, privacy_after)
    far = synthetic_median / 0.47 > DISTANCE_RATIO
    assert any("2.5 times" in n for n in fid.notes) == far
    assert any("sign of low fidelity, not of privacy" in n for n in priv.notes) == (far or fidelity_verdict == "poor")


def test_noise_is_not_rated_private(tables):
    real, synthetic = tables
    holdout = table(seed=7).iloc[:300]
    rng = np.random.default_rng(3)
    noise = synthetic.assign(
        x=rng.normal(0, 3, len(synthetic)), y=rng.normal(0, 6, len(synthetic)), noise=rng.uniform(0, 30, len(synthetic))
    )
    report = evaluate(real, noise, holdout, verbose=False)
    assert report["fidelity"].verdict == "poor"
    assert report["privacy"].verdict != "good"
    assert report["privacy"].notes[0].startswith("Privacy is at most fair while fidelity is poor")


# -- item 12: augmentation weighs every score it shows -----------------------------------------------
def _lift(before: dict, after: dict) -> LiftResult:
    arms = []
    for family in ("linear", "boosted trees"):
        arms += [ArmResult(family, REAL, 100, dict(before)), ArmResult(family, AUGMENTED, 150, dict(after))]
    return LiftResult(
        arms=tuple(arms), target="label", minority="rare", real_rows=100, added_rows=50, test_rows=80,
        test_minority_rows=10,
    )


BEFORE = {"minority recall": 0.60, "balanced accuracy": 0.78, "minority F1": 0.55, "minority PR AUC": 0.50}


@pytest.mark.parametrize(
    "after, verdict",
    [
        # the issue: PR AUC up while recall and balanced accuracy fell -> not "helped"
        ({**BEFORE, "minority PR AUC": 0.55, "minority recall": 0.50, "balanced accuracy": 0.74}, "no clear change"),
        ({**BEFORE, "minority PR AUC": 0.55, "minority recall": 0.66}, "helped"),
        ({**BEFORE, "minority recall": 0.50}, "hurt"),  # PR AUC flat, recall fell
        ({**BEFORE, "minority PR AUC": 0.505}, "no clear change"),
    ],
)
def test_augmentation_verdict_weighs_every_score(after, verdict):
    section = augmentation_section(_lift(BEFORE, after))
    assert section.verdict == verdict
    for metric, value in after.items():
        change = value - BEFORE[metric]
        if abs(change) > 0.01:
            assert f"{metric} {change:+.3f}" in section.summary


# -- item 12: bias says what allowance it applied ------------------------------------------------------
def _odds(real_gap: float, synthetic_gap: float, error: float) -> OddsGap:
    scores = {TRAINED_REAL: {"accuracy": 0.8, "TPR": 0.8, "FPR": 0.1}, TRAINED_SYNTHETIC: {"accuracy": 0.8, "TPR": 0.8, "FPR": 0.1}}
    groups = (GroupErrors("1", 60, 30, scores), GroupErrors("2", 51, 25, scores))
    return OddsGap("sex", groups, Spread(real_gap, None, "1", "2"), Spread(synthetic_gap, None, "1", "2"), error)


@pytest.fixture(scope="module")
def sexes():
    rng = np.random.default_rng(0)
    n = 1200
    df = pd.DataFrame({"sex": rng.choice(["1", "2"], n), "x": rng.normal(0, 1, n)})
    df["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-df.x)), "yes", "no")
    return df


def _with_downstream(result, gap):
    from dataclasses import replace

    return replace(result, downstream=(gap,))


def test_widening_within_its_allowance_is_fair_and_says_why(sexes):
    tables_ = check_tables(sexes.iloc[:600], sexes.iloc[600:])
    base = bias(tables_, resolve_target(tables_, "label"), ["sex"])
    section = bias_section(_with_downstream(base, _odds(0.053, 0.187, 0.09)))
    assert section.verdict == "fair"
    allowance = GAP_TOLERANCE + 2 * 0.09
    assert section.notes[0].startswith("Verdict fair:") and f"allowance {allowance:.3f}" in section.notes[0]
    explained = next(n for n in section.notes if "went from 0.053 to 0.187 (+0.134)" in n)
    assert f"= {allowance:.3f} (111 holdout rows" in explained and "not confirmed" in explained
    assert "Verdict fair" in section.summary


def test_paired_bootstrap_error_is_zero_for_identical_models(sexes):
    tables_ = check_tables(sexes.iloc[:600], sexes.iloc[:600].copy(), sexes.iloc[600:])
    result = bias(tables_, resolve_target(tables_, "label"), ["sex"])
    [gap] = result.downstream
    assert gap.change == 0.0 and gap.change_error == 0.0 and gap.allowance == GAP_TOLERANCE
    assert bias_section(result).verdict == "good"


def test_group_codes_are_shown_with_their_column(sexes):
    tables_ = check_tables(sexes.iloc[:400], sexes.iloc[400:800], sexes.iloc[800:])
    section = bias_section(bias(tables_, resolve_target(tables_, "label"), ["sex"]))
    labelled = [f for f in section.figures if f.kind == "columns"]
    assert labelled and all(set(f.labels) == {"sex = 1", "sex = 2"} for f in labelled)
    shares = next(t for t in section.tables if t.title == "Group shares")
    assert {row[1] for row in shares.rows} == {"sex = 1", "sex = 2"}
    # small multiples of one kind and size per group, on the shared 0-1 axis where they are rates
    assert all(f.domain == (0.0, 1.0) for f in section.figures if "rate" in f.title.lower())


# -- item 12: charts ---------------------------------------------------------------------------------
def test_heatmap_labels_rows_and_columns():
    labels = ("alpha", "beta", "gamma")
    svg = heatmap(Figure("heatmap", "Real", labels, matrix=((1, 0.5, 0), (0.5, 1, 0), (0, 0, 1)),
                         domain=(-1.0, 1.0), value_label="Pearson correlation"))
    for label in labels:
        assert svg.count(f"</title>{label}</text>") == 2  # once as a row, once (turned) as a column
    assert svg.count('transform="rotate(-90') == 3
    assert "Pearson correlation" in svg


def test_fidelity_heatmaps_and_score_charts_are_labelled(clean):
    maps = [f for f in clean.figures if f.kind == "heatmap"]
    assert maps and all(f.value_label == "Pearson correlation" and f.domain == (-1.0, 1.0) for f in maps)


def test_score_charts_share_the_zero_to_one_axis(tables):
    real, synthetic = tables
    diversity = evaluate(real, synthetic, verbose=False)["diversity"]
    bars = [f for f in diversity.figures if f.kind == "bars"]
    assert bars and all(f.domain is not None and f.domain[0] == 0.0 and f.domain[1] >= 1.0 for f in bars)


def test_long_column_labels_are_turned_not_cut_to_nothing():
    figure = Figure("columns", "Share of rows per group of age", ("age = 19–34", "age = 35–46", "age = 47–53",
                    "age = 54–61", "age = 62–79"), {"real": (0.2,) * 5, "synthetic": (0.2,) * 5}, domain=(0.0, 1.0))
    svg = svg_columns(figure)
    assert svg.count('transform="rotate(-30') == 5
    assert "age = 19–34</text>" in svg
