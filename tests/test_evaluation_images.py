"""The image half of synthgan.evaluate: known answers, bad input, the report's image parts."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from synthgan import evaluate
from synthgan.errors import ConfigError, DataError, EvaluationWarning, SynthGANError
from synthgan.evaluation import fid
from synthgan.evaluation.image_classifier import ClassifierConfig, train_classifier
from synthgan.evaluation.image_fidelity import MIN_FID_IMAGES
from synthgan.evaluation.utility import TRTR, TSTR
from synthgan.report import Figure, Report, Section

SIDE = 12
#: where each class draws its bright square: a task a small CNN learns in a few epochs
CORNERS = {0: (1, 1), 1: (6, 6), 2: (1, 6)}


def squares(n: int, seed: int, channels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CORNERS), n)
    images = rng.integers(0, 60, (n, SIDE, SIDE)).astype(np.uint8)
    for i, c in enumerate(labels):
        top, left = CORNERS[int(c)]
        images[i, top : top + 5, left : left + 5] = 230
    if channels:
        images = np.repeat(images[..., None], channels, axis=-1)
    return images, labels


@pytest.fixture(scope="module")
def data():
    return squares(240, 1), squares(120, 2)


@pytest.fixture(scope="module")
def copy_report(data):
    (x, y), holdout = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)  # few images for FID: expected here
        return evaluate((x, y), (x.copy(), y.copy()), holdout, verbose=False)


@pytest.fixture(scope="module")
def noise_report(data):
    (x, y), holdout = data
    noise = np.random.default_rng(3).integers(0, 256, x.shape, dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        return evaluate((x, y), (noise, y), holdout, verbose=False)


# -- known answers --------------------------------------------------------------------------------


def test_a_copy_of_the_real_images_scores_best(copy_report):
    fidelity = copy_report["image_fidelity"].details
    assert fidelity["domain_fid"] == pytest.approx(0.0, abs=1e-6)
    assert fidelity["reference_fid"] > 0  # two different real samples are further apart than a copy
    assert all(a["synthetic"] == a["real"] == 1.0 for a in fidelity["class_accuracy"].values())
    assert all(b["real"] == b["synthetic"] for b in fidelity["class_balance"].values())
    utility = copy_report["image_utility"]
    scores = utility.details["scores"]
    assert scores[TSTR] == scores[TRTR]  # same images, same seed: the same classifier
    assert scores[TRTR]["ROC AUC"] > 0.95 and utility.details["gap"] == 0
    assert copy_report["image_fidelity"].verdict == utility.verdict == "good"


def test_noise_images_score_badly(copy_report, noise_report):
    fidelity = noise_report["image_fidelity"].details
    assert fidelity["domain_fid"] > 20 * max(fidelity["reference_fid"], 1e-3)
    synthetic_accuracy = np.mean([a["synthetic"] for a in fidelity["class_accuracy"].values()])
    assert synthetic_accuracy < 0.6  # chance is 1/3
    assert noise_report["image_fidelity"].verdict == "poor"
    assert noise_report["image_utility"].details["gap"] > 0.2
    assert noise_report["image_utility"].verdict == "poor"


def test_the_classifier_is_deterministic_and_leaves_global_rng_alone(data):
    (x, y), _ = data
    images = x[..., None]
    state = torch_state()
    config = ClassifierConfig(epochs=2)
    a = train_classifier(images, y, 3, seed=5, config=config).predict_proba(images[:20])
    b = train_classifier(images, y, 3, seed=5, config=config).predict_proba(images[:20])
    c = train_classifier(images, y, 3, seed=6, config=config).predict_proba(images[:20])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert torch_state().equal(state)


def torch_state():
    import torch

    return torch.random.get_rng_state()


def test_binary_rgb_and_unlabelled_sets():
    x, y = squares(160, 4, channels=3)
    keep = y < 2
    x, y = x[keep], np.where(y[keep] == 0, "benign", "malignant")
    hx, hy = x[:40], y[:40]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        report = evaluate((x, y), (x, y), (hx, hy), verbose=False)
        assert set(report["image_fidelity"].details["class_accuracy"]) == {"benign", "malignant"}
        assert report["image_utility"].details["n_classes"] == 2
        unlabelled = evaluate(x, (x,), verbose=False)
    assert unlabelled["image_fidelity"].verdict == "skipped"
    assert unlabelled["image_utility"].verdict == "skipped"
    assert len(unlabelled["image_samples"].figures) == 2


def test_no_holdout_skips_utility_but_not_fidelity(data):
    (x, y), _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        report = evaluate((x, y), (x, y), verbose=False)
    assert report["image_utility"].verdict == "skipped" and "holdout" in report["image_utility"].summary
    assert report["image_fidelity"].details["accuracy_reference"].startswith("real training")


# -- the report ------------------------------------------------------------------------------------


def test_html_embeds_the_grids_and_every_image_section(copy_report, tmp_path):
    page = copy_report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    for key in ("image-fidelity", "image-utility", "image-samples"):
        assert f'id="section-{key}"' in page
    assert page.count("data:image/png;base64,") == 2  # real and synthetic grids
    assert "http" not in page and "<script" not in page and "<link" not in page
    grid = copy_report["image_samples"].figures[0]
    picture = Image.open(io.BytesIO(base64.b64decode(grid.png)))
    assert picture.format == "PNG" and picture.width > 8 * SIDE


def test_image_report_round_trips_through_json(copy_report, tmp_path):
    copy_report.to_json(tmp_path / "r.json")
    again = Report.from_json(tmp_path / "r.json")
    assert again.to_dict() == copy_report.to_dict()
    assert again.html() == copy_report.html()


def test_an_image_figure_must_carry_a_png():
    with pytest.raises(AssertionError):
        Figure("image", "no picture", ())
    with pytest.raises(AssertionError):
        Figure("bars", "a chart", ("a",), {"s": (1,)}, png="AAAA")
    figure = Figure.from_image(Image.new("L", (4, 4)), "tiny")
    assert Section.from_dict(Section("s", "S", "", figures=[figure]).to_dict()).figures == [figure]


# -- bad input --------------------------------------------------------------------------------------


def test_images_of_different_shapes_are_a_named_error(data):
    (x, y), holdout = data
    small = x[:, :8, :8]
    with pytest.raises(DataError, match=r"synthetic images have shape 8x8x1 but real images 12x12x1"):
        evaluate((x, y), (small, y), holdout, verbose=False)
    with pytest.raises(DataError, match="holdout images have shape 12x12x3"):
        evaluate((x, y), (x, y), (np.repeat(holdout[0][..., None], 3, -1), holdout[1]), verbose=False)


def test_too_few_images_for_fid_says_how_many_are_needed(data):
    (x, y), holdout = data
    with pytest.raises(DataError, match=f"at least {MIN_FID_IMAGES} real and {MIN_FID_IMAGES} synthetic"):
        evaluate((x, y), (x[:3], np.zeros(3, int)), holdout, verbose=False)


def test_labels_of_the_wrong_length_and_unknown_classes(data):
    (x, y), holdout = data
    with pytest.raises(DataError, match="synthetic: 239 labels for 240 images"):
        evaluate((x, y), (x, y[:-1]), holdout, verbose=False)
    with pytest.raises(DataError, match=r"synthetic labels \[7\] are not classes of the real images"):
        evaluate((x, y), (x, np.full(len(x), 7)), holdout, verbose=False)


def test_other_bad_image_input(data):
    (x, y), holdout = data
    with pytest.raises(DataError, match="real: .*uint8|real: .*0..255|real: .*\\[0, 1\\]"):
        evaluate((x.astype(float), y), (x, y), verbose=False)
    with pytest.raises(DataError, match="give images as an array"):
        evaluate((x, y, y), (x, y), verbose=False)
    with pytest.raises(ConfigError, match="target='class' applies to tables"):
        evaluate((x, y), (x, y), target="class", verbose=False)
    with pytest.raises(SynthGANError):
        evaluate((x, y), "not images", verbose=False)


def test_inception_is_only_run_when_asked(copy_report, data, monkeypatch):
    assert "inception" not in copy_report["image_fidelity"].details
    calls = []

    def fake_distance(real, synthetic, **kwargs):
        calls.append(len(real))
        return fid.ImageDistance(1.5, 0.01, 0.002, len(real), len(synthetic))

    monkeypatch.setattr(fid, "image_distance", fake_distance)
    (x, y), holdout = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        report = evaluate((x, y), (x, y), holdout, inception=True, verbose=False)
    assert calls == [len(x)]
    section = report["image_fidelity"]
    assert section.details["inception"]["fid"] == 1.5 and section.value("FID") == 1.5
