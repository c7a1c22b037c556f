"""Image inputs -> one validated uint8 array (N, H, W, C) and label indices.

Accepted: NumPy arrays (uint8, or float in [0, 1]) of shape (N, H, W) or (N, H, W, C) with
C in {1, 3}; lists of PIL images; a folder with one subfolder per class (ImageFolder), or of
images alone (unconditional); a MedMNIST-style ``.npz`` (``train_images``, ``train_labels``).
Grey and RGB mixed become RGB (nothing is lost); mixed sizes are an error.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgan.errors import DataError, InputFileError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray  # int64 (N,), index into classes
    classes: list  # original label values (ints or strings), sorted
    squeeze: bool  # the input was (N, H, W): return samples without a channel axis


def _from_pil(items: list, where: list[str]) -> tuple[np.ndarray, bool]:
    from PIL import Image

    arrays, modes = [], set()
    for item, name in zip(items, where):
        if not isinstance(item, Image.Image):
            raise DataError(f"{name}: expected a PIL image, got {type(item).__name__}")
        grey = item.mode in ("L", "1", "I;16", "I")
        modes.add("grey" if grey else "rgb")
        arrays.append(item)
    if modes == {"grey", "rgb"}:
        warnings.warn("grey and RGB images mixed: grey images are converted to RGB", stacklevel=3)
    rgb = "rgb" in modes
    sizes = {}
    out = []
    for item, name in zip(arrays, where):
        arr = np.asarray(item.convert("RGB" if rgb else "L"), dtype=np.uint8)
        sizes.setdefault(arr.shape[:2], name)
        out.append(arr if rgb else arr[..., None])
    if len(sizes) > 1:
        shown = "; ".join(f"{w}x{h} (e.g. {n})" for (h, w), n in list(sizes.items())[:4])
        raise DataError(f"images have different sizes: {shown}; resize them to one size first")
    return np.stack(out), not rgb


def _from_array(x: np.ndarray) -> tuple[np.ndarray, bool]:
    if x.ndim == 3:
        x, squeeze = x[..., None], True
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
        squeeze = False
    else:
        raise DataError(
            f"images must have shape (N, H, W) or (N, H, W, C) with C 1 or 3; got {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError("no images given (N = 0)")
    if min(x.shape[1:3]) < 4:
        raise DataError(f"images of {x.shape[1]}x{x.shape[2]} pixels are too small (at least 4x4)")
    if x.dtype == np.uint8:
        return x, squeeze
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.argwhere(bad.reshape(len(x), -1).any(axis=1))[0, 0])
            raise DataError(f"{int(bad.sum())} NaN or infinite pixel value(s), first in image {first}")
        if x.min() < 0 or x.max() > 1:
            raise DataError(
                f"float images must lie in [0, 1]; got [{x.min():g}, {x.max():g}] "
                "(pass uint8 0..255, or divide by 255)"
            )
        return np.round(x * 255).astype(np.uint8), squeeze
    if np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"integer images must lie in 0..255; got {x.min()}..{x.max()}")
        return x.astype(np.uint8), squeeze
    raise DataError(f"unsupported image dtype {x.dtype}; use uint8 or float in [0, 1]")


def _read_folder(root: Path) -> tuple[list, list[str], list]:
    from PIL import Image, UnidentifiedImageError

    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(d.name, d) for d in subdirs] if subdirs else [(None, root)]
    images, names, labels = [], [], []
    for label, folder in groups:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as img:
                    img.load()
                    images.append(img.copy())
            except (UnidentifiedImageError, OSError) as exc:
                raise InputFileError(f"cannot read image {str(path)!r}: {exc}") from None
            names.append(str(path))
            labels.append(label)
    if not images:
        raise InputFileError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {str(root)!r} or its class subfolders"
        )
    return images, names, (labels if subdirs else None)


def load_images(images, labels=None, split: str = "train") -> ImageSet:
    """Validate any accepted input form; see the module docstring."""
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if not path.exists():
            raise InputFileError(f"{str(path)!r} does not exist")
        if path.is_dir():
            items, names, folder_labels = _read_folder(path)
            array, squeeze = _from_pil(items, names)
            labels = folder_labels if labels is None else labels
        elif path.suffix.lower() == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    key = f"{split}_images"
                    if key not in data:
                        raise InputFileError(f"{str(path)!r} has no {key!r} array; keys: {sorted(data.keys())}")
                    array, squeeze = _from_array(data[key])
                    if labels is None and f"{split}_labels" in data:
                        labels = data[f"{split}_labels"].reshape(len(array), -1)[:, 0]
            except (OSError, ValueError) as exc:
                raise InputFileError(f"cannot read {str(path)!r} as .npz: {exc}") from None
        else:
            raise InputFileError(f"{str(path)!r}: pass a folder of images or a .npz file")
    elif isinstance(images, (list, tuple)):
        if not images:
            raise DataError("no images given (empty list)")
        if isinstance(images[0], np.ndarray):
            array, squeeze = _from_array(np.stack(images))
        else:
            array, squeeze = _from_pil(list(images), [f"image {i}" for i in range(len(images))])
    elif isinstance(images, np.ndarray):
        array, squeeze = _from_array(images)
    else:
        raise DataError(f"unsupported images of type {type(images).__name__}")
    return ImageSet(array, *_labels(labels, len(array)), squeeze)


def _labels(labels, n: int) -> tuple[np.ndarray, list]:
    if labels is None:
        return np.zeros(n, dtype=np.int64), [None]
    labels = np.asarray(labels).reshape(-1) if not isinstance(labels, list) else np.asarray(labels, dtype=object)
    if len(labels) != n:
        raise DataError(f"{len(labels)} labels for {n} images: give exactly one label per image")
    values = [v.item() if isinstance(v, np.generic) else v for v in labels]
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
        raise DataError("labels contain missing values")
    try:
        classes = sorted(set(values))
    except TypeError:
        raise DataError("labels mix types (e.g. ints and strings); use one type") from None
    index = {c: i for i, c in enumerate(classes)}
    counts = np.bincount([index[v] for v in values], minlength=len(classes))
    lonely = [c for c, k in zip(classes, counts) if k < 2]
    if lonely:
        warnings.warn(
            f"class(es) {lonely} have a single image: their samples will stay close to it", stacklevel=3
        )
    return np.array([index[v] for v in values], dtype=np.int64), classes
