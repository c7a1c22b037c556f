"""Tables as people bring them: dates and numbers in every form come back valid, in the same
form, at their recorded precision; what cannot be carried is refused by name (issue 15)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re

import numpy as np
import pandas as pd
import pytest

from synthgan import TabularSynthesizer
from synthgan.errors import ConditionError, ModelFileError, PrivacyFilterError, SchemaError
from synthgan.schema import ColumnKind, detect_schema, observed_decimals

N = 240


def _days(rng, n=N):
    return pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")


def _seconds(rng, n=N):
    return _days(rng, n) + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")


def _fit(df, epochs=3, **kw):
    return TabularSynthesizer(epochs=epochs, seed=0, verbose=False, **kw).fit(df)


def _date_forms(rng) -> pd.DataFrame:
    days, secs = _days(rng), _seconds(rng)
    with_ms = secs + pd.to_timedelta(rng.integers(0, 1000, N), unit="ms")
    return pd.DataFrame({
        "date_objects": [d.date() for d in days],
        "iso_date": days.strftime("%Y-%m-%d"),
        "iso_t": secs.strftime("%Y-%m-%dT%H:%M:%S"),
        "iso_space_minutes": secs.strftime("%Y-%m-%d %H:%M"),
        "iso_offset": secs.strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        "iso_z": secs.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso_millis": with_ms.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23),
        "timestamps": pd.Series(list(secs), dtype=object),
        "pydatetimes": pd.Series(list(secs.to_pydatetime()), dtype=object),
        "zoned_timestamps": pd.Series(list(secs.tz_localize("Asia/Tokyo")), dtype=object),
        "group": rng.choice(["a", "b", "c"], N),
    })


def test_every_date_form_is_detected_as_datetime_not_an_identifier():
    df = _date_forms(np.random.default_rng(0))
    schema = detect_schema(df)
    for col in schema.columns:
        if col.name == "group":
            continue
        assert col.kind is ColumnKind.DATETIME, col.name
        assert col.form is not None, col.name


def test_date_forms_come_back_valid_in_range_and_in_the_same_form():
    rng = np.random.default_rng(1)
    df = _date_forms(rng)
    out = _fit(df).sample(300)
    lengths = {c: df[c].str.len().unique().tolist() for c in df if c.startswith("iso")}
    for name in df.columns:
        if name == "group":
            continue
        real, synth = df[name], out[name]
        assert synth.dtype == object, name
        assert synth.notna().all(), name
        # same Python type per value
        assert {type(v) for v in synth} == {type(v) for v in real}, name
        if name.startswith("iso"):
            assert synth.str.len().unique().tolist() == lengths[name], name  # same layout
            if name.endswith("offset"):
                assert synth.str.endswith("+02:00").all()
            if name == "iso_z":
                assert synth.str.endswith("Z").all()
            parsed, real_parsed = pd.to_datetime(synth, format="ISO8601"), pd.to_datetime(real, format="ISO8601")
        else:
            parsed, real_parsed = pd.to_datetime(synth), pd.to_datetime(real)
        assert parsed.min() >= real_parsed.min() and parsed.max() <= real_parsed.max(), name
    # whole days stay whole days; seconds carry no sub-second noise
    assert (pd.to_datetime(out["iso_t"]).dt.microsecond == 0).all()
    assert all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in out["date_objects"])
    assert pd.Series([v.second for v in out["timestamps"]]).between(0, 59).all()
    assert (pd.Series([v.microsecond for v in out["timestamps"]]) == 0).all()


def test_datetime64_columns_keep_their_resolution_no_nanosecond_noise():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"day": _days(rng), "second": _seconds(rng), "x": rng.normal(size=N)})
    out = _fit(df).sample(300)
    assert (out["day"] == out["day"].dt.normalize()).all()
    assert (out["second"].dt.nanosecond == 0).all() and (out["second"].dt.microsecond == 0).all()
    assert str(out["day"].dtype) == str(df["day"].dtype)


def test_several_time_zones_in_one_column_are_refused_by_name():
    rng = np.random.default_rng(3)
    secs = _seconds(rng, 40)
    mixed = pd.Series([t.tz_localize("UTC") if i % 2 else t.tz_localize("Asia/Tokyo") for i, t in enumerate(secs)],
                      dtype=object)
    with pytest.raises(SchemaError, match=r"'when'.*several time zones"):
        detect_schema(pd.DataFrame({"when": mixed}))
    half = pd.Series(["2020-01-01T10:00:00+01:00", "2020-07-01T10:00:00"] * 20)
    with pytest.raises(SchemaError, match=r"'local'.*with and without a UTC offset.*utc=True"):
        detect_schema(pd.DataFrame({"local": half}))


def test_iso_text_across_daylight_saving_is_kept_as_utc_instants_with_a_warning():
    from synthgan.errors import SynthGANWarning

    rng = np.random.default_rng(15)
    instants = _seconds(rng).tz_localize("UTC")
    local = instants.tz_convert("Europe/Paris")  # +01:00 in winter, +02:00 in summer
    text = pd.Series(local.strftime("%Y-%m-%dT%H:%M:%S%z")).str.replace(r"(\d\d)$", r":\1", regex=True)
    df = pd.DataFrame({"seen": text, "x": rng.normal(size=N)})
    with pytest.warns(SynthGANWarning, match=r"'seen'.*several UTC offsets.*\+00:00"):
        synth = _fit(df)
    out = synth.sample(300)["seen"]
    assert out.str.endswith("+00:00").all()
    got = pd.to_datetime(out, format="ISO8601")
    assert got.min() >= instants.min() and got.max() <= instants.max()


def test_parquet_date32_and_timestamps_through_the_cli(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from synthgan.cli import main

    rng = np.random.default_rng(4)
    days, secs = _days(rng), _seconds(rng)
    table = pa.table({
        "trip_date": pa.array([d.date() for d in days], type=pa.date32()),
        "started": pa.array(secs.to_pydatetime(), type=pa.timestamp("s")),
        "ended_utc": pa.array(secs.tz_localize("UTC").to_pydatetime(), type=pa.timestamp("ms", tz="UTC")),
        "fare": pa.array(np.round(rng.uniform(3, 80, N), 2)),
    })
    src = tmp_path / "trips.parquet"
    pq.write_table(table, src)
    model, out = tmp_path / "trips.synth", tmp_path / "out.parquet"
    assert main(["fit", str(src), "-o", str(model), "--epochs", "2", "--quiet"]) == 0
    assert main(["sample", str(model), "-n", "200", "-o", str(out), "--quiet"]) == 0
    back = pq.read_table(out)
    assert back.schema.field("trip_date").type == pa.date32()
    got = back.to_pandas()
    dates = pd.to_datetime(got["trip_date"])
    assert dates.min() >= days.min() and dates.max() <= days.max()
    assert (got["started"].dt.microsecond == 0).all()
    assert str(got["ended_utc"].dt.tz) == "UTC"
    assert (np.round(got["fare"], 2) == got["fare"]).all()


def test_decimals_come_back_as_decimals_at_their_scale_and_in_range():
    rng = np.random.default_rng(5)
    amounts = [decimal.Decimal(f"{x:.2f}") for x in rng.uniform(10, 5_000, N)]
    df = pd.DataFrame({"amount": amounts, "rate": [decimal.Decimal(f"{x:.4f}") for x in rng.uniform(0, 1, N)],
                       "kind": rng.choice(["x", "y"], N)})
    out = _fit(df).sample(300)
    assert all(isinstance(v, decimal.Decimal) for v in out["amount"])
    assert {v.as_tuple().exponent for v in out["amount"]} == {-2}
    assert {v.as_tuple().exponent for v in out["rate"]} == {-4}
    assert min(out["amount"]) >= min(amounts) and max(out["amount"]) <= max(amounts)


def test_decimals_beyond_float_precision_are_refused_by_name():
    df = pd.DataFrame({"big": [decimal.Decimal("12345678901234567.89"), decimal.Decimal("1.00")] * 20})
    with pytest.raises(SchemaError, match=r"'big'.*significant digits"):
        detect_schema(df)


def test_numbers_written_as_text_keep_their_decimals_and_codes_with_leading_zeros_stay_text():
    rng = np.random.default_rng(6)
    df = pd.DataFrame({
        "price_text": [f"{x:.2f}" for x in rng.uniform(1, 100, N)],
        "zip": [f"{z:05d}" for z in rng.integers(1000, 99999, N)],  # '02139': a code
        "c": rng.choice(["a", "b"], N),
    })
    schema = detect_schema(df)
    assert schema["price_text"].form.kind == "number_text"
    assert schema["zip"].form is None
    out = _fit(df).sample(200)
    assert out["price_text"].str.fullmatch(r"\d+\.\d\d").all()
    assert out["zip"].str.fullmatch(r"\d{5}").all()


def test_money_keeps_two_decimals():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"money": np.round(rng.gamma(2, 50, N), 2), "c": rng.choice(["a", "b"], N)})
    out = _fit(df).sample(500)["money"].to_numpy()
    assert np.allclose(out, np.round(out, 2), atol=0, rtol=1e-12)
    text = pd.Series(out).map(repr)
    assert text.str.extract(r"\.(\d+)$")[0].str.len().max() <= 2


@pytest.mark.parametrize("dtype,low,high", [
    ("int8", -128, 127), ("uint8", 0, 255), ("int16", -32768, 32767), ("uint16", 0, 65535),
    ("int64", np.iinfo(np.int64).max - 2**20, np.iinfo(np.int64).max),
    ("uint64", np.iinfo(np.uint64).max - 2**40, np.iinfo(np.uint64).max),
])
def test_integer_dtypes_stay_valid_across_their_whole_range(dtype, low, high):
    rng = np.random.default_rng(8)
    span = int(high) - int(low)
    values = [int(low) + int(v) for v in rng.integers(0, span, N - 2, endpoint=True)] + [int(low), int(high)]
    df = pd.DataFrame({"v": np.array(values, dtype=object).astype(dtype), "c": rng.choice(["a", "b"], N)})
    out = _fit(df, epochs=2).sample(400)
    assert str(out["v"].dtype) == dtype
    got = [int(v) for v in out["v"]]
    assert min(got) >= int(low) and max(got) <= int(high)  # never wraps round


def test_tiny_and_full_precision_floats_are_not_rounded_away():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"tiny": rng.normal(0, 1e-9, N), "full": rng.normal(size=N),
                       "nullable": pd.array(np.where(rng.random(N) < 0.2, None, rng.normal(size=N)), dtype="Float64")})
    assert observed_decimals(df["tiny"].to_numpy()) is None
    out = _fit(df).sample(400)
    assert out["tiny"].abs().max() > 1e-10  # was: every value rounded to 0.0
    assert out["tiny"].std() > 1e-10
    for name in ("full", "nullable"):
        real = df[name].astype("float64")
        got = out[name].astype("float64").dropna()
        assert got.min() >= real.min() and got.max() <= real.max(), name
    assert str(out["nullable"].dtype) == "Float64"


def test_one_column_categorical_table_says_why_and_how_to_opt_out():
    df = pd.DataFrame({"color": np.random.default_rng(10).choice(["red", "green", "blue"], 150)})
    synth = _fit(df, epochs=2)
    with pytest.raises(PrivacyFilterError, match=r"every row this model can produce is a training row.*privacy=False"):
        synth.sample(10)
    rows = synth.sample(10, privacy=False)
    assert len(rows) == 10 and set(rows["color"]) <= {"red", "green", "blue"}


def test_a_condition_nothing_meets_fails_after_few_draws():
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    synth = _fit(df, epochs=2)
    with pytest.raises(ConditionError, match=r"too rare") as info:
        synth.sample(1_000, conditions={"x": (3.2, 3.21), "c": "a"})
    drawn = int(re.search(r"of (\d+) drawn", str(info.value)).group(1))
    assert drawn <= 20_000  # was: 200 x 1,000 + 10,000 draws before giving up


def test_condition_values_and_categories_are_normalised_alike_and_exact_wins():
    rng = np.random.default_rng(12)
    df = pd.DataFrame({"sex": rng.choice([" Male", "Female"], N), "x": rng.normal(size=N)})
    synth = _fit(df, epochs=2)
    for asked in ("Male", "male ", " Male"):
        rows = synth.sample(20, conditions={"sex": asked})
        assert set(rows["sex"]) == {" Male"}, asked
    both = pd.DataFrame({"sex": rng.choice([" Male", "Male", "Female"], N), "x": rng.normal(size=N)})
    synth = _fit(both, epochs=2)
    assert set(synth.sample(20, conditions={"sex": "Male"})["sex"]) == {"Male"}  # exact match wins
    assert set(synth.sample(20, conditions={"sex": " Male"})["sex"]) == {" Male"}
    with pytest.raises(ConditionError, match=r"'MALE'.*several categories.*' Male'.*'Male'"):
        synth.sample(5, conditions={"sex": "MALE"})


def test_a_model_file_with_a_missing_or_mistyped_entry_is_a_named_model_file_error(tmp_path):
    from safetensors import safe_open

    from synthgan.serialization import save_model

    rng = np.random.default_rng(13)
    synth = _fit(pd.DataFrame({"x": rng.normal(size=N), "c": rng.choice(["a", "b"], N)}), epochs=2)
    path = synth.save(tmp_path / "m.synth")
    with safe_open(str(path), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    state = json.loads(meta["state"])
    del state["history"]
    state["transformer"]["enforce_bounds"] = "maybe"
    broken = tmp_path / "broken.synth"
    save_model(broken, meta["kind"], state, tensors)  # a valid checksum over the edited state
    with pytest.raises(ModelFileError, match=r"history: Field required") as info:
        TabularSynthesizer.load(broken)
    assert "transformer.enforce_bounds" in str(info.value)


def test_evaluate_compares_date_and_decimal_forms():
    from synthgan import evaluate

    rng = np.random.default_rng(14)
    df = pd.DataFrame({"day": [d.date() for d in _days(rng)],
                       "amount": [decimal.Decimal(f"{x:.2f}") for x in rng.uniform(1, 100, N)],
                       "c": rng.choice(["a", "b"], N)})
    synth = _fit(df, epochs=2)
    report = evaluate(real=df, synthetic=synth.sample(N), verbose=False).to_dict()
    fidelity = json.dumps([s for s in report["sections"] if s["key"] == "fidelity"], default=str)
    assert '"day"' in fidelity and '"amount"' in fidelity


def test_the_identifier_generator_keeps_constant_prefixes_and_widens_zero_padding():
    from synthgan.tabular.encoders import IdentifierGenerator

    rng = np.random.default_rng(16)
    hexes = pd.Series([f"0x{v:08x}" for v in rng.integers(0, 2**32, 300)])
    phones = pd.Series([f"+1-555-{v:04d}" for v in rng.choice(10_000, 300, replace=False)])
    counters = pd.Series([f"CUST-{i:05d}" for i in range(300)])
    gen = np.random.default_rng(0)
    assert pd.Series(IdentifierGenerator().fit(hexes).generate(500, gen)).str.fullmatch(r"0x[0-9a-f]{8}").all()
    assert pd.Series(IdentifierGenerator().fit(phones).generate(500, gen)).str.fullmatch(r"\+1-555-\d{4}").all()
    made = IdentifierGenerator().fit(counters).generate(2_000, gen)
    assert len(set(made)) == 2_000 and pd.Series(made).str.fullmatch(r"CUST-\d{5}").all()


@pytest.mark.parametrize("values,what", [
    (lambda ts, rng: ts.strftime("%m/%d/%Y %H:%M"), "dates in a non-ISO layout"),
    (lambda ts, rng: ts.strftime("%d.%m.%Y %H:%M:%S"), "dates in a non-ISO layout"),
    (lambda ts, rng: ts.strftime("%H:%M:%S"), "times of day"),
    (lambda ts, rng: [f"${v:,.2f}" for v in rng.gamma(2, 800, N)], "numbers written with formatting"),
    (lambda ts, rng: [f"{v:.3e}" for v in rng.gamma(2, 800, N)], "numbers written with formatting"),
])
def test_distinct_text_that_is_dates_times_or_numbers_is_refused_not_made_up(values, what):
    rng = np.random.default_rng(17)
    ts = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.choice(20 * 365 * 86_400, N, replace=False), unit="s")
    df = pd.DataFrame({"v": values(ts, rng), "x": rng.normal(size=N)})
    with pytest.raises(SchemaError, match=rf"'v' holds {what}"):
        detect_schema(df)
    # identifiers that only look a bit like them stay identifiers
    ids = pd.DataFrame({"ssn": [f"{a}-{b}-{c}" for a, b, c in zip(rng.integers(100, 999, N), rng.integers(10, 99, N),
                                                                   rng.integers(1000, 9999, N))]})
    assert detect_schema(ids)["ssn"].kind is ColumnKind.ID


def test_a_category_seen_in_few_rows_is_never_held_out_for_validation():
    rng = np.random.default_rng(18)
    df = pd.DataFrame({"kind": ["unicorn"] + list(rng.choice(["a", "b"], 499)), "x": rng.normal(size=500)})
    for seed in range(5):
        synth = TabularSynthesizer(epochs=1, seed=seed, verbose=False).fit(df)
        assert "unicorn" in synth.transformer_.encoders["kind"].categories


def test_decimal_columns_with_pd_na_and_dates_beyond_pandas_range():
    values = [decimal.Decimal("1.25"), decimal.Decimal("3.50")] * 100
    values[0], values[1] = pd.NA, decimal.Decimal("NaN")
    schema = detect_schema(pd.DataFrame({"v": values}))
    assert schema["v"].form.kind == "decimal" and schema["v"].missing_rate == pytest.approx(0.01)
    far = pd.DataFrame({"d": [dt.date(9999, 1, 1) - dt.timedelta(days=i) for i in range(100)]})
    with pytest.raises(SchemaError, match=r"'d' holds dates outside the range"):
        detect_schema(far)
