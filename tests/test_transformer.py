"""The table transformer: exact round trips, dtypes, missing values, bounded fitting."""

import numpy as np
import pandas as pd
import pytest

from synthgan.schema import ColumnKind, detect_schema
from synthgan.tabular.encoders import ContinuousEncoder, IdentifierGenerator
from synthgan.tabular.transformer import TableTransformer
from tests._data import load_adult


@pytest.fixture(scope="module")
def adult():
    return load_adult()


def _table(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    bimodal = np.where(rng.random(n) < 0.3, rng.normal(-5, 1, n), rng.normal(10, 2, n))
    bimodal[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "bimodal": bimodal,
            "count": rng.poisson(40, n).astype("int64"),
            "heavy": np.where(rng.random(n) < 0.9, 0, rng.lognormal(8, 2, n)).round(),
            "colour": pd.Series(rng.choice(["red", "green", "blue", None], n, p=[0.5, 0.3, 0.15, 0.05])),
            "flag": rng.random(n) < 0.2,
            "when": pd.Timestamp("2024-01-01", tz="Europe/Paris")
            + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        }
    )


def _roundtrip(df, **kwargs):
    rng = np.random.default_rng(0)
    tt = TableTransformer(**kwargs).fit(df, detect_schema(df), rng)
    matrix = tt.transform(df, rng)
    return tt, matrix, tt.inverse_transform(*tt.decode(matrix), rng)


def test_roundtrip_recovers_values_and_dtypes():
    df = _table()
    tt, matrix, back = _roundtrip(df)
    assert matrix.shape == (len(df), tt.layout.width)
    assert matrix.dtype == np.float32
    pd.testing.assert_series_equal(back.dtypes, df.dtypes)
    # float32 storage of the normalised scalar: relative error ~1e-6 of the column's spread
    np.testing.assert_allclose(back["bimodal"], df["bimodal"], atol=1e-4 * df["bimodal"].std())
    assert back["bimodal"].isna().equals(df["bimodal"].isna())
    assert back["count"].equals(df["count"])
    np.testing.assert_allclose(back["heavy"], df["heavy"], rtol=1e-5)
    assert back["colour"].fillna("NA").equals(df["colour"].fillna("NA"))
    assert back["flag"].equals(df["flag"])
    assert str(back["when"].dt.tz) == "Europe/Paris"
    # recorded in whole seconds, generated in whole seconds: float32 storage moves at most one
    assert (back["when"] - df["when"]).abs().max() <= pd.Timedelta(seconds=1)
    assert (back["when"].dt.microsecond == 0).all() and (back["when"].dt.nanosecond == 0).all()


def test_roundtrip_on_adult_is_exact(adult):
    _, _, back = _roundtrip(adult)
    for name in adult.columns:
        if adult[name].dtype == object:
            assert back[name].fillna("NA").equals(adult[name].fillna("NA")), name
        else:
            assert back[name].equals(adult[name]), name


def test_layout_indices_cover_every_position_once():
    tt, _, _ = _roundtrip(_table())
    layout = tt.layout
    positions = np.concatenate([layout.scalar_index, layout.softmax_index])
    assert sorted(positions.tolist()) == list(range(layout.width))
    kinds = {s.column: s.role for s in layout.condition_spans}
    assert set(kinds) == {"colour", "flag"}  # only discrete columns are conditions
    # each one-hot span of the encoded matrix sums to one per row
    _, matrix, _ = _roundtrip(_table())
    for span in layout.softmax_spans:
        assert np.all(matrix[:, span.start : span.end].sum(axis=1) == 1.0)


def test_continuous_encoder_fit_is_bounded_by_subsample():
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1, 200_000)
    enc = ContinuousEncoder(max_modes=10, subsample=1_000).fit(values, np.random.default_rng(0))
    assert 1 <= len(enc.means) <= 10 + 9  # main mixture plus at most 3 passes of 3 cover modes
    # every value, including tails the subsample missed, sits within some mode's tanh range
    assert (enc._distance((values - enc.center) / enc.scale).min(axis=1) < 0.99).all()


def test_missing_rate_is_encoded_in_its_own_span():
    df = _table()
    tt, matrix, _ = _roundtrip(df)
    (missing_span,) = [s for s in tt.layout.spans if s.column == "bimodal" and s.role == "missing"]
    rate = matrix[:, missing_span.start + 1].mean()
    assert rate == pytest.approx(df["bimodal"].isna().mean())


def test_identifier_generator_keeps_format_and_is_unique():
    real = pd.Series([f"CUST-{i:05d}" for i in range(500)])
    gen = IdentifierGenerator().fit(real)
    fresh = gen.generate(2_000, np.random.default_rng(0))
    assert len(set(fresh)) == 2_000
    assert all(v.startswith("CUST-") and len(v) == 10 and v[5:].isdigit() for v in fresh)
    ints = IdentifierGenerator().fit(pd.Series(np.arange(100, 200)))
    out = ints.generate(50, np.random.default_rng(0))
    assert out.min() > 199 and len(np.unique(out)) == 50


def test_state_roundtrip_gives_identical_inverse():
    df = _table()
    tt, matrix, back = _roundtrip(df)
    clone = TableTransformer.from_state(tt.state())
    assert clone.layout == tt.layout
    again = clone.inverse_transform(*clone.decode(matrix), np.random.default_rng(0))
    pd.testing.assert_frame_equal(again, back)
    assert clone.schema["when"].kind is ColumnKind.DATETIME
