"""Membership and attribute inference attacks (issue 18): known answers and bad inputs."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from sklearn.metrics import roc_curve
from sklearn.neighbors import KernelDensity

from synthgan.errors import ConfigError, DataError, SchemaError
from synthgan.privacy.attacks import (
    ANONYMETER_NOTE,
    Attack,
    DensityRatioAttack,
    attack_result,
    anonymeter_risks,
    log_kde,
    log_knn_density,
    membership_attacks,
    tpr_at_fpr,
)
from synthgan.privacy.attribute import attribute_inference
from synthgan.privacy.space import MixedSpace
from synthgan.schema import detect_schema

ATTACKS = ("density_ratio", "distance")
PLANTED = ["r7", "r70", "r700", "r1000", "r1999"]


def table(n: int, seed: int) -> pd.DataFrame:
    """Correlated Gaussian numbers and two categories (one tied to a number); labels 'r0', 'r1', ..."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    z[:, 1] += 0.6 * z[:, 0]
    df = pd.DataFrame(z * [1, 2, 10, 0.5] + [0, 5, 100, 0], columns=["a", "b", "c", "d"])
    df["g"] = rng.choice(list("xyz"), n, p=[0.5, 0.3, 0.2])
    df["h"] = np.where(z[:, 0] + rng.normal(size=n) > 0, "p", "q")
    df.index = [f"r{i}" for i in range(n)]
    return df


@pytest.fixture(scope="module")
def tables():
    return table(2000, 1), table(2000, 2), table(2000, 3)  # train, holdout, independent "synthetic"


# -- building blocks against independent implementations -----------------------------------------


def test_log_kde_equals_sklearn_kernel_density_and_the_formula():
    rng = np.random.default_rng(0)
    points, queries = rng.normal(size=(300, 7)), rng.normal(size=(50, 7))
    queries[:3] = points[:3]
    for h in (1.0, 2.0):
        expected = KernelDensity(bandwidth=h).fit(points).score_samples(queries)
        np.testing.assert_allclose(log_kde(queries, points, h), expected, rtol=1e-7)
    # at small bandwidths sklearn's tree search loses the tails (off by 0.2 nats at h=0.3, ~600 at
    # h=0.05): the formula itself
    d2 = ((queries[:, None, :] - points[None]) ** 2).sum(-1)
    for h in (0.05, 0.3):
        expected = logsumexp(-d2 / (2 * h * h), axis=1) - np.log(len(points)) - 3.5 * np.log(2 * np.pi * h * h)
        np.testing.assert_allclose(log_kde(queries, points, h), expected, rtol=1e-9)


def test_knn_density_is_minus_d_log_distance_and_finite_on_copies():
    points = np.array([[0.0, 0.0], [3.0, 4.0]])
    queries = np.array([[0.0, 1.0], [3.0, 4.0]])
    out = log_knn_density(queries, points, n_columns=3)
    assert out[0] == pytest.approx(-np.log(2) - 3 * np.log(1.0))
    assert out[1] == pytest.approx(-np.log(2) - 3 * np.log(1e-6))


def test_tpr_at_fpr_equals_the_best_point_of_sklearn_roc_curve():
    rng = np.random.default_rng(1)
    for members, non in (
        (rng.normal(0.5, 1, 700), rng.normal(0, 1, 1300)),
        (rng.integers(0, 5, 400).astype(float), rng.integers(0, 4, 900).astype(float)),  # many ties
    ):
        fpr, tpr, _ = roc_curve(np.r_[np.ones(len(members)), np.zeros(len(non))], np.r_[members, non])
        for level in (0.01, 0.001, 0.1):
            assert tpr_at_fpr(members, non, level) == pytest.approx(tpr[fpr <= level + 1e-12].max())


def test_attack_result_lists_top_members_with_p_values_and_rejects_bad_scores():
    result = attack_result("x", np.array([0.1, 5.0, 3.0]), np.array([0.0, 4.0]), ["a", "b", "c"], n_bootstrap=50)
    assert result.most_exposed == ("b", "c", "a")
    assert result.exposed_p_values == (0.0, 0.5, 0.5)
    assert result.auc.low <= result.auc.value <= result.auc.high
    with pytest.raises(DataError, match="NaN"):
        attack_result("x", np.array([np.nan]), np.array([0.0]))
    with pytest.raises(DataError, match="at least one member"):
        attack_result("x", np.array([]), np.array([0.0]))


# -- known answers -----------------------------------------------------------------------------------


def test_a_copy_of_the_training_table_is_caught_by_every_attack(tables):
    train, holdout, _ = tables
    results = membership_attacks(train, train.copy(), holdout, n_bootstrap=50)
    assert set(results) == set(ATTACKS)
    for r in results.values():
        assert r.auc.value > 0.99, r.attack
        assert r.tpr_at_1pct.value > 0.99 and r.tpr_at_01pct.value > 0.99, r.attack
        assert r.n_members == 2000 and r.n_non_members == 1000


def test_independent_rows_leave_every_attack_at_chance(tables):
    train, holdout, independent = tables
    for name, r in membership_attacks(train, independent, holdout).items():
        assert abs(r.auc.value - 0.5) <= 0.05, name
        assert r.auc.low <= 0.5 <= r.auc.high, name
        assert r.tpr_at_1pct.low <= 0.01 <= r.tpr_at_1pct.high, name
        assert r.tpr_at_1pct.value <= 0.03, name


def test_planted_copies_are_the_most_exposed_records_by_label(tables):
    train, holdout, independent = tables
    synthetic = pd.concat([independent.iloc[5:], train.loc[PLANTED]])
    for name, r in membership_attacks(train, synthetic, holdout, n_bootstrap=0).items():
        assert set(r.most_exposed[:5]) == set(PLANTED), name
        assert r.exposed_p_values[:5] == (0.0,) * 5, name
        assert r.exposed_by == "label"


def test_duplicate_index_labels_fall_back_to_positions(tables):
    train, holdout, independent = tables
    train = train.reset_index(drop=True)
    train.index = [0] * len(train)
    synthetic = pd.concat([independent.iloc[2:], train.iloc[[11, 1234]]])
    r = membership_attacks(train, synthetic, holdout, attacks=["distance"], n_bootstrap=0)["distance"]
    assert r.exposed_by == "position" and set(r.most_exposed[:2]) == {11, 1234}


def test_explicit_reference_makes_every_holdout_row_a_non_member(tables):
    train, holdout, independent = tables
    reference = table(500, 9)
    r = membership_attacks(train, train, holdout, reference=reference, n_bootstrap=0)["density_ratio"]
    assert r.n_non_members == len(holdout) and r.tpr_at_1pct.value > 0.99
    capped = membership_attacks(train, independent, holdout, max_targets=300, n_bootstrap=0)["distance"]
    assert capped.n_members == 300 and capped.n_non_members == 300


def test_kde_estimator_is_at_chance_on_independent_rows(tables):
    train, holdout, independent = tables
    r = membership_attacks(train, independent, holdout, attacks=["density_ratio"], density_estimator="kde")
    assert abs(r["density_ratio"].auc.value - 0.5) <= 0.05
    space = MixedSpace.fit(train, detect_schema(train))
    fitted = DensityRatioAttack.fit(space, independent, holdout, estimator="kde")
    assert fitted.bandwidth > 0 and fitted.synthetic.shape[0] == 2000


def test_a_custom_attack_object_plugs_in_and_results_are_seeded(tables):
    train, holdout, independent = tables
    holdout = holdout.set_axis([f"h{i}" for i in range(len(holdout))])

    class Oracle:  # knows the training labels: the best possible attack
        name = "oracle"

        def scores(self, targets):
            return targets.index.isin(train.index).astype(float)

    assert isinstance(Oracle(), Attack)
    r = membership_attacks(train, independent, holdout, attacks=[Oracle(), "distance"])
    assert r["oracle"].auc.value == 1.0 and r["oracle"].tpr_at_01pct.value == 1.0
    again = membership_attacks(train, independent, holdout, attacks=["distance"])["distance"]
    assert again.to_dict() | {"seconds": 0} == r["distance"].to_dict() | {"seconds": 0}


# -- bad inputs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, match",
    [
        (dict(attacks=["shadow"]), "attacks"),
        (dict(attacks=[]), "attacks"),
        (dict(attacks=[object()]), "attacks"),
        (dict(max_targets=0), "max_targets"),
        (dict(max_targets=True), "max_targets"),
        (dict(reference_share=1.0), "reference_share"),
        (dict(confidence=95), "confidence"),
        (dict(n_bootstrap=-1), "n_bootstrap"),
        (dict(n_exposed=-1), "n_exposed"),
        (dict(density_estimator="flow"), "density_estimator"),
    ],
)
def test_bad_options_name_the_option(tables, option, match):
    train, holdout, _ = tables
    with pytest.raises(ConfigError, match=match):
        membership_attacks(train.iloc[:50], train.iloc[:50], holdout.iloc[:50], **option)


def test_bad_tables_are_named(tables):
    train, holdout, independent = tables
    with pytest.raises(DataError, match="synthetic"):
        membership_attacks(train, independent.iloc[:0], holdout)
    with pytest.raises(DataError, match="holdout has 10 rows"):
        membership_attacks(train, independent, holdout.iloc[:10])
    with pytest.raises(DataError, match="reference"):
        membership_attacks(train, independent, holdout, reference=holdout.iloc[:0])
    with pytest.raises(SchemaError, match="'g'"):
        membership_attacks(train, independent.drop(columns="g"), holdout)
    with pytest.raises(SchemaError, match="holdout"):
        membership_attacks(train, independent, holdout.assign(extra=1))


# -- attribute inference -------------------------------------------------------------------------------


def people(n: int, seed: int) -> pd.DataFrame:
    """'secret' is a deterministic but locally random function of 'x' (only a copy reveals it);
    'region' a function of 'g' (any faithful table reveals it); 'amount' a numeric one of 'x'."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, n).round(3)
    g = rng.choice(list("xyz"), n)
    thousandths = (x * 1000).round().astype(int)
    return pd.DataFrame(
        {
            "x": x,
            "g": g,
            "age": rng.integers(18, 90, n),
            "secret": np.where(thousandths % 2 == 0, "even", "odd"),
            "region": pd.Series(g).map({"x": "north", "y": "south", "z": "east"}).to_numpy(),
            "amount": (thousandths % 97).astype(float),
        }
    )


@pytest.fixture(scope="module")
def people_tables():
    return people(2000, 1), people(2000, 2), people(2000, 3)


def test_a_copied_table_reveals_members_secrets_and_not_non_members(people_tables):
    train, holdout, _ = people_tables
    r = attribute_inference(train, train, holdout, ["secret", "amount"], known=["x", "g", "age"], cap=False)
    assert r["secret"].metric == "accuracy" and r["secret"].members > 0.99
    assert abs(r["secret"].non_members - 0.5) < 0.05 and r["secret"].member_advantage > 0.4
    assert abs(r["secret"].baseline_members - 0.5) < 0.05
    assert r["amount"].metric == "skill" and r["amount"].members > 0.99 and r["amount"].non_members < 0.1
    assert r["amount"].mae_members < 0.1 * r["amount"].mae_baseline_members


def test_independent_rows_give_no_member_advantage(people_tables):
    train, holdout, independent = people_tables
    r = attribute_inference(train, independent, holdout, ["secret", "amount", "region"], cap=False)
    for column in ("secret", "amount", "region"):
        assert abs(r[column].member_advantage) < 0.1, column
    assert abs(r["secret"].members - 0.5) < 0.05
    # region follows g: population-level inference, high for everyone, not a membership leak
    assert r["region"].members == 1.0 and r["region"].non_members == 1.0
    assert r["region"].advantage_over_marginals > 0.5


def test_sdmetrics_cap_is_a_second_figure(people_tables):
    train, holdout, _ = people_tables
    r = attribute_inference(train.iloc[:500], train.iloc[:500], holdout.iloc[:500], "secret", known=["x", "g"])
    s = r["secret"]
    assert 0.0 <= s.cap_members <= 1.0 and 0.0 <= s.cap_non_members <= 1.0
    assert s.cap_members < s.cap_non_members  # the copy discloses members' secrets more


@pytest.mark.parametrize(
    "sensitive, known, match",
    [
        (["nope"], None, "'nope' is not in the training table"),
        ([], None, "at least one column"),
        (["secret"], ["secret", "x"], "'secret' is both known and sensitive"),
        (["secret"], ["missing"], "known column 'missing'"),
        (["secret"], [], "no known column"),
        (["pid"], None, "'pid' is an identifier"),
    ],
)
def test_bad_attribute_columns_are_named(people_tables, sensitive, known, match):
    train, holdout, independent = people_tables
    add_id = lambda df: df.assign(pid=[f"p{i:05d}" for i in range(len(df))])  # noqa: E731
    with pytest.raises(ConfigError, match=match):
        attribute_inference(add_id(train), add_id(independent), add_id(holdout), sensitive, known, cap=False)


# -- anonymeter ----------------------------------------------------------------------------------------


def test_anonymeter_absent_is_a_note_not_a_failure(people_tables, monkeypatch):
    train, holdout, independent = people_tables
    monkeypatch.setitem(sys.modules, "anonymeter", None)  # import fails, whatever is installed
    r = anonymeter_risks(train, independent, holdout, sensitive=["secret"])
    assert not r.installed and r.risks == {} and r.note == ANONYMETER_NOTE
    assert "numpy < 1.27" in r.to_dict()["note"]


def test_anonymeter_risks_are_passed_through(people_tables, monkeypatch):
    """A stand-in with anonymeter 1.1's evaluator API: evaluate() -> self, risk() -> (value, ci)."""
    train, holdout, independent = people_tables
    calls = []

    def evaluator(value):
        class Evaluator:
            def __init__(self, **kwargs):
                calls.append((value, kwargs))

            def evaluate(self):
                return self

            def risk(self, confidence_level):
                return types.SimpleNamespace(value=value, ci=(value - 0.1, value + 0.1))

        return Evaluator

    module = types.ModuleType("anonymeter.evaluators")
    module.SinglingOutEvaluator, module.LinkabilityEvaluator, module.InferenceEvaluator = (
        evaluator(0.2), evaluator(0.3), evaluator(0.4))
    monkeypatch.setitem(sys.modules, "anonymeter", types.ModuleType("anonymeter"))
    monkeypatch.setitem(sys.modules, "anonymeter.evaluators", module)
    r = anonymeter_risks(train, independent, holdout, sensitive=["amount"], known=["x", "g", "age"])
    assert r.installed
    assert {k: v.value for k, v in r.risks.items()} == {"singling_out": 0.2, "linkability": 0.3, "inference:amount": 0.4}
    assert r.risks["linkability"].low == pytest.approx(0.2)
    link = next(kw for v, kw in calls if v == 0.3)
    assert link["aux_cols"] == (["x"], ["g", "age"]) and link["control"] is holdout
    inference = next(kw for v, kw in calls if v == 0.4)
    assert inference["secret"] == "amount" and inference["regression"] is True
