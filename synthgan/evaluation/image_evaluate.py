"""The image half of :func:`synthgan.evaluate`: utility, fidelity and sample grids as a Report."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from tqdm.auto import tqdm

from synthgan.evaluation import fid
from synthgan.evaluation.image_classifier import ClassifierConfig, train_classifier
from synthgan.evaluation.image_fidelity import check_fid_sizes, domain_fidelity, image_fidelity_section
from synthgan.evaluation.image_inputs import ImageSets, check_image_sets
from synthgan.evaluation.image_utility import image_tstr, image_utility_section
from synthgan.evaluation.diversity import image_diversity
from synthgan.evaluation.diversity_section import image_diversity_section
from synthgan.evaluation.utility import skipped_section
from synthgan.image.grid import labelled_grid
from synthgan.report import Figure, Report, Section

UTILITY_TITLE = "Image utility (train synthetic, test real)"
#: images per class shown in each sample grid
GRID_COLUMNS = 8
#: grid tiles are upscaled (nearest) to about this many pixels high
GRID_TILE = 56


def evaluate_images(
    real,
    synthetic,
    holdout=None,
    *,
    seed: int = 0,
    inception: bool = False,
    classifier: ClassifierConfig = ClassifierConfig(),
    title: str = "Synthetic data report",
    verbose: bool = True,
) -> Report:
    """See :func:`synthgan.evaluate`; ``real``, ``synthetic``, ``holdout`` are image sets."""
    sets = check_image_sets(real, synthetic, holdout)
    if sets.labelled:  # fail before training anything
        check_fid_sizes(len(sets.real.images), len(sets.synthetic.images))
    report = Report(
        title=title,
        dataset=_describe(sets, seed),
        versions={p: version(p) for p in ("synthgan", "torch", "scikit-learn")},
    )
    steps = ["classifier", "fidelity", "utility", "diversity", "samples"]
    with tqdm(total=len(steps), desc="evaluate", disable=not verbose, leave=False) as bar:
        bar.set_postfix_str("classifier on real images")
        real_model = None
        if sets.labelled:
            real_model = train_classifier(sets.real.images, sets.real.labels, len(sets.classes), seed, classifier)
        bar.update()

        bar.set_postfix_str("fidelity")
        distance = None
        if inception:
            distance = fid.image_distance(sets.real.images, sets.synthetic.images, seed=seed, verbose=verbose)
        if real_model is not None:
            report.add(image_fidelity_section(domain_fidelity(real_model, sets), distance))
        else:
            why = (
                "Domain FID and class accuracy need labelled real images of at least two classes "
                "(evaluate(real=(images, labels), ...))."
            )
            report.add(image_fidelity_section(None, distance, why))
        bar.update()

        bar.set_postfix_str("utility")
        reason = _why_no_utility(sets)
        if reason:
            report.add(skipped_section("image_utility", UTILITY_TITLE, reason))
        else:
            synthetic_model = train_classifier(
                sets.synthetic.images, sets.synthetic.labels, len(sets.classes), seed, classifier
            )
            result = image_tstr(
                real_model,
                synthetic_model,
                (len(sets.real.images), len(sets.synthetic.images)),
                sets.holdout.images,
                sets.holdout.labels,
                sets.real.labels,
            )
            report.add(image_utility_section(result))
        bar.update()

        bar.set_postfix_str("diversity")
        report.add(image_diversity_section(_diversity(sets, real_model, seed)))
        bar.update()

        bar.set_postfix_str("samples")
        report.add(samples_section(sets, seed))
        bar.update()
    return report


def _diversity(sets: ImageSets, real_model, seed: int):
    """PRDC and per-class spread in the domain CNN's feature space (pixels without labels)."""
    if real_model is not None:
        embed = real_model.features
    else:
        def embed(images):
            return images.reshape(len(images), -1).astype(np.float32) / 255.0
    def names(labels):
        return None if labels is None else np.asarray([str(c) for c in sets.classes], dtype=object)[labels]

    return image_diversity(
        embed(sets.real.images), names(sets.real.labels), embed(sets.synthetic.images), names(sets.synthetic.labels),
        seed=seed,
    )


def _why_no_utility(sets: ImageSets) -> str | None:
    if not sets.labelled:
        return "Skipped: the real images have no labels of at least two classes to predict."
    if sets.synthetic.labels is None:
        return "Skipped: the synthetic images have no labels (evaluate(synthetic=(images, labels), ...))."
    if sets.holdout is None or sets.holdout.labels is None:
        return (
            "Skipped: no labelled holdout was given. Utility needs real images the generator never saw "
            "(evaluate(..., holdout=(images, labels)))."
        )
    return None


def _rows(images: np.ndarray, labels: np.ndarray | None, classes: list, rng: np.random.Generator) -> list:
    if labels is None:
        groups = [("all", np.arange(len(images)))]
    else:
        groups = [(c, np.flatnonzero(labels == i)) for i, c in enumerate(classes)]
    rows = []
    for name, where in groups:
        if len(where):
            pick = rng.choice(where, min(GRID_COLUMNS, len(where)), replace=False)
            rows.append((name, images[np.sort(pick)]))
    return rows


def samples_section(sets: ImageSets, seed: int) -> Section:
    """Grids of real and synthetic images, one row per class, as embedded PNG figures."""
    rng = np.random.default_rng(seed)
    scale = max(1, GRID_TILE // sets.real.images.shape[1])
    figures = []
    for name, images in (("real", sets.real), ("synthetic", sets.synthetic)):
        labels = images.labels if sets.labelled else None
        rows = _rows(images.images, labels, sets.classes, rng)
        if rows:
            figures.append(
                Figure.from_image(
                    labelled_grid(rows, scale=scale),
                    f"{name.capitalize()} images",
                    caption=f"Up to {GRID_COLUMNS} random {name} images per class.",
                    group="Samples per class" if sets.labelled else "Samples",
                )
            )
    return Section(
        key="image_samples",
        title="Image samples",
        summary="Random real and synthetic images, one row per class: look for artefacts, copies and missing modes.",
        figures=figures,
        details={"columns": GRID_COLUMNS, "seed": seed},
    )


def _describe(sets: ImageSets, seed: int) -> dict:
    h, w, c = sets.real.images.shape[1:]
    out = {
        "real images": len(sets.real.images),
        "synthetic images": len(sets.synthetic.images),
        "holdout images": len(sets.holdout.images) if sets.holdout is not None else "none",
        "image shape": f"{h}x{w}x{c}",
    }
    if sets.classes:
        out["classes"] = ", ".join(str(c) for c in sets.classes)
    out["seed"] = seed
    return out
