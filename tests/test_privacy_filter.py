"""PrivacyFilter and ImagePrivacyFilter: exact copies, too-close rows, rare combinations, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from synthgan.errors import ConfigError, DataError, NotFittedError, SchemaError
from synthgan.privacy import ExactMatchIndex, ImagePrivacyFilter, PrivacyFilter, RowNormaliser, row_keys
from synthgan.privacy.filter import REASONS
from synthgan.privacy.rare import OTHER
from synthgan.schema import detect_schema


def population(n: int, seed: int) -> pd.DataFrame:
    """Independent draws of one mixed-type population (numbers with 2 decimals, NaN, text, ints)."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 0.6, n), 2)
    income[rng.random(n) < 0.05] = np.nan
    zips = np.array([f"75{i:03d}" for i in range(12)], dtype=object)
    zip_code = rng.choice(zips, n, p=np.r_[[0.3, 0.2, 0.15, 0.1], np.full(8, 0.25 / 8)])
    zip_code[rng.random(n) < 0.03] = None
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "zip": zip_code,
            "income": income,
            "score": np.round(rng.normal(0, 1, n), 3),
        }
    )


def quiet(**options) -> PrivacyFilter:
    return PrivacyFilter(verbose=False, **options)


# -- exact matches ------------------------------------------------------------------------------


def test_planted_copies_and_only_them_are_dropped_as_exact_matches():
    train, fresh = population(800, 0), population(400, 1)
    planted = train.sample(25, random_state=3).reset_index(drop=True)
    planted["income"] += 0.001  # below the 2 decimals the training column records
    planted["age"] = planted["age"].astype("float64")  # 41.0 equals 41
    rows = pd.concat([fresh, planted], ignore_index=True)
    rows["sex"] = rows["sex"].astype("category")  # categories compare by value, not dtype
    result = quiet(dcr_quantile=None).fit(train).filter(rows)
    assert sorted(result.dropped.index) == list(range(400, 425))
    assert set(result.reasons) == {"exact_match"}
    assert result.counts == {"exact_match": 25, "rare_combination": 0, "dcr": 0, "membership_risk": 0}
    assert len(result.kept) == 400 and result.pass_rate == pytest.approx(400 / 425)


def test_exact_matching_can_be_switched_off():
    train = population(300, 0)
    result = quiet(exact=False, dcr_quantile=None).fit(train).filter(train.head(10))
    assert len(result.kept) == 10


def test_row_keys_follow_the_documented_normalisation():
    train = pd.DataFrame(
        {
            "x": [1.25, 2.5, np.nan, 0.0],
            "c": ["1", "a", None, "b"],
            "t": pd.to_datetime(["2024-01-01 12:00", "2024-01-02 00:00", None, "2024-01-03 00:00"]).tz_localize("UTC"),
        }
    )
    schema = detect_schema(train, {"x": "continuous", "c": "categorical", "t": "datetime"})
    norm = RowNormaliser.fit(train, schema)
    assert norm.decimals[0] == 2
    other = pd.DataFrame(
        {
            "x": [1.2500001, 2.5, np.nan, -0.0],  # rounds to 1.25; NaN equals NaN; -0.0 equals 0.0
            "c": [1, "a", np.nan, "b"],  # 1 equals "1"; NaN equals None
            "t": pd.to_datetime(["2024-01-01 13:00", "2024-01-02 00:00", None, "2024-01-03 01:00"]).tz_localize(
                "Europe/Paris"
            ),
        }
    )
    same = row_keys(train, norm) == row_keys(other, norm)
    assert same.tolist() == [True, False, True, True]  # 13:00 Paris is 12:00 UTC; Paris midnight is not UTC's
    assert row_keys(train, norm).dtype == np.uint64


def test_exact_match_index_survives_a_save_as_json_and_uint64():
    train = population(200, 0)
    index = ExactMatchIndex.build(train)
    again = ExactMatchIndex.from_state(dict(index.state()), index.keys.astype(np.uint64).copy())
    rows = pd.concat([train.head(5), population(50, 9)], ignore_index=True)
    assert again.mask(rows).tolist() == index.mask(rows).tolist() == [True] * 5 + [False] * 50
    assert len(again) <= len(train) and again.keys.dtype == np.uint64


# -- distance to closest record ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer():
    df = load_breast_cancer(as_frame=True).frame
    rng = np.random.default_rng(0)
    order = rng.permutation(len(df))
    train, holdout, other = df.iloc[order[:300]], df.iloc[order[300:430]], df.iloc[order[430:]]
    return train, holdout, other


def test_dcr_threshold_is_the_holdout_quantile_and_monotone(cancer):
    train, holdout, other = cancer
    dropped, thresholds = [], []
    for q in (0.01, 0.05, 0.2, 0.5, 0.9):
        filt = quiet(exact=False, dcr_quantile=q).fit(train, holdout=holdout)
        result = filt.filter(other)
        thresholds.append(result.threshold)
        dropped.append(set(result.dropped.index))
        assert np.quantile(filt.dcr(holdout), q) == pytest.approx(result.threshold)
        assert (result.distances.loc[list(result.dropped.index)] < result.threshold).all()
        assert (result.distances.loc[result.kept.index] >= result.threshold).all()
    assert thresholds == sorted(thresholds)
    assert all(a <= b for a, b in zip(dropped, dropped[1:]))  # nested, hence at least as many
    assert len(dropped[-1]) > len(dropped[0])


def test_without_holdout_a_seeded_split_sets_the_threshold_and_all_train_is_filtered(cancer):
    train, _, _ = cancer
    first = quiet(exact=False).fit(train)
    assert first.threshold_ == quiet(exact=False).fit(train).threshold_
    assert first.threshold_ > 0
    assert quiet(exact=False, seed=1).fit(train).threshold_ != first.threshold_
    result = first.filter(train)  # every training row is at distance 0 from itself
    assert len(result.kept) == 0 and set(result.reasons) == {"dcr"}


def test_near_copies_are_dropped_and_new_rows_mostly_kept(cancer):
    train, holdout, other = cancer
    near = train.head(20).copy()
    near.iloc[:, :5] *= 1.0001
    result = quiet().fit(train, holdout=holdout).filter(pd.concat([other, near]))
    assert result.reasons.loc[near.index].eq("dcr").all()
    assert result.pass_rate > 0.7


# -- rare combinations --------------------------------------------------------------------------------


def test_rare_combinations_are_exactly_those_seen_fewer_than_k_times():
    train, rows = population(1500, 0), population(600, 1)
    qis, k = ["age", "sex", "zip"], 5
    result = quiet(exact=False, dcr_quantile=None, quasi_identifiers=qis, k=k).fit(train).filter(rows)
    counts = train.groupby(qis, dropna=False).size().rename("n").reset_index()
    joined = rows.reset_index().merge(counts, on=qis, how="left").set_index("index")
    expected = set(joined.index[joined["n"].fillna(0) < k])
    assert 0 < len(expected) < len(rows)
    assert set(result.dropped.index) == expected
    assert set(result.reasons) == {"rare_combination"}


def test_continuous_quasi_identifiers_are_matched_on_training_bins():
    train, rows = population(1500, 0), population(300, 1)
    result = quiet(exact=False, dcr_quantile=None, quasi_identifiers=["sex", "income"], k=5).fit(train).filter(rows)
    # exact incomes never repeat; on 10 bins x 2 sexes every cell holds ~70 training rows
    assert result.pass_rate == 1.0


@pytest.fixture(scope="module")
def coarse_train() -> pd.DataFrame:
    """Wide-ranging ages, 40 cities seen 3 times each, a category with two rare values, a rare flag."""
    rng = np.random.default_rng(0)
    n = 600
    city = np.array(["A"] * 240 + ["B"] * 240 + [f"Z{i // 3:02d}" for i in range(120)], dtype=object)
    tier = np.array(["gold"] * 297 + ["silver"] * 297 + ["iron"] * 3 + ["tin"] * 3, dtype=object)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 400, n),
            "city": city,
            "tier": pd.Categorical(tier, categories=["gold", "silver", "iron", "tin", "lead"]),
            "flag": np.arange(n) < 2,
            "x": rng.normal(size=n),
        }
    )


def generalising(qis: list) -> PrivacyFilter:
    return quiet(exact=False, dcr_quantile=None, quasi_identifiers=qis, k=5, rare_mode="generalise")


def test_generalise_replaces_rare_text_values_by_the_marker(coarse_train):
    rows = coarse_train.iloc[[0, 500, 540]].reset_index(drop=True)  # cities A, Z06, Z20
    before = rows.copy()
    result = generalising(["city"]).fit(coarse_train).filter(rows)
    assert result.kept["city"].tolist() == ["A", OTHER, OTHER]  # 120 rare-city rows pool into "Other"
    assert result.n_generalised == 2 and result.kept["city"].dtype == object
    pd.testing.assert_frame_equal(rows, before)  # the input is left unchanged
    assert generalising(["city"]).fit(coarse_train).filter(result.kept).pass_rate == 1.0  # now common


def test_generalise_adds_the_marker_to_a_category_dtype(coarse_train):
    rows = coarse_train.iloc[[0, 597, 599]].reset_index(drop=True)  # gold, iron, tin
    result = generalising(["tier"]).fit(coarse_train).filter(rows)
    assert result.kept["tier"].tolist() == ["gold", OTHER, OTHER]
    assert list(result.kept["tier"].cat.categories) == ["gold", "silver", "iron", "tin", "lead", OTHER]
    lead = rows.assign(tier=pd.Categorical(["lead"] * 3, categories=rows["tier"].cat.categories))
    assert generalising(["tier"]).fit(coarse_train).filter(lead).pass_rate == 1.0  # unseen: pooled too


def test_generalise_replaces_numbers_by_their_coarse_bin_median(coarse_train):
    rows = pd.DataFrame({"age": [21, 150, 399]}).assign(
        city="A", tier=pd.Categorical(["gold"] * 3, categories=coarse_train["tier"].cat.categories), flag=False, x=0.0
    )
    result = generalising(["age"]).fit(coarse_train).filter(rows)
    assert result.n_generalised == 3 and result.kept["age"].dtype == np.int64
    ages = np.sort(coarse_train["age"].to_numpy())
    bounds = np.r_[-np.inf, np.quantile(ages, [0.25, 0.5, 0.75]), np.inf]  # coarse_bins=4
    for old, new in zip(rows["age"], result.kept["age"]):
        b = np.searchsorted(bounds, old, "right") - 1
        inside = ages[(ages >= bounds[b]) & (ages < bounds[b + 1])]
        assert new == inside[(len(inside) - 1) // 2]  # the lower median of the bin


def test_generalise_drops_rows_that_stay_rare(coarse_train):
    rows = coarse_train.iloc[[0, 1, 100]].reset_index(drop=True)  # flag True, True, False
    result = generalising(["age", "flag"]).fit(coarse_train).filter(rows)
    assert result.reasons.to_dict() == {0: "rare_combination", 1: "rare_combination"}  # a boolean takes no marker
    assert result.kept.index.tolist() == [2] and result.n_generalised == 1


# -- result accounting --------------------------------------------------------------------------------


def test_result_partitions_the_input_and_counts_first_reasons(cancer):
    train, holdout, other = cancer
    rows = pd.concat([other, train.head(5)])
    before = rows.copy()
    result = quiet(quasi_identifiers=["target"], k=1).fit(train, holdout=holdout).filter(rows)
    pd.testing.assert_frame_equal(rows, before)
    assert sorted([*result.kept.index, *result.dropped.index]) == sorted(rows.index)
    assert sum(result.counts.values()) == len(result.dropped) and set(result.counts) == set(REASONS)
    assert result.reasons.loc[train.head(5).index].eq("exact_match").all()
    assert result.distances.loc[train.head(5).index].isna().all()  # not computed for rows already dropped


def test_kept_rows_pass_again_and_an_empty_sample_is_fine(cancer):
    train, holdout, other = cancer
    filt = quiet(quasi_identifiers=["target"], k=5).fit(train, holdout=holdout)
    kept = filt.filter(other).kept
    assert filt.filter(kept).pass_rate == 1.0
    empty = filt.filter(other.iloc[:0])
    assert len(empty.kept) == 0 and empty.counts == dict.fromkeys(REASONS, 0)


# -- images --------------------------------------------------------------------------------------------


def test_image_filter_drops_planted_copies_and_near_copies():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (300, 8, 8), dtype=np.uint8)
    holdout = rng.integers(0, 256, (100, 8, 8), dtype=np.uint8)
    fresh = rng.integers(0, 256, (100, 8, 8), dtype=np.uint8)
    near = np.clip(train[20:25].astype(int) + rng.integers(-2, 3, (5, 8, 8)), 0, 255).astype(np.uint8)
    images = np.concatenate([fresh, train[:10], near])
    labels = np.r_[np.zeros(100), np.ones(10), np.full(5, 2)]
    result = ImagePrivacyFilter(quantile=0.05).fit(train, holdout=holdout).filter(images, labels=labels)
    assert result.counts["exact_match"] == 10
    dropped = set(np.setdiff1d(np.arange(len(images)), result.kept_index))
    assert set(range(100, 115)) <= dropped
    assert result.pass_rate > 0.8 * 100 / 115
    assert len(result.kept_labels) == len(result.kept) and set(result.dropped_labels) >= {1.0, 2.0}


def test_image_filter_works_on_features():
    rng = np.random.default_rng(1)
    train_features = rng.normal(size=(200, 16))
    generated = np.concatenate([rng.normal(size=(50, 16)), train_features[:4] + 1e-4])
    images = np.arange(len(generated))  # anything with one item per feature row
    filt = ImagePrivacyFilter(quantile=0.05).fit(train_features)
    result = filt.filter(images, features=generated)
    assert set(range(50, 54)) <= set(result.dropped.tolist())


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, match",
    [
        ({"quasi_identifiers": ["agee", "sex"]}, r"'agee' is not a column.*did you mean \['age'\]"),
        ({"quasi_identifiers": "age"}, "expected a list of column names"),
        ({"quasi_identifiers": ["age", "age"]}, "twice"),
        ({"k": 0}, "k=0"),
        ({"dcr_quantile": 0.0}, "dcr_quantile=0.0"),
        ({"dcr_quantile": 1.0}, "dcr_quantile=1.0"),
        ({"dcr_quantile": 1.5}, "dcr_quantile=1.5"),
        ({"rare_mode": "suppress"}, "rare_mode"),
        ({"holdout_fraction": 1.0}, "holdout_fraction"),
    ],
)
def test_bad_options_are_config_errors(options, match):
    with pytest.raises(ConfigError, match=match):
        quiet(**options).fit(population(100, 0))


def test_identifier_columns_cannot_be_quasi_identifiers():
    train = population(100, 0).assign(person_id=[f"P{i:04d}" for i in range(100)])
    with pytest.raises(ConfigError, match="identifier column"):
        quiet(quasi_identifiers=["person_id"]).fit(train)


def test_bad_tables_are_named_errors():
    train = population(100, 0)
    with pytest.raises(NotFittedError, match="call fit"):
        quiet().filter(train)
    with pytest.raises(DataError, match="empty"):
        quiet().fit(train.iloc[:0])
    with pytest.raises(DataError, match="empty"):
        quiet().fit([1, 2, 3])
    filt = quiet().fit(train)
    with pytest.raises(SchemaError, match=r"\['income'\] of the training table are missing") as info:
        filt.filter(train.drop(columns="income").assign(salary=1.0))
    assert "['salary'] of the synthetic rows are not in the training table" in str(info.value)
    with pytest.raises(SchemaError, match="'age' holds numbers in training but object"):
        filt.filter(train.assign(age="old"))
    with pytest.raises(SchemaError, match=r"\['score'\] of the training table are missing from the holdout"):
        quiet().fit(train, holdout=train.drop(columns="score"))
    with pytest.raises(DataError, match="DataFrame"):
        filt.filter(train.to_numpy())


def test_bad_image_input_is_named_errors():
    images = np.zeros((20, 8, 8), dtype=np.uint8)
    with pytest.raises(NotFittedError):
        ImagePrivacyFilter().filter(images)
    with pytest.raises(ConfigError, match="quantile=1"):
        ImagePrivacyFilter(quantile=1).fit(images)
    filt = ImagePrivacyFilter().fit(images + np.arange(20, dtype=np.uint8)[:, None, None])
    with pytest.raises(DataError, match=r"shape \(4, 4\)"):
        filt.filter(np.zeros((3, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match="non-empty numeric array"):
        ImagePrivacyFilter().fit(np.array(["a", "b"]))
    with pytest.raises(DataError, match="labels"):
        filt.filter(images[:3], labels=[1])
