"""TabularSynthesizer: the shared synthesizer contract, conditions, training loop, a real fit."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import TabularSynthesizer
from synthgan.errors import ConditionError, ConfigError, NotFittedError, TrainingError
from synthgan.tabular.model import CTGANModel
from tests._data import load_adult

FAST = dict(epochs=2, batch_size=100, seed=0, verbose=False)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(10, 1, n)),
            "city": pd.Categorical(rng.choice(["Oslo", "Lyon", "Porto"], n, p=[0.6, 0.3, 0.1])),
            "member": rng.random(n) < 0.3,
            "label": rng.choice([0, 1], n, p=[0.9, 0.1]),
            "joined": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def fitted(table):
    return TabularSynthesizer(**FAST).fit(table)


# -- the contract every synthesizer passes -------------------------------------------------
def test_not_fitted_error_before_fit():
    with pytest.raises(NotFittedError, match="fit"):
        TabularSynthesizer().sample(10)


def test_output_matches_schema(fitted, table):
    rows = fitted.sample(300)
    assert list(rows.columns) == list(table.columns)
    pd.testing.assert_series_equal(rows.dtypes, table.dtypes)
    assert rows["city"].cat.categories.tolist() == table["city"].cat.categories.tolist()
    assert str(rows["joined"].dt.tz) == "UTC"
    assert rows["age"].between(table["age"].min(), table["age"].max()).all()  # bounds respected


def test_same_seed_same_sample_and_different_seed_differs(fitted):
    a, b, c = fitted.sample(200, seed=5), fitted.sample(200, seed=5), fitted.sample(200, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_same_seed_same_model(table):
    one = TabularSynthesizer(**FAST).fit(table).sample(100, seed=1)
    two = TabularSynthesizer(**FAST).fit(table).sample(100, seed=1)
    pd.testing.assert_frame_equal(one, two)


def test_save_load_gives_identical_sample(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.synth")
    loaded = TabularSynthesizer.load(path)
    pd.testing.assert_frame_equal(loaded.sample(500, seed=3), fitted.sample(500, seed=3))
    assert loaded.get_params() == fitted.get_params() | {"device": "auto"}
    # no pickle: the file is safetensors, a length-prefixed JSON header naming the format
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert "synthgan" in json.dumps(header["__metadata__"])


def test_fit_leaves_input_unchanged(table):
    before = table.copy(deep=True)
    TabularSynthesizer(**FAST).fit(table)
    pd.testing.assert_frame_equal(table, before)


def test_global_rng_untouched(table):
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    TabularSynthesizer(**FAST).fit(table).sample(10)
    assert torch.equal(state, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])


# -- conditions -----------------------------------------------------------------------------
def test_native_condition_satisfied(fitted):
    rows = fitted.sample(500, conditions={"label": 1}, seed=0)
    assert len(rows) == 500 and (rows["label"] == 1).all()
    rows = fitted.sample(200, conditions={"city": "Porto"})
    assert (rows["city"] == "Porto").all()


def test_several_columns_and_ranges_by_rejection(fitted):
    rows = fitted.sample(150, conditions={"label": 0, "member": True, "age": (30, 60)})
    assert len(rows) == 150
    assert (rows["label"] == 0).all() and rows["member"].all() and rows["age"].between(30, 60).all()
    rows = fitted.sample(50, conditions={"city": ["Oslo", "Lyon"]})
    assert rows["city"].isin(["Oslo", "Lyon"]).all()


def test_condition_text_values_match_typed_categories(fitted):
    rows = fitted.sample(20, conditions={"label": "1", "member": "true"})  # as the CLI passes them
    assert (rows["label"] == 1).all() and rows["member"].all()


def test_impossible_conditions_are_named_errors(fitted):
    with pytest.raises(ConditionError, match="never seen"):
        fitted.sample(10, conditions={"city": "Paris"})
    with pytest.raises(ConditionError, match="unknown column"):
        fitted.sample(10, conditions={"nope": 1})
    with pytest.raises(ConditionError, match="outside the observed range"):
        fitted.sample(10, conditions={"age": (200, 300)})
    with pytest.raises(ConditionError, match="low > high"):
        fitted.sample(10, conditions={"age": (60, 30)})
    with pytest.raises(ConditionError, match="outside the observed range"):
        fitted.sample(10, conditions={"joined": ("2040-01-01", None)})


def test_datetime_range_condition(fitted):
    rows = fitted.sample(50, conditions={"joined": ("2021-01-01", "2021-06-30")})
    assert rows["joined"].between(pd.Timestamp("2021-01-01", tz="UTC"), pd.Timestamp("2021-06-30", tz="UTC")).all()


# -- the training loop ----------------------------------------------------------------------
def test_amp_and_fp32_both_train(table):
    bf16 = TabularSynthesizer(**FAST, amp=True).fit(table)
    fp32 = TabularSynthesizer(**FAST, amp=False).fit(table)
    assert bf16.history_.precision == "bf16" and fp32.history_.precision == "fp32"
    for synth in (bf16, fp32):
        assert all(np.isfinite(v) for r in synth.history_.records for v in r.losses.values())


def test_nan_guard_stops_with_clear_error(table, monkeypatch):
    monkeypatch.setattr(CTGANModel, "train_step", lambda self: {"generator": torch.tensor(float("nan"))})
    with pytest.raises(TrainingError, match="epoch 1"):
        TabularSynthesizer(**FAST).fit(table)


def test_checkpoint_resume_matches_uninterrupted_run(table, tmp_path):
    params = dict(FAST, amp=False, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    TabularSynthesizer(**params | {"epochs": 2}).fit(table)
    assert (tmp_path / "checkpoint.safetensors").exists()
    resumed = TabularSynthesizer(**params | {"epochs": 4, "resume": True}).fit(table)
    straight = TabularSynthesizer(**FAST | {"epochs": 4, "amp": False}).fit(table)
    assert [r.epoch for r in resumed.history_.records] == [1, 2, 3, 4]
    np.testing.assert_allclose(
        resumed.history_.losses("generator"), straight.history_.losses("generator"), rtol=1e-5
    )
    pd.testing.assert_frame_equal(resumed.sample(100, seed=0), straight.sample(100, seed=0))


def test_checkpoint_of_other_data_is_refused(table, tmp_path):
    params = dict(FAST, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    TabularSynthesizer(**params).fit(table)
    with pytest.raises(Exception, match="different data or options"):
        TabularSynthesizer(**params | {"resume": True}).fit(table.iloc[:200])


def test_on_epoch_end_sees_every_epoch(table):
    seen = []
    TabularSynthesizer(**FAST | {"epochs": 3}).fit(table, on_epoch_end=lambda e, s: seen.append(e))
    assert seen == [1, 2, 3]


# -- a short real training on a real table ---------------------------------------------------
def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return 0.5 * pa.subtract(pb, fill_value=0).abs().sum()


def test_short_real_fit_learns_adult_marginals():
    adult = load_adult(nrows=4_000)
    synth = TabularSynthesizer(epochs=10, batch_size=200, seed=0, verbose=False).fit(adult)
    rows = synth.sample(4_000, seed=0)
    discrete = ["workclass", "education", "marital-status", "relationship", "race", "sex", "class"]
    trained = np.mean([_tvd(adult[c], rows[c]) for c in discrete])
    rng = np.random.default_rng(0)
    uniform = np.mean([_tvd(adult[c], pd.Series(rng.choice(adult[c].dropna().unique(), 4_000))) for c in discrete])
    assert trained < 0.15 and trained < uniform / 3
    # the rare class is kept near its real rate, and the conditional vector reaches it on demand
    assert abs((rows["class"] == ">50K").mean() - (adult["class"] == ">50K").mean()) < 0.1
    rich = synth.sample(500, conditions={"class": ">50K"}, seed=0)
    assert (rich["class"] == ">50K").all()
    assert rows["workclass"].isna().mean() == pytest.approx(adult["workclass"].isna().mean(), abs=0.04)


def test_fp16_with_gradient_scaler_path(table, monkeypatch):
    """The path GPUs without bf16 take (fp16 autocast + GradScaler + unscaled penalty),
    exercised on the CPU so CI covers it."""
    import synthgan.tabular.synthesizer as module
    from synthgan.training import Precision

    class FP16(Precision):
        def __init__(self, device, enabled):
            super().__init__(device, enabled)
            self.dtype = torch.float16
            self.scaler = torch.amp.GradScaler("cpu", enabled=True, init_scale=2.0**10)

    monkeypatch.setattr(module, "Precision", FP16)
    synth = TabularSynthesizer(**FAST).fit(table)
    assert synth.history_.precision == "fp16"
    assert all(np.isfinite(v) for r in synth.history_.records for v in r.losses.values())
    assert len(synth.sample(50).dropna(subset=["age"])) == 50


def test_amp_auto_uses_bf16_only_where_it_is_faster(table, monkeypatch):
    import synthgan.training as training

    monkeypatch.setattr(training, "cpu_has_fast_bf16", lambda: False)
    assert TabularSynthesizer(**FAST).fit(table).history_.precision == "fp32"
    monkeypatch.setattr(training, "cpu_has_fast_bf16", lambda: True)
    assert TabularSynthesizer(**FAST).fit(table).history_.precision == "bf16"


def test_sample_precision_auto_follows_the_hardware(monkeypatch):
    import synthgan.training as training

    cpu = torch.device("cpu")
    measure = training.cpu_bf16_matmul_speedup.__wrapped__  # the real measurement, uncached
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(training, "cpu_bf16_matmul_speedup", lambda: 2.5)
    assert training.sampling_dtype(cpu, "auto", None) is torch.bfloat16
    monkeypatch.setattr(training, "cpu_bf16_matmul_speedup", lambda: 0.6)  # emulated / slow bf16
    assert training.sampling_dtype(cpu, "auto", None) is torch.float32
    assert training.sampling_dtype(cpu, "fp32", None) is torch.float32
    assert training.sampling_dtype(cpu, "auto", torch.float16) is torch.float16  # amp's dtype wins
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    assert training.sampling_dtype(cpu, "auto", None) is torch.float32
    assert training.sampling_dtype(cpu, "bf16", None) is torch.bfloat16
    assert training.sampling_dtype(torch.device("meta"), "fp32", torch.bfloat16) is torch.float32
    speedup = measure()
    assert speedup > 0 and math.isfinite(speedup)


def test_bf16_sampling_keeps_the_marginals_of_fp32_sampling(fitted, monkeypatch):
    from synthgan.tabular.networks import Generator

    used, infer = [], Generator.infer
    monkeypatch.setattr(Generator, "infer", lambda self, x, dtype: used.append(dtype) or infer(self, x, dtype))
    try:
        fitted.sample_precision = "fp32"
        exact = fitted.sample(20_000, seed=3, privacy=False)
        fitted.sample_precision = "bf16"
        rounded = fitted.sample(20_000, seed=3, privacy=False)
        assert set(used) == {torch.float32, torch.bfloat16}
        assert list(rounded.dtypes) == list(exact.dtypes)
        for col in ("city", "member", "label"):
            assert _tvd(exact[col], rounded[col]) < 0.02
        for col in ("age", "income"):
            q = [0.1, 0.5, 0.9]
            spread = exact[col].quantile(0.9) - exact[col].quantile(0.1)
            assert np.abs(exact[col].quantile(q).to_numpy() - rounded[col].quantile(q).to_numpy()).max() < 0.05 * spread
        assert abs(exact["income"].isna().mean() - rounded["income"].isna().mean()) < 0.02
        fitted.sample_precision = "fp16"
        with pytest.raises(ConfigError, match="sample_precision"):
            fitted.sample(10)
    finally:
        fitted.sample_precision = "auto"
