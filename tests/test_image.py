"""ImageSynthesizer: the shared synthesizer contract, every input form, bad inputs, a real fit."""


import numpy as np
import pytest
import torch
from PIL import Image

from synthgan.errors import ConditionError, DataError, InputFileError, ModelFileError, NotFittedError
from synthgan.image import ImageSynthesizer
from synthgan.image.augment import diff_augment
from tests._data import DATASETS

TINY = dict(epochs=2, batch_size=16, channels=8, noise_dim=16, seed=0, verbose=False)


def _blobs(n=60, size=12, seed=0):
    """Two classes a classifier can tell apart: a bright square top-left or bottom-right."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, (n, size, size), dtype=np.uint8)
    labels = np.array(["left", "right"] * (n // 2))
    half = size // 2
    x[labels == "left", :half, :half] += 200
    x[labels == "right", half:, half:] += 200
    return x, labels


@pytest.fixture(scope="module")
def fitted():
    x, labels = _blobs()
    return ImageSynthesizer(**TINY).fit(x, labels)


def test_not_fitted_error_before_fit():
    with pytest.raises(NotFittedError):
        ImageSynthesizer().sample(3)


def test_samples_have_training_shape_dtype_and_range(fitted):
    out = fitted.sample(10)
    assert out.shape == (10, 12, 12) and out.dtype == np.uint8
    rgb = ImageSynthesizer(**TINY).fit(np.stack([_blobs()[0]] * 3, axis=-1), _blobs()[1])
    assert rgb.sample(4).shape == (4, 12, 12, 3)


def test_labels_come_back_in_requested_order(fitted):
    wanted = ["right", "left", "left", "right", "left"]
    images, got = fitted.sample(5, labels=wanted, return_labels=True)
    assert got == wanted and len(images) == 5
    _, drawn = fitted.sample(400, return_labels=True, seed=0)
    assert 0.35 < drawn.count("left") / 400 < 0.65  # training proportions (1:1)


def test_same_seed_same_images_and_save_load(fitted, tmp_path):
    a, b = fitted.sample(6, seed=3), fitted.sample(6, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, fitted.sample(6, seed=4))
    loaded = ImageSynthesizer.load(fitted.save(tmp_path / "img.synth"))
    assert np.array_equal(loaded.sample(6, labels=["left"] * 6, seed=1), fitted.sample(6, labels=["left"] * 6, seed=1))
    assert loaded.classes_ == ["left", "right"]


def test_global_rng_untouched():
    state = torch.get_rng_state()
    ImageSynthesizer(**TINY).fit(*_blobs()).sample(3)
    assert torch.equal(state, torch.get_rng_state())


def test_input_forms_agree(tmp_path):
    x, labels = _blobs(n=20)
    as_float = ImageSynthesizer(**TINY | {"epochs": 1}).fit(x / 255.0, labels)
    pil = ImageSynthesizer(**TINY | {"epochs": 1}).fit([Image.fromarray(i) for i in x], list(labels))
    for i, (img, label) in enumerate(zip(x, labels)):
        (tmp_path / "folder" / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(tmp_path / "folder" / label / f"{i}.png")
    folder = ImageSynthesizer(**TINY | {"epochs": 1}).fit(tmp_path / "folder")
    np.savez(tmp_path / "set.npz", train_images=x, train_labels=(labels == "right").astype(int)[:, None])
    npz = ImageSynthesizer(**TINY | {"epochs": 1}).fit(tmp_path / "set.npz")
    for model in (as_float, pil, folder):
        assert model.classes_ == ["left", "right"] and model.image_shape_ == (12, 12, 1)
    assert npz.classes_ == [0, 1]
    unconditional = ImageSynthesizer(**TINY | {"epochs": 1}).fit(x)
    assert not unconditional.conditional and unconditional.sample(2).shape == (2, 12, 12)


def test_grid_and_folder_outputs(fitted, tmp_path):
    path = fitted.save_grid(tmp_path / "grid.png", per_class=4)
    grid = Image.open(path)
    assert grid.size[1] > 2 * 12 * 3 and grid.size[0] > 4 * 12 * 3
    fitted.sample_to_folder(tmp_path / "out", n=10, labels=["left"] * 4 + ["right"] * 6)
    assert len(list((tmp_path / "out" / "left").glob("*.png"))) == 4
    assert len(list((tmp_path / "out" / "right").glob("*.png"))) == 6
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_diff_augment_keeps_shape_and_changes_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    y = diff_augment(x, g)
    assert y.shape == x.shape and not torch.equal(x, y)
    assert (y == 0).flatten(1).any(dim=1).all()  # every image got a cutout


def test_bad_inputs_get_named_errors(fitted, tmp_path):
    x, labels = _blobs(n=20)
    with pytest.raises(DataError, match="labels for 20 images"):
        ImageSynthesizer(**TINY).fit(x, labels[:5])
    with pytest.raises(DataError, match="different sizes"):
        ImageSynthesizer(**TINY).fit([Image.new("L", (12, 12)), Image.new("L", (16, 16))])
    bad = x / 255.0
    bad[3, 0, 0] = np.nan
    with pytest.raises(DataError, match="first in image 3"):
        ImageSynthesizer(**TINY).fit(bad)
    with pytest.raises(DataError, match=r"\(N, H, W\)"):
        ImageSynthesizer(**TINY).fit(np.zeros((4, 12, 12, 5), dtype=np.uint8))
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(InputFileError, match="no images"):
        ImageSynthesizer(**TINY).fit(tmp_path / "empty")
    (tmp_path / "broken" / "a").mkdir(parents=True)
    (tmp_path / "broken" / "a" / "x.png").write_bytes(b"not a png")
    with pytest.raises(InputFileError, match="x.png"):
        ImageSynthesizer(**TINY).fit(tmp_path / "broken")
    with pytest.raises(ConditionError, match="never seen"):
        fitted.sample(1, labels=["middle"])
    with pytest.raises(ModelFileError):
        ImageSynthesizer.load(tmp_path / "broken" / "a" / "x.png")


def test_grey_and_rgb_mixed_become_rgb():
    with pytest.warns(UserWarning, match="converted to RGB"):
        model = ImageSynthesizer(**TINY | {"epochs": 1}).fit(
            [Image.new("L", (12, 12), 30), Image.new("RGB", (12, 12), (200, 10, 10))] * 10
        )
    assert model.image_shape_ == (12, 12, 3)


def test_single_image_class_warns():
    x, labels = _blobs(n=20)
    labels = labels.copy()
    labels[0] = "solo"
    with pytest.warns(UserWarning, match="single image"):
        ImageSynthesizer(**TINY | {"epochs": 1}).fit(x, labels)


def _mean_image_gap(fake: np.ndarray, real: np.ndarray) -> float:
    return float(np.abs(fake.reshape(len(fake), -1).mean(0) - real.reshape(len(real), -1).mean(0)).mean())


def test_short_real_fit_on_breastmnist():
    """A short real training on a real medical set: samples move from noise towards the data."""
    path = DATASETS / "breastmnist.npz"
    if not path.exists():
        pytest.skip(f"BreastMNIST not found at {path} (set SYNTHGAN_DATASETS)")
    with np.load(path) as data:
        x, y = data["train_images"], data["train_labels"].reshape(-1)
    gaps = {}
    for epochs in (1, 10):
        model = ImageSynthesizer(epochs=epochs, batch_size=32, channels=16, seed=0, verbose=False).fit(x, y)
        fake = model.sample(128, seed=0)
        assert fake.shape == (128, 28, 28) and fake.dtype == np.uint8
        gaps[epochs] = _mean_image_gap(fake, x)
    real_mean = x.reshape(len(x), -1).mean(0)
    flat = float(np.abs(real_mean - real_mean.mean()).mean())  # a flat grey image scores ~30
    assert gaps[10] < gaps[1] and gaps[10] < 0.5 * flat
    assert fake.std() > 0.5 * x.std()  # not collapsed to a flat image


def test_class_head_learns_from_real_only_and_pushes_the_generator():
    """class_loss adds an AC-GAN head: the critic's class logits are fitted to real labels,
    and the generator's loss grows when its fakes are classified as the wrong class."""
    x, labels = _blobs()
    model = ImageSynthesizer(**(TINY | {"class_loss": 1.0})).fit(x, labels).model_
    assert model.net_d.classifier is not None and model.class_weight == 1.0
    plain = ImageSynthesizer(**(TINY | {"class_loss": 0.0})).fit(x, labels).model_
    assert plain.net_d.classifier is None  # 0 turns the head off: projection conditioning only
    unlabelled = ImageSynthesizer(**(TINY | {"class_loss": 1.0})).fit(x).model_
    assert unlabelled.net_d.classifier is None and unlabelled.class_weight == 0.0  # one class: nothing to tell

    net_d = model.net_d
    real = model.pad(torch.from_numpy(x).float().unsqueeze(1) / 127.5 - 1)
    y = torch.tensor([0, 1] * 30)
    score, logits = net_d(real, y)
    assert score.shape == (60,) and logits.shape == (60, 2)
    # the head's weights move with a critic step on real labels ...
    model.images, model.labels = real, y
    before = net_d.classifier.weight_orig.detach().clone()
    model._critic_step()
    assert not torch.equal(before, net_d.classifier.weight_orig)
    # ... and the generator's loss carries the head's cross-entropy on the fakes' labels
    losses = {}
    for weight in (0.0, 1.0):
        model.class_weight = weight
        model.generator.manual_seed(5)
        with torch.no_grad():
            losses[weight] = float(model._generator_loss(16))
    assert losses[1.0] - losses[0.0] > 0.01  # cross-entropy is positive for an imperfect head


def test_short_fit_learns_class_structure(tmp_path):
    """Samples of each class resemble their own class's real mean image more than the other's,
    and a saved model gives the same images."""
    x, y = _blobs(n=200, size=16)
    model = ImageSynthesizer(epochs=60, batch_size=32, channels=16, seed=0, verbose=False).fit(x, y)
    for own, other in (("left", "right"), ("right", "left")):
        fake = model.sample(64, labels=[own] * 64, seed=0)
        assert 2 * _mean_image_gap(fake, x[y == own]) < _mean_image_gap(fake, x[y == other])
    loaded = ImageSynthesizer.load(model.save(tmp_path / "ac.synth"))
    assert loaded.class_loss == 2.0 and loaded.d_steps == 2
    assert np.array_equal(loaded.sample(5, labels=["left"] * 5, seed=2), model.sample(5, labels=["left"] * 5, seed=2))
