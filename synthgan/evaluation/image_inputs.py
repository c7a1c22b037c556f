"""Image sets for :func:`synthgan.evaluate`: validate (images, labels) and align their classes.

Each set is ``(images, labels)``, ``(images,)`` or a bare array of uint8 images (N,H,W) or
(N,H,W,C). Every set must have the same image shape and channels; labels are mapped onto the
real set's classes, so index ``i`` means the same class in every set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthgan.errors import DataError
from synthgan.image.data import load_images


@dataclass(frozen=True)
class Images:
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray | None  # int64 (N,) index into ImageSets.classes; None: unlabelled


@dataclass(frozen=True)
class ImageSets:
    real: Images
    synthetic: Images
    holdout: Images | None
    classes: list  # the real set's class values, sorted; [] when real is unlabelled

    @property
    def labelled(self) -> bool:
        return self.real.labels is not None and len(self.classes) >= 2


def is_image_input(value) -> bool:
    return isinstance(value, (tuple, np.ndarray))


def _split(value, name: str) -> tuple:
    if isinstance(value, np.ndarray):
        return value, None
    if isinstance(value, tuple) and len(value) in (1, 2):
        return value[0], (value[1] if len(value) == 2 else None)
    raise DataError(
        f"{name}: give images as an array, (images,) or (images, labels); got a {type(value).__name__}"
        + (f" of length {len(value)}" if isinstance(value, tuple) else "")
    )


def _load(value, name: str):
    images, labels = _split(value, name)
    if not isinstance(images, np.ndarray):
        raise DataError(f"{name}: images must be a NumPy array (N,H,W) or (N,H,W,C), got {type(images).__name__}")
    if labels is not None and len(np.asarray(labels).reshape(-1)) != len(images):
        raise DataError(
            f"{name}: {len(np.asarray(labels).reshape(-1))} labels for {len(images)} images: give one label per image"
        )
    try:
        loaded = load_images(images, labels)
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    return loaded, labels is not None


def check_image_sets(real, synthetic, holdout=None) -> ImageSets:
    """Validate every set and express its labels as indices into the real classes."""
    real_set, real_labelled = _load(real, "real")
    shape = real_set.images.shape[1:]
    classes = list(real_set.classes) if real_labelled else []
    out = {"real": Images(real_set.images, real_set.labels if real_labelled else None)}
    for name, value in (("synthetic", synthetic), ("holdout", holdout)):
        if value is None:
            out[name] = None
            continue
        loaded, labelled = _load(value, name)
        # synthetic uint8 images of a model fitted on wide real data are already on the real set's scale
        if loaded.source_range != real_set.source_range and (name == "holdout" or loaded.source_range is not None):
            shown = {n: s.source_range or "8-bit" for n, s in (("real", real_set), (name, loaded))}
            raise DataError(
                f"{name} and real images were brought to 8 bits from different ranges ({shown}): each set was "
                "wider than 8 bits or not alike, so their pixel values are not comparable; convert every set to "
                "uint8 with one shared scale first (e.g. np.round((x - low) * 255 / (high - low)))"
            )
        if loaded.images.shape[1:] != shape:
            raise DataError(
                f"{name} images have shape {_shape(loaded.images)} but real images {_shape(real_set.images)} "
                "(height, width, channels): compare like with like (resize, or convert grey/RGB first)"
            )
        labels = None
        if labelled and real_labelled:
            index = {c: i for i, c in enumerate(classes)}
            unknown = [c for c in loaded.classes if c not in index]
            if unknown:
                raise DataError(f"{name} labels {unknown[:3]} are not classes of the real images {classes}")
            labels = np.array([index[loaded.classes[i]] for i in loaded.labels], dtype=np.int64)
        out[name] = Images(loaded.images, labels)
    return ImageSets(out["real"], out["synthetic"], out["holdout"], classes)


def _shape(images: np.ndarray) -> str:
    return "x".join(str(s) for s in images.shape[1:])
