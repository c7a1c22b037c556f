"""SyntheticOverSampler: imbalanced-learn's sampler checks, exact class counts, pandas
round-trips, no leakage across cross-validation folds, the missing-extra message."""

import importlib
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("imblearn")

from imblearn.pipeline import Pipeline  # noqa: E402
from imblearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402

from synthgan import TabularSynthesizer  # noqa: E402
from synthgan.errors import ConfigError, MissingDependencyError  # noqa: E402
from synthgan.imblearn import SyntheticOverSampler  # noqa: E402

FAST = {"epochs": 1, "batch_size": 50, "validation": 0}

pytestmark = pytest.mark.filterwarnings("ignore:.*optimiser step:UserWarning")


def fast_sampler(**params) -> SyntheticOverSampler:
    return SyntheticOverSampler(random_state=0, synthesizer_params=FAST, **params)


@pytest.fixture(scope="module")
def imbalanced():
    return make_classification(n_samples=300, n_features=5, weights=[0.9, 0.1], random_state=0)


# Every check imbalanced-learn 0.14 yields for a sampler applies and passes: the checks that
# compare two fits (pandas vs array, list vs array, one-vs-all vs labels) hold because the
# same random_state on the same data gives the same rows. None is skipped. Sparse input is
# refused (tag sparse=False, so check_samplers_sparse is not yielded); pandas sparse columns
# are densified for the GAN and restored by imbalanced-learn. No sample_indices_: synthetic
# rows are not copies of input rows (check_samplers_sample_indices asserts its absence).
_CHECKS = parametrize_with_checks([fast_sampler()])  # its argvalues are a generator: pytest wants a list


@pytest.mark.parametrize(_CHECKS.args[0], list(_CHECKS.args[1]), **_CHECKS.kwargs)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


def test_auto_balances_and_keeps_real_rows_first(imbalanced):
    X, y = imbalanced
    X_res, y_res = fast_sampler().fit_resample(X, y)
    counts = Counter(y)
    assert Counter(y_res) == {0: counts[0], 1: counts[0]}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert set(y_res[len(y):]) == {1}
    assert X_res.dtype == X.dtype and y_res.dtype == y.dtype


@pytest.mark.parametrize("strategy", [{1: 150}, 0.5])
def test_dict_and_ratio_give_exact_counts(imbalanced, strategy):
    X, y = imbalanced
    counts = Counter(y)
    X_res, y_res = fast_sampler(sampling_strategy=strategy).fit_resample(X, y)
    minority = 150 if isinstance(strategy, dict) else int(0.5 * counts[0])
    assert Counter(y_res) == {0: counts[0], 1: minority}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert set(y_res[len(y):]) == {1}  # only the class asked for


def test_nothing_to_add_fits_no_model(imbalanced):
    X, y = imbalanced
    sampler = fast_sampler(sampling_strategy={1: int((y == 1).sum())})
    X_res, y_res = sampler.fit_resample(pd.DataFrame(X, index=np.arange(len(X)) + 5), y)
    assert sampler.synthesizer_ is None
    np.testing.assert_array_equal(X_res.to_numpy(), X)
    assert list(X_res.index) == list(range(len(X)))
    np.testing.assert_array_equal(y_res, y)


def test_same_random_state_same_rows(imbalanced):
    X, y = imbalanced
    a, _ = fast_sampler().fit_resample(X, y)
    b, _ = fast_sampler().fit_resample(X, y)
    np.testing.assert_array_equal(a, b)


def test_pandas_types_dtypes_and_string_labels_round_trip():
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "count": rng.integers(0, 50, n).astype("int32"),
            "tier": pd.Categorical(rng.choice(["gold", "silver"], n), categories=["bronze", "gold", "silver"]),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n).astype(object),
            "member": rng.random(n) < 0.5,
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )
    y = pd.Series(np.where(np.arange(n) < 100, "legit", "fraud"), index=X.index, name="label")
    before = X.copy()
    X_res, y_res = fast_sampler().fit_resample(X, y)

    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(X.columns)
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    assert list(X_res["tier"].cat.categories) == ["bronze", "gold", "silver"]
    assert y_res.name == "label" and y_res.dtype == y.dtype
    assert y_res.value_counts().to_dict() == {"legit": 100, "fraud": 100}
    assert set(y_res.iloc[n:]) == {"fraud"}
    pd.testing.assert_frame_equal(X_res.iloc[:n], X.reset_index(drop=True))
    assert (y_res.iloc[:n].to_numpy() == y.to_numpy()).all()
    assert set(X_res["city"].iloc[n:]) <= {"Paris", "Lyon", "Nice"}
    assert (X_res.index == y_res.index).all()
    pd.testing.assert_frame_equal(X, before)  # the caller's frame is untouched


@pytest.mark.parametrize("labels", [np.array([True, False]), np.array([7, -3]), np.array(["a", "b"], dtype=object)])
def test_label_values_round_trip_exactly(labels):
    X, y01 = make_classification(n_samples=60, n_features=3, n_informative=2, n_redundant=0,
                                 weights=[0.8, 0.2], random_state=1)
    y = labels[y01]
    X_res, y_res = fast_sampler().fit_resample(X, y)
    assert y_res.dtype == y.dtype
    assert set(y_res.tolist()) == set(labels.tolist())
    assert all(type(a) is type(b) for a, b in zip(y_res.tolist()[-3:], y.tolist()))


def test_categorical_features_become_metadata_overrides(imbalanced):
    X, y = imbalanced
    X = X.copy()
    X[:, 0] = np.round(X[:, 0])  # a few integer values would be detected too; force column 1
    sampler = fast_sampler(categorical_features=[1])
    sampler.fit_resample(X, y)
    schema = sampler.synthesizer_.transformer_.schema
    assert schema["x1"].kind.value == "categorical"
    assert schema["x2"].kind.value == "continuous"
    with pytest.raises(ConfigError, match="categorical_features names 'zip'"):
        fast_sampler(categorical_features=["zip"]).fit_resample(X, y)


def test_synthesizer_params_are_checked(imbalanced):
    X, y = imbalanced
    with pytest.raises(ConfigError, match="random_state"):
        SyntheticOverSampler(synthesizer_params={"seed": 1}).fit_resample(X, y)
    with pytest.raises(ConfigError, match="'epoch'"):
        SyntheticOverSampler(synthesizer_params={"epoch": 1}).fit_resample(X, y)


def test_pipeline_cross_validation_fits_the_generator_on_training_folds_only(monkeypatch):
    X, y = make_classification(n_samples=300, n_features=5, weights=[0.9, 0.1], random_state=0)
    seen = []
    original_fit = TabularSynthesizer.fit

    def recording_fit(self, data, *args, **kwargs):
        features = data.drop(columns=kwargs["target"]).to_numpy()
        seen.append({tuple(row) for row in features})
        return original_fit(self, data, *args, **kwargs)

    monkeypatch.setattr(TabularSynthesizer, "fit", recording_fit)
    pipe = Pipeline([("over", fast_sampler()), ("clf", LogisticRegression())])
    result = cross_validate(pipe, X, y, cv=StratifiedKFold(3), return_indices=True, return_estimator=True)

    assert len(seen) == 3
    rows = [tuple(row) for row in X]
    for fitted_rows, train, test, model in zip(
        seen, result["indices"]["train"], result["indices"]["test"], result["estimator"]
    ):
        assert fitted_rows == {rows[i] for i in train}
        assert fitted_rows.isdisjoint(rows[i] for i in test)
        assert model.named_steps["over"].synthesizer_ is not None
    fitted_models = [id(m.named_steps["over"].synthesizer_) for m in result["estimator"]]
    assert len(set(fitted_models)) == 3  # a fresh generator per fold
    assert np.all(result["test_score"] > 0.5)


def test_missing_imbalanced_learn_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "imblearn" or name.startswith("imblearn."):
            monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    monkeypatch.delitem(sys.modules, "synthgan.imblearn")
    with pytest.raises(MissingDependencyError, match=r"pip install 'synthgan\[imblearn\]'") as info:
        importlib.import_module("synthgan.imblearn")
    assert isinstance(info.value, ImportError)
