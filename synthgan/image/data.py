"""Image inputs -> one validated uint8 array (N, H, W, C) and label indices.

Accepted: NumPy arrays of shape (N, H, W) or (N, H, W, C) with C in {1, 3} (or a list of
(H, W) / (H, W, C) arrays); lists of PIL images; a folder with one subfolder per class
(ImageFolder), or of images alone (unconditional); a MedMNIST-style ``.npz``
(``train_images``, ``train_labels``).

The model works on 8 bits. Every input becomes uint8 by one rule per kind of data, the same
for arrays and for images (a uint16 array and the same values saved as 16-bit PNGs load
identically); what cannot be converted faithfully is refused by name (file, mode, what to do),
all problems of a folder in one error:

=================================  ==========================================================
input                              becomes
=================================  ==========================================================
uint8 array; modes ``L``, ``RGB``  as is
bool array; mode ``1``             False -> 0, True -> 255
mode ``P`` (palette)               its palette's colours: grey (one channel) when every pixel's
                                   colour is grey, else RGB; transparency: alpha rule below
modes ``LA``, ``La``, ``PA``,      alpha rule: fully opaque alpha is dropped; any pixel that is
``RGBA``, ``RGBa``                 not fully opaque is refused (the colour behind it is not
                                   known; flatten onto the background you mean first)
modes ``CMYK``, ``YCbCr``,         RGB by Pillow's conversion (``LAB`` through littlecms);
``HSV``, ``LAB``, ``RGBX``         embedded ICC profiles are not applied
float array; mode ``F``            values in [0, 1] -> round(v * 255); NaN, infinity or a value
                                   outside [0, 1] is refused (scale to [0, 1] first)
integer array wider than uint8;    all values in 0..255: as is (8-bit values in a wider type).
modes ``I;16``, ``I;16B``,         Otherwise ONE linear map for the whole dataset, never per
``I;16L``, ``I;16N``, ``I``        image: its lowest value -> 0, its highest -> 255, rounded
                                   (order of values and contrast between images kept; e.g. a
                                   12-bit scan 0..4095 uses all 256 levels); a warning names
                                   the type and the range, kept in ``ImageSet.source_range``
other modes                        refused by name
=================================  ==========================================================

Mixed inputs: grey and RGB become RGB (grey repeated; nothing is lost, a warning says so).
Wide integer data that needs the linear map cannot be mixed with 8-bit, 1-bit or float
images (their scales cannot be matched): refused, naming one file of each. Mixed sizes are
an error. Files with several frames or pages (GIF, TIFF) give their first, with a warning.
Pillow itself reduces 16-bit-per-channel RGB and grey+alpha PNGs to 8 bits (high byte).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgan.errors import DataError, InputFileError, SynthGANError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
COLOUR_MODES = ("CMYK", "YCbCr", "HSV", "LAB", "RGBX")
WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
SUPPORTED_MODES = ("1", "L", "P", "RGB", *ALPHA_MODES, *COLOUR_MODES, *WIDE_MODES, "F")
SHOWN_PROBLEMS = 5
FLATTEN = (
    "flatten them onto the background you mean first, e.g. with Pillow: "
    "Image.alpha_composite(Image.new('RGBA', im.size, 'white'), im.convert('RGBA')).convert('RGB')"
)


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray  # int64 (N,), index into classes
    classes: list  # original label values (ints or strings), sorted
    squeeze: bool  # the input was (N, H, W): return samples without a channel axis
    source_range: tuple | None = None  # (low, high) mapped to 0 and 255 for wide integer data


class _Refused(Exception):
    """One image cannot be converted faithfully; the message says why and what to do."""


def _opaque(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Drop a fully opaque alpha channel (last axis); refuse any other."""
    alpha = pixels[..., -1]
    seen = int((alpha < 255).sum())
    if seen:
        raise _Refused(
            f"mode {mode} with {seen} of {alpha.size} pixels not fully opaque: the colour behind them "
            f"is not known; {FLATTEN}"
        )
    return pixels[..., :-1]


def _pil_pixels(img) -> np.ndarray:
    """One PIL image -> (H, W, C) array in its own type (uint8, uint16, int32 or float32)."""
    mode = img.mode
    if mode == "1":
        pixels = np.asarray(img.convert("L"))
    elif mode in ("L", "RGB", "F"):
        pixels = np.asarray(img)
    elif mode in WIDE_MODES:
        pixels = np.asarray(img)
        pixels = pixels.astype(pixels.dtype.newbyteorder("="), copy=False)  # I;16B is big-endian
    elif mode in ("P", "PA"):
        pixels = _opaque(np.asarray(img.convert("RGBA")), f"{mode} (transparent palette entries)")
        if (pixels[..., :1] == pixels).all():
            pixels = pixels[..., 0]  # a grey palette stays grey
    elif mode in ALPHA_MODES:
        pixels = _opaque(np.asarray(img), mode)
    elif mode == "LAB":
        pixels = np.asarray(_lab_to_rgb(img))
    elif mode in COLOUR_MODES:
        pixels = np.asarray(img.convert("RGB"))
    else:
        raise _Refused(
            f"image mode {mode!r} is not supported (supported: {', '.join(SUPPORTED_MODES)}); "
            "convert it with Pillow first, e.g. im.convert('RGB')"
        )
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _lab_to_rgb(img):
    try:
        from PIL import ImageCms
    except ImportError as exc:  # a Pillow built without littlecms
        raise _Refused(f"mode LAB cannot be converted here ({exc}); convert it to RGB first") from None
    try:
        transform = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
        return ImageCms.applyTransform(img, transform)
    except (OSError, ValueError, ImageCms.PyCMSError) as exc:
        raise _Refused(f"mode LAB cannot be converted here ({exc}); convert it to RGB first") from None


def _to_uint8(x: np.ndarray, names: list, source: str) -> tuple[np.ndarray, tuple | None]:
    """A stack (N, H, W, C) of one dtype -> uint8 by the rule of the module docstring.

    ``names[i]`` names image i in errors; ``source`` names the input type in the warning.
    Returns the array and the (low, high) range mapped to 0..255 (None: values kept as they were).
    """
    if x.dtype == np.uint8:
        return x, None
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * np.uint8(255), None
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.argwhere(bad.reshape(len(x), -1).any(axis=1))[0, 0])
            raise DataError(f"{int(bad.sum())} NaN or infinite pixel value(s), first in {names[first]}")
        outside = ((x < 0) | (x > 1)).reshape(len(x), -1).any(axis=1)
        if outside.any():
            first = int(np.argmax(outside))
            raise DataError(
                f"float images must lie in [0, 1]; got [{x.min():g}, {x.max():g}] in {int(outside.sum())} "
                f"image(s), first {names[first]} (pass uint8 0..255, or scale to [0, 1], e.g. divide by 255)"
            )
        return np.round(x * 255).astype(np.uint8), None
    if np.issubdtype(x.dtype, np.integer):
        low, high = int(x.min()), int(x.max())
        if low >= 0 and high <= 255:
            return x.astype(np.uint8), None
        scale = 255.0 / (high - low)
        out = np.empty(x.shape, dtype=np.uint8)
        for i, image in enumerate(x):  # image by image: a float copy of the whole stack can be large
            out[i] = np.rint((image.astype(np.float64) - low) * scale)
        warnings.warn(
            f"{source} image data spans {low}..{high}, beyond 8 bits: mapped linearly to 0..255 with one "
            f"scale for all {len(x)} image(s) ({low} -> 0, {high} -> 255); the model works on 8 bits",
            stacklevel=4,
        )
        return out, (low, high)
    raise DataError(f"unsupported image dtype {x.dtype}; use uint8, float in [0, 1], or integers")


def _is_wide(pixels: np.ndarray) -> bool:
    return np.issubdtype(pixels.dtype, np.integer) and pixels.dtype != np.uint8


def _combine(pixels: list, names: list, sources: list) -> tuple[np.ndarray, tuple | None]:
    """Images of possibly mixed types and channels -> one uint8 stack (N, H, W, C)."""
    sizes = {}
    for p, name in zip(pixels, names):
        sizes.setdefault(p.shape[:2], name)
    if len(sizes) > 1:
        shown = "; ".join(f"{w}x{h} (e.g. {n})" for (h, w), n in list(sizes.items())[:4])
        raise DataError(f"images have different sizes: {shown}; resize them to one size first")
    _check_size(pixels[0].shape[:2])
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pixels):
        kind = "wide" if _is_wide(p) else "float" if np.issubdtype(p.dtype, np.floating) else str(p.dtype)
        groups.setdefault(kind, []).append(i)
    if len({p.shape[-1] for p in pixels}) > 1:
        warnings.warn("grey and RGB images mixed: grey images are converted to RGB", stacklevel=4)
        pixels = [np.repeat(p, 3, axis=-1) if p.shape[-1] == 1 else p for p in pixels]
    out = [None] * len(pixels)
    source_range = None
    for kind, index in groups.items():
        stack = np.stack([pixels[i] for i in index])
        if kind == "wide" and len(groups) > 1 and (stack.min() < 0 or stack.max() > 255):
            other = next(i for k, ix in groups.items() if k != "wide" for i in ix)
            spread = stack.reshape(len(stack), -1)
            wide = index[int(np.argmax((spread > 255).any(axis=1) | (spread < 0).any(axis=1)))]
            raise DataError(
                f"images mix integer data wider than 8 bits (e.g. {names[wide]}, values "
                f"{stack.min()}..{stack.max()}) with 8-bit or float images (e.g. {names[other]}): their "
                "scales cannot be matched; convert them all to one bit depth first"
            )
        kinds = sorted({sources[i] for i in index})
        converted, mapped = _to_uint8(stack, [names[i] for i in index], ", ".join(kinds))
        if len(groups) == 1:
            return converted, mapped
        source_range = mapped or source_range
        for j, i in enumerate(index):
            out[i] = converted[j]
    return np.stack(out), source_range


def _check_size(hw: tuple) -> None:
    if min(hw) < 4:
        raise DataError(f"images of {hw[0]}x{hw[1]} pixels are too small (at least 4x4)")


def _from_pil(items: list, where: list[str]) -> tuple[np.ndarray, bool, tuple | None]:
    from PIL import Image

    pixels, problems = [], []
    for item, name in zip(items, where):
        if not isinstance(item, Image.Image):
            raise DataError(f"{name}: expected a PIL image, got {type(item).__name__}")
        try:
            pixels.append(_pil_pixels(item))
        except _Refused as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:SHOWN_PROBLEMS])
        more = f"\n  ... and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise DataError(f"{len(problems)} image(s) cannot be used as given:\n{shown}{more}")
    names = [f"{name} (mode {item.mode})" for item, name in zip(items, where)]
    sources = [f"mode {item.mode}" for item in items]
    array, source_range = _combine(pixels, names, sources)
    return array, array.shape[-1] == 1, source_range


def _from_list_of_arrays(items: list) -> tuple[np.ndarray, bool, tuple | None]:
    pixels = []
    for i, item in enumerate(items):
        item = np.asarray(item)
        if not (item.ndim == 2 or (item.ndim == 3 and item.shape[-1] in (1, 3))):
            raise DataError(f"image {i}: each image must have shape (H, W) or (H, W, C) with C 1 or 3; got {item.shape}")
        pixels.append(item[..., None] if item.ndim == 2 else item)
    array, source_range = _combine(pixels, [f"image {i}" for i in range(len(items))], [str(p.dtype) for p in pixels])
    return array, all(np.ndim(item) == 2 for item in items), source_range


def _from_array(x: np.ndarray) -> tuple[np.ndarray, bool, tuple | None]:
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
    _check_size(x.shape[1:3])
    array, source_range = _to_uint8(x, _ImageIndex(), str(x.dtype))
    return array, squeeze, source_range


class _ImageIndex:
    """names[i] -> "image i" without building a list of N strings."""

    def __getitem__(self, i: int) -> str:
        return f"image {i}"


def _read_folder(root: Path) -> tuple[list, list[str], list]:
    from PIL import Image, UnidentifiedImageError

    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(d.name, d) for d in subdirs] if subdirs else [(None, root)]
    images, names, labels, multi = [], [], [], []
    for label, folder in groups:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as img:
                    img.load()
                    images.append(img.copy())
                    if getattr(img, "n_frames", 1) > 1:
                        multi.append(f"{path} ({img.n_frames})")
            except (UnidentifiedImageError, OSError) as exc:
                raise InputFileError(f"cannot read image {str(path)!r}: {exc}") from None
            names.append(str(path))
            labels.append(label)
    if not images:
        raise InputFileError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {str(root)!r} or its class subfolders"
        )
    if multi:
        warnings.warn(
            f"{len(multi)} file(s) hold several frames or pages (e.g. {multi[0]}): only the first of each is used",
            stacklevel=3,
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
            array, squeeze, source_range = _from_pil(items, names)
            labels = folder_labels if labels is None else labels
        elif path.suffix.lower() == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    key = f"{split}_images"
                    if key not in data:
                        raise InputFileError(f"{str(path)!r} has no {key!r} array; keys: {sorted(data.keys())}")
                    array, squeeze, source_range = _from_array(data[key])
                    if labels is None and f"{split}_labels" in data:
                        labels = data[f"{split}_labels"].reshape(len(array), -1)[:, 0]
            except SynthGANError:
                raise
            except (OSError, ValueError) as exc:
                raise InputFileError(f"cannot read {str(path)!r} as .npz: {exc}") from None
        else:
            raise InputFileError(f"{str(path)!r}: pass a folder of images or a .npz file")
    elif isinstance(images, (list, tuple)):
        if not images:
            raise DataError("no images given (empty list)")
        if isinstance(images[0], np.ndarray):
            array, squeeze, source_range = _from_list_of_arrays(list(images))
        else:
            array, squeeze, source_range = _from_pil(list(images), [f"image {i}" for i in range(len(images))])
    elif isinstance(images, np.ndarray):
        array, squeeze, source_range = _from_array(images)
    else:
        raise DataError(f"unsupported images of type {type(images).__name__}")
    return ImageSet(array, *_labels(labels, len(array)), squeeze, source_range)


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
