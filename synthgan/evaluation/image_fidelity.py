"""Image fidelity in a domain feature space, per-class recognisability and class balance.

Chain: the classifier trained on the real images (:mod:`image_classifier`) -> its
penultimate features of real and synthetic images -> :func:`fid.statistics` ->
:func:`fid.frechet_distance` (domain FID); its predictions on synthetic images of each class ->
per-class accuracy ("does a 'malignant' sample look malignant?"). InceptionV3 FID/KID
(:mod:`synthgan.evaluation.fid`) is added on request, being slow on a CPU.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from synthgan.errors import DataError, EvaluationWarning
from synthgan.evaluation import fid
from synthgan.evaluation.image_classifier import FEATURE_DIM, ImageClassifier
from synthgan.evaluation.image_inputs import ImageSets
from synthgan.report.section import Figure, Headline, Section, Table

#: fewer images per set than this and a covariance of the domain features means little
MIN_FID_IMAGES = 10
#: the domain features have FEATURE_DIM dimensions: twice as many images keep the covariance well-conditioned
RECOMMENDED_FID_IMAGES = 2 * FEATURE_DIM
#: verdict: mean per-class accuracy on synthetic images at most this far below that on real images
GOOD_DROP, FAIR_DROP = 0.05, 0.15
DOMAIN_FID = "domain_fid"


@dataclass(frozen=True)
class DomainFidelity:
    domain_fid: float
    reference_fid: float | None  # real training vs real holdout images: what two real samples score
    class_accuracy: dict  # class -> {"real": accuracy on real images of it, "synthetic": ..., "n_synthetic": int}
    reference_set: str  # which real images the "real" accuracies are measured on
    balance: dict  # class -> {"real": share, "synthetic": share}
    n_real: int
    n_synthetic: int


def check_fid_sizes(n_real: int, n_synthetic: int, what: str = "domain FID") -> None:
    """A named error below :data:`MIN_FID_IMAGES` per set, saying how many are needed."""
    if min(n_real, n_synthetic) < MIN_FID_IMAGES:
        raise DataError(
            f"{what} needs at least {MIN_FID_IMAGES} real and {MIN_FID_IMAGES} synthetic images "
            f"(got {n_real} real, {n_synthetic} synthetic); {RECOMMENDED_FID_IMAGES} or more of each give "
            "a stable estimate"
        )


def warn_few_images(n_real: int, n_synthetic: int, what: str = "domain FID") -> None:
    if min(n_real, n_synthetic) < RECOMMENDED_FID_IMAGES:
        warnings.warn(
            f"{what} on {n_real} real and {n_synthetic} synthetic images is noisy and biased upwards (fewer than "
            f"{RECOMMENDED_FID_IMAGES}); compare it only with FIDs on as many images",
            EvaluationWarning,
            stacklevel=3,
        )


def _fid(model: ImageClassifier, a: np.ndarray, b: np.ndarray) -> float:
    return fid.fid_from_features(model.features(a), model.features(b))


def _accuracy_by_class(model: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> dict:
    predicted = model.predict_proba(images).argmax(1)
    return {int(c): float(np.mean(predicted[labels == c] == c)) for c in np.unique(labels)}


def domain_fidelity(model: ImageClassifier, sets: ImageSets) -> DomainFidelity:
    """Domain FID, and the real-trained classifier's accuracy on each class of synthetic images."""
    real, synthetic, holdout = sets.real, sets.synthetic, sets.holdout
    check_fid_sizes(len(real.images), len(synthetic.images))
    warn_few_images(len(real.images), len(synthetic.images))
    reference = None
    if holdout is not None and len(holdout.images) >= MIN_FID_IMAGES:
        reference = _fid(model, real.images, holdout.images)
    use_holdout = holdout is not None and holdout.labels is not None
    ref_images, ref_labels = (holdout.images, holdout.labels) if use_holdout else (real.images, real.labels)
    real_acc = _accuracy_by_class(model, ref_images, ref_labels)
    per_class = {}
    if synthetic.labels is not None:
        synth_acc = _accuracy_by_class(model, synthetic.images, synthetic.labels)
        counts = np.bincount(synthetic.labels, minlength=len(sets.classes))
        for c, name in enumerate(sets.classes):
            if counts[c]:
                per_class[name] = {"real": real_acc.get(c), "synthetic": synth_acc[c], "n_synthetic": int(counts[c])}
    balance = {}
    real_share = np.bincount(real.labels, minlength=len(sets.classes)) / len(real.labels)
    synth_share = (
        np.bincount(synthetic.labels, minlength=len(sets.classes)) / len(synthetic.labels)
        if synthetic.labels is not None
        else np.full(len(sets.classes), np.nan)
    )
    for c, name in enumerate(sets.classes):
        balance[name] = {"real": float(real_share[c]), "synthetic": float(synth_share[c])}
    return DomainFidelity(
        domain_fid=_fid(model, real.images, synthetic.images),
        reference_fid=reference,
        class_accuracy=per_class,
        reference_set="real holdout" if use_holdout else "real training images (optimistic)",
        balance=balance,
        n_real=len(real.images),
        n_synthetic=len(synthetic.images),
    )


def image_fidelity_section(
    domain: DomainFidelity | None, inception: fid.ImageDistance | None = None, reason: str = ""
) -> Section:
    """The domain result (or ``reason`` it is missing) and, when computed, Inception FID/KID."""
    headline, notes, tables, figures, details = [], [], [], [], {}
    summary, verdict = reason, None
    if domain is not None:
        ref = f" (two real samples score {domain.reference_fid:.3f})" if domain.reference_fid is not None else ""
        summary = (
            f"Domain FID {domain.domain_fid:.3f} between {domain.n_real} real and {domain.n_synthetic} synthetic "
            f"images in the feature space of a CNN trained on the real images{ref}; 0 = same feature statistics."
        )
        meaning = "Frechet distance of the real-trained CNN's features; lower is better."
        headline.append(Headline("domain FID", domain.domain_fid, meaning))
        if domain.reference_fid is not None:
            meaning = "The same distance between two real samples: the floor."
            headline.append(Headline("domain FID, real vs holdout", domain.reference_fid, meaning))
        details.update(
            {
                DOMAIN_FID: domain.domain_fid,
                "reference_fid": domain.reference_fid,
                "class_accuracy": domain.class_accuracy,
                "accuracy_reference": domain.reference_set,
                "class_balance": domain.balance,
                "n_real": domain.n_real,
                "n_synthetic": domain.n_synthetic,
            }
        )
        labels = tuple(str(c) for c in domain.class_accuracy)
        if labels:
            acc = domain.class_accuracy.values()
            synth = float(np.mean([a["synthetic"] for a in acc]))
            real = float(np.mean([a["real"] for a in acc if a["real"] is not None]))
            drop = real - synth
            verdict = "good" if drop <= GOOD_DROP else "fair" if drop <= FAIR_DROP else "poor"
            summary += (
                f" The real-trained CNN recognises {synth:.0%} of synthetic images as their requested class "
                f"(mean over classes), against {real:.0%} of {domain.reference_set} images."
            )
            meaning = "Synthetic images the real-trained CNN puts in their requested class (mean over classes)."
            headline.append(Headline("class accuracy, synthetic", synth, meaning))
            meaning = f"The same on {domain.reference_set} images: the bar."
            headline.append(Headline("class accuracy, real", real, meaning))
            tables.append(
                Table(
                    "Does a synthetic image look like its class?",
                    ("class", f"accuracy on {domain.reference_set}", "accuracy on synthetic", "synthetic images"),
                    tuple((c, a["real"], a["synthetic"], a["n_synthetic"]) for c, a in domain.class_accuracy.items()),
                    note="Accuracy of the CNN trained on real images, per class.",
                )
            )
            figures.append(
                Figure(
                    "bars",
                    "Real-trained CNN accuracy per class",
                    labels,
                    {
                        domain.reference_set: tuple(a["real"] for a in acc),
                        "synthetic": tuple(a["synthetic"] for a in acc),
                    },
                    domain=(0.0, 1.0),
                )
            )
            notes.append(
                f"Verdict: from the drop in class accuracy, synthetic vs real: good up to {GOOD_DROP}, fair up to "
                f"{FAIR_DROP}, poor beyond (rules of thumb)."
            )
        balance = domain.balance
        figures.append(
            Figure(
                "columns",
                "Class balance",
                tuple(str(c) for c in balance),
                {arm: tuple(b[arm] for b in balance.values()) for arm in ("real", "synthetic")},
                domain=(0.0, 1.0),
                caption="Share of images per class.",
            )
        )
        notes.append(
            "ImageNet features say little about medical images, so distances are measured in the feature space "
            "of a small CNN trained on the real images; compare domain FIDs of one dataset only."
        )
    if inception is not None:
        summary += f" InceptionV3 FID {inception.fid:.2f}, KID {inception.kid_mean:.4f} \u00b1 {inception.kid_std:.4f}."
        inception_section = fid.image_distance_section(inception)
        headline += inception_section.headline
        notes += inception_section.notes
        details["inception"] = inception_section.details
    return Section(
        key="image_fidelity",
        title="Image fidelity",
        summary=summary.strip(),
        verdict=verdict if domain is not None else "skipped" if inception is None else None,
        headline=headline,
        notes=notes,
        tables=tables,
        figures=figures,
        details=details,
    )
