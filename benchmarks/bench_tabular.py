"""synthgan TabularSynthesizer vs ctgan CTGAN on Adult, side by side in one run.

    python benchmarks/bench_tabular.py --epochs 300            # the full benchmark
    python benchmarks/bench_tabular.py --epochs 3 --rows 5000 --big-rows 0 --results /tmp/r.md

Both models get the same architecture (embedding 128, generator and discriminator (256, 256),
pac 10, lr 2e-4, WGAN-GP), batch size, epochs, seed and torch thread count. Each side runs
in its own child process (this script with --only), so its peak RSS is its own and neither
inherits the other's allocator state. Prints one markdown table, the quality-against-
seconds curves, and writes them into benchmarks/RESULTS.md (section "bench_tabular").
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_tabular"
TARGET, POSITIVE = "class", ">50K"
ARCH = dict(embedding_dim=128, generator_dim=(256, 256), discriminator_dim=(256, 256), pac=10)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=C.cpu_count(), help="torch/BLAS threads, both sides")
    p.add_argument("--amp", choices=["auto", "on", "off"], default="auto",
                   help="synthgan mixed precision (auto: synthgan's default, bf16 only where it is "
                        "faster; ctgan has no AMP and always runs fp32)")
    p.add_argument("--data", help="path to adult.csv (default: $SYNTHGAN_DATASETS or ../shared/datasets)")
    p.add_argument("--test-size", type=float, default=0.2, help="held-out real split (stratified)")
    p.add_argument("--rows", type=int, help="subsample the train split to this many rows (quick runs)")
    p.add_argument("--eval-every", type=int, default=25, help="epochs between curve points")
    p.add_argument("--eval-rows", type=int, default=5000, help="rows per curve QualityReport")
    p.add_argument("--sample-rows", type=int, default=1_000_000, help="rows for the sampling rate")
    p.add_argument("--big-rows", type=int, default=1_000_000,
                   help="rows of the resampled table for synthgan's transformer-fit check (0 skips)")
    p.add_argument("--results", type=Path, default=C.RESULTS_MD, help="markdown file to update")
    p.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    p.add_argument("--only", choices=["ctgan", "synthgan", "big"], help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def load_split(args):
    df = C.load_adult(C.dataset_path("adult.csv", args.data))
    train, test = C.split(df, TARGET, args.test_size, args.seed)
    if args.rows and args.rows < len(train):
        train = train.sample(args.rows, random_state=args.seed).reset_index(drop=True)
    return train, test


# ------------------------------------------------------------------ the two sides

def fit_ctgan(args, train, clock: C.EpochClock) -> dict:
    """Fit CTGAN, timing its epochs through the tqdm it wraps its epoch range in."""
    import ctgan.synthesizers.ctgan as ctgan_module
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer

    discrete = C.categorical_columns(train)
    t0 = time.perf_counter()
    transformer = DataTransformer()
    transformer.fit(train, discrete)
    t1 = time.perf_counter()
    transformer.transform(train)  # joblib-parallel over columns; this first call starts the pool
    t2 = time.perf_counter()
    transformer.transform(train)  # warm pool, as for the transform inside ctgan.fit
    out = {"transformer_fit_s": t1 - t0, "transform_cold_s": t2 - t1,
           "transform_s": time.perf_counter() - t2, "version": importlib.metadata.version("ctgan")}

    model = CTGAN(epochs=args.epochs, batch_size=args.batch_size, enable_gpu=False, **ARCH)
    model.set_random_state(args.seed)

    def timed_epochs(iterable, **_tqdm_kwargs):
        clock.start()  # first epoch starts after ctgan's own transformer fit and transform
        for epoch in iterable:
            yield epoch
            clock.stop(epoch + 1, model)  # resumed when the loop body of that epoch is done

    original = ctgan_module.tqdm
    ctgan_module.tqdm = timed_epochs
    try:
        t0 = time.perf_counter()
        model.fit(train, discrete)
        out["fit_s"] = time.perf_counter() - t0
    finally:
        ctgan_module.tqdm = original
    return out | {"model": model}


def ctgan_sample(model, n: int, _seed: int):
    """ctgan's sample() never calls eval() or no_grad(): its generator runs in train mode
    (batch-statistics BatchNorm) always, in fit and in sample. Keep whatever mode it had."""
    mode = model._generator.training
    try:
        return model.sample(n)
    finally:
        model._generator.train(mode)


def fit_synthgan(args, train, clock: C.EpochClock) -> dict:
    import synthgan
    from synthgan import TabularSynthesizer

    synth = TabularSynthesizer(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                               device="cpu", amp={"auto": "auto", "on": True, "off": False}[args.amp], verbose=False, **ARCH)

    def on_epoch_end(epoch: int, model) -> None:
        # the harness cannot see when epoch 1 starts (transformer work precedes it) and
        # history_ only appears when fit returns: epoch 1 is filled in from it below
        clock.stop(epoch, model, seconds=0.0 if epoch == 1 else None)

    t0 = time.perf_counter()
    synth.fit(train, on_epoch_end=on_epoch_end)
    fit_s = time.perf_counter() - t0
    own = list(synth.history_.epoch_seconds)
    clock.epoch_seconds[0] = own[0]
    return {
        "transformer_fit_s": synth.timings_["transformer_fit_s"],
        "transform_s": synth.timings_.get("transform_s"),
        "fit_s": fit_s,
        "own_train_s": synth.timings_.get("train_s"),
        "own_epoch_median_s": statistics.median(own) if own else None,
        "precision": synth.history_.precision,
        "gmm_subsample": synth.get_params().get("gmm_subsample"),
        "version": f"{getattr(synthgan, '__version__', '?')} ({Path(synthgan.__file__).parent})",
        "model": synth,
    }


def synthgan_sample(model, n: int, seed: int):
    return model.sample(n, seed=seed)


def run_side(args) -> dict:
    """One side's whole measurement, in this (child) process."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    torch.manual_seed(args.seed)
    train, test = load_split(args)
    if args.only == "big":
        return big_rows_check(args, train)
    metadata = C.sdmetrics_metadata(train)
    real_eval = train.sample(min(args.eval_rows, len(train)), random_state=args.seed)
    sample = ctgan_sample if args.only == "ctgan" else synthgan_sample

    def evaluate(model, epoch: int) -> float:
        rows = sample(model, args.eval_rows, args.seed + epoch)
        return C.quality_score(real_eval, rows, metadata)

    clock = C.EpochClock(evaluate, args.eval_every, args.epochs)
    rss_before = C.peak_rss_mib()
    fit = fit_ctgan if args.only == "ctgan" else fit_synthgan
    out = fit(args, train, clock)
    out["rss_before_fit_mib"], out["rss_peak_fit_mib"] = rss_before, C.peak_rss_mib()
    model = out.pop("model")

    sample(model, 1000, args.seed)  # warm-up: first-call allocations are not sampling speed
    if args.only == "ctgan":  # how much of ctgan's sampling is its DataTransformer
        inverse, spent = model._transformer.inverse_transform, [0.0]

        def timed_inverse(*a, **k):
            t = time.perf_counter()
            try:
                return inverse(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t

        model._transformer.inverse_transform = timed_inverse
    t0 = time.perf_counter()
    big = sample(model, args.sample_rows, args.seed + 1)
    out["sample_s"] = time.perf_counter() - t0
    assert len(big) == args.sample_rows
    del big
    if args.only == "ctgan":
        out["sample_inverse_transform_s"] = spent[0]
        del model._transformer.inverse_transform

    synthetic = sample(model, len(train), args.seed + 2)
    out |= {
        "epoch_seconds": clock.epoch_seconds,
        "eval_seconds": clock.eval_seconds,
        "curve": clock.curve(),
        "quality": C.quality_score(train, synthetic, metadata),
        "tstr": C.train_test_utility(synthetic, test, TARGET, POSITIVE, args.seed),
        "rss_peak_end_mib": C.peak_rss_mib(),
    }
    return out


def big_rows_check(args, train) -> dict:
    """synthgan's transformer fit on a resampled table of --big-rows rows, through the public
    API: one epoch with a large batch, so the check costs a few steps of training."""
    from synthgan import TabularSynthesizer

    big = C.resample_with_noise(train, args.big_rows, args.seed)
    synth = TabularSynthesizer(epochs=1, batch_size=50_000, seed=args.seed, device="cpu",
                               amp={"auto": "auto", "on": True, "off": False}[args.amp], verbose=False, **ARCH)
    t0 = time.perf_counter()
    synth.fit(big)
    return {"rows": len(big), "transformer_fit_s": synth.timings_["transformer_fit_s"],
            "transform_s": synth.timings_.get("transform_s"), "fit_s": time.perf_counter() - t0}


# ------------------------------------------------------------------ report

def run_child(side: str) -> dict:
    """Run one side in a fresh interpreter. CPU used meanwhile by other processes is
    recorded: it skews the comparison, ctgan's many small OpenMP regions most."""
    busy, ours, start = C.busy_cpu_seconds(), C.children_cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{side}.json"
        cmd = [sys.executable, __file__, *sys.argv[1:], "--only", side, "--out", str(out)]
        print(f"[bench_tabular] running {side} in a child process ...", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        result = json.loads(out.read_text())
    foreign = C.busy_cpu_seconds() - busy - (C.children_cpu_seconds() - ours)
    result["other_cores"] = max(foreign, 0.0) / (time.perf_counter() - start)
    if result["other_cores"] > 0.1:
        print(f"[bench_tabular] warning: other processes used {result['other_cores']:.2f} cores "
              f"during {side}: timings are skewed, rerun on a quiet machine", file=sys.stderr)
    return result


NOTES = """\
How each figure is taken:
- transformer fit: ctgan `DataTransformer().fit(train, discrete_columns)` timed alone (ctgan.fit \
repeats it; it fits a Bayesian GMM on every row of each numeric column); synthgan \
`timings_['transformer_fit_s']` of the benchmarked fit (its mixtures see at most \
gmm_subsample={gmm_subsample} rows per column). Transform: ctgan `DataTransformer.transform` \
(joblib processes, one task per column) timed with its worker pool started (first call, pool \
start included: {transform_cold} s); synthgan `timings_['transform_s']`. The resampled-rows \
check is a 1-epoch synthgan fit with batch 50,000 on Adult rows drawn with replacement, \
numeric columns plus Gaussian noise of 0.01 std.
- seconds per epoch: harness clock at each epoch end (ctgan: its `tqdm` epoch iterator is \
replaced by a timing generator; synthgan: `on_epoch_end`, epoch 1 from its own \
`history_.epoch_seconds`), curve evaluation excluded; median over epochs (synthgan's own \
median: {own_median} s).
- sampling: one call for {sample_rows:,} rows after a 1,000-row warm-up. ctgan's sample() \
draws 500 rows per generator call, with the generator in train mode (batch-statistics \
BatchNorm) and autograd on, as ctgan always does; {inverse} s of it were its \
DataTransformer.inverse_transform.
- peak RSS: `ru_maxrss` (RUSAGE_SELF) of each side's child process read right after fit: it \
includes interpreter, torch, data and the curve evaluations, not the later sampling; ctgan's \
joblib worker processes are not counted.
- quality: sdmetrics single-table QualityReport (metadata from dtypes: numeric -> numerical, \
else categorical) on as many synthetic rows as train rows. TSTR: the classifiers fit on \
those synthetic rows, scored on the held-out real rows (positive class `>50K`); TRTR: the \
same classifiers fit on the real train rows. HistGradientBoosting uses native categorical \
splits; LogisticRegression one-hot + standard scaling.
- ratios are ctgan / synthgan: for times and memory above 1 favours synthgan; for rates and \
scores below 1 favours synthgan.
"""


def render(args, ct: dict, sg: dict, big: dict | None, trtr: dict, n_train: int, n_test: int) -> str:
    f, rows = C.fmt, []

    def row(name, a, b, real=None):
        rows.append([name, f(a), f(b), f(C.ratio(a, b)), "" if real is None else f(real)])

    med_ct, med_sg = (statistics.median(x["epoch_seconds"]) for x in (ct, sg))
    row(f"transformer fit, {n_train:,} train rows (s)", ct["transformer_fit_s"], sg["transformer_fit_s"])
    row("transform, encode the train rows (s)", ct["transform_s"], sg["transform_s"])
    if big:
        row(f"transformer fit, {big['rows']:,} resampled rows (s)", None, big["transformer_fit_s"])
    row("seconds per epoch, median (s)", med_ct, med_sg)
    row(f"training seconds, {args.epochs} epochs, eval excluded (s)",
        sum(ct["epoch_seconds"]), sum(sg["epoch_seconds"]))
    row(f"sample {args.sample_rows:,} rows (s)", ct["sample_s"], sg["sample_s"])
    row("sampling rate (rows/s)", args.sample_rows / ct["sample_s"], args.sample_rows / sg["sample_s"])
    row("peak RSS of the fit process (MiB)", ct["rss_peak_fit_mib"], sg["rss_peak_fit_mib"])
    row("RSS before fit: imports + data (MiB)", ct["rss_before_fit_mib"], sg["rss_before_fit_mib"])
    row(f"QualityReport overall, {n_train:,} synthetic vs train rows", ct["quality"], sg["quality"])
    for model, label in (("hgb", "HistGradientBoosting"), ("logreg", "LogisticRegression")):
        for metric, mlabel in (("macro_f1", "macro F1"), ("roc_auc", "ROC AUC")):
            row(f"TSTR {label} {mlabel} (real: TRTR)", ct["tstr"][model][metric],
                sg["tstr"][model][metric], trtr[model][metric])

    ttq = "time to quality: n/a (no curve points)"
    if ct["curve"] and sg["curve"]:
        target, ct_seconds = ct["curve"][-1][2], ct["curve"][-1][1]
        reached = C.time_to_reach(target, sg["curve"])
        row(f"training s to reach ctgan's final curve score {target:.3f}",
            ct_seconds, reached and reached[1])
        ttq = (f"time to quality: synthgan first reached ctgan's final curve score {target:.3f} at "
               f"epoch {reached[0]}, after {reached[1]:.1f} s of training = "
               f"**{reached[1] / ct_seconds:.2f}x** ctgan's {ct_seconds:.1f} s." if reached else
               f"time to quality: synthgan did not reach ctgan's final curve score {target:.3f} "
               f"(its best: {max(p[2] for p in sg['curve']):.3f}).")
    curves = [[e, f(cs), f(cq), f(ss), f(sq)] for (e, cs, cq), (_, ss, sq) in zip(ct["curve"], sg["curve"])]
    m = C.machine()
    return "\n".join([
        "## bench_tabular: synthgan TabularSynthesizer vs ctgan CTGAN on Adult",
        "",
        f"- command: `python benchmarks/bench_tabular.py {shlex.join(sys.argv[1:])}`",
        f"- date: {m['date']}",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), no GPU, torch {m['torch']}, Python "
        f"{m['python']}; {args.threads} torch/BLAS threads each side; CPU used by other processes "
        f"meanwhile: ctgan {ct['other_cores']:.2f} cores, synthgan {sg['other_cores']:.2f} cores"
        + (f", resampled-rows check {big['other_cores']:.2f} cores" if big else ""),
        f"- versions: ctgan {ct['version']}, synthgan {sg['version']}",
        f"- data: Adult, {n_train:,} train rows / {n_test:,} held-out real rows (stratified, seed "
        f"{args.seed}); batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}; "
        f"precision: ctgan fp32, synthgan {sg['precision']}",
        "",
        C.markdown_table(["measurement", "ctgan", "synthgan", "ctgan / synthgan", "real (TRTR)"], rows),
        "",
        ttq,
        "",
        f"Quality against training seconds (QualityReport on {args.eval_rows:,} sampled rows vs "
        f"the same {args.eval_rows:,}-row real train subsample; seconds exclude evaluation):",
        "",
        C.markdown_table(["epoch", "ctgan s", "ctgan score", "synthgan s", "synthgan score"], curves),
        "",
        NOTES.format(gmm_subsample=sg.get("gmm_subsample"), transform_cold=f(ct["transform_cold_s"]),
                     own_median=f(sg["own_epoch_median_s"]), sample_rows=args.sample_rows,
                     inverse=f(ct["sample_inverse_transform_s"])),
    ])


def main() -> None:
    args = parse_args()
    if args.only:
        result = run_side(args)
        Path(args.out).write_text(json.dumps(result))
        return
    ct, sg = run_child("ctgan"), run_child("synthgan")
    big = run_child("big") if args.big_rows > 0 else None
    train, test = load_split(args)
    trtr = C.train_test_utility(train, test, TARGET, POSITIVE, args.seed)
    body = render(args, ct, sg, big, trtr, len(train), len(test))
    print(body)
    if not args.no_write:
        C.write_section(SECTION, body, args.results)
        print(f"[bench_tabular] wrote section {SECTION!r} of {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
