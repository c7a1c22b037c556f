"""Bad inputs at every boundary (fit, sample, load): a named synthgan error, or documented behaviour.

Every error must be a :class:`SynthGANError` *and* the builtin it resembles, and its
message must name the column, parameter or file at fault.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

import synthgan.serialization as serialization
from synthgan import TabularSynthesizer
from synthgan.errors import (
    ConditionError,
    ConfigError,
    DataError,
    ModelFileError,
    NotFittedError,
    SchemaError,
    SynthGANError,
)
from synthgan.tabular import transformer as transformer_module


def tiny(**params) -> TabularSynthesizer:
    return TabularSynthesizer(**{"epochs": 1, "batch_size": 50, "seed": 0, "verbose": False, **params})


def small_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], n)})


def check_error(exc: BaseException, builtin: type, *needles: str) -> None:
    """A synthgan error that is also ``builtin``, whose message holds every needle."""
    assert isinstance(exc, SynthGANError), f"{type(exc).__name__} is not a SynthGANError: {exc}"
    assert isinstance(exc, builtin), f"{type(exc).__name__} is not a {builtin.__name__}"
    for needle in needles:
        assert needle in str(exc), f"{needle!r} not in message: {exc}"


# -- the table given to fit ----------------------------------------------------------------


def test_empty_frame_without_columns():
    with pytest.raises(DataError) as info:
        tiny().fit(pd.DataFrame())
    check_error(info.value, ValueError, "no columns")


def test_frame_with_columns_but_no_rows():
    with pytest.raises(DataError) as info:
        tiny().fit(small_frame().iloc[:0])
    check_error(info.value, ValueError, "0 rows")


def test_single_row():
    with pytest.raises(DataError) as info:
        tiny().fit(small_frame().iloc[:1])
    check_error(info.value, ValueError, "1 row", "at least 2")


def test_not_a_dataframe():
    with pytest.raises(DataError) as info:
        tiny().fit(np.zeros((10, 2)))
    check_error(info.value, ValueError, "ndarray")


def test_mixed_type_column_names_it():
    df = small_frame()
    df["code"] = [i if i % 2 else f"s{i}" for i in range(len(df))]  # ints and strings
    with pytest.raises(SchemaError) as info:
        tiny().fit(df)
    check_error(info.value, ValueError, "'code'", "int", "str")
    assert len(info.value.problems) == 1  # the clean columns are not blamed


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinity_names_the_column(bad):
    df = small_frame()
    df.loc[[3, 9], "x"] = bad
    with pytest.raises(SchemaError) as info:
        tiny().fit(df)
    check_error(info.value, ValueError, "'x'", "2 infinite")


def test_every_table_problem_is_reported_at_once():
    df = small_frame()
    df["code"] = [1, "a"] * (len(df) // 2)
    df.loc[0, "x"] = np.inf
    with pytest.raises(SchemaError) as info:
        tiny().fit(df)
    assert len(info.value.problems) == 2
    check_error(info.value, ValueError, "'code'", "'x'")


def test_duplicate_column_names():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 3)), columns=["x", "y", "x"])
    with pytest.raises(SchemaError) as info:
        tiny().fit(df)
    check_error(info.value, ValueError, "duplicate", "'x'")
    assert "'y'" not in str(info.value)


def test_unsupported_dtype_names_the_column():
    df = small_frame()
    df["wait"] = pd.to_timedelta(np.arange(len(df)), unit="s")
    with pytest.raises(SchemaError) as info:
        tiny().fit(df)
    check_error(info.value, ValueError, "'wait'", "timedelta")


def test_all_missing_and_constant_columns_are_reproduced():
    """Documented: an all-missing column comes back all missing, a constant one as that constant."""
    df = small_frame()
    df["gone"] = np.nan
    df["gone_text"] = pd.Series([None] * len(df), dtype=object)
    df["seven"] = 7
    df["half"] = 0.5
    df["same"] = "k"
    df["yes"] = True
    rows = tiny().fit(df).sample(80, seed=1)
    assert list(rows.columns) == list(df.columns)
    pd.testing.assert_series_equal(rows.dtypes, df.dtypes)
    assert rows["gone"].isna().all() and rows["gone_text"].isna().all()
    assert (rows["seven"] == 7).all()
    assert (rows["half"] == 0.5).all()
    assert (rows["same"] == "k").all()
    assert rows["yes"].all()


def test_unicode_and_odd_column_names_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    n = 60
    df = pd.DataFrame(
        {
            "名前": rng.choice(["太郎", "花子", "Zoë"], n),
            "a b/c": rng.normal(size=n),
            "": rng.integers(0, 1000, n),
            0: rng.choice(["x", "y"], n),
            'quote"s\\': rng.random(n) < 0.5,
        }
    )
    synth = tiny().fit(df)
    rows = synth.sample(30, seed=4)
    assert list(rows.columns) == list(df.columns)
    pd.testing.assert_series_equal(rows.dtypes, df.dtypes)
    assert set(rows["名前"]) <= {"太郎", "花子", "Zoë"}

    path = synth.save(tmp_path / "модель 模型.synth")
    loaded = TabularSynthesizer.load(path)
    pd.testing.assert_frame_equal(loaded.sample(30, seed=4), rows)

    picked = loaded.sample(20, conditions={0: "y", "名前": "花子"}, seed=0)
    assert (picked[0] == "y").all() and (picked["名前"] == "花子").all()


def test_fit_leaves_the_callers_frame_unchanged(fitted_run):
    _, used, before = fitted_run
    pd.testing.assert_frame_equal(used, before)
    assert list(used.index) == list(before.index)


def test_fit_with_metadata_and_odd_index_leaves_frame_unchanged(mixed_df):
    df = mixed_df.iloc[::3].copy()
    df.index = [f"r{i}" for i in range(len(df))]
    before = df.copy(deep=True)
    with pytest.warns(UserWarning, match="customer_id"):
        tiny(id_columns="drop").fit(df, metadata={"churn": "integer"})
    pd.testing.assert_frame_equal(df, before)


# -- sample --------------------------------------------------------------------------------


def test_sample_before_fit():
    synth = tiny()
    for call in (lambda: synth.sample(5), lambda: synth.save("never.synth"), lambda: synth.columns):
        with pytest.raises(NotFittedError) as info:
            call()
        check_error(info.value, RuntimeError, "fit")


def test_sample_zero_rows_has_the_training_columns_and_dtypes(fitted, fitted_run):
    _, df, _ = fitted_run
    rows = fitted.sample(0)
    assert len(rows) == 0
    assert list(rows.columns) == list(df.columns)
    pd.testing.assert_series_equal(rows.dtypes, df.dtypes)
    assert list(rows["tier"].cat.categories) == list(df["tier"].cat.categories)


@pytest.mark.parametrize("n", [-1, -100])
def test_negative_n(fitted, n):
    with pytest.raises(ConfigError) as info:
        fitted.sample(n)
    check_error(info.value, ValueError, "n must be", str(n))


@pytest.mark.parametrize("n", [2.5, 3.0, "10", None, True, [5]])
def test_non_integer_n(fitted, n):
    with pytest.raises(ConfigError) as info:
        fitted.sample(n)
    check_error(info.value, ValueError, "n must be an integer", repr(n))


def test_numpy_integer_n_is_accepted(fitted):
    assert len(fitted.sample(np.int64(7))) == 7


def test_condition_on_unknown_column(fitted):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"salary": 10})
    check_error(info.value, ValueError, "'salary'", "unknown column")


def test_condition_on_unseen_category(fitted):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"city": "Tokyo"})
    check_error(info.value, ValueError, "'Tokyo'", "'city'", "never seen")
    assert "'Paris'" in str(info.value)  # the message lists values that can be asked for


def test_condition_on_declared_but_never_observed_category(fitted):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"tier": "platinum"})
    check_error(info.value, ValueError, "'platinum'", "'tier'")


def test_condition_on_identifier_column(fitted):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"customer_id": "CUST-00001"})
    check_error(info.value, ValueError, "'customer_id'", "identifier")


@pytest.mark.parametrize("conditions", [[("city", "Paris")], "city=Paris"])
def test_conditions_that_are_not_a_dict(fitted, conditions):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions=conditions)
    check_error(info.value, ValueError, "dict")


def test_scalar_condition_on_a_continuous_column(fitted):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"income": 50_000.5})
    check_error(info.value, ValueError, "'income'", "range")


@pytest.mark.parametrize("bounds", [(1e9, 2e9), (None, -5.0)], ids=["above", "below"])
def test_numeric_range_outside_observed_range(fitted, fitted_run, bounds):
    _, df, _ = fitted_run
    assert df["income"].max() < 1e9 and df["income"].min() > -5.0
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={"income": bounds})
    check_error(info.value, ValueError, "'income'", "outside the observed range")


def test_conditions_too_rare_to_satisfy_report_the_rate(fitted):
    # 'age' is an integer column and 50.2..50.8 holds no integer: no row can ever match
    conditions = {"age": (50.2, 50.8), "churn": 1}
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions=conditions)
    check_error(info.value, ValueError, "too rare", "'age'")
    assert re.search(r"0 of \d+ drawn rows \(0\.0+%\)", str(info.value))


@pytest.mark.parametrize("column, bounds", [("income", ("low", "high")), ("signup", ("soon", "later"))])
def test_range_bounds_of_the_wrong_type_name_the_column(fitted, column, bounds):
    with pytest.raises(ConditionError) as info:
        fitted.sample(5, conditions={column: bounds})
    check_error(info.value, ValueError, repr(column))


# -- constructor parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params, name",
    [
        ({"epochs": 0}, "epochs"),
        ({"pac": 0}, "pac"),
        ({"batch_size": 1}, "batch_size"),
        ({"id_columns": "keep"}, "id_columns"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_parameter_is_reported_when_fit_starts(params, name):
    synth = TabularSynthesizer(**params, verbose=False)  # the constructor only stores them
    assert getattr(synth, name) == params[name]
    with pytest.raises(ConfigError) as info:
        synth.fit(small_frame())
    check_error(info.value, ValueError, f"{name}={params[name]!r}")


def test_several_invalid_parameters_are_reported_together():
    with pytest.raises(ConfigError) as info:
        TabularSynthesizer(epochs=0, pac=0, verbose=False).fit(small_frame())
    check_error(info.value, ValueError, "TabularSynthesizer", "epochs=0", "pac=0")


def test_bad_device_is_reported_before_any_work(monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the transformer was fitted before the device was checked")

    monkeypatch.setattr(transformer_module.TableTransformer, "fit", no_work)
    with pytest.raises(ConfigError, match="device='tpu'"):
        TabularSynthesizer(device="tpu", verbose=False).fit(small_frame())


# -- model files ---------------------------------------------------------------------------


def load_error(path) -> ModelFileError:
    with pytest.raises(ModelFileError) as info:
        TabularSynthesizer.load(path)
    check_error(info.value, ValueError, path.name)
    return info.value


def test_missing_model_file(tmp_path):
    err = load_error(tmp_path / "nothing.synth")
    assert "does not exist" in str(err)


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "notes.synth"
    path.write_text("this is a text file, not a model\n" * 20)
    assert re.search(r"not a readable|corrupt", str(load_error(path)))


def test_truncated_model_file(fitted_model_file, tmp_path):
    data = fitted_model_file.read_bytes()
    for keep in (len(data) // 2, len(data) - 1, 4):
        path = tmp_path / f"truncated_{keep}.synth"
        path.write_bytes(data[:keep])
        assert re.search(r"corrupt|damaged|checksum", str(load_error(path)))


@pytest.mark.parametrize("where", ["middle", "near-end"])
def test_modified_bytes_fail_the_checksum(fitted_model_file, tmp_path, where):
    data = bytearray(fitted_model_file.read_bytes())
    at = len(data) // 2 if where == "middle" else len(data) - 64
    data[at] ^= 0xFF
    data[at + 1] ^= 0x0F
    path = tmp_path / f"flipped_{where}.synth"
    path.write_bytes(bytes(data))
    assert re.search(r"checksum|corrupt", str(load_error(path)))


def test_edited_state_in_the_header_fails_the_checksum(fitted_model_file, tmp_path):
    data = fitted_model_file.read_bytes()
    old = b'{\\"epochs\\": 1,'
    assert data.count(old) == 1
    path = tmp_path / "edited.synth"
    path.write_bytes(data.replace(old, b'{\\"epochs\\": 7,'))  # same length, valid JSON
    assert "checksum" in str(load_error(path))


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"author": "someone else"})
    assert "not a synthgan model" in str(load_error(path))


def test_other_format_version(fitted, tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "FORMAT_VERSION", serialization.FORMAT_VERSION + 98)
    path = fitted.save(tmp_path / "future.synth")
    monkeypatch.undo()
    err = load_error(path)
    assert f"version {serialization.FORMAT_VERSION + 98}" in str(err)
    assert f"reads version {serialization.FORMAT_VERSION}" in str(err)


def test_model_of_another_kind(tmp_path):
    path = serialization.save_model(tmp_path / "images.synth", "image", {}, {"w": torch.zeros(2)})
    assert "'image'" in str(load_error(path))


def test_synthgan_file_with_inconsistent_state(tmp_path):
    path = serialization.save_model(tmp_path / "hollow.synth", "tabular", {"params": {}}, {"w": torch.zeros(2)})
    message = str(load_error(path))  # every missing entry named
    assert "invalid model state" in message and "transformer" in message and "history" in message


def test_good_copy_still_loads(fitted, fitted_model_file, tmp_path):
    """The damage tests above start from a file that is itself fine."""
    path = tmp_path / "copy.synth"
    shutil.copy(fitted_model_file, path)
    pd.testing.assert_frame_equal(TabularSynthesizer.load(path).sample(20, seed=2), fitted.sample(20, seed=2))


def test_complex_numbers_are_refused_naming_the_column():
    df = pd.DataFrame({"z": np.arange(30) * 1j, "b": range(30)})
    with pytest.raises(SchemaError, match="'z' holds complex numbers"):
        TabularSynthesizer(epochs=1, verbose=False).fit(df)
