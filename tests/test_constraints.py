"""synthgan.constraints: built-in rules, the ConstraintSet, custom rules and detect()."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from synthgan.constraints import (
    ConstraintError, ConstraintSet, ConstraintWarning, FixedCombinations, FixedIncrements, Inequality, OneHot,
    Range, ScalarRange, Sum, constraint_from_json, detect,
)
from synthgan.errors import ConfigError, DataError, ModelFileError, NotFittedError

N = 300


def _rng(seed=0):
    return np.random.default_rng(seed)


def _table(seed=0) -> pd.DataFrame:
    """A table obeying every built-in below (with missing values where the rules allow)."""
    rng = _rng(seed)
    low = rng.integers(-50, 100, N)
    df = pd.DataFrame({"a": low, "b": low + rng.integers(0, 40, N)})
    df["x"] = rng.normal(size=N).round(2)
    df["y"] = (df["x"] + rng.exponential(size=N)).round(2)
    df["z"] = (df["y"] + rng.exponential(size=N)).round(3)
    df["t0"] = pd.Timestamp("2021-03-01", tz="Europe/Paris") + pd.to_timedelta(rng.integers(0, 5000, N), unit="h")
    df["t1"] = df["t0"] + pd.to_timedelta(rng.integers(1, 90, N), unit="D")
    df["d0"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, N), unit="D")
    df["d1"] = df["d0"] + pd.to_timedelta(rng.integers(0, 300, N), unit="D")
    df["score"] = rng.uniform(0, 1, N).round(4)
    df["level"] = rng.integers(1, 10, N)
    df["city"] = rng.choice(["Boston", "Austin", "Dallas", "Salem"], N)
    df["state"] = df["city"].map({"Boston": "MA", "Austin": "TX", "Dallas": "TX", "Salem": "OR"})
    hot = rng.integers(0, 3, N)
    for i, c in enumerate(["is_a", "is_b", "is_c"]):
        df[c] = (hot == i).astype("int64")
    df["price"] = (rng.integers(1, 400, N) * 0.05).round(2)
    df["qty"] = rng.integers(0, 20, N) * 5
    df["net"] = rng.integers(100, 100_000, N) / 100
    df["tax"] = (df["net"] * 0.2).round(2)
    df["gross"] = (df["net"] + df["tax"]).round(2)
    df["n1"] = rng.integers(0, 100, N)
    df["n2"] = rng.integers(0, 100, N)
    df["n3"] = df["n1"] + df["n2"]
    df.loc[[3, 17], "x"] = np.nan   # y present where x is missing: kept under its own name
    df.loc[[5], "y"] = np.nan
    df.loc[[8], "t1"] = pd.NaT
    df.loc[[11], "net"] = np.nan    # gross present where a part is missing
    df.loc[[12], "score"] = np.nan
    df.loc[[13, 14], "state"] = np.nan  # a combination holding a missing value
    return df


def _all_constraints():
    return [
        Inequality("a", "b"),
        Range("x", "y", "z"),
        Inequality("t0", "t1", strict=True),
        Inequality("d0", "d1"),
        ScalarRange("score", 0, 1),
        ScalarRange("level", 1, 9),
        FixedCombinations(["city", "state"]),
        OneHot(["is_a", "is_b", "is_c"]),
        FixedIncrements("price", 0.05),
        FixedIncrements("qty", 5),
        Sum(["net", "tax"], "gross"),
        Sum(["n1", "n2"], "n3"),
    ]


def _assert_same(got: pd.DataFrame, want: pd.DataFrame):
    """Exact for everything but floats, which match to 1e-12."""
    assert list(got.columns) == list(want.columns)
    assert list(got.dtypes) == list(want.dtypes)
    pd.testing.assert_index_equal(got.index, want.index)
    for c in want.columns:
        if pd.api.types.is_float_dtype(want[c]):
            np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, atol=0, equal_nan=True)
        else:
            pd.testing.assert_series_equal(got[c], want[c], check_exact=True)


# -- round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize("constraint", _all_constraints(), ids=lambda c: c.name)
def test_each_constraint_round_trips_exactly(constraint):
    df = _table()
    before = df.copy()
    constraint.fit(df)
    out = constraint.transform(df)
    assert not set(constraint.output_columns()) & set(df.columns)  # new names never clash
    assert set(constraint.output_columns()) <= set(out.columns)
    back = constraint.reverse_transform(out)
    _assert_same(back[df.columns], df)
    pd.testing.assert_frame_equal(df, before)  # the caller's table is untouched


def test_round_trip_is_bit_exact_for_integers_datetimes_and_decimal_floats():
    df = _table()
    cs = ConstraintSet(_all_constraints()).fit(df)
    back = cs.reverse_transform(cs.transform(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)  # floats too, thanks to observed decimals


def test_inequality_on_nanosecond_datetimes_with_huge_gaps_stays_exact():
    rng = _rng(3)
    start = pd.Timestamp("1700-01-01") + pd.to_timedelta(rng.integers(0, 10**12, 100), unit="ns")
    end = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 10**9, 100), unit="ns")  # gaps ~ 7.9e18 ns
    df = pd.DataFrame({"s": start, "e": end})
    c = Inequality("s", "e").fit(df)
    assert c.links_[0]["mode"] == "linear"  # log1p would not give these gaps back exactly
    t = c.transform(df)
    pd.testing.assert_frame_equal(c.reverse_transform(t), df, check_exact=True)
    t[c.output_columns()[0]] = np.linspace(-1e19, 1e19, 100)  # wild generator values: no overflow
    back = c.reverse_transform(t)
    assert back["e"].notna().all() and c.is_valid(back).all()


def test_datetime_units_other_than_ns_and_mixed_zones_are_kept():
    rng = _rng(4)
    t0 = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**6, 50), unit="s")).astype("datetime64[s]")
    df = pd.DataFrame({"t0": t0.tz_localize("UTC"), "t1": (t0 + pd.Timedelta("1h")).tz_localize("UTC").tz_convert("Asia/Tokyo")})
    c = Inequality("t0", "t1", strict=True).fit(df)
    back = c.reverse_transform(c.transform(df))
    pd.testing.assert_frame_equal(back[df.columns], df, check_exact=True)
    assert str(df["t0"].dtype) == "datetime64[s, UTC]"
    assert str(back["t1"].dtype) == str(df["t1"].dtype)


def test_inequality_between_an_integer_and_a_float_column_keeps_dtypes_and_validity():
    df = pd.DataFrame({"limit": [1.5, 2.25, 3.0, 10.75], "claims": [2, 3, 3, 11]})
    c = Inequality("limit", "claims").fit(df)
    t = c.transform(df)
    _assert_same(c.reverse_transform(t)[df.columns], df)
    t[c.output_columns()[0]] = [-3.0, 0.0, 0.3, 50.0]
    back = c.reverse_transform(t)
    assert back["claims"].dtype == np.int64
    assert c.is_valid(back).all()


def test_float32_strict_inequality_survives_the_cast():
    df = pd.DataFrame({"lo": np.array([1.0, 2.5, 1e6], dtype="float32"), "hi": np.array([1.5, 3.0, 1e6 + 1], dtype="float32")})
    c = Inequality("lo", "hi", strict=True).fit(df)
    t = c.transform(df)
    t[c.output_columns()[0]] = [0.0, 1e-12, -5.0]  # zero gaps: the restored value must still be above
    back = c.reverse_transform(t)
    assert back["hi"].dtype == np.float32
    assert c.is_valid(back).all()


# -- errors on tables that break a rule -------------------------------------------------------
BREAKING = [
    (Inequality("a", "b"), pd.DataFrame({"a": [1, 5, 2, 9], "b": [2, 4, 2, 1]}, index=[10, 11, 12, 13]), [11, 13]),
    (Inequality("a", "b", strict=True), pd.DataFrame({"a": [1, 2], "b": [2, 2]}, index=["r1", "r2"]), ["r2"]),
    (Inequality("a", "b"), pd.DataFrame({"a": pd.to_datetime(["2020-01-02", "2020-01-01"]), "b": pd.to_datetime(["2020-01-01", "2020-01-01"])}), [0]),
    (Range("a", "b", "c"), pd.DataFrame({"a": [1, 1, 1], "b": [2, 0, 2], "c": [3, 3, 1]}), [1, 2]),
    (ScalarRange("a", 0, 10), pd.DataFrame({"a": [0.0, 10.0, 10.5, -1.0]}), [2, 3]),
    (ScalarRange("a", 0, 10, strict=True), pd.DataFrame({"a": [0, 5, 10]}), [0, 2]),
    (OneHot(["p", "q"]), pd.DataFrame({"p": [1, 1, 0, 0, 1], "q": [0, 1, 0, 1, np.nan]}), [1, 2, 4]),
    (FixedIncrements("a", 0.25), pd.DataFrame({"a": [0.25, 0.5, 0.3]}), [2]),
    (FixedIncrements("a", 3), pd.DataFrame({"a": [3, 7, -6]}), [1]),
    (Sum(["a", "b"], "c"), pd.DataFrame({"a": [1.1, 2.0], "b": [2.2, 1.0], "c": [3.3, 3.5]}), [1]),
]


@pytest.mark.parametrize("constraint,df,bad", BREAKING, ids=lambda v: v.name if hasattr(v, "name") else None)
def test_a_breaking_table_is_refused_with_its_offending_rows(constraint, df, bad):
    with pytest.raises(ConstraintError) as err:
        constraint.fit(df)
    count, labels = err.value.failures[constraint.name]
    assert count == len(bad) and labels == bad
    message = str(err.value)
    assert f"{len(bad)} of {len(df)} row(s)" in message
    for label in bad:
        assert f"[{label!r}]" in message
    assert isinstance(err.value, DataError)


def test_offending_rows_listed_at_most_five_with_the_count():
    df = pd.DataFrame({"a": np.arange(20), "b": np.zeros(20, dtype=int)})
    with pytest.raises(ConstraintError, match=r"19 of 20 row\(s\).*\[5\] a=np.int64\(5\)|19 of 20 row\(s\).*\[5\] a=5") as err:
        Inequality("a", "b").validate(df)
    assert err.value.failures[Inequality("a", "b").name] == (19, [1, 2, 3, 4, 5])
    assert "(and 14 more)" in str(err.value)


@pytest.mark.parametrize(
    "constraint",
    [Inequality("a", "nope"), Range("nope", "a", "b"), ScalarRange("nope", 0, 1), FixedCombinations(["a", "nope"]),
     OneHot(["a", "nope"]), FixedIncrements("nope", 1), Sum(["a", "nope"], "b")],
    ids=lambda c: c.name,
)
def test_a_missing_column_is_a_named_error(constraint):
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    with pytest.raises(ConstraintError, match="'nope'"):
        constraint.fit(df)


@pytest.mark.parametrize(
    "constraint,df",
    [
        (Inequality("a", "b"), pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})),
        (Inequality("a", "b"), pd.DataFrame({"a": pd.to_datetime(["2020-01-01", "2020-01-02"]), "b": [1, 2]})),
        (Inequality("a", "b"), pd.DataFrame({"a": pd.to_datetime(["2020-01-01"]), "b": pd.to_datetime(["2020-01-02"]).tz_localize("UTC")})),
        (Sum(["a", "b"], "c"), pd.DataFrame({"a": [1, 2], "b": [True, False], "c": [2, 2]})),
        (OneHot(["a", "b"]), pd.DataFrame({"a": ["1", "0"], "b": [0, 1]})),
        (FixedIncrements("a", 2), pd.DataFrame({"a": pd.to_datetime(["2020-01-01"])})),
    ],
)
def test_a_column_of_the_wrong_kind_is_a_named_error(constraint, df):
    with pytest.raises(ConstraintError, match="'a'|'b'|columns"):
        constraint.fit(df)


@pytest.mark.parametrize(
    "constraint",
    [Inequality("a", "a"), Inequality("a", "b", strict="yes"), ScalarRange("a", 5, 1), ScalarRange("a", None, 1),
     FixedIncrements("a", 0), FixedIncrements("a", -1), FixedIncrements("a", float("nan")), FixedIncrements("a", 0.5),
     Sum(["a"], "a"), OneHot(["a"]), FixedCombinations("a"), FixedCombinations(["a", "a"])],
    ids=lambda c: c.name,
)
def test_bad_parameters_are_a_config_error_at_fit(constraint):
    with pytest.raises(ConfigError):
        constraint.fit(pd.DataFrame({"a": [1, 2], "b": [3, 4]}))


def test_scalar_range_on_datetimes_needs_matching_time_zones():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-05", "2020-02-01"]).tz_localize("UTC")})
    with pytest.raises(ConfigError, match="time zone"):
        ScalarRange("t", "2020-01-01", "2020-12-31").fit(df)
    c = ScalarRange("t", pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-12-31", tz="UTC")).fit(df)
    pd.testing.assert_frame_equal(c.reverse_transform(c.transform(df)), df, check_exact=True)


# -- is_valid on hand-made rows ----------------------------------------------------------------
def test_is_valid_on_hand_made_rows():
    df = pd.DataFrame({"lo": [1, 3, np.nan, 2], "hi": [2, 3, 0, 1]})
    assert Inequality("lo", "hi").is_valid(df).tolist() == [True, True, True, False]  # missing: not checked
    assert Inequality("lo", "hi", strict=True).is_valid(df).tolist() == [True, False, True, False]
    rng3 = pd.DataFrame({"a": [1, 1, 1, np.nan], "b": [2, 0, 2, -5], "c": [3, 3, 1, -9]})
    # neighbouring pairs are checked where both are present: b > c on the last row
    assert Range("a", "b", "c").is_valid(rng3).tolist() == [True, False, False, False]
    s = pd.DataFrame({"v": [0, 0.5, 1, 1.01, np.nan]})
    assert ScalarRange("v", 0, 1).is_valid(s).tolist() == [True, True, True, False, True]
    assert ScalarRange("v", 0, 1, strict=True).is_valid(s).tolist() == [False, True, False, False, True]
    oh = pd.DataFrame({"p": [1, 0, 1, 0, 2], "q": [0, 1, 1, 0, -1]})
    assert OneHot(["p", "q"]).is_valid(oh).tolist() == [True, True, False, False, False]
    inc = pd.DataFrame({"v": [0.3, 0.35, 0.1 + 0.2, np.nan]})
    assert FixedIncrements("v", 0.1).is_valid(inc).tolist() == [True, False, True, True]
    sm = pd.DataFrame({"a": [0.1, 1, np.nan], "b": [0.2, 1, 5], "t": [0.3, 3, 1]})
    assert Sum(["a", "b"], "t").is_valid(sm).tolist() == [True, False, True]
    fc = FixedCombinations(["c", "s"]).fit(pd.DataFrame({"c": ["Boston", "Austin", "Salem"], "s": ["MA", "TX", None]}))
    rows = pd.DataFrame({"c": ["Boston", "Boston", "Salem", "Salem", "Paris"], "s": ["MA", "TX", None, "OR", "FR"]})
    assert fc.is_valid(rows).tolist() == [True, False, True, False, False]


def test_fixed_combinations_needs_fit_before_is_valid_but_validates_anything():
    c = FixedCombinations(["a", "b"])
    c.validate(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(NotFittedError):
        c.is_valid(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(NotFittedError):
        Inequality("a", "b").transform(pd.DataFrame({"a": [1], "b": [2]}))


def test_transforming_an_unseen_combination_names_its_rows():
    c = FixedCombinations(["a", "b"]).fit(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    with pytest.raises(ConstraintError, match=r"\[1\]"):
        c.transform(pd.DataFrame({"a": ["x", "x"], "b": [1, 2]}))
    with pytest.raises(ConstraintError, match="not categories it made"):
        c.reverse_transform(pd.DataFrame({c.output_: ["nonsense"]}))


# -- the generator's view: arbitrary values of the new columns are always valid ------------------
def _perturb(t: pd.DataFrame, original: pd.DataFrame, rng) -> pd.DataFrame:
    """What a generator could emit: every column redrawn at random within (a bit beyond) its
    observed range, categories drawn among the observed ones, missing where it had missing."""
    out = pd.DataFrame(index=t.index)
    for c in t.columns:
        s = t[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(rng.choice(np.asarray(s.cat.categories), len(s)), categories=s.cat.categories)
        elif pd.api.types.is_datetime64_any_dtype(s) or s.dtype == object:
            out[c] = s.sample(frac=1, replace=True, random_state=int(rng.integers(1 << 31))).to_numpy()
        else:
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            lo, hi = np.nanmin(v), np.nanmax(v)
            width = hi - lo
            drawn = rng.uniform(lo - 0.2 * width - 1, hi + 0.2 * width + 1, len(s))
            if pd.api.types.is_integer_dtype(s):
                drawn = np.round(drawn)
            drawn[np.isnan(v)] = np.nan  # missing where the transformed training column had it
            # a generator restores each column's dtype (integers stay integers)
            out[c] = drawn.astype(s.dtype) if not np.isnan(drawn).any() else drawn
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_any_generated_values_reverse_to_rows_that_obey_every_constraint(seed):
    df = _table()
    cs = ConstraintSet(_all_constraints()).fit(df)
    assert cs.rejected == []
    transformed = cs.transform(df)
    rng = _rng(100 + seed)
    generated = _perturb(pd.concat([transformed] * 10, ignore_index=True), df, rng)
    rows = cs.reverse_transform(generated)
    assert list(rows.columns) == list(df.columns)
    assert list(rows.dtypes) == list(df.dtypes)
    validity = cs.validity(rows)
    assert validity == {name: 1.0 for name in cs.names}, validity
    assert cs.is_valid(rows).all()
    # the generated rows are not the training rows: the check had something to do
    assert not rows["b"].reset_index(drop=True).equals(pd.concat([df["b"]] * 10, ignore_index=True))


def test_perturbed_float_scalar_range_rounds_to_decimals_inside_the_bounds():
    df = pd.DataFrame({"p": [0.0, 0.25, 0.5, 1.0]})
    c = ScalarRange("p", 0, 1).fit(df)
    t = c.transform(df)
    t[c.output_] = [-1e9, -3.0, 2.5, 1e9]
    back = c.reverse_transform(t)
    assert back["p"].between(0, 1).all()
    assert back["p"].iloc[0] == 0.0 and back["p"].iloc[-1] == 1.0
    np.testing.assert_array_equal(back["p"], back["p"].round(2))


# -- ConstraintSet --------------------------------------------------------------------------
def test_set_lists_every_broken_constraint_in_one_error():
    df = pd.DataFrame({"a": [1, 5, 2], "b": [2, 4, 3], "v": [0.5, 2.0, 3.0]})
    cs = ConstraintSet([Inequality("a", "b"), ScalarRange("v", 0, 1), Inequality("a", "missing")])
    with pytest.raises(ConstraintError) as err:
        cs.fit(df)
    assert len(err.value.problems) == 3
    assert err.value.failures[Inequality("a", "b").name] == (1, [1])
    assert err.value.failures[ScalarRange("v", 0, 1).name] == (2, [1, 2])
    assert "'missing'" in str(err.value)


def test_set_json_round_trip_keeps_fitted_state():
    df = _table()
    cs = ConstraintSet(_all_constraints()).fit(df)
    data = json.loads(json.dumps(cs.to_json()))
    loaded = ConstraintSet.from_json(data)
    assert loaded.plan_ == cs.plan_ and loaded.names == cs.names
    transformed = cs.transform(df)
    pd.testing.assert_frame_equal(loaded.transform(df), transformed)
    generated = _perturb(transformed, df, _rng(7))
    pd.testing.assert_frame_equal(loaded.reverse_transform(generated), cs.reverse_transform(generated))
    assert loaded.output_kinds() == cs.output_kinds()


@pytest.mark.parametrize("constraint", _all_constraints(), ids=lambda c: c.name)
def test_each_builtin_json_round_trip(constraint):
    df = _table()
    constraint.fit(df)
    loaded = constraint_from_json(json.loads(json.dumps(constraint.to_json())))
    assert type(loaded) is type(constraint) and loaded.params() == constraint.params()
    _assert_same(loaded.reverse_transform(constraint.transform(df))[df.columns], df)


def test_bad_saved_constraints_are_a_model_file_error():
    with pytest.raises(ModelFileError, match="version"):
        ConstraintSet.from_json({"version": 99, "constraints": []})
    with pytest.raises(ModelFileError, match="unknown constraint type"):
        ConstraintSet.from_json({"version": 1, "columns": [], "constraints": [{"type": "Evil", "params": {}, "role": "reject"}]})
    with pytest.raises(ModelFileError):
        ConstraintSet.from_json({"version": 1, "columns": [], "constraints": [{"type": "Inequality", "params": {"low": "a"}, "role": "transform"}]})


class _Weekday:
    """A custom rule by rejection: visits on weekdays."""

    name = "weekday_visits"

    def is_valid(self, df):
        return df["visit"].dt.dayofweek < 5


class _Even:
    """A custom rule with a transform: ``n`` is even (modelled as n // 2)."""

    name = "even_n"
    columns = ("n",)

    def is_valid(self, df):
        return df["n"] % 2 == 0

    def transform(self, df):
        return df.assign(half=df["n"] // 2).drop(columns=["n"])

    def reverse_transform(self, df):
        return df.assign(n=df["half"].round().astype("int64") * 2).drop(columns=["half"])


def _custom_table():
    rng = _rng(5)
    days = pd.bdate_range("2021-01-01", periods=200)
    return pd.DataFrame({"visit": days, "n": rng.integers(5, 50, 200) * 2, "a": rng.integers(0, 9, 200)})


def test_custom_constraints_round_trip_by_name():
    df = _custom_table()
    with pytest.warns(ConstraintWarning, match="even_n"):  # n is replaced by even_n's transform
        cs = ConstraintSet([_Weekday(), _Even(), Inequality("a", "n")]).fit(df)
    assert cs.plan_ == {"weekday_visits": "reject", "even_n": "transform", Inequality("a", "n").name: "reject"}
    data = json.loads(json.dumps(cs.to_json()))
    assert {"type": "custom", "name": "even_n", "role": "transform"} in data["constraints"]
    loaded = ConstraintSet.from_json(data, custom={"weekday_visits": _Weekday(), "even_n": _Even()})
    t = loaded.transform(df)
    assert "half" in t.columns and "n" not in t.columns
    pd.testing.assert_frame_equal(loaded.reverse_transform(t), df)
    bad = df.assign(visit=pd.Timestamp("2021-01-02"))  # a Saturday
    assert loaded.validity(bad)["weekday_visits"] == 0.0


def test_a_custom_constraint_missing_at_load_is_named():
    cs = ConstraintSet([_Weekday(), _Even()]).fit(_custom_table())
    data = cs.to_json()
    with pytest.raises(ModelFileError, match="even_n") as err:
        ConstraintSet.from_json(data, custom={"weekday_visits": _Weekday()})
    assert "custom=" in str(err.value)
    with pytest.raises(ModelFileError, match="weekday_visits"):
        ConstraintSet.from_json(data)


def test_custom_constraint_breaking_the_real_table_and_bad_results_are_named():
    df = _custom_table().assign(visit=pd.Timestamp("2021-01-02"))
    with pytest.raises(ConstraintError, match="weekday_visits.*200 of 200"):
        ConstraintSet([_Weekday()]).fit(df)

    class Short:
        name = "short"

        def is_valid(self, df):
            return np.ones(3, dtype=bool)

    with pytest.raises(ConstraintError, match="one bool per row"):
        ConstraintSet([Short()]).fit(_custom_table())
    with pytest.raises(ConfigError, match="name"):
        ConstraintSet([object()]).fit(_custom_table())


def test_duplicate_names_and_non_lists_are_refused():
    with pytest.raises(ConfigError, match="twice"):
        ConstraintSet([Inequality("a", "b"), Inequality("a", "b")]).fit(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(ConfigError, match="list"):
        ConstraintSet(Inequality("a", "b")).fit(pd.DataFrame({"a": [1], "b": [2]}))


def test_overlapping_transforms_fall_back_to_rejection_with_a_warning():
    rng = _rng(6)
    a = rng.integers(0, 10, 100)
    df = pd.DataFrame({"a": a, "b": a + rng.integers(0, 5, 100)})
    df["c"] = df["b"] + rng.integers(0, 5, 100)
    with pytest.warns(ConstraintWarning, match="rejection"):
        cs = ConstraintSet([Inequality("a", "b"), Inequality("b", "c")]).fit(df)
    assert cs.rejected == [Inequality("b", "c").name]
    # reading a column that a later transform replaces is fine: both transform
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cs = ConstraintSet([Inequality("b", "c"), Inequality("a", "b")]).fit(df)
    assert cs.rejected == []
    t = cs.transform(df)
    assert "b" not in t.columns and "c" not in t.columns
    pd.testing.assert_frame_equal(cs.reverse_transform(t), df)
    rows = cs.reverse_transform(_perturb(pd.concat([t] * 20, ignore_index=True), df, rng))
    assert cs.is_valid(rows).all()


def test_sum_with_integer_total_and_float_parts_is_checked_by_rejection():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 0.0, 2.0], "t": [2, 2, 5]})
    cs = ConstraintSet([Sum(["a", "b"], "t")]).fit(df)
    assert cs.rejected == [Sum(["a", "b"], "t").name]
    pd.testing.assert_frame_equal(cs.transform(df), df)


def test_missing_new_column_at_reverse_is_named():
    df = _table()
    c = Inequality("a", "b").fit(df)
    with pytest.raises(ConstraintError, match="a->b.gap"):
        c.reverse_transform(df.drop(columns=["b"]))


def test_new_column_names_avoid_user_columns():
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4], "a->b.gap": [0.0, 1.0]})
    c = Inequality("a", "b").fit(df)
    assert c.output_columns() == ["a->b.gap#2"]
    pd.testing.assert_frame_equal(c.reverse_transform(c.transform(df))[df.columns], df)


def test_validity_of_an_empty_table_is_nan_not_a_claim():
    cs = ConstraintSet([Inequality("a", "b")]).fit(pd.DataFrame({"a": [1], "b": [2]}))
    assert np.isnan(cs.validity(pd.DataFrame({"a": [], "b": []}))[Inequality("a", "b").name])


# -- detect -----------------------------------------------------------------------------------
def _planted(n=1500, seed=11):
    rng = _rng(seed)
    df = pd.DataFrame({"age": rng.integers(18, 90, n), "income": rng.lognormal(10, 1, n).round(2)})
    df["admitted"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10_000, n), unit="h")
    df["discharged"] = df["admitted"] + pd.to_timedelta(rng.integers(1, 500, n), unit="h")
    df["city"] = rng.choice(["Boston", "Austin", "Dallas", "Salem", "Reno"], n)
    df["state"] = df["city"].map({"Boston": "MA", "Austin": "TX", "Dallas": "TX", "Salem": "OR", "Reno": "NV"})
    df["colour"] = rng.choice(list("rgbk"), n)
    hot = rng.integers(0, 3, n)
    for i, c in enumerate(["plan_a", "plan_b", "plan_c"]):
        df[c] = (hot == i).astype("int64")
    df["premium"] = rng.integers(100, 10_000, n) / 100
    df["fee"] = rng.integers(0, 500, n) / 100
    df["total"] = df["premium"] + df["fee"]
    df["noise"] = rng.normal(size=n)
    return df


def test_detect_finds_the_planted_rules_and_only_those():
    df = _planted()
    found = {(p.kind, p.columns) for p in detect(df)}
    assert found == {
        ("one_hot", ("plan_a", "plan_b", "plan_c")),
        ("fixed_combinations", ("city", "state")),
        ("inequality", ("admitted", "discharged")),
        ("sum", ("premium", "fee", "total")),
    }
    by_kind = {p.kind: p for p in detect(df)}
    assert by_kind["inequality"].constraint == Inequality("admitted", "discharged", strict=True)
    assert by_kind["sum"].support == len(df)
    # the user accepts them explicitly: the proposals fit as a set and round-trip
    cs = ConstraintSet([p.constraint for p in detect(df)]).fit(df)
    pd.testing.assert_frame_equal(cs.reverse_transform(cs.transform(df)), df)


def test_detect_finds_a_sum_of_three_and_an_education_like_mapping():
    rng = _rng(12)
    n = 800
    levels = ["HS", "Some-college", "Bachelors", "Masters", "Doctorate"]
    edu = rng.choice(levels, n)
    df = pd.DataFrame({"education": edu, "education_num": pd.Series(edu).map({v: i + 9 for i, v in enumerate(levels)})})
    df["a"], df["b"], df["c"] = rng.integers(0, 100, n), rng.integers(0, 100, n), rng.integers(-50, 50, n)
    df["t"] = df["a"] + df["b"] + df["c"]
    found = {(p.kind, p.columns) for p in detect(df)}
    assert ("fixed_combinations", ("education", "education_num")) in found
    assert ("sum", ("a", "b", "c", "t")) in found


def test_detect_proposes_nothing_on_independent_columns():
    rng = _rng(13)
    n = 2000
    df = pd.DataFrame({f"x{i}": rng.normal(0.3 * i, 1, n) for i in range(8)})
    for i in range(6):
        df[f"cat{i}"] = rng.choice(list("abcde")[: 2 + i % 4], n)
    for i in range(4):
        df[f"k{i}"] = rng.integers(0, 5, n)
        df[f"flag{i}"] = rng.integers(0, 2, n)
    df["d0"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    df["d1"] = pd.Timestamp("2020-06-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    df["u"] = rng.uniform(0, 1, n)
    df["v"] = rng.uniform(0.9, 2, n)  # overlaps u only a little: P(u > v) is small but not negligible
    assert detect(df) == []


def test_detect_skips_trivial_inequalities_and_needs_support():
    rng = _rng(14)
    df = pd.DataFrame({"age": rng.integers(18, 90, 500), "income": rng.integers(20_000, 90_000, 500)})
    assert detect(df) == []  # always age < income, but only because the ranges never overlap
    lo = rng.normal(size=30)
    small = pd.DataFrame({"lo": lo, "hi": lo + 0.1})  # P(lo > hi) ~ 0.47 under independence
    assert detect(small) == []  # 30 rows < min_support
    assert [p.columns for p in detect(small, min_support=20)] == [("lo", "hi")]


def test_detect_rejects_bad_options():
    with pytest.raises(ConfigError):
        detect([1, 2])
    with pytest.raises(ConfigError):
        detect(pd.DataFrame({"a": [1]}), min_support=0)


def test_datetime_scalar_range_keeps_generated_values_inside_the_bounds():
    rng = _rng(15)
    t = pd.Timestamp("2021-01-01", tz="America/New_York") + pd.to_timedelta(rng.integers(0, 300, 200), unit="D")
    df = pd.DataFrame({"t": t})
    low, high = pd.Timestamp("2021-01-01", tz="America/New_York"), pd.Timestamp("2021-12-31", tz="America/New_York")
    c = ScalarRange("t", low, high, strict=True).fit(df)
    out = c.transform(df)
    pd.testing.assert_frame_equal(c.reverse_transform(out), df, check_exact=True)
    out[c.output_columns()[0]] = np.linspace(-100, 100, 200)
    back = c.reverse_transform(out)
    assert back["t"].dtype == df["t"].dtype
    assert ((back["t"] > low) & (back["t"] < high)).all()
