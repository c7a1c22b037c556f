"""Bias report: group shares, outcome gaps and downstream fairness on tables with planted answers.

Tables are a few thousand rows with independent columns, so each planted change (a deleted
group, an outcome made to depend on sex, labels scrambled for one group) is the only signal.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgan.errors import ConfigError
from synthgan.evaluation.bias_section import bias_section
from synthgan.evaluation.bias import (
    AMPLIFIED,
    MIN_GROUP_ROWS,
    SHRUNK,
    TRAINED_REAL,
    TRAINED_SYNTHETIC,
    VANISHED,
    WORSE,
    GroupErrors,
    bias,
    error_rates,
    grouping,
    odds_spread,
    outcome_gap,
)
from synthgan.evaluation.inputs import check_tables, resolve_target
from synthgan.report import Report, Section
from synthgan.schema import ColumnKind
from tests._data import load_adult
from tests.conftest import make_mixed_frame

RACES = ["White", "Black", "Asian", "Other"]


def people(n: int = 2000, seed: int = 0, sex_effect: float = 0.0) -> pd.DataFrame:
    """Sex, race, age and hours drawn independently; income depends on age and hours (and sex if asked)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male"], n, p=[0.45, 0.55])
    race = rng.choice(RACES, n, p=[0.6, 0.2, 0.12, 0.08])
    age = rng.integers(18, 80, n)
    hours = rng.normal(40, 10, n)
    logit = -1.0 + 0.04 * (age - 45) + 0.08 * (hours - 40) + sex_effect * (sex == "Male")
    income = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    return pd.DataFrame({"sex": sex, "race": race, "age": age, "hours": hours, "income": income})


def run(real, synth, holdout=None, target="income", sensitive=("sex", "race"), seed=0):
    tables = check_tables(real, synth, holdout)
    goal = resolve_target(tables, target) if target is not None else None
    return bias(tables, goal, list(sensitive), seed=seed)


@pytest.fixture(scope="module")
def real():
    return people(seed=0)


@pytest.fixture(scope="module")
def holdout():
    return people(seed=99)


@pytest.fixture(scope="module")
def identical(real, holdout):
    return run(real, real.copy(), holdout, sensitive=("sex", "race", "age"))


# -- known answers --------------------------------------------------------------------------
def test_identical_tables_have_no_gaps(identical):
    assert all(r.tvd == 0.0 for r in identical.representation)
    facets = [r.facet for r in identical.representation]
    assert facets == ["sex", "race", "age", "sex × race", "sex × age", "race × age"]
    assert all(g.change == 0.0 for g in identical.outcomes)
    # the same rows and seed train the same model: identical error rates per group
    assert all(g.change == 0.0 for g in identical.downstream)
    assert identical.flags == ()
    section = bias_section(identical)
    assert section.verdict == "good"
    assert section.value("group share distance (TVD)") == 0.0
    assert section.value("groups vanished or shrunk") == 0


def test_independent_sample_is_not_flagged(real, holdout):
    """A second sample of the same population: sampling noise only, no flag."""
    result = run(real, people(seed=1), holdout)
    assert result.flags == ()
    assert result.max_tvd < 0.05


def test_deleted_group_is_flagged_by_name(real):
    synth = people(seed=1)
    synth = synth[synth.race != "Other"]
    result = run(real, synth, sensitive=("sex", "race"))
    vanished = result.flagged(VANISHED)
    assert [(f.facet, f.group) for f in vanished] == [("race", "Other")]  # intersections not repeated
    race = next(r for r in result.representation if r.facet == "race")
    other = next(g for g in race.groups if g.group == "Other")
    assert other.synthetic_rows == 0 and other.status == VANISHED
    section = bias_section(result)
    assert section.verdict == "poor"
    assert any("'Other'" in n and "vanished" in n for n in section.notes)


def test_shrunk_group_is_flagged(real):
    synth = people(seed=1)
    other = synth.index[synth.race == "Other"]
    synth = synth.drop(other[: int(len(other) * 0.8)])
    result = run(real, synth, sensitive=("race",))
    assert [(f.facet, f.group) for f in result.flagged(SHRUNK)] == [("race", "Other")]
    assert bias_section(result).verdict == "fair"


def test_planted_amplified_correlation_is_flagged(real):
    synth = people(seed=1)
    rng = np.random.default_rng(5)
    rate = np.where(synth.sex == "Male", 0.6, 0.1)
    synth["income"] = np.where(rng.random(len(synth)) < rate, ">50K", "<=50K")
    result = run(real, synth)
    amplified = result.flagged(AMPLIFIED)
    assert "sex" in [f.facet for f in amplified]
    assert "race" not in [f.facet for f in amplified]
    sex = next(g for g in result.outcomes if g.facet == "sex")
    assert sex.real.difference < 0.06
    assert sex.synthetic.difference == pytest.approx(0.5, abs=0.06)
    assert (sex.synthetic.high, sex.synthetic.low) == ("Male", "Female")
    section = bias_section(result)
    assert any(n.startswith("Synthesis amplified the gap across 'sex'") for n in section.notes)
    assert section.value("parity gap change") > 0.4


def test_scrambled_labels_for_one_group_worsen_downstream_fairness(real, holdout):
    synth = real.copy()
    rng = np.random.default_rng(3)
    women = synth.sex == "Female"
    synth.loc[women, "income"] = rng.choice([">50K", "<=50K"], int(women.sum()))
    result = run(real, synth, holdout, sensitive=("sex",))
    assert [f.facet for f in result.flagged(WORSE)] == ["sex"]
    sex = result.downstream[0]
    assert sex.synthetic.difference > sex.real.difference + 0.1
    female = next(g for g in sex.groups if g.group == "Female")
    assert female.scores[TRAINED_SYNTHETIC]["FPR"] > female.scores[TRAINED_REAL]["FPR"] + 0.1


# -- agreement with fairlearn ---------------------------------------------------------------
def test_parity_matches_fairlearn(real):
    metrics = pytest.importorskip("fairlearn.metrics")
    synth = people(seed=1, sex_effect=1.0)
    result = run(real, synth, sensitive=("race",))
    gap = result.outcomes[0]
    for df, spread in ((real, gap.real), (synth, gap.synthetic)):
        hit = (df.income == ">50K").astype(int)
        kw = {"sensitive_features": df.race}
        assert spread.difference == pytest.approx(metrics.demographic_parity_difference(hit, hit, **kw), abs=1e-12)
        assert spread.ratio == pytest.approx(metrics.demographic_parity_ratio(hit, hit, **kw), abs=1e-12)


def test_equalised_odds_matches_fairlearn():
    metrics = pytest.importorskip("fairlearn.metrics")
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], 1500)
    y = rng.random(1500) < np.where(groups == "a", 0.3, 0.5)
    # group c misses 40% of its positives; every group flags 10% of its negatives
    flip = rng.random(1500) < np.where(y, np.where(groups == "c", 0.4, 0.05), 0.1)
    pred = np.where(flip, ~y, y)
    rows = []
    for g in ("a", "b", "c"):
        m = groups == g
        scores = error_rates(y[m], pred[m], y[m] == pred[m])
        assert scores["TPR"] == pytest.approx(metrics.true_positive_rate(y[m], pred[m]), abs=1e-12)
        assert scores["FPR"] == pytest.approx(metrics.false_positive_rate(y[m], pred[m]), abs=1e-12)
        rows.append(GroupErrors(g, int(m.sum()), int(y[m].sum()), {TRAINED_REAL: scores}))
    ours = odds_spread(rows, TRAINED_REAL)
    theirs = metrics.equalized_odds_difference(y, pred, sensitive_features=groups)
    assert ours.difference == pytest.approx(theirs, abs=1e-12)
    assert ours.low == "c" and ours.difference > 0.25  # the TPR gap, not the FPR gap


def test_outcome_gap_leaves_small_groups_out():
    groups = np.array(["big"] * 100 + ["tiny"] * (MIN_GROUP_ROWS - 1) + ["other"] * 100)
    hit = np.r_[np.ones(100), np.zeros(MIN_GROUP_ROWS - 1), np.zeros(50), np.ones(50)].astype(bool)
    gap = outcome_gap("g", groups, hit, groups, hit, ["big", "tiny", "other"])
    tiny = next(x for x in gap.rates if x.group == "tiny")
    assert tiny.real_rate is None and tiny.synthetic_rate is None and tiny.real_rows == MIN_GROUP_ROWS - 1
    assert gap.real.difference == 0.5  # big (1.0) vs other (0.5); the all-negative tiny group is not used


# -- binning --------------------------------------------------------------------------------
def test_numeric_column_is_cut_into_readable_quantile_bins(real):
    gr = grouping("age", real.age, ColumnKind.INTEGER)
    assert len(gr.names) == 5
    bounds = [tuple(int(v) for v in name.split("–")) for name in gr.names]
    assert bounds[0][0] == real.age.min() and bounds[-1][1] == real.age.max()
    assert all(prev[1] + 1 == nxt[0] for prev, nxt in zip(bounds, bounds[1:]))  # contiguous, no overlap
    shares = pd.Series(gr.assign(real.age)).value_counts(normalize=True)
    assert shares.between(0.15, 0.25).all()
    beyond = gr.assign(pd.Series([-5, 500, np.nan]))
    assert list(beyond) == [gr.names[0], gr.names[-1], "<missing>"]


def test_point_mass_gets_its_own_bin():
    values = pd.Series(np.r_[np.zeros(700), np.arange(1, 301)])
    gr = grouping("gain", values, ColumnKind.INTEGER)
    assert gr.names[0] == "0"
    assert (gr.assign(values) == "0").sum() == 700


def test_datetime_column_is_binned_by_dates(real):
    df = real.assign(signup=pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(real)), unit="D"))
    result = run(df, df.copy(), target=None, sensitive=("signup",))
    gr = result.groupings[0]
    assert gr.names[0].startswith("2020-01-01–")
    assert any("quantile bins" in n and "'signup'" in n for n in result.notes)


# -- bad input ------------------------------------------------------------------------------
def test_missing_sensitive_column_is_named_with_close_names(real):
    with pytest.raises(ConfigError, match=r"'sexx'.*did you mean \['sex'\]"):
        run(real, real, sensitive=("sexx",))


@pytest.mark.parametrize(
    "sensitive, message",
    [(("income",), "is the target"), ((), "non-empty list"), (("sex", "sex"), "more than once")],
)
def test_unusable_sensitive_lists_are_config_errors(real, sensitive, message):
    with pytest.raises(ConfigError, match=message):
        run(real, real, sensitive=sensitive)


def test_constant_sensitive_column_is_left_out_with_a_note(real):
    df = real.assign(country="US")
    result = run(df, df.copy(), sensitive=("country", "sex"))
    assert result.sensitive == ("sex",)
    assert any("'country'" in n and "single value" in n for n in result.notes)
    only = run(df, df.copy(), sensitive=("country",))
    assert bias_section(only).verdict == "skipped"


def test_small_group_rates_are_not_estimated(real):
    df = real.copy()
    df.loc[df.index[:12], "race"] = "Pacific"
    result = run(df, df.copy(), sensitive=("race",))
    pacific = next(x for x in result.outcomes[0].rates if x.group == "Pacific")
    assert pacific.real_rows == 12 and pacific.real_rate is None and pacific.synthetic_rate is None
    assert any("too small to estimate" in n for n in result.notes)
    share = next(g for g in result.representation[0].groups if g.group == "Pacific")
    assert share.status == "too small to judge"


def test_missing_target_and_holdout_skip_their_parts_with_reasons(real):
    no_target = run(real, real.copy(), target=None)
    assert no_target.outcomes == () and no_target.downstream == ()
    assert any("no target column" in n for n in no_target.notes)
    no_holdout = run(real, real.copy())
    assert no_holdout.outcomes and no_holdout.downstream == ()
    assert any("no holdout" in n for n in no_holdout.notes)
    regression = run(real, real.copy(), target="hours")
    assert regression.outcomes == () and any("regression target" in n for n in regression.notes)


def test_multiclass_target_uses_the_minority_class_one_vs_rest(real):
    df = real.assign(band=pd.cut(real.hours, [-np.inf, 30, 50, np.inf], labels=["low", "mid", "high"]).astype(str))
    result = run(df.drop(columns="income"), df.drop(columns="income").copy(), target="band", sensitive=("sex",))
    counts = df.band.value_counts()
    assert result.positive == counts.idxmin()
    female = next(x for x in result.outcomes[0].rates if x.group == "Female")
    assert female.real_rate == pytest.approx((df.band[df.sex == "Female"] == counts.idxmin()).mean())
    assert any("compared against all the others" in n for n in bias_section(result).notes)


# -- the report section ---------------------------------------------------------------------
def test_section_renders_and_round_trips(real, holdout):
    synth = people(seed=1)
    synth = synth[synth.race != "Other"]
    section = bias_section(run(real, synth, holdout, sensitive=("sex", "race", "age")))
    data = section.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert Section.from_dict(data).to_dict() == data
    assert data["key"] == "bias" and data["verdict"] == "poor"
    assert [h["label"] for h in data["headline"]] == [
        "group share distance (TVD)",
        "groups vanished or shrunk",
        "parity gap change",
        "equalised-odds change",
    ]
    titles = [f["title"] for f in data["figures"]]
    assert "Group shares: race" in titles and "Rate of income = >50K: sex" in titles
    # issue 15: TPR and FPR are two small multiples of one size (were one wide bar chart)
    assert "TPR (true positive rate): age" in titles and "FPR (false positive rate): age" in titles
    page = Report("bias").add(section).html()
    assert "Bias (sensitive groups)" in page and "Group &#x27;Other&#x27; of &#x27;race&#x27; vanished" in page


def test_every_column_kind_can_be_sensitive():
    """Text with missing values, booleans, a pandas Categorical, integers and tz-aware datetimes."""
    real, synth = make_mixed_frame(600, seed=0), make_mixed_frame(600, seed=1)
    result = run(real, synth, target="churn", sensitive=("city", "member", "tier", "age", "signup"))
    assert len(result.representation) == 5 + 10
    for rep in result.representation:
        assert sum(g.real_share for g in rep.groups) == pytest.approx(1.0)
        assert sum(g.synthetic_share for g in rep.groups) == pytest.approx(1.0)
    city = {g.group for g in result.representation[0].groups}
    assert city == {"Paris", "Lyon", "Marseille", "Lille", "<missing>"}
    assert {g.group for g in result.representation[1].groups} == {"True", "False"}
    assert "platinum" not in {g.group for g in result.representation[2].groups}  # declared, never used
    signup = result.groupings[-1]
    assert len(signup.names) == 5 and signup.names[0].startswith("2023-")
    assert max(r.tvd for r in result.representation) < 0.5
    assert bias_section(result).to_dict()["details"]["bins"]["signup"] == list(signup.names)


def test_adult_group_deleted_from_a_second_sample_is_flagged():
    adult = load_adult(nrows=8000)
    real, synth = adult.iloc[:4000], adult.iloc[4000:]
    synth = synth[synth.race != "Amer-Indian-Eskimo"]
    result = run(real, synth, target="class", sensitive=("sex", "race"))
    assert [(f.kind, f.facet, f.group) for f in result.flags] == [(VANISHED, "race", "Amer-Indian-Eskimo")]
    sex = result.outcomes[0]
    assert sex.real.difference > 0.15  # Adult's real gap between men and women, kept by a real sample


def test_close_continuous_bins_get_enough_digits_to_stay_distinct():
    values = pd.Series(1000.0 + np.linspace(0, 0.01, 500))
    gr = grouping("x", values, ColumnKind.CONTINUOUS)
    assert len(set(gr.names)) == len(gr.names) == 5
    assert pd.Series(gr.assign(values)).value_counts().tolist() == [100] * 5


def test_numeric_column_with_few_values_uses_each_value():
    gr = grouping("children", pd.Series([0, 1, 2, 2, 3] * 20), ColumnKind.INTEGER)
    assert gr.names == ("0", "1", "2", "3")
    assert "each of its 4 values is a group" in gr.describe()
