"""Privacy metrics: the distance space against brute force, known answers, the report section."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from synthgan.report import Report, Section
from synthgan.privacy import MixedSpace, nearest, privacy_metrics, privacy_section
from synthgan.privacy.metrics import closer_share, membership_auc, nndr
from synthgan.schema import ColumnKind, detect_schema
from tests.conftest import make_mixed_frame
from tests.test_privacy_filter import population

# -- the space and the search -----------------------------------------------------------------------


def brute_force_distances(a: pd.DataFrame, b: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """Pairwise distances written from the documented definition, one pair at a time."""
    schema = detect_schema(train)
    numeric = [c for c in schema.columns if c.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)]
    discrete = [c for c in schema.columns if c.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)]

    def number(series, kind):
        if kind is ColumnKind.DATETIME:
            return series.map(lambda t: np.nan if pd.isna(t) else t.timestamp()).to_numpy(dtype=float)
        return series.to_numpy(dtype=float, na_value=np.nan)

    z_a, z_b = [], []
    for col in numeric:
        ref = pd.Series(number(train[col.name], col.kind)).dropna()
        scale = (ref.quantile(0.75) - ref.quantile(0.25)) / 1.349 or ref.std(ddof=0) or 1.0
        z_a.append((number(a[col.name], col.kind) - ref.median()) / scale)
        z_b.append((number(b[col.name], col.kind) - ref.median()) / scale)
    out = np.zeros((len(a), len(b)))
    for i, j in itertools.product(range(len(a)), range(len(b))):
        total = 0.0
        for za, zb in zip(z_a, z_b):
            x, y = za[i], zb[j]
            if np.isnan(x) and np.isnan(y):
                continue
            if np.isnan(x) or np.isnan(y):
                total += 1.0 + (y if np.isnan(x) else x) ** 2  # indicator + distance from the median
            else:
                total += (x - y) ** 2
        for col in discrete:
            x, y = a[col.name].iloc[i], b[col.name].iloc[j]
            same = (pd.isna(x) and pd.isna(y)) or (not pd.isna(x) and not pd.isna(y) and x == y)
            total += 0.0 if same else 1.0
        out[i, j] = np.sqrt(total / (len(numeric) + len(discrete)))
    return out


def test_chunked_nearest_neighbours_equal_brute_force_on_mixed_columns():
    train = make_mixed_frame(120, seed=0)  # numbers, NaN, text with None, bool, tz datetimes, category, id
    queries = pd.concat([make_mixed_frame(30, seed=1), train.iloc[:3]], ignore_index=True)
    space = MixedSpace.fit(train, detect_schema(train))
    assert "customer_id" not in space.columns  # identifiers are left out
    expected = brute_force_distances(queries, train, train)
    d, i = nearest(space.transform(queries), space.transform(train), k=2, max_block=200)  # many small blocks
    np.testing.assert_allclose(d, np.sort(expected, axis=1)[:, :2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(expected[np.arange(len(queries)), i[:, 0]], d[:, 0], rtol=1e-5, atol=1e-6)
    assert d[-3:, 0].tolist() == [0.0, 0.0, 0.0]  # copies are at exactly 0


def test_block_size_does_not_change_the_answer():
    rng = np.random.default_rng(0)
    ref, queries = rng.normal(size=(500, 6)), rng.normal(size=(77, 6))
    d1, i1 = nearest(queries, ref, k=3)
    d2, i2 = nearest(queries, ref, k=3, max_block=64)
    np.testing.assert_allclose(d1, d2)
    assert (i1 == i2).all()


# -- known answers ------------------------------------------------------------------------------------


def test_small_functions_have_known_answers():
    assert nndr(np.array([[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]])).tolist() == [0.5, 1.0, 0.0]
    assert closer_share(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 1.0, 3.0, 5.0])) == pytest.approx(0.625)
    assert membership_auc(np.array([0.0, 0.1]), np.array([0.5, 0.6])) == 1.0
    assert membership_auc(np.array([0.5, 0.6]), np.array([0.0, 0.1])) == 0.0


# -- the metrics on independent data and on copies ---------------------------------------------------


@pytest.fixture(scope="module")
def tables():
    return population(1500, 0), population(1500, 1), population(1500, 2)  # train, holdout, independent


def test_independent_synthetic_data_looks_private(tables):
    train, holdout, synthetic = tables
    result = privacy_metrics(train, synthetic, holdout, seed=0)
    assert abs(result.mia_auc - 0.5) < 0.07
    assert abs(result.closer_to_train - 0.5) < 0.07
    assert result.exact_match_rate == 0.0
    assert abs(result.below_holdout_low - 0.05) < 0.04
    assert result.verdict == "good"


def test_copied_training_data_is_caught(tables):
    train, holdout, _ = tables
    result = privacy_metrics(train, train.sample(frac=1.0, random_state=0), holdout, seed=0)
    assert result.mia_auc > 0.8
    assert result.closer_to_train > 0.9
    assert result.exact_match_rate == 1.0
    assert result.verdict == "poor"


def test_exact_match_rate_counts_planted_copies(tables):
    train, holdout, synthetic = tables
    half = pd.concat([synthetic.iloc[:500], train.iloc[:500]], ignore_index=True)
    result = privacy_metrics(train, half, holdout, max_rows=200)
    assert result.exact_match_rate == 0.5  # every row counts, whatever max_rows
    assert len(result.dcr_synthetic) == 200 and result.n_attack == 200


def test_same_seed_same_result(tables):
    train, holdout, synthetic = tables
    a = privacy_metrics(train, synthetic, holdout, seed=3, max_rows=300)
    b = privacy_metrics(train, synthetic, holdout, seed=3, max_rows=300)
    assert a.mia_auc == b.mia_auc and (a.dcr_synthetic == b.dcr_synthetic).all()


# -- the report section ------------------------------------------------------------------------------


def test_privacy_section_renders_in_a_report(tables):
    train, holdout, synthetic = tables
    section = privacy_section(privacy_metrics(train, synthetic, holdout, max_rows=500))
    assert section.key == "privacy" and section.verdict == "good"
    report = Report("privacy check", {"rows": len(train)}).add(section)
    page = report.html()
    assert "Privacy" in page and "<svg" in page and "membership attack AUC" in page
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert Section.from_dict(data["sections"][0]).to_dict() == data["sections"][0]
    assert section.value("exact matches") == 0.0


def test_without_a_holdout_only_exact_matches_are_judged(tables):
    train, _, synthetic = tables
    result = privacy_metrics(train, synthetic)
    section = privacy_section(result)
    assert result.mia_auc is None and section.verdict is None
    assert "No holdout was given" in section.notes[0]
    Report("no holdout").add(section).html()
    copied = privacy_section(privacy_metrics(train, train))
    assert copied.verdict == "poor"
