"""Issue 14: target-aware training (the target in every conditional vector, an auxiliary
head), augment() and its strategies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import TabularSynthesizer
from synthgan.errors import ConfigError, DataError
from synthgan.tabular.synthesizer import augment_counts

FAST = dict(epochs=3, batch_size=50, seed=0, verbose=False, validation=0)


def _table(n=400, seed=0):
    """A rare class that two features separate, plus a categorical column."""
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(n) < 0.15, "fraud", "ok")
    shift = np.where(label == "fraud", 3.0, 0.0)
    return pd.DataFrame({
        "amount": rng.normal(shift, 1.0, n).round(2),
        "score": rng.normal(-shift, 1.0, n).round(3),
        "channel": rng.choice(["web", "shop", "phone"], n),
        "label": label,
    })


@pytest.fixture(scope="module")
def fitted():
    df = _table()
    return TabularSynthesizer(**FAST).fit(df, target="label"), df


def test_target_is_in_every_training_condition(fitted):
    synth, df = fitted
    model = synth.model_
    matrix = torch.from_numpy(synth.transformer_.transform(df, np.random.default_rng(0)))
    model.data = matrix
    model.sampler.attach_rows(matrix)
    cond, rows = model._conditions(2_000)
    part = cond[:, model.sampler.target_slice()]
    assert torch.all(part.sum(dim=1) == 1)  # exactly one class set on every row...
    start, end = model.target.span
    assert torch.equal(part.argmax(1), matrix[rows, start:end].argmax(1))  # ...the drawn real row's class
    others = cond.sum(dim=1) - 1
    assert torch.all(others <= 1) and others.float().mean() > 0.3  # and the picked column when it is another
    model.data = None


def test_sampling_conditions_carry_a_target_class(fitted):
    synth, _ = fitted
    sampler = synth.model_.sampler
    gen = torch.Generator().manual_seed(0)
    cond = sampler.fill_target(sampler.sample_original(5_000, gen), gen)
    part = cond[:, sampler.target_slice()]
    assert torch.all(part.sum(dim=1) == 1)
    # drawn given the other condition: the class shares follow the real table's (15% fraud)
    assert abs(float(part[:, 0].mean()) - 0.15) < 0.04  # categories are sorted: "fraud" first


def test_auxiliary_head_learns_a_separable_target():
    df = _table(600, seed=1)
    synth = TabularSynthesizer(epochs=12, batch_size=50, seed=0, verbose=False, validation=0).fit(df, target="label")
    head = synth.history_.losses("classifier")
    assert head[-1] < 0.5 * head[0]  # the classifier on real rows learns the signal
    assert head[-1] < 0.3


def test_without_target_there_is_no_head():
    synth = TabularSynthesizer(**FAST).fit(_table())
    assert synth.target_ is None and synth.model_.net_c is None
    assert "classifier" not in synth.history_.records[0].losses


def test_target_survives_save_and_load(fitted, tmp_path):
    synth, _ = fitted
    synth.save(tmp_path / "m.synth")
    loaded = TabularSynthesizer.load(tmp_path / "m.synth")
    assert loaded.target_ == "label"
    pd.testing.assert_frame_equal(loaded.sample(50, seed=3), synth.sample(50, seed=3))


@pytest.mark.parametrize("strategy, expected", [
    ("balance", {"fraud": None, "ok": 0}),
    ({"fraud": 40}, {"fraud": 40}),
    (0.5, {"fraud": None, "ok": 0}),
])
def test_augment_returns_exactly_the_requested_rows(fitted, strategy, expected):
    synth, df = fitted
    counts = df["label"].value_counts()
    out = synth.augment(df, strategy=strategy, indicator="synthetic", seed=1)
    real, synthetic = out[~out["synthetic"]], out[out["synthetic"]]
    pd.testing.assert_frame_equal(real.drop(columns="synthetic"), df.reset_index(drop=True))
    added = synthetic["label"].value_counts().to_dict()
    if strategy == "balance":
        assert added == {"fraud": counts["ok"] - counts["fraud"]}
    elif strategy == 0.5:
        assert added == {"fraud": int(np.ceil(0.5 * counts["ok"])) - counts["fraud"]}
    else:
        assert added == {"fraud": 40}
    assert set(synthetic["label"]) <= {"fraud"}  # only the classes that needed rows
    assert list(out.columns) == list(df.columns) + ["synthetic"]


def test_augment_counts_and_bad_strategies():
    labels = pd.Series(["a"] * 10 + ["b"] * 3 + ["c"] * 1)
    assert augment_counts(labels, "balance") == {"a": 0, "b": 7, "c": 9}
    assert augment_counts(labels, 0.5) == {"a": 0, "b": 2, "c": 4}
    for bad in ("all", 1.5, 0, {"b": -1}, {"b": 2.5}, None):
        with pytest.raises(ConfigError):
            augment_counts(labels, bad)


def test_bad_targets_are_named(fitted):
    synth, df = fitted
    with pytest.raises(DataError, match="'nope'"):
        TabularSynthesizer(**FAST).fit(df, target="nope")
    with pytest.raises(DataError, match="'amount'"):
        synth.augment(df, target="amount")
    with pytest.raises(DataError, match="not in the table"):
        synth.augment(df.drop(columns="label"))
    with pytest.raises(ConfigError, match="already exists"):
        synth.augment(df, indicator="label")


def _gap_table(n=1_500, seed=2):
    """Positive rate 0.45 for men, 0.15 for women (gap 0.30), with a feature tied to both."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["M", "F"], n)
    positive = rng.random(n) < np.where(sex == "M", 0.45, 0.15)
    return pd.DataFrame({
        # two decimals: few generated rows copy a training row, so the exact-copy check
        # (which drops copies, more of them in dense groups) leaves the shares alone
        "hours": (rng.normal(38, 6, n) + 6 * positive + 3 * (sex == "M")).round(2),
        "sector": rng.choice(["a", "b", "c", "d"], n),
        "sex": sex,
        "income": np.where(positive, ">50K", "<=50K"),
    })


def _gap(df):
    rates = df.assign(p=df["income"] == ">50K").groupby("sex")["p"].mean()
    return float(rates["M"] - rates["F"])


def test_fairness_keeps_a_planted_gap():
    df = _gap_table()
    synth = TabularSynthesizer(epochs=4, seed=0, verbose=False, validation=0).fit(
        df, target="income", fairness=["sex"]
    )
    rows = synth.sample(6_000, seed=1)
    assert abs(_gap(rows) - _gap(df)) < 0.05, (_gap(rows), _gap(df))
    # and the group shares themselves are the real ones
    assert abs((rows["sex"] == "F").mean() - (df["sex"] == "F").mean()) < 0.03
    assert synth.fairness_ == ("sex",)


def test_fairness_needs_discrete_columns_and_a_target():
    df = _gap_table(300)
    with pytest.raises(DataError, match="'hours'.*bin it"):
        TabularSynthesizer(**FAST).fit(df, target="income", fairness=["hours"])
    with pytest.raises(ConfigError, match="target="):
        TabularSynthesizer(**FAST).fit(df, fairness=["sex"])
