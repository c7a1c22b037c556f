"""``ImageSynthesizer``: a class-conditional image GAN behind the fit / sample / save API."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel

from synthgan.base import Synthesizer
from synthgan.config import ImageConfig, validate
from synthgan.errors import ConditionError, ConfigError, ModelFileError
from synthgan.image.data import load_images
from synthgan.io import atomic_path
from synthgan.serialization import load_model, save_model
from synthgan.training import HistoryState, Precision, TrainingHistory, resolve_device, seeded, train

MODEL_KIND = "image"
#: below this many images, differentiable augmentation is on by default
AUGMENT_BELOW = 10_000



class ImageModelState(BaseModel):
    """The JSON state of an image model file, checked at :meth:`ImageSynthesizer.load`."""

    params: dict
    classes: list
    class_counts: list[int]
    image_shape: list[int]
    squeeze: bool
    history: HistoryState

class ImageSynthesizer(Synthesizer):
    """Class-conditional GAN for small image sets (hundreds of images, a few classes).

    Parameters mirror :class:`synthgan.config.ImageConfig`, validated when ``fit`` starts.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(0, 256, (40, 16, 16), dtype=np.uint8)
    >>> gen = ImageSynthesizer(epochs=1, batch_size=8, channels=8, seed=0, verbose=False)
    >>> gen.fit(x, labels=[0, 1] * 20).sample(4, labels=[1, 1, 0, 0]).shape
    (4, 16, 16)
    """

    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 64,
        *,
        device: str = "auto",
        amp: bool | str = "auto",
        seed: int | None = None,
        verbose: bool = True,
        noise_dim: int = 128,
        channels: int = 32,
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        d_steps: int = 2,
        class_loss: float = 2.0,
        ema_images: int = 10_000,
        ema_rampup: float = 0.05,
        augment: bool | str = "auto",
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 0,
        resume: bool = False,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.seed = seed
        self.verbose = verbose
        self.noise_dim = noise_dim
        self.channels = channels
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.d_steps = d_steps
        self.class_loss = class_loss
        self.ema_images = ema_images
        self.ema_rampup = ema_rampup
        self.augment = augment
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def fit(self, images, labels=None, split: str = "train") -> "ImageSynthesizer":
        """Learn ``images``: uint8 (N,H,W) / (N,H,W,C) or float in [0,1], PIL images, a class-
        subfolder folder, or a MedMNIST ``.npz`` (``split`` picks ``train_images``...).
        ``labels`` (ints or strings) make it class-conditional; without them it is not.
        """
        config = validate(ImageConfig, type(self).__name__, **self.get_params())
        device = resolve_device(config.device)
        data = load_images(images, labels, split)
        start = time.perf_counter()
        precision = Precision(device, config.amp)
        n, h, w, c = data.images.shape
        augment = n < AUGMENT_BELOW if config.augment == "auto" else config.augment
        with seeded(config.seed, device):
            from synthgan.image.model import ImageGANModel

            model = ImageGANModel(config, precision, len(data.classes), (h, w, c), config.seed)
            x = torch.from_numpy(data.images).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1
            y = torch.from_numpy(data.labels).to(device)
            options = {k: v for k, v in config.model_dump().items() if k not in ("epochs", "resume", "verbose", "device")}
            digest = hashlib.sha256(data.images.tobytes() + data.labels.tobytes()).hexdigest()
            model.prepare(model.pad(x), y, augment, {"options": options, "data": digest})
            self.model_, self.config_ = model, config
            self.history_ = train(model, config, precision, desc="ImageSynthesizer")
        model.images = model.labels = None  # training data is not kept
        self.classes_ = data.classes
        self.class_counts_ = np.bincount(data.labels, minlength=len(data.classes)).tolist()
        self.image_shape_ = (h, w, c)
        self.squeeze_ = data.squeeze
        self.timings_ = {"train_s": time.perf_counter() - start}
        self._sample_generator = self._new_generator(config.seed)
        return self

    @property
    def conditional(self) -> bool:
        self._check_fitted()
        return self.classes_ != [None]

    def _label_indices(self, labels, n: int, gen: torch.Generator) -> torch.Tensor:
        if labels is None:
            weights = torch.tensor(self.class_counts_, dtype=torch.float, device=self.model_.device)
            return torch.multinomial(weights, n, replacement=True, generator=gen)
        if not self.conditional:
            raise ConditionError("this model was fitted without labels; call sample(n) without labels")
        labels = list(labels)
        if len(labels) != n:
            raise ConditionError(f"{len(labels)} labels for n={n}: give one label per image, or none")
        index = {c: i for i, c in enumerate(self.classes_)}
        by_text = {str(c): i for i, c in enumerate(self.classes_)}
        out = []
        for value in labels:
            value = value.item() if isinstance(value, np.generic) else value
            if value in index and type(value) is not bool:
                out.append(index[value])
            elif str(value) in by_text:
                out.append(by_text[str(value)])
            else:
                raise ConditionError(f"label {value!r} was never seen in training; labels are {self.classes_}")
        return torch.tensor(out, dtype=torch.long, device=self.model_.device)

    def sample(self, n: int, labels=None, seed: int | None = None, return_labels: bool = False):
        """``n`` uint8 images of the training shape; ``labels`` (one per image) are returned
        in the order requested. Without labels, classes follow the training proportions."""
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(f"sample: n must be a non-negative integer, got {n!r}")
        gen = self._sample_generator if seed is None else self._new_generator(seed)
        index = self._label_indices(labels, int(n), gen)
        images = self.model_.generate(index, gen).numpy()
        if self.squeeze_:
            images = images[..., 0]
        if return_labels:
            return images, [self.classes_[i] for i in index.tolist()]
        return images

    def save_grid(self, path: str | os.PathLike, per_class: int = 8, seed: int | None = 0, scale: int = 3) -> Path:
        """A labelled PNG grid: one row per class, ``per_class`` samples each."""
        from synthgan.image.grid import labelled_grid

        self._check_fitted()
        rows = []
        for label in self.classes_:
            labels = None if label is None else [label] * per_class
            rows.append((label, self.sample(per_class, labels=labels, seed=seed)))
        image = labelled_grid(rows, scale)
        with atomic_path(path) as tmp:
            image.save(tmp, format="PNG")
        return Path(path)

    def sample_to_folder(self, folder: str | os.PathLike, n: int, labels=None, seed: int | None = None) -> Path:
        """Write ``n`` PNGs into one subfolder per class (``synthetic/``), each atomically."""
        from PIL import Image

        images, names = self.sample(n, labels=labels, seed=seed, return_labels=True)
        root = Path(folder)
        width = len(str(max(n - 1, 0)))
        for i, (image, label) in enumerate(zip(images, names)):
            sub = root / ("synthetic" if label is None else str(label))
            with atomic_path(sub / f"{i:0{width}d}.png") as tmp:
                Image.fromarray(image if image.ndim == 2 or image.shape[-1] == 3 else image[..., 0]).save(tmp, format="PNG")
        return root

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        self._check_fitted()
        state = {
            "params": self.get_params(),
            "classes": self.classes_,
            "class_counts": self.class_counts_,
            "image_shape": list(self.image_shape_),
            "squeeze": self.squeeze_,
            "history": self.history_.to_json(),
        }
        tensors = {f"ema.{k}": v for k, v in self.model_.ema.state_dict().items()}
        return save_model(path, MODEL_KIND, state, tensors)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> "ImageSynthesizer":
        from synthgan.image.model import ImageGANModel

        state, tensors = load_model(path, MODEL_KIND, ImageModelState)
        try:
            synth = cls(**(dict(state["params"]) | {"device": device}))
            config = validate(ImageConfig, cls.__name__, **synth.get_params())
            dev = resolve_device(config.device)
            shape = tuple(state["image_shape"])
            model = ImageGANModel(config, Precision(dev, config.amp), len(state["classes"]), shape, config.seed)
            model.ema.load_state_dict({k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")})
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ModelFileError(f"{str(path)!r}: model state is inconsistent ({exc})") from None
        synth.model_, synth.config_ = model, config
        synth.classes_ = list(state["classes"])
        synth.class_counts_ = list(state["class_counts"])
        synth.image_shape_ = shape
        synth.squeeze_ = bool(state["squeeze"])
        synth.history_ = TrainingHistory.from_json(state["history"])
        synth._sample_generator = synth._new_generator(config.seed)
        return synth
