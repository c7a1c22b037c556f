"""Diversity: PRDC against a brute-force reference, coverage and collapse on planted tables and features."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgan.errors import ConfigError, DataError
from synthgan.evaluation import diversity as div
from synthgan.evaluation.diversity_section import diversity_section, image_diversity_section
from synthgan.evaluation.diversity import (
    category_coverage,
    diversity,
    image_diversity,
    prdc,
    range_coverage,
    table_embedding,
)
from synthgan.evaluation.inputs import check_tables
from synthgan.report import Report, Section
from tests.conftest import make_mixed_frame


def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """Naeem et al. 2020 written out with the full distance matrices (balls include their boundary)."""
    d_rr = np.sqrt(((real[:, None, :] - real[None, :, :]) ** 2).sum(-1))
    d_ff = np.sqrt(((fake[:, None, :] - fake[None, :, :]) ** 2).sum(-1))
    d_rf = np.sqrt(((real[:, None, :] - fake[None, :, :]) ** 2).sum(-1))
    r_radius = np.sort(d_rr, axis=1)[:, k]
    f_radius = np.sort(d_ff, axis=1)[:, k]
    inside = d_rf <= r_radius[:, None]
    return {
        "precision": inside.any(axis=0).mean(),
        "recall": (d_rf <= f_radius[None, :]).any(axis=1).mean(),
        "density": inside.sum(axis=0).mean() / k,
        "coverage": (d_rf.min(axis=1) <= r_radius).mean(),
    }


def table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", "teal", "plum"], n, p=[0.5, 0.3, 0.185, 0.01, 0.005])
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.uniform(0, 10, n),
            "colour": colour,
            "flag": rng.random(n) < 0.3,
        }
    )


# -- PRDC -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shift, k", [(0.0, 3), (0.7, 5), (2.0, 2)])
def test_prdc_matches_brute_force(shift, k):
    rng = np.random.default_rng(int(shift * 10) + k)
    real = rng.normal(size=(80, 4))
    fake = rng.normal(loc=shift, scale=0.8, size=(60, 4))
    ours, ref = prdc(real, fake, k=k), reference_prdc(real, fake, k)
    assert ours == pytest.approx(ref, abs=1e-12)


def test_prdc_blocks_do_not_change_the_answer(monkeypatch):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 3)), rng.normal(0.3, 1.0, size=(250, 3))
    whole = prdc(real, fake)
    monkeypatch.setattr(div, "BLOCK_BYTES", 8 * 250 * 7)  # blocks of 7 rows
    assert prdc(real, fake) == whole


def test_prdc_of_identical_sets_is_one():
    x = np.random.default_rng(1).normal(size=(400, 5))
    scores = prdc(x, x.copy())
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    # each real ball holds its own record and k neighbours, all of them synthetic too
    assert scores["density"] == pytest.approx((5 + 1) / 5)


def test_prdc_of_a_collapsed_set():
    real = np.random.default_rng(2).normal(size=(500, 3))
    fake = np.repeat(real[:1], 500, axis=0)
    scores = prdc(real, fake)
    assert scores["precision"] == 1.0  # the one record it repeats is real
    assert scores["recall"] < 0.01 and scores["coverage"] < 0.02


def test_prdc_subsamples_with_the_seed():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(600, 3)), rng.normal(size=(500, 3))
    assert prdc(real, fake, max_samples=200, seed=4) == prdc(real, fake, max_samples=200, seed=4)
    assert prdc(real, fake, max_samples=200, seed=4) != prdc(real, fake, max_samples=200, seed=5)


def test_prdc_bad_input():
    x = np.zeros((20, 3))
    with pytest.raises(DataError, match="dimensions"):
        prdc(x, np.zeros((20, 4)))
    with pytest.raises(DataError, match="NaN"):
        prdc(np.full((20, 3), np.nan), x)
    with pytest.raises(DataError, match="more than 5"):
        prdc(x[:5], x)
    with pytest.raises(DataError, match="2-D"):
        prdc(np.zeros(20), x)
    with pytest.raises(ConfigError, match="k=0"):
        prdc(x, x, k=0)
    with pytest.raises(ConfigError, match="max_samples=2.5"):
        prdc(x, x, max_samples=2.5)


# -- tables ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real():
    return table()


def test_embedding_is_one_hot_and_standardised_on_real(real):
    real_x, synth_x = table_embedding(check_tables(real, real.iloc[:100]))
    assert real_x.shape == (1500, 2 + 5 + 2) and synth_x.shape == (100, 9)
    assert np.allclose(real_x[:, :2].mean(axis=0), 0.0) and np.allclose(real_x[:, :2].std(axis=0), 1.0)
    assert set(np.unique(real_x[:, 2:])) == {0.0, 1.0}


def test_identical_tables_are_fully_diverse(real):
    result = diversity(check_tables(real, real.copy()))
    assert result.prdc["precision"] == result.prdc["recall"] == result.prdc["coverage"] == 1.0
    assert result.category_share == 1.0 and result.rare_share == 1.0
    assert all(r.range_share == 1.0 and r.bins_covered == r.bins for r in result.ranges)
    assert result.clusters.tvd == 0.0 and result.clusters.empty == 0
    assert result.duplicates["synthetic"] == result.duplicates["real"]
    assert diversity_section(result).verdict == "good"


def test_collapsed_generator_is_caught(real):
    collapsed = pd.concat([real.iloc[[0]]] * 1000, ignore_index=True)
    result = diversity(check_tables(real, collapsed))
    assert result.prdc["recall"] < 0.01 and result.prdc["coverage"] < 0.01
    assert result.duplicates["synthetic"] == pytest.approx(0.999)
    assert result.clusters.empty >= 7
    assert result.category_share == pytest.approx(2 / 7)  # one colour of 5, one flag value of 2
    section = diversity_section(result)
    assert section.verdict == "poor"
    assert section.value("duplicate synthetic rows") == pytest.approx(0.999)


def test_category_coverage_names_the_missing_rare_category(real):
    synth = real[real.colour != "plum"]
    cover = category_coverage("colour", real.colour, synth.colour)
    assert (cover.real_categories, cover.covered, cover.rare, cover.rare_covered) == (5, 4, 2, 1)
    assert cover.absent == ("plum",)
    section = diversity_section(diversity(check_tables(real, synth)))
    assert any("'colour' lacks 1 real category ('plum')" in n for n in section.notes)


def test_range_coverage_of_half_the_range():
    real = pd.Series(np.linspace(0, 10, 1001))
    cover = range_coverage("v", real, pd.Series(np.linspace(0, 5, 500)))
    assert cover.range_share == pytest.approx(0.5)
    assert cover.bins == 10 and cover.bins_covered == 5
    assert range_coverage("c", pd.Series([3.0] * 10), real) is None


@pytest.mark.parametrize("strays, top_bin_counts", [(5, False), (20, True)])
def test_a_few_stray_values_do_not_cover_a_bin(strays, top_bin_counts):
    """The top decile needs a tenth of its real share (1% of synthetic rows) to count as covered."""
    real = pd.Series(np.linspace(0, 10, 1000))
    synth = pd.Series(np.r_[np.linspace(0, 5, 1000 - strays), np.full(strays, 9.8)])
    cover = range_coverage("v", real, synth)
    assert cover.range_share == pytest.approx(0.98)  # the range alone says nearly everything is reached
    assert cover.bins_covered == 5 + top_bin_counts


def test_mixed_column_kinds():
    """Missing values, a Categorical with an unused category, booleans and tz-aware datetimes."""
    real, synth = make_mixed_frame(400, seed=0), make_mixed_frame(400, seed=1)
    result = diversity(check_tables(real, synth))
    cats = {c.column: c for c in result.categories}
    assert set(cats) == {"city", "member", "tier", "churn"}  # the identifier is left out
    assert cats["tier"].real_categories == 3  # "platinum" is declared but never used
    assert cats["city"].real_categories == 4  # missing values are not a category
    assert [r.column for r in result.ranges] == ["age", "income", "signup"]
    section = diversity_section(result)
    signup = next(row for row in section.tables[1].rows if row[0] == "signup")
    assert signup[1].startswith("2023-") and signup[2].startswith("2023-")
    assert result.prdc["coverage"] > 0.8  # two samples of one population


def test_diversity_section_renders_and_round_trips(real):
    section = diversity_section(diversity(check_tables(real, table(seed=1))))
    data = section.to_dict()
    assert json.loads(json.dumps(data)) == data and Section.from_dict(data).to_dict() == data
    assert data["key"] == "diversity"
    assert [h["label"] for h in data["headline"]][:4] == ["coverage", "recall", "precision", "density"]
    assert {f["kind"] for f in data["figures"]} <= {"bars", "columns"}
    assert "Rows per cluster of the real data" in [f["title"] for f in data["figures"]]
    assert "Diversity (coverage and mode collapse)" in Report("d").add(section).html()


# -- images ---------------------------------------------------------------------------------
def image_features(n: int = 200, seed: int = 0, spread_of_one: float = 1.0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    centres = np.array([[0.0] * 8, [4.0] * 8])
    scale = np.where(labels == 1, spread_of_one, 1.0)[:, None]
    return centres[labels] + scale * rng.normal(size=(n, 8)), labels


def test_image_diversity_finds_the_collapsed_class():
    real, real_y = image_features()
    fake, fake_y = image_features(seed=1, spread_of_one=0.05)
    result = image_diversity(real, real_y, fake, fake_y)
    by_class = {c.label: c for c in result.classes}
    assert by_class["0"].ratio == pytest.approx(1.0, abs=0.15)
    assert by_class["1"].ratio == pytest.approx(0.05, rel=0.2)
    assert result.lowest_ratio.label == "1"
    assert by_class["1"].prdc["coverage"] < 0.5 < 0.8 < by_class["0"].prdc["coverage"]
    section = image_diversity_section(result)
    assert section.verdict == "poor" and section.key == "diversity"
    assert json.loads(json.dumps(section.to_dict())) == section.to_dict()
    assert "Spread per class" in Report("i").add(section).html()


def test_image_diversity_of_identical_features():
    real, labels = image_features()
    result = image_diversity(real, labels, real.copy(), labels.copy())
    assert result.prdc["coverage"] == 1.0
    assert all(c.ratio == pytest.approx(1.0) for c in result.classes)
    assert image_diversity_section(result).verdict == "good"


def test_image_diversity_without_labels_and_with_bad_labels():
    real, _ = image_features()
    result = image_diversity(real, None, real[::2], None)
    assert [c.label for c in result.classes] == ["all"]
    with pytest.raises(DataError, match="labels have 3 entries"):
        image_diversity(real, [0, 1, 0], real, None)
