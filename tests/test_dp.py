"""Differentially private training: budget accounting, refusal past the budget, private statistics."""

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import DPConfig, TabularSynthesizer
from synthgan.errors import ConfigError, DataError, MissingDependencyError, TrainingError

pytest.importorskip("opacus")


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 4000
    sex = rng.choice(["F", "M"], n)
    age = rng.integers(18, 70, n)
    job = rng.choice(["clerk", "nurse", "driver"], n, p=[0.5, 0.3, 0.2]).astype(object)
    job[:5] = "astronaut"  # a category of 5 rows: must not be released
    income = np.where(sex == "M", 1, 0) * 5000 + age * 300 + rng.normal(0, 2000, n)
    return pd.DataFrame({"age": age, "sex": sex, "job": job, "income": income})


@pytest.fixture(scope="module")
def fitted(table):
    return TabularSynthesizer(epochs=3, batch_size=200, seed=0, verbose=False, dp=DPConfig(epsilon=3.0)).fit(table)


def test_spent_epsilon_is_within_the_budget_and_uses_most_of_it(fitted):
    spent = fitted.privacy_
    assert spent["epsilon"] <= 3.0
    assert spent["epsilon"] > 2.7  # noise is calibrated to the budget, not far below it
    assert spent["epsilon_statistics"] == pytest.approx(0.3)
    assert spent["critic_steps"] == 3 * (4000 // 200)


def test_samples_keep_columns_and_dtypes_and_stay_in_private_bounds(fitted, table):
    rows = fitted.sample(500, seed=1)
    assert list(rows.columns) == list(table.columns)
    assert rows["age"].dtype == table["age"].dtype
    enc = fitted.transformer_.encoders["age"]
    # power-of-two bins: the private range covers the data and is at most twice as wide on each side
    assert 8 <= enc.low <= 18 and 69 <= enc.high <= 128
    assert rows["age"].between(enc.low, enc.high).all()


def test_rare_category_is_not_released(fitted):
    released = fitted.transformer_.encoders["job"].categories
    assert set(released) == {"clerk", "nurse", "driver"}
    assert "astronaut" not in set(fitted.sample(2000, seed=2)["job"])


def test_category_counts_are_noisy(fitted, table):
    enc = fitted.transformer_.encoders["job"]
    exact = table["job"].value_counts().reindex(enc.categories).to_numpy(float)
    assert not np.allclose(enc.frequencies, exact)
    assert np.allclose(enc.frequencies, exact, rtol=0.2)  # noise of scale 4/0.3 on thousands of rows


def test_model_file_keeps_the_privacy_record(fitted, tmp_path):
    path = fitted.save(tmp_path / "dp.synth")
    loaded = TabularSynthesizer.load(path)
    assert loaded.privacy_ == fitted.privacy_
    assert loaded.sample(20, seed=3).equals(fitted.sample(20, seed=3))


def test_refuses_a_run_that_would_exceed_the_budget(table):
    synth = TabularSynthesizer(
        epochs=50, batch_size=200, seed=0, verbose=False, dp=DPConfig(epsilon=1.0, noise_multiplier=0.5)
    )
    with pytest.raises(ConfigError, match="at most"):
        synth.fit(table)


def test_refuses_to_step_past_the_planned_budget(fitted):
    model = fitted.model_
    model.data = torch.zeros((100, fitted.transformer_.layout.width))
    with pytest.raises(TrainingError, match="budget"):
        model.train_step()


def test_public_bounds_and_categories_are_used_as_given(table):
    dp = DPConfig(epsilon=3.0, bounds={"age": (0, 100)}, categories={"job": ["clerk", "nurse", "driver", "astronaut", "chef"]})
    synth = TabularSynthesizer(epochs=1, batch_size=200, seed=0, verbose=False, dp=dp).fit(table)
    assert (synth.transformer_.encoders["age"].low, synth.transformer_.encoders["age"].high) == (0, 100)
    assert synth.transformer_.encoders["job"].categories == ["astronaut", "chef", "clerk", "driver", "nurse"]


@pytest.mark.parametrize(
    "dp, match",
    [
        (dict(epsilon=0), "epsilon"),
        (dict(epsilon=-1), "epsilon"),
        (dict(epsilon=1, delta=1.5), "delta"),
        (dict(epsilon=1, bounds={"nope": (0, 1)}), "nope"),
        (dict(epsilon=1, bounds={"age": (5, 5)}), "low < high"),
        (dict(epsilon=1, categories={"age": [1, 2]}), "age"),
    ],
)
def test_bad_dp_options_are_named(table, dp, match):
    with pytest.raises(ConfigError, match=match):
        TabularSynthesizer(epochs=1, verbose=False, dp=dp).fit(table)


def test_too_small_table_says_what_to_do():
    df = pd.DataFrame({"x": np.arange(30.0), "c": ["a", "b"] * 15})
    with pytest.raises(DataError, match="DPConfig"):
        TabularSynthesizer(epochs=1, verbose=False, dp=DPConfig(epsilon=1.0)).fit(df)


def test_checkpoints_are_refused_with_dp(table, tmp_path):
    with pytest.raises(ConfigError, match="checkpoint"):
        TabularSynthesizer(epochs=1, verbose=False, dp=DPConfig(epsilon=1.0), checkpoint_dir=str(tmp_path)).fit(table)


def test_missing_opacus_is_a_named_error(table, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "opacus", None)  # makes `import opacus` raise ImportError
    with pytest.raises(MissingDependencyError, match="synthgan\\[dp\\]"):
        TabularSynthesizer(epochs=1, verbose=False, dp=DPConfig(epsilon=1.0)).fit(table)


def test_without_dp_there_is_no_privacy_record(table):
    synth = TabularSynthesizer(epochs=1, batch_size=500, seed=0, verbose=False).fit(table.head(500))
    assert synth.privacy_ is None


def test_missingness_follows_the_noisy_count_not_the_raw_data(table):
    """Integer columns cannot be missing (public dtype); a column with many missing values
    releases missingness; no NaN ever appears in a column whose dtype cannot hold it."""
    df = table.copy()
    df["score"] = np.where(np.arange(len(df)) % 3 == 0, np.nan, df["income"])
    df["week"] = (np.arange(len(df)) % 5).astype("int64")  # categorical by kind, int dtype
    dp = DPConfig(epsilon=3.0, categories={"week": [0, 1, 2, 3, 4]})
    synth = TabularSynthesizer(epochs=1, batch_size=200, seed=0, verbose=False, dp=dp).fit(df)
    assert synth.transformer_.encoders["score"].has_missing
    assert not synth.transformer_.encoders["week"].has_missing
    assert not synth.transformer_.encoders["age"].has_missing
    rows = synth.sample(500, seed=0, privacy=False)
    assert rows["week"].dtype == np.int64 and rows["score"].isna().any()
