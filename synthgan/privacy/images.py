"""``ImagePrivacyFilter``: drop generated images that copy or nearly copy a training image.

Images are compared as points: their pixels scaled to [0, 1] (enough for the small images
synthgan models, 28x28 to 64x64), or feature vectors the caller computed (any (N, D) array,
e.g. a CNN embedding), with the Euclidean distance divided by ``sqrt(D)`` (a root mean
square per pixel or feature). Like the table filter, an image is dropped when

- ``exact_match``: its array equals a training image's byte for byte (a hash of each row of
  the fitted array), or
- ``dcr``: its distance to the closest training image is below the ``quantile`` quantile of
  holdout-to-train distances (without a holdout: a seeded ``holdout_fraction`` of the
  training images against the rest; filtering is always against all training images).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from synthgan.config import _Frozen, validate
from synthgan.errors import DataError, NotFittedError
from synthgan.privacy.filter import THRESHOLD_ROWS, PassCounts
from synthgan.privacy.space import MAX_BLOCK, nearest

IMAGE_REASONS = ("exact_match", "dcr")


class ImageFilterOptions(_Frozen):
    quantile: float = Field(0.05, gt=0, lt=1)
    exact: bool = True
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    device: str = "cpu"
    max_block: int = Field(MAX_BLOCK, ge=1)


@dataclass(frozen=True)
class ImageFilterResult(PassCounts):
    """Kept and dropped images (and labels, when given), each dropped image's reason, counts."""

    kept: np.ndarray
    dropped: np.ndarray
    kept_labels: np.ndarray | None
    dropped_labels: np.ndarray | None
    reasons: np.ndarray  # one per dropped image
    counts: dict
    threshold: float
    distances: np.ndarray  # per input image; NaN for exact copies (not computed)
    kept_index: np.ndarray  # positions of the kept images in the input


def _points(array, name: str) -> np.ndarray:
    """(N,H,W), (N,H,W,C) images or (N,D) features -> float32 (N, D) points, RMS-normalised."""
    array = np.asarray(array)
    if array.ndim < 2 or len(array) == 0 or array.dtype.kind not in "uifb":
        raise DataError(
            f"ImagePrivacyFilter: {name} must be a non-empty numeric array of images (N,H,W[,C]) or "
            f"features (N,D); got shape {array.shape} and dtype {array.dtype}"
        )
    points = array.reshape(len(array), -1).astype(np.float32)
    if array.dtype == np.uint8:
        points /= 255.0
    if not np.isfinite(points).all():
        raise DataError(f"ImagePrivacyFilter: {name} holds NaN or infinite values")
    return points / np.sqrt(points.shape[1])


def _hashes(array: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(array).reshape(len(array), -1)
    return np.array([hashlib.blake2b(r.tobytes(), digest_size=8).hexdigest() for r in rows], dtype=object)


class ImagePrivacyFilter:
    """Removes generated images that copy or nearly copy training images.

    Parameters
    ----------
    quantile : drop images closer to a training image than this quantile of
        holdout-to-train distances, in (0, 1).
    exact : drop byte-identical copies of training images.
    holdout_fraction : training images set aside for the threshold when ``fit`` gets no holdout.
    seed, device, max_block : as for :class:`~synthgan.privacy.PrivacyFilter`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.integers(0, 256, (50, 8, 8), dtype=np.uint8)
    >>> filt = ImagePrivacyFilter(quantile=0.05).fit(train)
    >>> filt.filter(train[:3]).counts["exact_match"]
    3
    """

    def __init__(
        self,
        quantile: float = 0.05,
        exact: bool = True,
        holdout_fraction: float = 0.2,
        seed: int = 0,
        device: str = "cpu",
        max_block: int = MAX_BLOCK,
    ):
        self.quantile = quantile
        self.exact = exact
        self.holdout_fraction = holdout_fraction
        self.seed = seed
        self.device = device
        self.max_block = max_block

    def fit(self, train, holdout=None) -> "ImagePrivacyFilter":
        """``train``: training images (or their features); ``holdout``: unseen ones, same shape."""
        opts = validate(
            ImageFilterOptions, "ImagePrivacyFilter", **{n: getattr(self, n) for n in ImageFilterOptions.model_fields}
        )
        train = np.asarray(train)
        reference = _points(train, "train")
        if len(train) < 2 and holdout is None:
            raise DataError("ImagePrivacyFilter: fit needs at least 2 training images (or a holdout)")
        self.shape_ = train.shape[1:]
        rng = np.random.default_rng(opts.seed)
        self._opts = opts
        if holdout is not None:
            holdout = self._check(holdout, "holdout")
            sample = _points(holdout, "holdout")[rng.permutation(len(holdout))[:THRESHOLD_ROWS]]
            distances = self._nearest(sample, reference)
        else:
            order = rng.permutation(len(train))
            n_hold = min(max(1, round(len(train) * opts.holdout_fraction)), len(train) - 1)
            distances = self._nearest(reference[order[:n_hold][:THRESHOLD_ROWS]], reference[order[n_hold:]])
        self.threshold_ = float(np.quantile(distances, opts.quantile))
        self.reference_ = reference
        self.hashes_ = set(_hashes(train).tolist()) if opts.exact else set()
        self.options_ = opts
        return self

    def _check(self, array, name: str) -> np.ndarray:
        array = np.asarray(array)
        if array.shape[1:] != self.shape_:
            raise DataError(
                f"ImagePrivacyFilter: {name} items have shape {array.shape[1:]}, but the filter was "
                f"fitted on items of shape {self.shape_}"
            )
        return array

    def _nearest(self, points: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return nearest(points, reference, 1, self._opts.max_block, self._opts.device)[0][:, 0]

    def filter(self, images, labels=None, features=None) -> ImageFilterResult:
        """Split ``images`` (and ``labels``) into kept and dropped ones.

        When the filter was fitted on features, pass the generated images' ``features`` (same
        width); ``images`` may then be anything indexable with one item per feature row.
        """
        if not hasattr(self, "options_"):
            raise NotFittedError("this ImagePrivacyFilter is not fitted yet: call fit(train_images) first")
        if features is None:
            compared = self._check(images, "images")
        else:
            compared = self._check(features, "features")
        images = np.asarray(images)
        if len(images) != len(compared):
            raise DataError(f"ImagePrivacyFilter: {len(images)} images but {len(compared)} feature rows")
        if labels is not None:
            labels = np.asarray(labels)
            if len(labels) != len(images):
                raise DataError(f"ImagePrivacyFilter: {len(images)} images but {len(labels)} labels")
        reasons = np.full(len(images), "", dtype=object)  # "" while an image is kept
        if self.hashes_ and len(compared):
            reasons[np.array([h in self.hashes_ for h in _hashes(compared)], dtype=bool)] = "exact_match"
        distances = np.full(len(images), np.nan)
        alive = np.flatnonzero(reasons == "")
        if len(alive):
            distances[alive] = self._nearest(_points(compared[alive], "images"), self.reference_)
            reasons[alive[distances[alive] < self.threshold_]] = "dcr"
        keep = reasons == ""
        return ImageFilterResult(
            kept=images[keep],
            dropped=images[~keep],
            kept_labels=labels[keep] if labels is not None else None,
            dropped_labels=labels[~keep] if labels is not None else None,
            reasons=reasons[~keep].astype(str),
            counts={r: int((reasons == r).sum()) for r in IMAGE_REASONS},
            threshold=self.threshold_,
            distances=distances,
            kept_index=np.flatnonzero(keep),
        )
