"""Issue 18 in the report: membership attacks and attribute inference in evaluate's privacy section,
verdicts that follow the strongest attack, the shadow-model attack, and the membership-risk filter."""

from __future__ import annotations

import json
import time
import types

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

from synthgan import PrivacyFilter, evaluate
from synthgan.errors import ConfigError
from synthgan.evaluation.evaluate import ATTACK_LEVELS
from synthgan.privacy.attacks import Estimate, ShadowModelAttack, membership_attacks, shadow_attack
from synthgan.privacy.filter import ISOLATION_K, REASONS
from synthgan.privacy.metrics import attack_grade
from synthgan.privacy.space import MixedSpace
from synthgan.schema import detect_schema
from tests.test_privacy_attacks import table

NUMBERS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def tables():
    return table(2000, 1), table(2000, 2), table(2000, 3)  # train, holdout, independent "synthetic"


@pytest.fixture(scope="module")
def copied(tables):
    train, holdout, _ = tables
    return evaluate(train, train.copy(), holdout, verbose=False, secrets=["g"])


@pytest.fixture(scope="module")
def independent(tables):
    train, holdout, synthetic = tables
    return evaluate(train, synthetic, holdout, verbose=False, secrets=["g"])


# -- evaluate(attacks=...) -----------------------------------------------------------------------


def test_a_copy_is_rated_poor_with_the_attacks_named_and_exposed_labels_listed(copied, tables):
    train = tables[0]
    section = copied["privacy"]
    assert section.verdict == "poor"
    results = section.details["attacks"]["results"]
    assert set(results) == {"density_ratio", "distance"}
    for name, r in results.items():
        assert r["verdict"] == "poor" and r["auc"]["value"] > 0.99 and r["tpr_at_fpr"]["0.01"]["value"] > 0.99
        assert len(r["most_exposed"]) == 10 and set(r["most_exposed"]) <= set(train.index)
        assert any(n.startswith(f"The {name} membership attack rates privacy poor") for n in section.notes)
    exposed = next(t for t in section.tables if t.title == "Most exposed training records")
    assert exposed.columns == ("attack", "rank", "training row", "p-value")  # labels, never values
    assert {row[2] for row in exposed.rows} <= set(train.index) and len(exposed.rows) == 20
    assert section.value("strongest attack AUC") > 0.99


def test_independent_rows_leave_attacks_at_chance_and_privacy_not_poor(independent):
    section = independent["privacy"]
    results = section.details["attacks"]["results"]
    for name, r in results.items():
        assert abs(r["auc"]["value"] - 0.5) <= 0.05, name
        assert r["tpr_at_fpr"]["0.01"]["high"] <= 0.03, name
        assert r["verdict"] == "good", name
    assert section.verdict == "good"
    table_ = next(t for t in section.tables if t.title == "Membership attacks")
    assert [row[0] for row in table_.rows] == ["density_ratio", "distance"]


def test_report_figures_are_those_of_the_attack_functions_and_survive_json(independent, tables):
    train, holdout, synthetic = tables
    data = json.loads(json.dumps(independent.to_dict(), allow_nan=False))
    privacy = next(s for s in data["sections"] if s["key"] == "privacy")["details"]
    direct = membership_attacks(train, synthetic, holdout, seed=0, **ATTACK_LEVELS["fast"])
    for name, r in direct.items():
        got = privacy["attacks"]["results"][name]
        assert got["auc"] == r.auc.to_dict() and got["tpr_at_fpr"]["0.001"] == r.tpr_at_01pct.to_dict()
        assert got["most_exposed"] == list(r.most_exposed) and got["exposed_p_values"] == list(r.exposed_p_values)
        assert got["n_members"] == 2000 and got["n_non_members"] == 1000
    assert privacy["attacks"]["level"] == "fast" and privacy["attacks"]["thresholds"]["auc"] == [0.55, 0.65]
    assert privacy["attribute_inference"]["known"] == ["a", "b", "c", "d", "h"]
    assert privacy["anonymeter"]["installed"] in (False, True)


def test_attacks_none_skips_them_and_keeps_the_distance_verdict(tables):
    train, holdout, synthetic = tables
    report = evaluate(train, synthetic.iloc[:500], holdout, verbose=False, attacks=None)
    section = report["privacy"]
    assert section.details["attacks"]["results"] == {} and section.details["attacks"]["level"] is None
    assert "Membership attacks were not run (attacks=None)." in section.notes
    assert not any(t.title == "Membership attacks" for t in section.tables)
    assert "attribute_inference" not in section.details
    assert section.verdict == "good"  # the distance checks alone


def test_secrets_give_the_attribute_table_with_the_known_columns_named(copied, independent):
    for report, copying in ((copied, True), (independent, False)):
        section = report["privacy"]
        attr = next(t for t in section.tables if t.title == "Attribute inference")
        assert attr.rows[0][0] == "g" and attr.rows[0][1] == "accuracy"
        assert "['a', 'b', 'c', 'd', 'h']" in attr.note
        members, non_members = attr.rows[0][2], attr.rows[0][3]
        if copying:  # the nearest synthetic row of a member is the member itself
            assert members == 1.0 and attr.rows[0][4] == pytest.approx(1.0 - non_members)
        else:
            assert abs(members - non_members) < 0.1


def test_without_a_holdout_the_attacks_are_a_note_and_secrets_an_error(tables):
    train, _, synthetic = tables
    report = evaluate(train.iloc[:300], synthetic.iloc[:300], verbose=False)
    assert any("need real rows the generator never saw" in n for n in report["privacy"].notes)
    with pytest.raises(ConfigError, match="secrets= needs holdout="):
        evaluate(train.iloc[:300], synthetic.iloc[:300], verbose=False, secrets=["g"])


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(attacks="slow"), "attacks='slow'"),
        (dict(attacks=True), "attacks=True"),
        (dict(secrets=["nope"]), "'nope' is not in the training table"),
        (dict(shadow_budget_s=0), "shadow_budget_s=0"),
    ],
)
def test_bad_attack_options_are_named(tables, options, match):
    train, holdout, synthetic = tables
    with pytest.raises(ConfigError, match=match):
        evaluate(train.iloc[:100], synthetic.iloc[:100], holdout.iloc[:100], verbose=False, **options)


def _result(auc: float, tpr: float, low: float, high: float):
    return types.SimpleNamespace(auc=Estimate(auc, auc, auc), tpr_at_fpr={0.01: Estimate(tpr, low, high)})


@pytest.mark.parametrize(
    "auc, tpr, low, high, grade",
    [
        (0.52, 0.01, 0.005, 0.02, "good"),
        (0.55, 0.02, 0.01, 0.03, "good"),  # both at their good limits
        (0.56, 0.01, 0.005, 0.02, "fair"),  # AUC above 0.55
        (0.50, 0.02, 0.0, 0.05, "fair"),  # a small table: the interval does not show TPR <= 0.03
        (0.66, 0.01, 0.005, 0.02, "poor"),  # AUC above 0.65
        (0.50, 0.12, 0.05, 0.2, "poor"),  # a few records named with confidence, at AUC 0.5
        (0.50, 0.12, 0.0, 0.3, "fair"),  # as high, but the interval reaches chance (0.01)
    ],
)
def test_attack_grade_thresholds(auc, tpr, low, high, grade):
    assert attack_grade(_result(auc, tpr, low, high)) == grade


# -- shadow-model attack -------------------------------------------------------------------------


class CopyModel:
    """Releases its training rows (a generator that memorises)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def get_params(self):
        return {"seed": self.seed}

    def fit(self, df, metadata=None):
        self.rows_ = df.reset_index(drop=True)
        return self

    def sample(self, n):  # every row once (shuffled), then repeats
        rng = np.random.default_rng(self.seed)
        order = np.resize(rng.permutation(len(self.rows_)), n)
        return self.rows_.iloc[order].reset_index(drop=True)


class FreshModel(CopyModel):
    """Ignores its training rows: draws new rows from the same population."""

    def sample(self, n):
        return table(n, 10_000 + self.seed % 1000).reset_index(drop=True)


class SlowModel(CopyModel):
    def fit(self, df, metadata=None):
        time.sleep(0.4)
        return super().fit(df, metadata)


def test_shadow_attack_catches_a_memorising_generator(tables):
    train, holdout, _ = tables
    released = CopyModel(seed=5).fit(train).sample(2000)
    result = shadow_attack(train, released, holdout, CopyModel(seed=5), n_targets=60, budget_s=60, n_bootstrap=50)
    assert result.attack == "shadow" and result.n_members == 60 and result.n_non_members == 60
    assert result.auc.value > 0.99 and result.tpr_at_1pct.value > 0.99
    assert set(result.most_exposed) <= set(train.index)


def test_shadow_attack_is_at_chance_on_fresh_rows(tables):
    train, holdout, _ = tables
    model = FreshModel(seed=3)
    released = model.sample(2000)
    result = shadow_attack(train, released, holdout, model, n_targets=100, budget_s=60, n_bootstrap=200)
    assert result.auc.low <= 0.5 <= result.auc.high
    assert abs(result.auc.value - 0.5) < 0.15


def test_shadow_attack_respects_its_budget_and_says_why(tables):
    train, holdout, _ = tables
    started = time.perf_counter()
    note = shadow_attack(train, train, holdout, SlowModel(), n_targets=20, budget_s=0.5)
    assert isinstance(note, str) and "budget of 0.5 s (shadow_budget_s)" in note
    assert time.perf_counter() - started < 5  # one fit over the budget at most (plus the embedding)
    fitted = ShadowModelAttack.fit(
        MixedSpace.fit(train, detect_schema(train)), CopyModel(), train, holdout.iloc[:500], train.iloc[:10],
        n_train=len(train), budget_s=30,
    )
    assert fitted.n_shadow == 16  # MAX_SHADOW_PAIRS pairs fit in the budget
    with pytest.raises(Exception, match="not among the rows"):
        fitted.scores(train.iloc[10:12])


def test_thorough_without_a_model_notes_the_shadow_attack_needs_one(tables):
    train, holdout, synthetic = tables
    report = evaluate(train.iloc[:400], synthetic.iloc[:400], holdout.iloc[:400], verbose=False, attacks="thorough")
    section = report["privacy"]
    assert any("shadow-model attack needs the fitted synthesizer" in n for n in section.notes)
    assert section.details["attacks"]["settings"]["n_bootstrap"] == ATTACK_LEVELS["thorough"]["n_bootstrap"]
    assert set(section.details["attacks"]["results"]) == {"density_ratio", "distance"}


def test_thorough_with_a_model_runs_the_shadow_attack_with_refits_of_it(tables):
    from synthgan import TabularSynthesizer

    train, holdout = tables[0].iloc[:400], tables[1].iloc[:400]
    model = TabularSynthesizer(epochs=2, batch_size=50, seed=0, verbose=False, device="cpu").fit(train)
    report = evaluate(train, model.sample(400), holdout, verbose=False, attacks="thorough", model=model,
                      shadow_budget_s=30)
    shadow = report["privacy"].details["attacks"]["results"]["shadow"]
    assert shadow["n_members"] == 100 and shadow["n_non_members"] == 100
    assert set(shadow["most_exposed"]) <= set(train.index) and 0 <= shadow["auc"]["value"] <= 1


# -- membership-risk filter ----------------------------------------------------------------------


def _planted(train: pd.DataFrame, positions: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Near-copies (numbers moved by 2% of their spread) of the training rows at ``positions``."""
    rng = np.random.default_rng(seed)
    rows = train.iloc[positions].copy()
    rows[NUMBERS] += rng.normal(0, 0.02, (len(rows), 4)) * [1, 2, 10, 0.5]
    rows.index = [f"planted{i}" for i in range(len(rows))]
    return rows


def test_membership_risk_protects_the_most_isolated_records(tables):
    train, holdout, _ = tables
    filt = PrivacyFilter(membership_risk=0.05, dcr_quantile=None, verbose=False).fit(train, holdout=holdout)
    points = filt.space_.transform(train)
    kth = NearestNeighbors(n_neighbors=ISOLATION_K + 1).fit(points).kneighbors(points)[0][:, ISOLATION_K]
    expected = np.sort(np.argsort(-kth, kind="stable")[:100])
    assert len(filt.isolation_positions()) == 100
    assert (filt.isolation_positions() == expected).all()
    np.testing.assert_allclose(filt.protected_radii_, 0.5 * kth[expected], rtol=1e-4)


def test_membership_risk_drops_near_copies_of_isolated_records_and_keeps_ordinary_rows(tables):
    train, holdout, independent = tables
    filt = PrivacyFilter(membership_risk=0.05, dcr_quantile=None, verbose=False).fit(train, holdout=holdout)
    planted = _planted(train, filt.isolation_positions())
    result = filt.filter(pd.concat([independent, planted]))
    dropped = set(result.dropped.index)
    assert set(planted.index) <= dropped
    assert set(result.reasons[list(planted.index)]) == {"membership_risk"}
    assert len(dropped - set(planted.index)) <= 0.02 * len(independent)  # ordinary rows kept
    assert result.counts["membership_risk"] == len(dropped) and set(result.counts) == set(REASONS)


def test_membership_risk_filter_lowers_the_density_ratio_attack(tables):
    train, holdout, independent = tables
    filt = PrivacyFilter(membership_risk=0.05, dcr_quantile=None, verbose=False).fit(train, holdout=holdout)
    synthetic = pd.concat([independent, _planted(train, filt.isolation_positions())])
    before = membership_attacks(train, synthetic, holdout, attacks=["density_ratio"], n_bootstrap=100)
    after = membership_attacks(train, filt.filter(synthetic).kept, holdout, attacks=["density_ratio"], n_bootstrap=100)
    tpr_before, tpr_after = before["density_ratio"].tpr_at_1pct, after["density_ratio"].tpr_at_1pct
    assert tpr_before.low > 0.03  # the planted near-copies are named
    assert tpr_after.value < tpr_before.value and tpr_after.high <= 0.03
    assert not set(after["density_ratio"].most_exposed[:3]) & set(before["density_ratio"].most_exposed[:3])


def test_membership_risk_is_off_by_default_and_validated(tables):
    train, holdout, independent = tables
    filt = PrivacyFilter(verbose=False).fit(train, holdout=holdout)
    planted = _planted(train, np.arange(5))
    result = filt.filter(pd.concat([independent.iloc[:200], planted]))
    assert result.counts["membership_risk"] == 0 and filt.protected_ is None
    with pytest.raises(ConfigError, match="membership-risk check is off"):
        filt.isolation_positions()
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ConfigError, match="membership_risk"):
            PrivacyFilter(membership_risk=bad, verbose=False).fit(train)
    with pytest.raises(ConfigError, match="membership_radius"):
        PrivacyFilter(membership_risk=0.1, membership_radius=0, verbose=False).fit(train)
