"""``SyntheticOverSampler``: synthgan's tabular GAN as an imbalanced-learn over-sampler.

It drops into :class:`imblearn.pipeline.Pipeline`, so cross-validation fits the generator
on each training fold only. Needs the optional extra: ``pip install 'synthgan[imblearn]'``.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import pandas as pd
from scipy import sparse

from synthgan.errors import ConfigError, MissingDependencyError

try:
    from imblearn.over_sampling.base import BaseOverSampler
    from imblearn.utils import check_target_type
    from imblearn.utils._validation import _check_X
    from sklearn.utils._param_validation import StrOptions
except ImportError as exc:  # tested by hiding imblearn from sys.modules
    raise MissingDependencyError(
        f"synthgan.imblearn needs imbalanced-learn ({exc}): pip install 'synthgan[imblearn]'"
    ) from exc
try:
    from sklearn_compat.utils.validation import validate_data  # imbalanced-learn >= 0.13
except ImportError:  # imbalanced-learn 0.12, on scikit-learn < 1.6

    def validate_data(estimator, X, y, reset, skip_check_array):
        estimator._check_n_features(X, reset=reset)
        estimator._check_feature_names(X, reset=reset)

__all__ = ["SyntheticOverSampler"]

#: the class column's name in the table the synthesizer learns (made unique against X's columns)
TARGET_NAME = "__target__"
#: TabularSynthesizer arguments the sampler sets itself, from its own parameters
_OWN_PARAMS = {"seed": "random_state", "verbose": "verbose"}


class SyntheticOverSampler(BaseOverSampler):
    """Over-sample classes with rows drawn from a class-conditional tabular GAN.

    Each call to ``fit_resample`` fits a fresh :class:`~synthgan.TabularSynthesizer` on
    ``X`` with ``y`` as its target column (target-aware training: the class is in every
    conditional vector and an auxiliary classifier head is trained, as in CTAB-GAN+, Zhao
    et al., 2022, on top of CTGAN, Xu et al., 2019), then draws, for each class named by
    ``sampling_strategy_``, exactly that many rows of the class (``sample(conditions={target:
    class})``: the model's rows whose class its label model draws as that one, rejection
    sampling). It follows the
    imbalanced-learn sampler API (``fit_resample``, ``sampling_strategy``), so inside an
    :class:`imblearn.pipeline.Pipeline` the generator only ever sees the rows passed to
    ``fit_resample``, i.e. the training fold: nothing is carried over between calls and
    validation rows never reach it (no leakage through the generator).

    Synthetic rows are not filtered against exact copies of real rows (``privacy=False``):
    the output already holds every real row, so the filter would protect nothing and can
    starve tables of few discrete columns.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        What imbalanced-learn accepts for over-samplers: ``"auto"`` / ``"not majority"``,
        ``"minority"``, ``"not minority"``, ``"all"``; a float ratio minority/majority
        (binary only); ``{class: rows after resampling}``; or a callable ``y -> dict``.
    random_state : int, RandomState instance or None, default=None
        Seeds the synthesizer's training and every conditional draw: the same int on the
        same machine and data gives the same output. ``None``: fresh entropy.
    categorical_features : None, "auto", array-like of names or indices, or bool mask, default=None
        Columns to model as discrete. ``None`` or ``"auto"``: synthgan detects every kind
        (text, booleans, pandas categories and integer columns of at most 10 values are
        discrete). Explicit columns are declared categorical (a ``metadata`` override);
        the others are still detected. Names need a DataFrame ``X``.
    synthesizer_params : dict or None, default=None
        Keyword arguments of :class:`~synthgan.TabularSynthesizer` (``epochs``,
        ``batch_size``, ``device``...); ``None`` uses its defaults. ``seed`` and
        ``verbose`` come from ``random_state`` and ``verbose``.
    verbose : bool, default=False
        Show the synthesizer's training progress.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class -> number of synthetic rows drawn.
    synthesizer_ : TabularSynthesizer or None
        The model fitted by the last ``fit_resample``; ``None`` when no row was needed
        (then no model is fitted).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when ``X`` is a DataFrame with string column names.

    ``fit_resample(X, y)`` takes ``X`` of shape (n_samples, n_features) (ndarray, list or
    DataFrame; numbers, text, booleans, categories, NaN) and ``y`` of shape (n_samples,)
    (any label type) and returns ``X_resampled`` of shape (n_samples + n_new, n_features)
    and ``y_resampled`` of shape (n_samples + n_new,): the real rows first, unchanged and
    in order (a DataFrame's index is reset, as imbalanced-learn does), then the synthetic
    rows class by class, in the input's container types and dtypes.

    Raises
    ------
    ValueError
        From imbalanced-learn: a continuous or multilabel ``y``, one class only, a
        ``sampling_strategy`` that asks for fewer rows than a class has or names an unknown
        class (``InvalidParameterError``, a ``ValueError``, for a parameter of the wrong type).
    ConfigError
        ``categorical_features`` names an unknown column, or ``synthesizer_params`` holds
        an unknown or reserved argument (synthgan's errors subclass ``ValueError``).
    TypeError
        ``X`` is a sparse matrix (densify it first: a GAN models dense rows).
    synthgan.errors.SynthGANError
        What :meth:`TabularSynthesizer.fit` raises for a table it cannot model.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=300, weights=[0.9, 0.1], random_state=0)
    >>> sampler = SyntheticOverSampler(random_state=0,
    ...                                synthesizer_params={"epochs": 1, "batch_size": 50})
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> bool((y_res == 0).sum() == (y_res == 1).sum())
    True
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "categorical_features": [None, StrOptions({"auto"}), "array-like"],
        "synthesizer_params": [dict, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        categorical_features=None,
        synthesizer_params=None,
        verbose=False,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.synthesizer_params = synthesizer_params
        self.verbose = verbose

    def _check_X_y(self, X, y):
        """Let DataFrames through untouched and text or NaN in arrays (as SMOTENC does)."""
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__}: X is a sparse matrix; the GAN models dense rows, "
                "pass X.toarray() (or a DataFrame)"
            )
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X = _check_X(X)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        from synthgan.tabular import TabularSynthesizer

        names = _internal_names(X)
        frame = _as_frame(X, names)
        target = _unique_name(TARGET_NAME, names)
        metadata = {names[i]: "categorical" for i in _categorical_indices(self.categorical_features, X, names)}
        metadata[target] = "categorical"
        # the model learns class codes 0..k-1; labels of any type are copied back from y itself
        classes, codes = np.unique(y, return_inverse=True)
        wanted = {int(np.searchsorted(classes, label)): int(n) for label, n in self.sampling_strategy_.items()}
        wanted = {code: n for code, n in wanted.items() if n > 0}
        self.synthesizer_ = None
        parts, labels = [], [y]
        if wanted:
            fit_seed, *draw_seeds = _seeds(self.random_state, 1 + len(wanted))
            synth = TabularSynthesizer(**self._synthesizer_kwargs(fit_seed))
            synth.fit(frame.assign(**{target: codes.astype(np.int64)}), metadata=metadata, target=target)
            self.synthesizer_ = synth
            for (code, n), seed in zip(wanted.items(), draw_seeds):
                parts.append(synth.sample(n, conditions={target: code}, seed=seed, privacy=False)[names])
                labels.append(np.repeat(y[np.flatnonzero(codes == code)[:1]], n))
        y_res = np.concatenate(labels)
        if isinstance(X, pd.DataFrame):
            real = frame.set_axis(X.columns, axis=1)
            synthetic = [part.set_axis(X.columns, axis=1).astype(real.dtypes) for part in parts]
            return pd.concat([real, *synthetic], ignore_index=True), y_res
        return np.concatenate([X, *(part.to_numpy(dtype=X.dtype) for part in parts)]), y_res

    def _synthesizer_kwargs(self, seed) -> dict:
        from synthgan.tabular import TabularSynthesizer

        params = dict(self.synthesizer_params or {})
        allowed = set(inspect.signature(TabularSynthesizer.__init__).parameters) - {"self"}
        for key in params:
            if key in _OWN_PARAMS:
                raise ConfigError(
                    f"{type(self).__name__}: synthesizer_params[{key!r}] is set by the sampler's own "
                    f"{_OWN_PARAMS[key]!r} parameter; pass it there"
                )
            if key not in allowed:
                raise ConfigError(
                    f"{type(self).__name__}: synthesizer_params has {key!r}, which is not a "
                    f"TabularSynthesizer parameter (allowed: {sorted(allowed - set(_OWN_PARAMS))})"
                )
        return {**params, "seed": seed, "verbose": bool(self.verbose)}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"X_types": ["2darray", "dataframe", "string"], "allow_nan": True}


def _internal_names(X) -> list[str]:
    """Column names the synthesizer sees: a DataFrame's own when they are unique strings
    (they show in synthgan's messages), else ``x0, x1, ...``."""
    if isinstance(X, pd.DataFrame):
        cols = list(X.columns)
        if all(isinstance(c, str) for c in cols) and len(set(cols)) == len(cols):
            return cols
    return [f"x{i}" for i in range(X.shape[1])]


def _as_frame(X, names: list[str]) -> pd.DataFrame:
    """X as a new DataFrame with ``names`` (the caller's object is never modified).

    Sparse pandas columns are made dense (imbalanced-learn restores their dtype on output);
    an object array gets per-column types (numbers stay numbers)."""
    if isinstance(X, pd.DataFrame):
        frame = X.set_axis(names, axis=1).reset_index(drop=True)
        dense = {c: frame[c].sparse.to_dense() for c in names if isinstance(frame[c].dtype, pd.SparseDtype)}
        return frame.assign(**dense) if dense else frame
    frame = pd.DataFrame(X, columns=names)
    return frame.infer_objects() if X.dtype == object else frame


def _categorical_indices(categorical_features, X, names: list[str]) -> list[int]:
    """Positions of the columns declared discrete (none for None / "auto")."""
    if categorical_features is None or (isinstance(categorical_features, str) and categorical_features == "auto"):
        return []
    n = len(names)
    given = list(np.asarray(categorical_features, dtype=object).ravel())
    if given and all(isinstance(v, (bool, np.bool_)) for v in given):
        if len(given) != n:
            raise ConfigError(
                f"SyntheticOverSampler: categorical_features is a boolean mask of {len(given)} values; "
                f"X has {n} columns"
            )
        return [i for i, v in enumerate(given) if v]
    columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
    out = []
    for value in given:
        if isinstance(value, numbers.Integral):
            if not -n <= value < n:
                raise ConfigError(
                    f"SyntheticOverSampler: categorical_features index {value} is out of range for {n} columns"
                )
            out.append(int(value) % n)
        elif columns is not None and value in columns:
            out.append(columns.index(value))
        else:
            where = f"X's columns are {columns[:20]}" if columns is not None else "names need a DataFrame X"
            raise ConfigError(
                f"SyntheticOverSampler: categorical_features names {value!r}, which is not a column ({where})"
            )
    return sorted(set(out))


def _unique_name(base: str, taken: list[str]) -> str:
    name = base
    while name in taken:
        name = f"_{name}_"
    return name


def _seeds(random_state, n: int) -> list:
    """``n`` seeds drawn from ``random_state``, or ``None`` each when it is None (fresh entropy;
    NumPy's global generator is not touched)."""
    if random_state is None:
        return [None] * n
    rng = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
    return [int(s) for s in rng.randint(0, 2**31 - 1, size=n)]
