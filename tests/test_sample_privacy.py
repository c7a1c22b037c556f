"""What ``TabularSynthesizer.sample`` releases: exact copies never, filters applied until n pass."""

import numpy as np
import pandas as pd
import pytest

from synthgan import PrivacyFilter, TabularSynthesizer
from synthgan.errors import ConfigError, PrivacyFilterError, SchemaError


@pytest.fixture(scope="module")
def coarse():
    """A table with few distinct rows, so an unfiltered model emits many exact copies."""
    rng = np.random.default_rng(0)
    n = 600
    return pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], n),
            "b": rng.choice(["p", "q", "r"], n),
            "c": rng.choice([True, False], n),
        }
    )


@pytest.fixture(scope="module")
def model(coarse):
    return TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(coarse)


def _copies(rows: pd.DataFrame, train: pd.DataFrame) -> int:
    keys = set(map(tuple, train.astype(str).to_numpy()))
    return sum(tuple(r) in keys for r in rows.astype(str).to_numpy())


def test_opting_out_releases_copies_and_the_default_removes_them(model, coarse):
    raw = model.sample(300, seed=1, privacy=False)
    assert _copies(raw, coarse) > 250  # 12 possible rows, all seen in training
    # every possible row copies a training row: refused at once, saying why and how to opt out
    with pytest.raises(PrivacyFilterError, match=r"all 12 combinations.*privacy=False"):
        model.sample(300, seed=1)


def test_default_sample_has_no_exact_copy_and_n_rows(coarse):
    rng = np.random.default_rng(1)
    df = coarse.assign(x=rng.normal(size=len(coarse)).round(3))
    synth = TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(df)
    rows = synth.sample(500, seed=2)
    assert len(rows) == 500
    assert _copies(rows, df) == 0


def test_planted_copies_are_removed_after_save_and_load(coarse, tmp_path):
    rng = np.random.default_rng(1)
    df = coarse.assign(x=rng.normal(size=len(coarse)).round(3))
    synth = TabularSynthesizer(epochs=1, batch_size=200, seed=0, verbose=False).fit(df)
    loaded = TabularSynthesizer.load(synth.save(tmp_path / "m.synth"))
    planted = pd.concat([df.head(7), loaded.sample(50, seed=3, privacy=False)], ignore_index=True)
    mask = loaded.exact_index_.mask(planted)
    assert mask[:7].all()
    assert loaded.sample(200, seed=3).pipe(_copies, df) == 0


def test_privacy_filter_is_applied_until_n_rows_pass(coarse):
    rng = np.random.default_rng(2)
    df = coarse.assign(x=rng.normal(size=len(coarse)), age=rng.integers(18, 90, len(coarse)))
    synth = TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(df)
    filt = PrivacyFilter(dcr_quantile=0.2, quasi_identifiers=["a", "age"], k=3, verbose=False).fit(df)
    rows = synth.sample(400, seed=4, privacy=filt)
    assert len(rows) == 400
    again = filt.filter(rows)
    assert again.counts == {k: 0 for k in again.counts}  # every released row passes every check


def test_conditions_and_filter_together(coarse):
    rng = np.random.default_rng(3)
    df = coarse.assign(x=rng.normal(size=len(coarse)))
    synth = TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(df)
    filt = PrivacyFilter(dcr_quantile=0.05, verbose=False).fit(df)
    rows = synth.sample(100, conditions={"a": "x"}, seed=5, privacy=filt)
    assert len(rows) == 100 and (rows["a"] == "x").all()


def test_bad_privacy_arguments_are_named(model, coarse):
    with pytest.raises(ConfigError, match="privacy="):
        model.sample(10, privacy="dcr")
    with pytest.raises(ConfigError, match="not fitted"):
        model.sample(10, privacy=PrivacyFilter())
    other = PrivacyFilter(dcr_quantile=None, verbose=False).fit(coarse.rename(columns={"a": "z"}))
    with pytest.raises(SchemaError):
        model.sample(10, privacy=other, seed=0)
