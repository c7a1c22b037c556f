"""Evaluation metrics on cases with a known answer, bad input, and ``synthgan evaluate``.

Tables are small (hundreds of rows, a handful of columns) so the file runs in seconds; the
expensive calls (sdmetrics, eight model fits) are shared through module-scoped fixtures.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from synthgan import evaluate
from synthgan.cli import main
from synthgan.errors import ConfigError, DataError, EvaluationWarning, SchemaError, SynthGANError
from synthgan.evaluation.augmentation import AUGMENTED, REAL, augmentation_lift
from synthgan.evaluation.fidelity import fidelity, sdmetrics_metadata
from synthgan.evaluation.inputs import check_tables, label_values, resolve_target
from synthgan.evaluation.utility import TRTR, TSTR, roc_auc, tstr
from synthgan.schema import detect_schema

FAMILIES = ("linear", "boosted trees")


def make_table(n: int = 600, seed: int = 0, minority_share: float = 0.15) -> pd.DataFrame:
    """Two correlated numbers, an integer, a category and a rare class that depends on them."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = 0.9 * x1 + rng.normal(scale=0.3, size=n)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    score = 2.0 * x1 + 1.5 * (colour == "blue") + rng.normal(scale=0.8, size=n)
    label = np.where(score > np.quantile(score, 1 - minority_share), "fraud", "ok")
    return pd.DataFrame({"x1": x1, "x2": x2, "age": rng.integers(18, 80, n), "colour": colour, "label": label})


def noise_like(df: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Uniform noise over each column's range (numbers) or its categories: no structure at all."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, col in df.items():
        if pd.api.types.is_numeric_dtype(col):
            values = rng.uniform(col.min(), col.max(), len(df))
            out[name] = values.round().astype(col.dtype) if pd.api.types.is_integer_dtype(col) else values
        else:
            out[name] = rng.choice(sorted(col.unique()), len(df))
    return pd.DataFrame(out)


def shuffled_columns(df: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """Every column permuted independently: same marginals, no relationships."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({name: col.to_numpy()[rng.permutation(len(df))] for name, col in df.items()})


@pytest.fixture(scope="module")
def split():
    df = make_table()
    return df.iloc[:400].reset_index(drop=True), df.iloc[400:].reset_index(drop=True)


def _fidelity(real, synthetic, **kwargs):
    tables = check_tables(real, synthetic)
    return fidelity(tables.real, tables.synthetic, tables.schema, **kwargs)


def _goal(tables, target="label", **kwargs):
    return resolve_target(tables, target, **kwargs)


# -- fidelity ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fidelity_scores(split):
    real = split[0]
    return {
        "identical": _fidelity(real, real.copy()),
        "shuffled": _fidelity(real, shuffled_columns(real)),
        "noise": _fidelity(real, noise_like(real)),
    }


def test_identical_tables_score_one(fidelity_scores):
    same = fidelity_scores["identical"]
    assert same.column_shapes == pytest.approx(1.0)
    assert same.column_pair_trends == pytest.approx(1.0)
    assert same.quality == pytest.approx(1.0)
    assert same.validity == pytest.approx(1.0) and same.structure == pytest.approx(1.0)


def test_shuffled_columns_keep_shapes_but_lose_pair_trends(fidelity_scores):
    shuffled = fidelity_scores["shuffled"]
    assert shuffled.column_shapes == pytest.approx(1.0)  # marginals untouched
    assert shuffled.column_pair_trends < 0.8  # x1 ~ x2 (r = 0.95) is gone


def test_uniform_noise_scores_clearly_lower(fidelity_scores):
    noise, same = fidelity_scores["noise"], fidelity_scores["identical"]
    assert noise.column_shapes < 0.8 < same.column_shapes
    assert noise.quality < same.quality - 0.2


def test_fidelity_keeps_per_column_details(fidelity_scores, split):
    result = fidelity_scores["noise"]
    assert [r[0] for r in result.shapes] == list(split[0].columns)
    assert {r[1] for r in result.shapes} == {"KSComplement", "TVComplement"}
    assert len(result.pairs) == 5 * 4 // 2
    assert all(0.0 <= r[2] <= 1.0 for r in result.validity_details)


def test_sdmetrics_metadata_follows_the_schema(mixed_df):
    meta = sdmetrics_metadata(detect_schema(mixed_df), mixed_df)
    sdtypes = {name: col["sdtype"] for name, col in meta["columns"].items()}
    assert sdtypes == {
        "age": "numerical",
        "income": "numerical",
        "city": "categorical",
        "member": "boolean",
        "signup": "datetime",
        "tier": "categorical",
        "churn": "categorical",
        "customer_id": "id",
    }
    assert meta["primary_key"] == "customer_id"


def test_every_column_kind_gets_a_score(mixed_df):
    synthetic = mixed_df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    result = _fidelity(mixed_df, synthetic)
    scored = {r[0]: r[2] for r in result.shapes}
    assert set(scored) == set(mixed_df.columns) - {"customer_id"}  # ids have no shape
    assert all(v == pytest.approx(1.0) for v in scored.values())  # same rows, other order
    assert result.notes == ()  # nothing failed inside sdmetrics (tz-aware dates, categories, NaN)


def test_quality_report_subsample_is_recorded_and_seeded(split):
    real = split[0]
    a = _fidelity(real, noise_like(real), max_rows=100, seed=3)
    b = _fidelity(real, noise_like(real), max_rows=100, seed=3)
    assert a.rows_used == (100, 100)
    assert any("subsample of 100 real and 100 synthetic rows" in n for n in a.notes)
    assert a == b


# -- utility ------------------------------------------------------------------------------------


def test_training_on_the_real_rows_themselves_equals_trtr(split):
    real, holdout = split
    tables = check_tables(real, real.copy(), holdout)
    result = tstr(tables, _goal(tables))
    for family in FAMILIES:
        for metric in ("accuracy", "macro F1", "ROC AUC"):
            assert result.score(family, TSTR, metric) == result.score(family, TRTR, metric)
    assert result.gap == 0
    assert result.score("linear", TRTR, "ROC AUC") > 0.9  # the label is learnable
    # a constant prediction of the majority class: AUC 0.5, accuracy = the majority's share
    assert result.baseline["ROC AUC"] == 0.5
    assert result.baseline["accuracy"] == pytest.approx((holdout["label"] == "ok").mean())


def test_noise_trains_worse_models(split):
    real, holdout = split
    tables = check_tables(real, noise_like(real), holdout)
    result = tstr(tables, _goal(tables))
    assert result.mean(TSTR, "ROC AUC") < result.mean(TRTR, "ROC AUC") - 0.2
    assert result.gap > 0.1


def test_multiclass_target_gets_one_vs_rest_auc():
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    real, holdout = df.iloc[::2].reset_index(drop=True), df.iloc[1::2].reset_index(drop=True)
    with pytest.warns(EvaluationWarning, match="1 of 75 holdout rows"):  # iris has a duplicated flower
        tables = check_tables(real, real.copy(), holdout)
    goal = _goal(tables, "target")
    assert goal.task == "classification" and goal.classes == (0, 1, 2)
    result = tstr(tables, goal)
    assert result.score("linear", TRTR, "ROC AUC") > 0.95
    assert result.score("linear", TRTR, "accuracy") > 0.85


def test_roc_auc_matches_scikit_learn_and_survives_a_missing_class():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b"], 200).astype(object)
    p = rng.random(200)
    proba = np.column_stack([1 - p, p])
    assert roc_auc(y, proba, ("a", "b")) == pytest.approx(roc_auc_score(y == "b", p))
    # a third class the holdout lacks: AUC over the two present, not an exception
    proba3 = np.column_stack([1 - p, p * 0.9, p * 0.1])
    assert roc_auc(y, proba3, ("a", "b", "c")) == pytest.approx(roc_auc_score(y == "b", p * 0.9))
    assert roc_auc(np.array(["a"] * 5, dtype=object), proba[:5], ("a", "b")) is None


def test_regression_target_gets_r2_and_mae(split):
    real, holdout = split
    tables = check_tables(real, real.copy(), holdout)
    goal = _goal(tables, "x2")
    assert goal.task == "regression"
    result = tstr(tables, goal)
    assert result.metrics == ("R2", "MAE")
    assert result.score("linear", TRTR, "R2") > 0.8  # x2 = 0.9 x1 + noise
    assert result.score("linear", TRTR, "MAE") < 0.4
    assert result.score("boosted trees", TSTR, "R2") == result.score("boosted trees", TRTR, "R2")
    assert abs(result.baseline["R2"]) < 0.05  # predicting the mean explains nothing


def test_task_override_makes_an_integer_target_a_classification(split):
    real, holdout = split
    tables = check_tables(real, real.copy(), holdout)
    assert _goal(tables, "age").task == "regression"
    assert _goal(tables, "age", task="classification").task == "classification"


def test_single_class_synthetic_gets_a_constant_model_not_a_crash(split):
    real, holdout = split
    synthetic = real[real["label"] == "ok"]
    tables = check_tables(real, synthetic, holdout)
    result = tstr(tables, _goal(tables))
    assert result.score("linear", TSTR, "ROC AUC") == pytest.approx(0.5)
    assert any("one class" in n for n in result.notes)


def test_labels_read_alike_from_csv_and_parquet():
    assert label_values(pd.Series([1.0, 0.0, 1.0])).tolist() == [1, 0, 1]
    assert label_values(pd.Series([1, 0], dtype="int8")).dtype == np.int64
    assert label_values(pd.Series(pd.Categorical(["a", "b"]))).tolist() == ["a", "b"]


# -- augmentation -------------------------------------------------------------------------------


def test_duplicated_real_minority_rows_raise_minority_recall(split):
    real, holdout = split
    minority = real[real["label"] == "fraud"]
    synthetic = pd.concat([minority] * 4 + [real.iloc[:50]], ignore_index=True)
    tables = check_tables(real, synthetic, holdout)
    goal = _goal(tables)
    assert goal.minority == "fraud"  # the rarest class by default
    result = augmentation_lift(tables, goal)
    assert result.added_rows == 4 * len(minority) + int((real.iloc[:50]["label"] == "fraud").sum())
    before = result.score("linear", REAL, "minority recall")
    after = result.score("linear", AUGMENTED, "minority recall")
    assert after > before  # oversampling the rare class moves the boundary towards finding it
    for family in FAMILIES:
        assert result.score(family, REAL, "minority PR AUC") > 0.5


def test_no_synthetic_minority_rows_means_both_arms_agree(split):
    real, holdout = split
    tables = check_tables(real, real[real["label"] == "ok"], holdout)
    result = augmentation_lift(tables, _goal(tables))
    assert result.added_rows == 0
    assert result.lift == 0
    assert any("no rows of class 'fraud'" in n for n in result.notes)


def test_minority_must_be_a_class(split):
    tables = check_tables(split[0], split[0].copy(), split[1])
    with pytest.raises(ConfigError, match="minority='nope' is not a class.*'fraud', 'ok'"):
        _goal(tables, minority="nope")
    assert _goal(tables, minority="ok").minority == "ok"


# -- evaluate() end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_report(split):
    real, holdout = split
    synthetic = shuffled_columns(real)
    before = copy.deepcopy((real, synthetic, holdout))
    report = evaluate(real, synthetic, holdout, target="label", sensitive=["colour", "age"], seed=0, verbose=False)
    return report, before, (real, synthetic, holdout)


def test_evaluate_returns_every_section(full_report):
    report = full_report[0]
    assert [s.key for s in report.sections] == ["fidelity", "utility", "augmentation", "diversity", "privacy", "bias"]
    # shuffled columns keep every marginal: no group vanishes, every category is covered
    assert report["bias"].details["flags"] == [] or all(f["kind"] != "vanished" for f in report["bias"].details["flags"])
    assert report["diversity"].value("category coverage") == pytest.approx(1.0)
    assert report["fidelity"].value("column shapes") == pytest.approx(1.0)
    # every column matches but no relationship survives: the verdict follows the weaker property
    assert report["fidelity"].verdict != "good"
    assert report["utility"].verdict in ("good", "fair", "poor")
    assert report["augmentation"].details["minority"] == "fraud"
    assert report.dataset["real rows"] == 400 and report.dataset["holdout rows"] == 200
    assert report.dataset["task"] == "classification"


def test_evaluate_leaves_its_inputs_unchanged(full_report):
    _, before, after = full_report
    for b, a in zip(before, after):
        pd.testing.assert_frame_equal(b, a)


def test_same_seed_same_report(full_report):
    report, _, (real, synthetic, holdout) = full_report
    again = evaluate(real, synthetic, holdout, target="label", sensitive=["colour", "age"], seed=0, verbose=False)
    assert again.to_dict() == report.to_dict()


def test_without_holdout_utility_is_skipped_and_says_why(split):
    report = evaluate(split[0], split[0].copy(), target="label", verbose=False)
    assert report["utility"].verdict == "skipped"
    assert "no holdout" in report["utility"].summary
    assert report["augmentation"].verdict == "skipped"
    no_target = evaluate(split[0], split[0].copy(), holdout=split[1], verbose=False)
    assert "no target" in no_target["utility"].summary


def test_holdout_overlapping_the_training_rows_warns(split):
    real, holdout = split
    leaky = pd.concat([holdout, real.iloc[:20]], ignore_index=True)
    with pytest.warns(EvaluationWarning, match="20 of 220 holdout rows also occur"):
        report = evaluate(real, real.copy(), leaky, target="label", verbose=False)
    assert any("optimistic" in n for n in report["utility"].notes)


def test_identifier_columns_may_be_left_out_of_the_synthetic_table(mixed_df):
    synthetic = mixed_df.drop(columns=["customer_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", EvaluationWarning)
        report = evaluate(mixed_df, synthetic, verbose=False)
    assert any("customer_id" in n for n in report["fidelity"].notes)


# -- bad input ----------------------------------------------------------------------------------


def test_empty_synthetic_table(split):
    with pytest.raises(DataError, match="synthetic table is empty"):
        evaluate(split[0], split[0].iloc[:0], verbose=False)


def test_columns_that_differ_are_named(split):
    real = split[0]
    synthetic = real.drop(columns=["age"]).assign(extra=1)
    with pytest.raises(SchemaError) as err:
        evaluate(real, synthetic, verbose=False)
    assert "['age'] of the real table are missing from the synthetic table" in str(err.value)
    assert "['extra'] of the synthetic table are not in the real table" in str(err.value)


def test_column_of_another_type_is_named(split):
    """A synthetic column of another type is what is judged: named, unusable, fidelity poor (issue 15)."""
    real = split[0]
    report = evaluate(real, real.assign(x1=real["x1"].astype(str)), verbose=False)
    assert report["fidelity"].verdict == "poor"
    assert report["fidelity"].details["unusable_columns"] == ["x1"]
    assert any("Column 'x1' is unusable" in n and "text values" in n for n in report["fidelity"].notes)


def test_holdout_column_of_another_type_is_an_error(split):
    real, holdout = split
    with pytest.raises(SchemaError, match="column 'x1' holds number values .* but text values"):
        evaluate(real, real.copy(), holdout.assign(x1=holdout["x1"].astype(str)), verbose=False)


@pytest.mark.parametrize("where", ["synthetic", "holdout"])
def test_target_missing_from_a_table_names_the_table(split, where):
    real, holdout = split
    tables = {"synthetic": real.copy(), "holdout": holdout}
    tables[where] = tables[where].drop(columns=["label"])
    with pytest.raises(DataError, match=f"target 'label' is not a column of the {where} table"):
        evaluate(real, tables["synthetic"], tables["holdout"], target="label", verbose=False)


def test_misspelt_target_suggests_the_column(split):
    with pytest.raises(DataError, match=r"did you mean \['label'\]"):
        evaluate(split[0], split[0], target="labl", verbose=False)


def test_target_with_one_class(split):
    real = split[0].assign(label="ok")
    with pytest.raises(DataError, match="target 'label' has 1 class.*at least two"):
        evaluate(real, real.copy(), split[1], target="label", verbose=False)


def test_holdout_of_another_schema(split):
    real, holdout = split
    with pytest.raises(SchemaError, match="holdout: column\\(s\\) \\['colour'\\]"):
        evaluate(real, real.copy(), holdout.drop(columns=["colour"]), target="label", verbose=False)


def test_unknown_task(split):
    with pytest.raises(ConfigError, match="task='clustering' is not one of"):
        evaluate(split[0], split[0], split[1], target="label", task="clustering", verbose=False)


def test_not_a_dataframe(split):
    with pytest.raises(DataError, match="synthetic table must be a pandas DataFrame, got ndarray"):
        evaluate(split[0], split[0].to_numpy(), verbose=False)


# -- command line -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table_files(split, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    real, holdout = split
    real.to_csv(folder / "real.csv", index=False)
    shuffled_columns(real).to_parquet(folder / "synthetic.parquet", index=False)
    holdout.to_csv(folder / "test.csv", index=False)
    return folder


def test_cli_writes_the_html_and_json_reports(table_files, tmp_path, capsys):
    html, js = tmp_path / "out" / "report.html", tmp_path / "out" / "report.json"
    code = main(
        [
            "evaluate",
            str(table_files / "real.csv"),
            str(table_files / "synthetic.parquet"),
            "--holdout",
            str(table_files / "test.csv"),
            "--target",
            "label",
            "--sensitive",
            "colour",
            "-o",
            str(html),
            "--json",
            str(js),
            "-q",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Fidelity" in out and "Utility" in out and str(html) in out
    data = json.loads(js.read_text())
    assert [s["key"] for s in data["sections"]] == ["fidelity", "utility", "augmentation", "diversity", "privacy", "bias"]
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in html.parent.iterdir()) == ["report.html", "report.json"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "nope"], "target 'nope' is not a column of the real table"),
        (["--target", "label", "--minority", "maybe"], "minority='maybe' is not a class"),
        (["--target", "label", "-o", "report.pdf"], "expected a file ending in .html"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(table_files, tmp_path, capsys, extra, message):
    out_dir = tmp_path / "out"
    argv = [
        "evaluate",
        str(table_files / "real.csv"),
        str(table_files / "synthetic.parquet"),
        "--holdout",
        str(table_files / "test.csv"),
        "-q",
    ]
    if "-o" not in extra:
        extra = [*extra, "-o", str(out_dir / "report.html")]
    else:
        extra = [str(out_dir / e) if e == "report.pdf" else e for e in extra]
    code = main([*argv, *extra, "--json", str(out_dir / "report.json")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("synthgan evaluate: error:") and message in err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_cli_missing_input_file(tmp_path, capsys):
    code = main(["evaluate", str(tmp_path / "nope.csv"), str(tmp_path / "b.csv"), "-o", str(tmp_path / "r.html")])
    _, err = capsys.readouterr()
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "r.html").exists()


def test_errors_are_synthgan_errors():
    for cls in (DataError, SchemaError, ConfigError):
        assert issubclass(cls, SynthGANError) and issubclass(cls, ValueError)
    assert issubclass(EvaluationWarning, UserWarning)


# -- FID / KID ----------------------------------------------------------------------------------

from synthgan.errors import MissingDependencyError  # noqa: E402
from synthgan.evaluation import fid as fidmod  # noqa: E402


def test_frechet_distance_equals_a_direct_scipy_computation():
    import scipy.linalg

    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 16))
    b = rng.normal(loc=0.3, size=(250, 16)) @ rng.normal(scale=0.5, size=(16, 16))
    (mu1, s1), (mu2, s2) = fidmod.statistics(a), fidmod.statistics(b)
    direct = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
    assert fidmod.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-8)


def test_frechet_distance_between_known_gaussians():
    # diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(v1) - sqrt(v2))^2 = 5 + 1 + 1 + 0
    mu1, v1, mu2, v2 = np.zeros(3), np.array([1.0, 4.0, 9.0]), np.array([1.0, 2.0, 0.0]), np.array([4.0, 1.0, 9.0])
    assert fidmod.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(7.0)
    assert fidmod.frechet_distance(mu1, np.diag(v1), mu1, np.diag(v1)) == pytest.approx(0.0, abs=1e-12)
    assert fidmod.frechet_distance(0.0, 4.0, 3.0, 1.0) == pytest.approx(9.0 + 1.0)  # 1-D: (0-3)^2 + (2-1)^2


def test_kid_is_near_zero_for_one_distribution_and_positive_for_another():
    rng = np.random.default_rng(0)
    x, y, z = rng.normal(size=(400, 32)), rng.normal(size=(400, 32)), rng.normal(loc=0.5, size=(400, 32))
    same, _ = fidmod.kernel_inception_distance(x, y, subsets=20, subset_size=200)
    other, _ = fidmod.kernel_inception_distance(x, z, subsets=20, subset_size=200)
    assert abs(same) < 0.02 < other


def test_missing_fid_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(fidmod, "FID_PACKAGE", "synthgan_no_such_package")
    with pytest.raises(MissingDependencyError, match=r"pip install 'synthgan\[fid\]'"):
        fidmod.inception_path()
    assert issubclass(MissingDependencyError, ImportError) and issubclass(MissingDependencyError, SynthGANError)


def test_image_sets_of_other_shapes_or_too_small_are_refused():
    a, b = np.zeros((4, 28, 28), np.uint8), np.zeros((4, 32, 32), np.uint8)
    with pytest.raises(DataError, match=r"real images have shape \(28, 28\) but synthetic images \(32, 32\)"):
        fidmod.image_distance(a, b)
    with pytest.raises(DataError, match="at least 2 images per set .* 2048 or more"):
        fidmod.image_distance(a[:1], a)
    with pytest.raises(DataError, match="must be uint8"):
        fidmod.image_distance(a.astype(float), a)


def test_inception_input_repeats_grey_and_scales_like_the_reference():
    x = fidmod.inception_input(np.full((2, 28, 28), 255, np.uint8))
    assert x.shape == (2, 3, 299, 299)
    assert float(x.min()) == pytest.approx(127 / 128) and float(x.max()) == pytest.approx(127 / 128)


def _blobs(n: int, seed: int) -> np.ndarray:
    """Smooth grey images: one bright Gaussian blob each, at a random place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    centres = rng.uniform(8, 20, size=(n, 2))
    return np.stack([255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 30) for cy, cx in centres]).astype(np.uint8)


@pytest.fixture(scope="module")
def inception_features():
    try:
        fidmod.inception_path()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    noise = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    return fidmod.inception_features(_blobs(4, 0)), fidmod.inception_features(noise)


def test_fid_of_a_set_with_itself_is_zero_and_with_noise_large(inception_features):
    real, noise = inception_features
    assert real.shape == (4, fidmod.FEATURE_DIM)
    to_noise = fidmod.fid_from_features(real, noise)
    assert fidmod.fid_from_features(real, real) < 1e-6 * to_noise
    assert to_noise > 100


def test_image_distance_end_to_end_warns_about_small_sets(inception_features):
    with pytest.warns(EvaluationWarning, match="biased upwards"):
        result = fidmod.image_distance(_blobs(3, 1), _blobs(3, 2))
    assert result.n_real == result.n_synthetic == 3
    assert result.fid >= 0 and np.isfinite(result.kid_mean)
    section = fidmod.image_distance_section(result)
    assert section.value("FID") == result.fid and section.details["kid_std"] == result.kid_std
