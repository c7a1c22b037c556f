"""``synthgan demo``: the main job end to end on an embedded table (scikit-learn's breast cancer):
fit, sample, sample conditionally, evaluate against a holdout, write the report; then the
image GAN on digits, and a bias report across sex and age on scikit-learn's diabetes table."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthgan.io import atomic_path, write_table
from synthgan.schema import DISCRETE_KINDS

#: share of the table held out (stratified by diagnosis) to measure utility on
HOLDOUT_SHARE = 0.25


def load_breast_cancer_frame() -> pd.DataFrame:
    """569 tumours, 30 measurements and the diagnosis (``malignant`` / ``benign``)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    df = data.frame.copy()
    df["target"] = pd.Categorical.from_codes(data.target, list(data.target_names))
    return df.rename(columns={"target": "diagnosis"})


def summarise(real: pd.DataFrame, synthetic: pd.DataFrame, synth) -> str:
    """A short markdown comparison: marginals of every column, real against synthetic."""
    lines = ["| column | kind | real | synthetic |", "| --- | --- | --- | --- |"]
    for col in synth.transformer_.schema.columns:
        r, s = real[col.name], synthetic[col.name]
        if col.kind in DISCRETE_KINDS:
            shares_r = r.value_counts(normalize=True)
            shares_s = s.value_counts(normalize=True).reindex(shares_r.index, fill_value=0)
            fmt = lambda sh: ", ".join(f"{k}: {v:.0%}" for k, v in sh.items())  # noqa: E731
            lines.append(f"| {col.name} | {col.kind.value} | {fmt(shares_r)} | {fmt(shares_s)} |")
        else:
            lines.append(
                f"| {col.name} | {col.kind.value} | {r.mean():.4g} ± {r.std():.3g} | {s.mean():.4g} ± {s.std():.3g} |"
            )
    return "\n".join(lines)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits, 8x8, as uint8 (0-16 scaled to 0-255)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target


def run_image_demo(out: Path, epochs: int, seed: int, verbose: bool) -> str:
    """Fit the image GAN on digits; write a real-vs-synthetic grid and the model."""
    from synthgan import ImageSynthesizer
    from synthgan.image.grid import labelled_grid

    x, y = load_digits_images()
    start = time.perf_counter()
    # digits are 1,797 clean 8x8 images: they learn in 40 epochs at lr 1e-3, five times the
    # default, which is set for a few hundred noisy scans (at 1e-3 BreastMNIST does not learn)
    gen = ImageSynthesizer(
        epochs=epochs, generator_lr=1e-3, discriminator_lr=1e-3, seed=seed, verbose=verbose
    ).fit(x, y)
    fit_s = time.perf_counter() - start
    rows = []
    for digit in range(10):
        rows.append((f"real {digit}", x[y == digit][:8]))
        rows.append((f"fake {digit}", gen.sample(8, labels=[digit] * 8, seed=seed)))
    with atomic_path(out / "digits_grid.png") as tmp:
        labelled_grid(rows, scale=4).save(tmp, format="PNG")
    gen.save(out / "digits.synth")
    return (
        f"- images: class-conditional GAN on scikit-learn's digits (1,797 images, 8x8, 10 classes), "
        f"{epochs} epochs in {fit_s:.1f} s; real vs synthetic per digit: {out / 'digits_grid.png'}"
    )


def load_diabetes_frame() -> pd.DataFrame:
    """442 diabetes patients (age in years, sex coded 1/2, BMI, blood pressure, six serum
    measurements) and whether their disease progressed more than the median a year later."""
    from sklearn.datasets import load_diabetes

    df = load_diabetes(as_frame=True, scaled=False).frame
    df["sex"] = df["sex"].astype(int).astype(str)
    target = df.pop("target")
    df["progression"] = np.where(target > target.median(), "high", "low")
    return df


def _fit_line(history) -> str:
    """How long the fit trained and which epoch it kept, in words."""
    budget = history.budget or {}
    ran = f"{len(history.records)} of {history.planned_epochs} planned epochs (batch {budget.get('batch_size')})"
    if history.best_epoch is not None:
        ran += f", kept epoch {history.best_epoch}"
    return ran + (", stopped early" if history.stopped_early else "")


def run_fairness_demo(out: Path, epochs: int | None, seed: int, verbose: bool) -> tuple[str, object]:
    """Fit on scikit-learn's diabetes table and report bias across sex and age."""
    from sklearn.model_selection import train_test_split

    from synthgan import TabularSynthesizer
    from synthgan.evaluation import evaluate

    data = load_diabetes_frame()
    real, holdout = train_test_split(data, test_size=HOLDOUT_SHARE, stratify=data["progression"], random_state=seed)
    synth = TabularSynthesizer(epochs=epochs, seed=seed, verbose=verbose).fit(real)
    synthetic = synth.sample(len(real), seed=seed)
    report = evaluate(
        real, synthetic, holdout, target="progression", sensitive=["sex", "age"], seed=seed, verbose=verbose,
        title="synthgan demo: bias across sex and age (scikit-learn diabetes)",
    )
    report.to_html(out / "fairness_report.html")
    bias = report["bias"]
    flags = [n for n in bias.notes if n.startswith(("Group ", "Synthesis amplified", "Training on synthetic"))]
    line = (
        f"- bias: diabetes table ({len(data)} rows), sensitive sex and age, target progression (high/low): "
        f"verdict {bias.verdict}; {len(flags)} flag(s); {out / 'fairness_report.html'}"
    )
    return "\n".join([line] + [f"  - {f}" for f in flags]), report


def run_demo(
    out: Path, epochs: int | None = None, seed: int = 0, verbose: bool = True, image_epochs: int = 40
) -> Path:
    """Fit on 75% of the table with the library's defaults (``epochs=None``: the size-aware
    budget, best epoch kept), sample, and evaluate against the held-out 25%."""
    from sklearn.model_selection import train_test_split

    from synthgan import TabularSynthesizer
    from synthgan.evaluation import evaluate

    data = load_breast_cancer_frame()
    real, holdout = train_test_split(data, test_size=HOLDOUT_SHARE, stratify=data["diagnosis"], random_state=seed)
    start = time.perf_counter()
    synth = TabularSynthesizer(epochs=epochs, seed=seed, verbose=verbose).fit(real)
    fit_s = time.perf_counter() - start
    synthetic = synth.sample(len(data), seed=seed)
    malignant = synth.sample(200, conditions={"diagnosis": "malignant"}, seed=seed)
    start = time.perf_counter()
    report = evaluate(
        real, synthetic, holdout, target="diagnosis", seed=seed, verbose=verbose, model=synth,
        title="synthgan demo: breast cancer (scikit-learn)",
    )
    eval_s = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    synth.save(out / "model.synth")
    write_table(synthetic, out / "synthetic.csv")
    write_table(malignant, out / "synthetic_malignant.csv")
    report.to_html(out / "report.html")
    report.to_json(out / "report.json")
    image_line = run_image_demo(out, image_epochs, seed, verbose) if image_epochs > 0 else "- images: skipped"
    fairness_line, _ = run_fairness_demo(out, epochs, seed, verbose)
    corr_gap = float(
        np.abs(real.select_dtypes("number").corr() - synthetic.select_dtypes("number").corr()).to_numpy().mean()
    )
    text = "\n".join(
        [
            f"# synthgan demo: breast cancer (scikit-learn, {len(data)} rows, {data.shape[1]} columns)",
            "",
            f"- fit: {_fit_line(synth.history_)} in {fit_s:.1f} s on {synth.history_.device}"
            f" ({synth.history_.precision}), on {len(real)} rows; {len(holdout)} rows held out (stratified)"
            " for the evaluation",
            f"- wrote {out / 'synthetic.csv'} ({len(synthetic)} rows), {out / 'synthetic_malignant.csv'}"
            f" ({len(malignant)} rows, all diagnosis=malignant), and the model {out / 'model.synth'}",
            f"- mean absolute gap between real and synthetic correlation matrices: {corr_gap:.3f}",
            f"- evaluation in {eval_s:.1f} s: {out / 'report.html'} (open it in a browser) and {out / 'report.json'}",
            image_line,
            fairness_line,
            "",
            "```",
            report.summary(),
            "```",
            "",
            summarise(real, synthetic, synth),
            "",
        ]
    )
    summary = out / "summary.md"
    with atomic_path(summary) as tmp:
        tmp.write_text(text)
    return summary
