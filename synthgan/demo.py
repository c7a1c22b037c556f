"""``synthgan demo``: the main job end to end on an embedded table (scikit-learn's breast cancer):
fit, sample, sample conditionally, evaluate against a holdout, write the report; then the
image GAN on digits, and a bias report across sex and age on scikit-learn's diabetes table."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthgan.io import atomic_path, write_table
from synthgan.schema import DISCRETE_KINDS

#: share of the table held out (stratified by diagnosis) to measure utility on
HOLDOUT_SHARE = 0.25
#: rows of scikit-learn's diabetes table (the bias stage)
DIABETES_ROWS = 442
#: every file the demo writes into its folder (``synthgan demo`` refuses to replace them without --overwrite)
DEMO_OUTPUTS = (
    "model.synth", "synthetic.csv", "synthetic_malignant.csv", "report.html", "report.json",
    "digits.synth", "digits_grid.png", "fairness_report.html", "summary.md",
)
#: environment variables through which a user sets the CPU threads; when one is set, the demo keeps it
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Stage estimates, from `synthgan demo` on a quiet 2-core x86 CPU with 2 torch threads
# (2026-11-29: 2 min 38 s in all; tabular fit 27 s, digits 1.8 min, diabetes 17 s). A busy
# machine, or one thread, is slower (a run beside other work with 1 thread took 4 min 24 s);
# the tabular fits are estimated at their full step budget, and early stopping may end them sooner.
#: seconds per optimiser step of the breast cancer GAN (31 columns, batch 50), validation included
BREAST_STEP_S = 0.0067
#: seconds per optimiser step of the diabetes GAN (11 columns, batch 40), validation included
DIABETES_STEP_S = 0.003
#: seconds to sample the breast cancer rows, evaluate them and write the outputs
EVALUATE_S = 3.0
#: seconds for the diabetes evaluation with its bias section
FAIRNESS_EVALUATE_S = 4.0
#: seconds per epoch of the digits image GAN (1,797 images, 8x8)
DIGITS_EPOCH_S = 2.7


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


def _physical_cores() -> int | None:
    try:
        import psutil  # optional: not a dependency
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def choose_threads(requested: int | None = None) -> tuple[int, str]:
    """Torch CPU threads for the demo, and why.

    ``requested`` wins; a thread count set in the environment (``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS``) is kept. Otherwise: the physical cores this process may run on,
    less the cores the 1-minute load average shows busy with other work, at least 1. A
    torch thread that shares its core with another busy process slows every step: on a
    2-core machine running other work, the digits GAN took 33 s an epoch with 2 threads and
    10 s with 1.
    """
    import torch

    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            from synthgan.errors import ConfigError

            raise ConfigError(f"threads={requested!r}: expected a whole number >= 1")
        return requested, "as asked"
    for name in THREAD_VARIABLES:
        if os.environ.get(name):
            return torch.get_num_threads(), f"{name}={os.environ[name]} in the environment"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    cores = min(usable, _physical_cores() or usable)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores, f"{cores} usable core(s)"
    busy = int(load + 0.5)
    free = max(1, min(cores, (os.cpu_count() or cores) - busy))
    return free, f"{cores} usable core(s), load average {load:.1f}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class _Stages:
    """Prints each stage as it starts, with its estimate, and its elapsed time at its end."""

    def __init__(self, estimates: list[float], verbose: bool):
        self.estimates, self.verbose, self.index = estimates, verbose, 0

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def stage(self, title: str):
        estimate, self.index = self.estimates[self.index], self.index + 1
        self.say(f"[{self.index}/{len(self.estimates)}] {title}: about {_duration(estimate)}")
        start = time.perf_counter()
        yield
        self.say(f"[{self.index}/{len(self.estimates)}] {title}: done in {_duration(time.perf_counter() - start)}")


def estimate_seconds(n_real: int, n_diabetes: int, epochs: int | None, image_epochs: int) -> list[float]:
    """Estimated seconds of each stage: tabular fit, sample and evaluate, digits, bias.

    Fits are estimated at their full step budget; early stopping usually ends them sooner.
    """
    from synthgan.config import TabularConfig
    from synthgan.tabular.budget import training_budget

    share = 1 - TabularConfig.model_fields["validation"].default
    steps = lambda rows: training_budget(int(rows * share), epochs=epochs).steps  # noqa: E731
    return [
        steps(n_real) * BREAST_STEP_S,
        EVALUATE_S,
        image_epochs * DIGITS_EPOCH_S,
        steps(round(n_diabetes * (1 - HOLDOUT_SHARE))) * DIABETES_STEP_S + FAIRNESS_EVALUATE_S,
    ]


def run_demo(
    out: Path, epochs: int | None = None, seed: int = 0, verbose: bool = True, image_epochs: int = 40,
    threads: int | None = None,
) -> Path:
    """Fit on 75% of the table with the library's defaults (``epochs=None``: the size-aware
    budget, best epoch kept), sample, and evaluate against the held-out 25%.

    ``threads``: torch CPU threads for the run (default: :func:`choose_threads`; pass
    ``torch.get_num_threads()`` to keep the process's setting); the process's setting is
    restored at the end. ``verbose`` prints each stage with its
    estimate and elapsed time (on stderr) and shows progress bars.
    """
    import torch

    count, why = choose_threads(threads)
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        return _run_demo(Path(out), epochs, seed, verbose, image_epochs, f"{count} torch thread(s) ({why})")
    finally:
        torch.set_num_threads(before)


def _run_demo(out: Path, epochs: int | None, seed: int, verbose: bool, image_epochs: int, threads: str) -> Path:
    from sklearn.model_selection import train_test_split

    from synthgan import TabularSynthesizer
    from synthgan.evaluation import evaluate

    began = time.perf_counter()
    data = load_breast_cancer_frame()
    real, holdout = train_test_split(data, test_size=HOLDOUT_SHARE, stratify=data["diagnosis"], random_state=seed)
    estimates = estimate_seconds(len(real), DIABETES_ROWS, epochs, image_epochs)
    stages = _Stages(estimates, verbose)
    stages.say(f"synthgan demo: 4 stages, about {_duration(sum(estimates))} in all; {threads}; writing to {out}")
    with stages.stage(f"fit the tabular GAN on breast cancer ({len(real)} rows, {data.shape[1]} columns)"):
        start = time.perf_counter()
        synth = TabularSynthesizer(epochs=epochs, seed=seed, verbose=verbose).fit(real)
        fit_s = time.perf_counter() - start
    with stages.stage(f"sample {len(data)} rows and evaluate them against {len(holdout)} held-out rows"):
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
    if image_epochs > 0:
        with stages.stage(f"fit the image GAN on digits ({image_epochs} epochs)"):
            image_line = run_image_demo(out, image_epochs, seed, verbose)
    else:
        stages.index += 1
        image_line = "- images: skipped"
    with stages.stage("fit and evaluate the diabetes table for bias across sex and age"):
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
            f"- ran in {time.perf_counter() - began:.0f} s with {threads}",
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
