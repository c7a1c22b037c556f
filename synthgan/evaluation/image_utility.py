"""Image utility: a classifier trained on synthetic images, tested on real holdout images (TSTR),
next to the same classifier trained on the real images (TRTR).

Both arms use the same architecture, seed and training schedule
(:mod:`synthgan.evaluation.image_classifier`); only the training images differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

from synthgan.evaluation.image_classifier import ImageClassifier
from synthgan.evaluation.utility import FAIR_GAP, GOOD_GAP, TRTR, TSTR
from synthgan.report.section import Figure, Headline, Section, Table

METRICS = ("accuracy", "ROC AUC")
PRIMARY = "ROC AUC"


@dataclass(frozen=True)
class ImageUtility:
    scores: dict  # arm (TRTR / TSTR) -> metric -> value (None when undefined)
    train_images: dict  # arm -> training images
    test_images: int
    n_classes: int
    baseline_accuracy: float  # predicting the most frequent real class


def scores(classifier: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, and ROC AUC (binary) or macro one-vs-rest ROC AUC (multiclass); None if undefined."""
    proba = classifier.predict_proba(images)
    out = {"accuracy": float(accuracy_score(labels, proba.argmax(1)))}
    present = np.unique(labels)
    if len(present) < 2:
        out[PRIMARY] = None
    elif classifier.n_classes == 2:
        out[PRIMARY] = float(roc_auc_score(labels, proba[:, 1]))
    else:
        # one-vs-rest per class present in the holdout, macro-averaged
        out[PRIMARY] = float(np.mean([roc_auc_score(labels == c, proba[:, c]) for c in present]))
    return out


def image_tstr(
    real_model: ImageClassifier,
    synthetic_model: ImageClassifier,
    train_sizes: tuple[int, int],
    holdout_images: np.ndarray,
    holdout_labels: np.ndarray,
    real_labels: np.ndarray,
) -> ImageUtility:
    majority = np.bincount(real_labels).argmax()
    return ImageUtility(
        scores={
            TRTR: scores(real_model, holdout_images, holdout_labels),
            TSTR: scores(synthetic_model, holdout_images, holdout_labels),
        },
        train_images={TRTR: train_sizes[0], TSTR: train_sizes[1]},
        test_images=len(holdout_images),
        n_classes=real_model.n_classes,
        baseline_accuracy=float(np.mean(holdout_labels == majority)),
    )


def _gap(result: ImageUtility, metric: str):
    real, synth = result.scores[TRTR][metric], result.scores[TSTR][metric]
    return None if real is None or synth is None else real - synth


def image_utility_section(result: ImageUtility) -> Section:
    primary = PRIMARY if result.scores[TRTR][PRIMARY] is not None else "accuracy"
    real, synth, gap = result.scores[TRTR][primary], result.scores[TSTR][primary], _gap(result, primary)
    verdict = "good" if gap <= GOOD_GAP else "fair" if gap <= FAIR_GAP else "poor"
    auc = "ROC AUC" if result.n_classes == 2 else "macro one-vs-rest ROC AUC"
    rows = tuple(
        (m if m != PRIMARY else auc, result.scores[TRTR][m], result.scores[TSTR][m], _diff(result, m))
        for m in METRICS
    )
    return Section(
        key="image_utility",
        title="Image utility (train synthetic, test real)",
        summary=(
            f"A small CNN trained on {result.train_images[TSTR]} synthetic images reaches {primary} {synth:.3f} "
            f"on {result.test_images} real holdout images, against {real:.3f} for the same CNN trained on "
            f"{result.train_images[TRTR]} real images (a gap of {gap:.3f})."
        ),
        verdict=verdict,
        headline=[
            Headline(f"{primary}, trained on synthetic", synth, "The CNN trained on synthetic images (TSTR)."),
            Headline(f"{primary}, trained on real", real, "The same CNN trained on the real images (TRTR): the bar."),
            Headline("gap (TRTR - TSTR)", gap, f"How much {primary} is lost by training on synthetic; near 0 is best."),
            Headline("accuracy, baseline", result.baseline_accuracy, "Always predicting the most frequent real class."),
        ],
        notes=[
            f"Verdict: good when the gap is at most {GOOD_GAP}, fair up to {FAIR_GAP}, poor beyond (rules of thumb).",
            f"{auc} is the primary metric; accuracy depends on the class balance of the holdout.",
        ],
        tables=[Table("Scores on the real holdout images", ("metric", "TRTR", "TSTR", "TSTR - TRTR"), rows)],
        figures=[
            Figure(
                "bars",
                "Scores on the real holdout",
                tuple(r[0] for r in rows),
                {arm: tuple(result.scores[arm][m] for m in METRICS) for arm in (TRTR, TSTR)},
                domain=(0.0, 1.0),
                group="Trained on real vs trained on synthetic",
            )
        ],
        details={
            "scores": result.scores,
            "train_images": result.train_images,
            "test_images": result.test_images,
            "n_classes": result.n_classes,
            "primary_metric": primary,
            "gap": gap,
            "baseline_accuracy": result.baseline_accuracy,
        },
    )


def _diff(result: ImageUtility, metric: str):
    real, synth = result.scores[TRTR][metric], result.scores[TSTR][metric]
    return None if real is None or synth is None else synth - real
