"""One preprocessing pipeline and the model families shared by every utility arm.

Each arm (train on real, train on synthetic, train on real + synthetic minority rows) gets a
fresh copy of the same pipeline, fitted on that arm's training rows only, so arms differ in
their data and nothing else.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from synthgan.schema import category_text as schema_category_text
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema

#: model families every utility metric is computed with: a linear model and boosted trees
MODEL_FAMILIES = ("linear", "boosted trees")
#: categories per column kept by the one-hot encoder; rarer ones share an "infrequent" column
MAX_CATEGORIES = 30
#: a discrete column's missing values become this category
MISSING = "<missing>"
#: iteration limit of the logistic regression (the data is standardised first)
LINEAR_MAX_ITER = 1000


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns feed the models, and how: numbers (datetimes as seconds) or categories."""

    numeric: tuple
    discrete: tuple
    datetime: tuple
    left_out: tuple  # identifiers: unique per row, nothing to learn from

    @property
    def columns(self) -> list:
        return [*self.numeric, *self.datetime, *self.discrete]


def feature_spec(schema: Schema, target) -> FeatureSpec:
    cols = [c for c in schema.columns if c.name != target]
    return FeatureSpec(
        numeric=tuple(c.name for c in cols if c.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)),
        discrete=tuple(c.name for c in cols if c.kind in DISCRETE_KINDS),
        datetime=tuple(c.name for c in cols if c.kind is ColumnKind.DATETIME),
        left_out=tuple(c.name for c in cols if c.kind is ColumnKind.ID),
    )


def model_frame(df: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns in model-ready dtypes: floats, and text categories (no NaN)."""
    out = {}
    for name in spec.numeric:
        out[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
    for name in spec.datetime:
        col = df[name]
        epoch = pd.Timestamp(0, tz="UTC") if col.dt.tz is not None else pd.Timestamp(0)
        out[name] = ((col - epoch) / pd.Timedelta(seconds=1)).astype("float64")
    for name in spec.discrete:
        out[name] = df[name].astype(object).map(category_text).astype(str)
    # positional names: column names may be any hashable (ints, unicode, duplicates of dtype names)
    frame = pd.DataFrame({f"f{i}": out[name] for i, name in enumerate(spec.columns)})
    frame.index = df.index
    return frame


def category_text(value) -> str:
    """A category as text, so 1, 1.0 and True read the same from CSV and Parquet."""
    return schema_category_text(value, MISSING)


def preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    n_num = len(spec.numeric) + len(spec.datetime)
    numeric = [f"f{i}" for i in range(n_num)]
    discrete = [f"f{i}" for i in range(n_num, n_num + len(spec.discrete))]
    steps = []
    if numeric:
        steps.append(
            ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric)
        )
    if discrete:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False
        )
        steps.append(("categories", encoder, discrete))
    return ColumnTransformer(steps, remainder="drop", sparse_threshold=0.0)


def estimator(family: str, task: str, seed: int):
    if family == "linear":
        return LogisticRegression(max_iter=LINEAR_MAX_ITER) if task == "classification" else Ridge(alpha=1.0)
    if family == "boosted trees":
        model = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
        return model(random_state=seed)
    raise ValueError(f"unknown model family {family!r}")


def make_pipeline(family: str, task: str, spec: FeatureSpec, seed: int) -> Pipeline:
    """The same preprocessing for every arm, followed by one model of ``family``."""
    return Pipeline([("features", preprocessor(spec)), ("model", estimator(family, task, seed))])


def fit_quietly(pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray) -> list[str]:
    """Fit ``pipeline``; return the convergence warnings it raised as notes, not as noise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipeline.fit(X, y)
    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append("the linear model reached its iteration limit before converging")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return sorted(set(notes))
