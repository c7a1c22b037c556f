"""Column-kind detection (the rules in ``detect_schema``'s docstring) and Metadata overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan import TabularSynthesizer
from synthgan.errors import SchemaError, SynthGANError
from synthgan.schema import (
    ID_MIN_ROWS,
    ID_UNIQUE_RATIO,
    MAX_INTEGER_CATEGORIES,
    ColumnKind,
    Metadata,
    Schema,
    detect_schema,
)

N = 50  # enough rows for identifiers to be recognised (ID_MIN_ROWS)
assert N >= ID_MIN_ROWS


def kind_of(values, name: str = "col") -> ColumnKind:
    return detect_schema(pd.DataFrame({name: values}))[name].kind


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- detection rules -----------------------------------------------------------------------


def test_bool_dtype_is_boolean(rng):
    assert kind_of(rng.random(N) < 0.5) is ColumnKind.BOOLEAN


def test_object_bools_with_missing_are_boolean():
    values = pd.Series([True, False, None] * 10, dtype=object)
    assert kind_of(values) is ColumnKind.BOOLEAN


def test_nullable_boolean_is_boolean():
    assert kind_of(pd.Series([True, False, None] * 10, dtype="boolean")) is ColumnKind.BOOLEAN


def test_naive_datetime_is_datetime_without_timezone():
    schema = detect_schema(pd.DataFrame({"t": pd.date_range("2024-01-01", periods=N, freq="h")}))
    assert schema["t"].kind is ColumnKind.DATETIME
    assert schema["t"].timezone is None


def test_tz_aware_datetime_keeps_its_timezone():
    t = pd.date_range("2024-01-01", periods=N, freq="D", tz="Europe/Paris")
    schema = detect_schema(pd.DataFrame({"t": t}))
    assert schema["t"].kind is ColumnKind.DATETIME
    assert schema["t"].timezone == "Europe/Paris"


def test_pandas_category_is_categorical_with_declared_categories(rng):
    # even numeric categories with many values: the dtype is the user's statement
    cats = list(range(100))
    col = pd.Categorical(rng.choice(cats[:60], N), categories=cats)
    schema = detect_schema(pd.DataFrame({"c": col}))
    assert schema["c"].kind is ColumnKind.CATEGORICAL
    assert schema["c"].categories == tuple(cats)
    assert all(type(c) is int for c in schema["c"].categories)  # plain Python, JSON-safe


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([np.nan] * N, dtype="float64"),
        pd.Series([None] * N, dtype=object),
    ],
    ids=["all-nan-float", "all-none-object"],
)
def test_all_missing_column_is_categorical(values):
    schema = detect_schema(pd.DataFrame({"m": values}))
    assert schema["m"].kind is ColumnKind.CATEGORICAL
    assert schema["m"].missing_rate == 1.0


@pytest.mark.parametrize("value", [7, 2.5, "k"], ids=["int", "float", "str"])
def test_constant_column_is_categorical(value):
    assert kind_of([value] * N) is ColumnKind.CATEGORICAL


def test_binary_int_target_is_categorical(rng):
    assert kind_of(rng.integers(0, 2, N), name="FraudFound_P") is ColumnKind.CATEGORICAL


def test_integer_valued_floats_with_few_values_are_categorical(rng):
    values = rng.integers(0, 3, N).astype(float)
    values[:5] = np.nan
    assert kind_of(values) is ColumnKind.CATEGORICAL


def test_integer_category_threshold_is_inclusive():
    at_limit = np.arange(N) % MAX_INTEGER_CATEGORIES
    above = np.arange(N) % (MAX_INTEGER_CATEGORIES + 1)
    assert kind_of(at_limit) is ColumnKind.CATEGORICAL
    assert kind_of(above) is ColumnKind.INTEGER


def test_whole_floats_with_missing_values_are_integer(rng):
    ages = rng.integers(18, 90, N).astype(float)
    ages[::7] = np.nan
    assert kind_of(ages, name="age") is ColumnKind.INTEGER


def test_fractional_numbers_are_continuous(rng):
    assert kind_of(rng.normal(size=N)) is ColumnKind.CONTINUOUS


def test_unique_consecutive_integers_are_id(rng):
    values = rng.permutation(np.arange(1000, 1000 + N))  # shuffled 1000, 1001, ...
    assert kind_of(values, name="row") is ColumnKind.ID


@pytest.mark.parametrize("name", ["customer_id", "CustomerID", "PolicyNumber", "order_no", "uuid", "key"])
def test_unique_integers_named_like_an_id_are_id(rng, name):
    values = rng.choice(np.arange(10_000), N, replace=False)  # unique, not consecutive
    assert not np.all(np.diff(np.sort(values)) == 1)
    assert kind_of(values, name=name) is ColumnKind.ID


@pytest.mark.parametrize("name", ["amount", "income", "score"])
def test_unique_integers_with_an_ordinary_name_are_integer(rng, name):
    values = rng.choice(np.arange(10_000), N, replace=False)
    assert kind_of(values, name=name) is ColumnKind.INTEGER


@pytest.mark.parametrize("name", ["amount_paid", "paid"])
def test_names_that_merely_end_in_id_letters_are_not_ids(rng, name):
    values = rng.choice(np.arange(10_000), N, replace=False)
    assert kind_of(values, name=name) is ColumnKind.INTEGER


def test_too_few_rows_are_never_an_id():
    n = ID_MIN_ROWS - 1
    assert n > MAX_INTEGER_CATEGORIES  # else the column would be categorical anyway
    assert kind_of(np.arange(n), name="id") is ColumnKind.INTEGER
    assert kind_of([f"X{i}" for i in range(n)], name="id") is ColumnKind.CATEGORICAL


def test_unique_integers_with_a_missing_value_are_not_id():
    values = np.arange(N, dtype=float)
    values[3] = np.nan
    assert kind_of(values, name="id") is ColumnKind.INTEGER


def test_mostly_unique_text_is_id():
    assert kind_of([f"CUST-{i:05d}" for i in range(N)]) is ColumnKind.ID


def test_text_uniqueness_threshold_is_strict():
    n_unique = int(ID_UNIQUE_RATIO * N)  # exactly the ratio: not an id
    at_ratio = [f"v{i}" for i in range(n_unique)] + ["v0"] * (N - n_unique)
    above = [f"v{i}" for i in range(n_unique + 1)] + ["v0"] * (N - n_unique - 1)
    assert kind_of(at_ratio) is ColumnKind.CATEGORICAL
    assert kind_of(above) is ColumnKind.ID


def test_repetitive_text_is_categorical(rng):
    assert kind_of(rng.choice(["red", "green", "blue"], N)) is ColumnKind.CATEGORICAL


def test_mixed_frame_kinds_and_missing_rates(mixed_df):
    schema = detect_schema(mixed_df)
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "age": ColumnKind.INTEGER,
        "income": ColumnKind.CONTINUOUS,
        "city": ColumnKind.CATEGORICAL,
        "member": ColumnKind.BOOLEAN,
        "signup": ColumnKind.DATETIME,
        "tier": ColumnKind.CATEGORICAL,
        "churn": ColumnKind.CATEGORICAL,
        "customer_id": ColumnKind.ID,
    }
    assert schema.names == list(mixed_df.columns)
    for col in schema.columns:
        assert col.missing_rate == pytest.approx(mixed_df[col.name].isna().mean())
        assert col.dtype == str(mixed_df[col.name].dtype)
    assert 0.05 < schema["income"].missing_rate < 0.15
    assert schema["tier"].categories == ("bronze", "silver", "gold", "platinum")


def test_schema_json_round_trip(mixed_df):
    schema = detect_schema(mixed_df)
    assert Schema.from_json(schema.to_json()) == schema


def test_detect_schema_does_not_modify_the_frame(mixed_df):
    before = mixed_df.copy(deep=True)
    detect_schema(mixed_df, {"churn": "integer"})
    pd.testing.assert_frame_equal(mixed_df, before)


# -- overrides -----------------------------------------------------------------------------


def test_dict_override_replaces_detected_kinds(mixed_df):
    schema = detect_schema(
        mixed_df, {"churn": "integer", "age": ColumnKind.CATEGORICAL, "customer_id": "categorical"}
    )
    assert schema["churn"].kind is ColumnKind.INTEGER
    assert schema["age"].kind is ColumnKind.CATEGORICAL
    assert schema["customer_id"].kind is ColumnKind.CATEGORICAL
    assert schema["income"].kind is ColumnKind.CONTINUOUS  # untouched columns keep detection


def test_nested_dict_and_metadata_object_overrides_agree(mixed_df):
    nested = {"columns": {"churn": {"kind": "integer"}, "income": {"kind": "id"}}}
    as_object = Metadata(columns={"churn": {"kind": "integer"}, "income": {"kind": "id"}})
    a, b = detect_schema(mixed_df, nested), detect_schema(mixed_df, as_object)
    assert a == b
    assert a["churn"].kind is ColumnKind.INTEGER
    assert a["income"].kind is ColumnKind.ID


def test_override_reaches_the_fitted_model():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "zip": rng.choice([75001, 69002, 13003], 60)})
    meta = {"zip": "integer", "x": "continuous"}
    synth = TabularSynthesizer(epochs=1, batch_size=60, seed=0, verbose=False).fit(df, metadata=meta)
    assert synth.transformer_.schema["zip"].kind is ColumnKind.INTEGER
    out = synth.sample(40, seed=0)
    assert out["zip"].dtype == df["zip"].dtype
    assert out["zip"].between(13003, 75001).all()  # integer kind: clipped to the observed range


@pytest.mark.parametrize(
    "kind, hint",
    [("continuous", "continuous"), ("integer", "integer"), ("datetime", "pd.to_datetime")],
)
def test_impossible_override_names_the_column(mixed_df, kind, hint):
    with pytest.raises(SchemaError) as info:
        detect_schema(mixed_df, {"city": kind})
    assert "'city'" in str(info.value)
    assert hint in str(info.value)
    assert isinstance(info.value, ValueError)


def test_impossible_overrides_are_reported_together(mixed_df):
    with pytest.raises(SchemaError) as info:
        detect_schema(mixed_df, {"city": "continuous", "income": "datetime"})
    assert len(info.value.problems) == 2
    assert "'city'" in str(info.value) and "'income'" in str(info.value)


def test_override_of_unknown_column_names_it(mixed_df):
    with pytest.raises(SchemaError, match="'not_there'"):
        detect_schema(mixed_df, {"not_there": "categorical"})


def test_unknown_kind_is_a_schema_error_naming_column_and_kind(mixed_df):
    with pytest.raises(SynthGANError) as info:
        detect_schema(mixed_df, {"city": "bogus"})
    assert isinstance(info.value, ValueError)
    assert "city" in str(info.value) and "bogus" in str(info.value)


def test_override_of_a_non_string_column_name(rng):
    df = pd.DataFrame({0: rng.integers(0, 2, N), "x": rng.normal(size=N)})
    assert detect_schema(df, {0: "integer"})[0].kind is ColumnKind.INTEGER


# -- the shared real datasets --------------------------------------------------------------


def _dataset(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"dataset {name!r} not found in {str(folder)!r}")
    return path


@pytest.fixture(scope="module")
def adult(shared_datasets) -> pd.DataFrame:
    df = pd.read_csv(_dataset(shared_datasets, "adult.csv"), skipinitialspace=True, na_values="?")
    df.columns = [c.strip() for c in df.columns]
    return df


@pytest.fixture(scope="module")
def fraud(shared_datasets) -> pd.DataFrame:
    return pd.read_csv(_dataset(shared_datasets, "fraud_oracle.csv"), encoding="utf-8-sig")


def test_adult_kinds(adult):
    schema = detect_schema(adult)
    assert schema["class"].kind is ColumnKind.CATEGORICAL
    assert schema["sex"].kind is ColumnKind.CATEGORICAL
    assert schema["race"].kind is ColumnKind.CATEGORICAL
    assert schema["age"].kind is ColumnKind.INTEGER
    assert schema["hours-per-week"].kind is ColumnKind.INTEGER
    assert schema["workclass"].missing_rate > 0  # the '?' entries are missing, not a category
    assert not any(c.kind is ColumnKind.ID for c in schema.columns)


def test_fraud_kinds(fraud):
    assert fraud.columns[0] == "Month"  # the byte-order mark is not part of the name
    schema = detect_schema(fraud)
    assert schema["FraudFound_P"].kind is ColumnKind.CATEGORICAL
    assert schema["PolicyNumber"].kind is ColumnKind.ID
    assert schema["Sex"].kind is ColumnKind.CATEGORICAL
    assert schema["Age"].kind is ColumnKind.INTEGER
    assert [c.name for c in schema.columns if c.kind is ColumnKind.ID] == ["PolicyNumber"]
