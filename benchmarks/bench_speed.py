"""Training and sampling speed, synthgan vs ctgan, both sides timed the same way (issue 19).

    python benchmarks/bench_speed.py --markdown benchmarks/RESULTS.md          # on a quiet machine
    python benchmarks/bench_speed.py --smoke --threads 1 --allow-busy          # checks the script only

Why not bench_tabular's per-epoch figure: there ctgan's epochs were read off a replaced ``tqdm``
and synthgan's off ``on_epoch_end``, as a median over one 300-epoch run with evaluation between
epochs, and synthgan held out 10% of the rows (fewer steps per epoch) with a narrower encoding.
Here both sides are measured the way a user meets them, by whole ``fit`` calls:

- every fit runs in its own fresh child process (this script with --cell), one at a time, with the
  same thread count set three ways (OMP/MKL/OPENBLAS_NUM_THREADS in the child's environment,
  ``torch.set_num_threads`` and ``threadpoolctl``); nothing else runs in the child;
- each side is fitted at several epoch counts (default 1, 4, 7), --repeats times (default 3),
  the sides and epoch counts interleaved so drift of the machine hits both alike;
- seconds per epoch = least-squares slope of the median fit seconds against epochs, so fixed
  costs (imports excluded; transformer fit, transform, model set-up, post-fit work) cancel;
  the slope of each interval is shown too, so epochs that get slower as training goes on show;
- the 1-minute load average is read before and after every cell, and the CPU other processes
  used during it; a cell does not start while the load is above --max-load (default 0.5) after
  waiting up to --settle seconds for it to fall (our own last child raises it), unless --allow-busy,
  which runs anyway and marks every figure as taken on a busy machine;
- transformer fit and transform seconds of both sides come from inside those same fits;
  sampling --sample-rows rows (after a 1,000-row warm-up) is timed in the fits with the most epochs;
- a per-step profile of synthgan's training step (manual sections around each part, the step as
  shipped, torch.profiler's top ops) next to the bare arithmetic of the same networks (a plain
  torch loop at the same shapes, no data pipeline), in its own child (cell ``profile``).

Like-for-like options (side ``synthgan``): ctgan 0.12.1's architecture and optimiser (embedding
128, generator and critic (256, 256), pac 10, Adam 2e-4 betas (0.5, 0.9) decay 1e-6, one critic
step, WGAN-GP weight 10 every step) and, to match what ctgan computes, ``continuous_encoding=
"mixture"`` (ctgan's mode-specific normalisation: same matrix width class), ``validation=0`` (all
rows trained on, so the same steps per epoch, and no scoring), ``patience=0``, ``generator_ema=0``
(ctgan keeps no average), ``amp=False`` (ctgan is fp32; --amp auto|on to time synthgan's
mixed precision instead). Side ``synthgan-defaults`` (off unless --sides names it) is the library as
shipped with only epochs, batch size, seed and device fixed. The json (default
benchmarks/results/speed.json) is rewritten after every cell; --resume-from continues it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_speed"
DEFAULT_JSON = C.RESULTS_DIR / "speed.json"
SMOKE_JSON = C.RESULTS_DIR / "speed-smoke.json"
TEST_SIZE = 0.2
TARGET = "class"
PACKAGES = ("synthgan", "ctgan", "torch", "numpy", "pandas", "sdmetrics", "threadpoolctl")
SIDES = ("ctgan", "synthgan", "synthgan-defaults")
#: time-to-quality cells (--quality): ctgan at its 300 epochs, synthgan as shipped, and as shipped
#: with ctgan's mode-specific normalisation (which of the defaults bought what)
QUALITY_SIDES = ("ctgan", "synthgan-defaults", "synthgan-defaults-mixture")
ARCH = dict(embedding_dim=128, generator_dim=(256, 256), discriminator_dim=(256, 256), pac=10)
LIKE_FOR_LIKE = dict(continuous_encoding="mixture", validation=0.0, patience=0, generator_ema=0.0,
                     gp_every=1, discriminator_steps=1, generator_lr=2e-4, discriminator_lr=2e-4,
                     generator_decay=1e-6, discriminator_decay=1e-6, gp_weight=10.0)
SMOKE = dict(rows=1500, epochs=[1, 2], repeats=1, sample_rows=20_000, profile_steps=3)
TINY = 1.1754943508222875e-38  # smallest normal float32


# ------------------------------------------------------------------ in the child: one cell

def child_threads(args) -> dict:
    """The thread count, set the three ways, and what the child's libraries report."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    flushed = torch.set_flush_denormal(True) if args.flush_denormal else False
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    return {
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "pools": sorted({f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()}),
        "flush_denormal": bool(flushed),
    }


def load_train(args):
    df = C.load_adult(C.dataset_path("adult.csv", args.data))
    train, _ = C.split(df, TARGET, args.test_size, args.seed)
    if args.rows and args.rows < len(train):
        train = train.sample(args.rows, random_state=args.seed).reset_index(drop=True)
    return train


def denormal_share(x) -> dict:
    """Share of subnormal float32 values in ``x`` (the Gumbel-softmax at tau 0.2 makes them as
    a generator grows confident; on some CPUs every op that touches one is many times slower)."""
    x = x.detach().float()
    sub = ((x != 0) & (x.abs() < TINY)).float().mean().item()
    return {"subnormal": sub, "zero": (x == 0).float().mean().item()}


def timed_method(cls, name: str, spent: dict, key: str) -> None:
    """Wrap ``cls.name`` so the seconds spent in it add up in ``spent[key]`` (child process only)."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapper(*a, **k):
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            spent[key] += time.perf_counter() - start

    setattr(cls, name, wrapper)


def cell_ctgan(args, train, epochs: int, sample: bool) -> dict:
    import torch
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer

    spent = defaultdict(float)  # ctgan.fit's own transformer fit and transform, timed from inside it
    timed_method(DataTransformer, "fit", spent, "transformer_fit_s")
    timed_method(DataTransformer, "transform", spent, "transform_s")
    discrete = C.categorical_columns(train)
    model = CTGAN(epochs=epochs, batch_size=args.batch_size, enable_gpu=False, **ARCH)
    model.set_random_state(args.seed)
    start = time.perf_counter()
    model.fit(train, discrete)
    out = {"fit_s": time.perf_counter() - start, **spent,
           "steps_per_epoch": max(len(train) // args.batch_size, 1),
           "data_width": model._transformer.output_dimensions,
           "condition_width": model._data_sampler.dim_cond_vec(), "precision": "fp32"}
    with torch.no_grad():  # ctgan's generator as ctgan runs it: train mode, its own activation
        n = args.batch_size
        c1 = torch.from_numpy(model._data_sampler.sample_condvec(n)[0])
        raw = model._generator(torch.cat([torch.randn(n, ARCH["embedding_dim"]), c1], dim=1))
        out["activated_output"] = denormal_share(model._apply_activate(raw))
    if sample:
        model.sample(1000)  # warm-up: first-call allocations are not sampling speed
        inverse, spent_inverse = model._transformer.inverse_transform, [0.0]

        def timed_inverse(*a, **k):
            t = time.perf_counter()
            try:
                return inverse(*a, **k)
            finally:
                spent_inverse[0] += time.perf_counter() - t

        model._transformer.inverse_transform = timed_inverse
        start = time.perf_counter()
        rows = model.sample(args.sample_rows)
        out["sample_s"] = time.perf_counter() - start
        out["sample_inverse_transform_s"] = spent_inverse[0]
        assert len(rows) == args.sample_rows
    return out


def synthgan_options(side: str, args) -> dict:
    options = dict(epochs=None, batch_size=args.batch_size, seed=args.seed, device="cpu", verbose=False)
    if side == "synthgan":
        options |= ARCH | LIKE_FOR_LIKE | {"amp": {"auto": "auto", "on": True, "off": False}[args.amp]}
    return options


def fit_synthgan(side: str, args, train, epochs: int, on_epoch_end=None):
    from synthgan import TabularSynthesizer

    options = synthgan_options(side, args) | {"epochs": epochs}
    synth = TabularSynthesizer(**options)
    metadata = {c: "categorical" for c in C.categorical_columns(train)}  # the columns ctgan is told are discrete
    start = time.perf_counter()
    synth.fit(train, metadata=metadata, on_epoch_end=on_epoch_end)
    return synth, time.perf_counter() - start


def cell_synthgan(side: str, args, train, epochs: int, sample: bool) -> dict:
    import torch
    from synthgan.tabular.model import TAU

    synth, fit_s = fit_synthgan(side, args, train, epochs)
    m, layout = synth.model_, synth.transformer_.layout
    out = {"fit_s": fit_s, "transformer_fit_s": synth.timings_["transformer_fit_s"],
           "transform_s": synth.timings_.get("transform_s"), "train_s": synth.timings_.get("train_s"),
           "own_epoch_s": synth.history_.epoch_seconds, "steps_per_epoch": m.steps_per_epoch,
           "epochs_run": len(synth.history_.records), "data_width": layout.width,
           "condition_width": layout.condition_width, "precision": synth.history_.precision,
           "options": {k: v for k, v in synth.get_params().items() if not callable(v)}}
    with torch.no_grad():
        gen = torch.Generator().manual_seed(args.seed)
        cond = m.sampler.sample_original(args.batch_size, gen)
        raw = m.net_g(torch.cat([torch.randn((len(cond), m.config.embedding_dim), generator=gen), cond], dim=1))
        out["activated_output"] = denormal_share(m.ops.activate(raw, TAU, gen))
    if sample:
        synth.sample(1000, seed=args.seed, privacy=False)  # warm-up
        for privacy, key in ((False, "sample_s"), ("exact", "sample_exact_s")):
            start = time.perf_counter()
            rows = synth.sample(args.sample_rows, seed=args.seed + 1, privacy=privacy)
            out[key] = time.perf_counter() - start
            assert len(rows) == args.sample_rows
        dtype = synth._sampling_dtype()
        out["sample_precision"] = str(dtype).replace("torch.", "")
        out["sample_generator_only_s"] = generator_floor(m, args.sample_rows, dtype)
        out["sample_generator_only_fp32_s"] = generator_floor(m, args.sample_rows, torch.float32)
        synth.sample_precision = "fp32"
        start = time.perf_counter()
        rows = synth.sample(args.sample_rows, seed=args.seed + 1, privacy=False)
        out["sample_fp32_s"] = time.perf_counter() - start
        assert len(rows) == args.sample_rows
    return out


def cell_quality(args, train, side: str) -> dict:
    """One whole fit at the side's own defaults (ctgan: ``args.quality_epochs`` epochs), then as
    many rows sampled as train rows, scored with sdmetrics' QualityReport against the train rows."""
    metadata = {c: "categorical" for c in C.categorical_columns(train)}
    start = time.perf_counter()
    if side == "ctgan":
        from ctgan import CTGAN

        model = CTGAN(epochs=args.quality_epochs, batch_size=args.batch_size, enable_gpu=False, **ARCH)
        model.set_random_state(args.seed)
        model.fit(train, list(metadata))
        fit_s = time.perf_counter() - start
        rows, extra = model.sample(len(train)), {"epochs_run": args.quality_epochs}
    else:
        from synthgan import TabularSynthesizer

        options = dict(seed=args.seed, device="cpu", verbose=False)
        if side == "synthgan-defaults-mixture":
            options["continuous_encoding"] = "mixture"
        synth = TabularSynthesizer(**options).fit(train, metadata=metadata)
        fit_s = time.perf_counter() - start
        h = synth.history_
        rows = synth.sample(len(train), seed=args.seed)
        extra = {"epochs_run": len(h.records), "planned_epochs": h.planned_epochs, "best_epoch": h.best_epoch,
                 "stopped_early": h.stopped_early, "batch_size": (h.budget or {}).get("batch_size"),
                 "train_s": synth.timings_.get("train_s"), "precision": h.precision}
    quality = C.quality_score(train, rows, C.sdmetrics_metadata(train))
    return {"fit_s": fit_s, "quality": quality, **extra}


def generator_floor(m, n: int, dtype) -> float:
    """Seconds of the generator's arithmetic alone for ``n`` rows (the eval-mode ``infer`` the
    sampler uses, in ``dtype``, in the sampler's chunks), inputs made up front."""
    import torch
    from synthgan.tabular.synthesizer import SAMPLE_CHUNK

    net = m.net_g.eval()
    width = m.config.embedding_dim + m.layout.condition_width
    x = torch.randn((min(SAMPLE_CHUNK, n), width))
    with torch.inference_mode():
        net.infer(x[:1000], dtype)
        start = time.perf_counter()
        for done in range(0, n, SAMPLE_CHUNK):
            net.infer(x[: min(SAMPLE_CHUNK, n - done)], dtype)
        return time.perf_counter() - start


# ------------------------------------------------------------------ in the child: the step profile

class Sections:
    """Wall seconds per named section; CPU torch ops are synchronous, CUDA ones are synchronised."""

    def __init__(self, device):
        import torch

        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, name: str):
        self.sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.sync()
            self.seconds[name] += time.perf_counter() - start


def mirrored_step(m, sec: Sections) -> None:
    """``CTGANModel.train_step`` as of this commit (no target head), cut into timed sections
    around the model's own methods. It is a copy of the step's order of calls, not a hook:
    ``profile_cell`` times the real ``train_step`` beside it and flags a drift."""
    import torch
    from synthgan.tabular.model import TAU

    cfg, prec, n = m.config, m.precision, m.batch_size
    for _ in range(cfg.discriminator_steps):
        with sec("sampler: conditions + real rows"):
            cond, rows = m._conditions(n)
            real = torch.cat([m.data[rows], cond], dim=1)
        with torch.no_grad():
            with sec("noise"):
                z = torch.cat([m._noise(len(cond)), cond], dim=1)
            with sec("generator forward"), prec.autocast():
                raw = m.train_g(z)
            with sec("activations: tanh + Gumbel-softmax"):
                fake = torch.cat([m.ops.activate(raw, TAU, m.generator), cond], dim=1)
        m._critic_steps += 1
        penalise = cfg.gp_weight > 0 and m._critic_steps % cfg.gp_every == 0
        with prec.autocast():
            with sec("critic forward (fake + real, one call)"):
                scores = m.train_d(torch.cat([fake, real])).float()
                n_fake = len(fake) // cfg.pac
                loss_total = scores[:n_fake].mean() - scores[n_fake:].mean()
            if penalise:
                with sec("gradient penalty: forward + input gradient"):
                    loss_total = loss_total + m._gradient_penalty(real, fake) * cfg.gp_every
        with sec("critic backward (penalty's double backward included)"):
            m.opt_d.zero_grad(set_to_none=True)
            prec.backward(loss_total)
        with sec("critic optimiser step"):
            prec.step(m.opt_d)
    with sec("sampler: conditions + real rows"):
        cond, _ = m._conditions(n)
    with prec.autocast():
        with sec("noise"):
            z = torch.cat([m._noise(len(cond)), cond], dim=1)
        with sec("generator forward"):
            raw = m.train_g(z)
        with sec("activations: tanh + Gumbel-softmax"):
            fake = m.ops.activate(raw, TAU, m.generator)
        with sec("critic forward (generator step)"):
            critic = m.net_d(torch.cat([fake, cond], dim=1)).float()
        with sec("conditional loss"):
            loss_g = -critic.mean() + m.ops.condition_loss(raw, cond)
    with sec("generator backward"):
        m.opt_g.zero_grad(set_to_none=True)
        prec.backward(loss_g)
    with sec("generator optimiser step"):
        prec.step(m.opt_g)
    if m.net_g_ema is not None:
        with sec("generator EMA update"):
            m._update_ema()


def bare_step_seconds(m, steps: int, dtype=None) -> float:
    """Seconds per step of the networks' arithmetic alone: fresh networks of the model's classes
    and shapes, fixed made-up inputs, synthgan's step structure (critic on fake and real in one
    call, penalty with double backward, fused Adam on both), no sampler, activations or losses."""
    import torch
    from synthgan.tabular.networks import Discriminator, Generator

    cfg, n = m.config, m.batch_size
    width, cond_w = m.layout.width, m.layout.condition_width
    g = Generator(cfg.embedding_dim + cond_w, cfg.generator_dim, width)
    d = Discriminator(width + cond_w, cfg.discriminator_dim, cfg.pac)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.9), fused=True)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.9), fused=True)
    z = torch.randn(n, cfg.embedding_dim + cond_w)
    cond = torch.zeros(n, cond_w)
    real = torch.randn(n, width + cond_w)
    alpha = torch.rand(n // cfg.pac, 1, 1).expand(-1, cfg.pac, width + cond_w).reshape(n, -1)
    def autocast():
        return torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def step():
        with torch.no_grad(), autocast():
            fake = torch.cat([g(z).float(), cond], dim=1)
        with autocast():
            scores = d(torch.cat([fake, real])).float()
            loss = scores[: n // cfg.pac].mean() - scores[n // cfg.pac:].mean()
            mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(d(mixed).float().sum(), mixed, create_graph=True)
            loss = loss + ((grad.float().reshape(-1, cfg.pac * mixed.shape[1]).norm(2, dim=1) - 1) ** 2).mean() * 10
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        with autocast():
            loss_g = -d(torch.cat([g(z).float(), cond], dim=1)).float().mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cell_profile(args, train) -> dict:
    """The per-step profile, taken at the end of epoch 1 of a like-for-like synthgan fit
    (``on_epoch_end`` is the one place the prepared model, its data and optimisers are reachable)."""
    import torch

    steps, out = args.profile_steps, {}

    def on_epoch_end(epoch: int, synth) -> None:
        if epoch != 1:
            return
        m = synth.model_
        assert m.net_c is None, "the mirrored step has no target head"
        for _ in range(3):
            m.train_step()
        shipped, mirrored, sec = [], [], Sections(m.device)
        for _ in range(steps):  # interleaved, so drift of the machine hits both alike
            start = time.perf_counter()
            m.train_step()
            shipped.append(time.perf_counter() - start)
            start = time.perf_counter()
            mirrored_step(m, sec)
            mirrored.append(time.perf_counter() - start)
        mirror_wall = statistics.fmean(mirrored)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(min(steps, 10)):
                m.train_step()
        events = prof.key_averages()
        per = min(steps, 10)
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
        out.update({
            "steps": steps, "batch_size": m.batch_size, "precision": m.precision.name,
            "data_width": m.layout.width, "condition_width": m.layout.condition_width,
            "shipped_step_s": statistics.median(shipped), "shipped_step_mean_s": statistics.fmean(shipped),
            "mirror_step_s": mirror_wall, "mirror_step_median_s": statistics.median(mirrored),
            "sections_s": {k: v / steps for k, v in sec.seconds.items()},
            "aten_ops_per_step": sum(e.count for e in events if e.key.startswith("aten::")) / per,
            "profiler_top": [{"op": e.key, "calls_per_step": e.count / per,
                              "self_cpu_ms_per_step": e.self_cpu_time_total / 1e3 / per} for e in top],
        })
        out["bare_fp32_step_s"] = bare_step_seconds(m, steps)
        flags = cpu_flags()
        if flags & {"avx512_bf16", "amx_bf16"}:
            out["bare_bf16_step_s"] = bare_step_seconds(m, steps, torch.bfloat16)

    fit_synthgan("synthgan", args, train, 1, on_epoch_end)
    return out


def run_cell(args, key: str) -> dict:
    kind, side, *rest = key.split("/")
    threads = child_threads(args)
    import torch

    torch.manual_seed(args.seed)
    train = load_train(args)
    if kind == "profile":
        out = cell_profile(args, train)
    elif kind == "quality":
        out = cell_quality(args, train, side)
    else:
        epochs, sample = int(rest[0][1:]), int(rest[0][1:]) == max(args.epochs)
        out = cell_ctgan(args, train, epochs, sample) if side == "ctgan" else \
            cell_synthgan(side, args, train, epochs, sample)
        out["epochs"] = epochs
    return out | {"threads": threads, "train_rows": len(train), "peak_rss_mib": C.peak_rss_mib()}


# ------------------------------------------------------------------ in the parent: cells, load, json

def wait_until_quiet(args) -> dict:
    """Wait up to --settle s for the 1-minute load to fall to --max-load, then measure the CPU
    other processes use over 2 s; ``busy`` when either is too high."""
    waited, start = 0.0, time.perf_counter()
    while not args.allow_busy and os.getloadavg()[0] > args.max_load and waited < args.settle:
        time.sleep(5)
        waited = time.perf_counter() - start
    other = C.OtherCores()
    time.sleep(2)
    foreign = other.share()
    load = list(os.getloadavg())
    return {"load_before": load, "other_cores_before": foreign, "settle_wait_s": waited,
            "busy": load[0] > args.max_load or foreign > 0.1}


def child(key: str, args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        argv = [a for a in sys.argv[1:]]
        cmd = [sys.executable, __file__, *argv, "--cell", key, "--out", str(out)]
        other = C.OtherCores()
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"child exited {proc.returncode}: {proc.stderr[-3000:]}")
        result = json.loads(out.read_text())
    return result | {"child_wall_s": wall, "other_cores_during": other.share(), "load_after": list(os.getloadavg())}


def cell_keys(args) -> list[str]:
    keys = [f"fit/{side}/e{e}/r{r}" for r in range(args.repeats) for e in args.epochs for side in args.sides]
    if not args.no_profile:
        keys += [f"profile/synthgan/r{r}" for r in range(args.repeats)]
    if args.quality:
        keys += [f"quality/{side}" for side in QUALITY_SIDES]
    return keys


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, nargs="+", default=[1, 4, 7], help="epoch counts of the whole fits")
    p.add_argument("--repeats", type=int, default=3, help="fits per side and epoch count (medians)")
    p.add_argument("--sides", nargs="+", default=["ctgan", "synthgan"], choices=SIDES)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--amp", choices=["off", "auto", "on"], default="off",
                   help="synthgan's precision in the like-for-like side (ctgan is always fp32)")
    p.add_argument("--rows", type=int, help="subsample Adult's train split to this many rows")
    p.add_argument("--data", help="path to adult.csv (default: $SYNTHGAN_DATASETS or ../shared/datasets)")
    p.add_argument("--sample-rows", type=int, default=1_000_000)
    p.add_argument("--profile-steps", type=int, default=50, help="training steps per profile section")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--quality", action="store_true",
                   help="add the time-to-quality cells: ctgan for --quality-epochs, synthgan at its defaults")
    p.add_argument("--quality-epochs", type=int, default=300, help="ctgan's epochs in the quality cells")
    p.add_argument("--flush-denormal", action="store_true",
                   help="diagnostic: torch.set_flush_denormal(True) in every child before any torch op")
    p.add_argument("--max-load", type=float, default=0.5, help="highest 1-minute load average to start a cell at")
    p.add_argument("--settle", type=float, default=180, help="seconds to wait for the load to fall before a cell")
    p.add_argument("--allow-busy", action="store_true", help="run on a busy machine (figures marked, not evidence)")
    p.add_argument("--smoke", action="store_true",
                   help=f"{SMOKE['rows']} rows, epochs {SMOKE['epochs']}, 1 repeat, {SMOKE['sample_rows']:,} "
                        "sampled rows: checks the script, never results")
    C.add_run_args(p, TEST_SIZE)
    C.add_output_args(p, DEFAULT_JSON, SMOKE_JSON)
    p.add_argument("--cell", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke:
        args.rows = args.rows or SMOKE["rows"]
        if args.epochs == [1, 4, 7]:
            args.epochs = SMOKE["epochs"]
        args.repeats, args.sample_rows, args.profile_steps = 1, min(args.sample_rows, SMOKE["sample_rows"]), \
            min(args.profile_steps, SMOKE["profile_steps"])
        args.quality_epochs = min(args.quality_epochs, 2)
    args.epochs = sorted(set(args.epochs))
    args.threads = args.threads or C.cpu_count()
    if args.cell:
        Path(args.out).write_text(json.dumps(run_cell(args, args.cell), default=C.json_default))
        return

    config = {"seed": args.seed, "test_size": args.test_size, "smoke": args.smoke, "rows": args.rows,
              "batch_size": args.batch_size, "epochs": args.epochs, "amp": args.amp, "threads": args.threads,
              "sample_rows": args.sample_rows, "flush_denormal": args.flush_denormal,
              "profile_steps": args.profile_steps, "quality_epochs": args.quality_epochs, "smoke_epochs": " and ".join(map(str, args.epochs))}
    path = C.json_path(args, DEFAULT_JSON, SMOKE_JSON)
    record = C.run_record("bench_speed.py", args, args.threads, PACKAGES)
    state = C.start_state(SECTION, config, record, args.resume_from, tuple(k for k in config if k != "smoke_epochs"))
    for key in cell_keys(args):
        if state["cells"].get(key, {}).get("status") == "done":
            continue
        quiet = wait_until_quiet(args)
        if quiet["busy"]:
            message = (f"the machine is busy before {key}: 1-minute load {quiet['load_before'][0]:.2f} "
                       f"(limit {args.max_load}), other processes {quiet['other_cores_before']:.2f} cores")
            if not args.allow_busy:
                C.write_json(state, path)
                raise SystemExit(f"[{SECTION}] REFUSED: {message}. Nothing was timed for this cell. Stop the "
                                 f"other work and rerun with --resume-from {path}, or pass --allow-busy "
                                 "(figures then marked as taken on a busy machine).")
            print(f"[{SECTION}] WARNING: {message}; running anyway (--allow-busy): these figures are NOT "
                  "evidence", file=sys.stderr, flush=True)
        print(f"[{SECTION}] {key} ...", file=sys.stderr, flush=True)
        try:
            state["cells"][key] = {**quiet, "started": C.now(), **child(key, args), "status": "done"}
        except Exception as exc:  # recorded, the run goes on
            state["cells"][key] = C.failed_cell(SECTION, key, exc, **quiet)
        c = state["cells"][key]
        print(f"[{SECTION}] {key}: fit {C.fmt_value(c.get('fit_s'))} s, other cores "
              f"{C.fmt_value(c.get('other_cores_during'))}", file=sys.stderr, flush=True)
        C.write_json(state, path)
    body = render(state)
    if args.smoke and args.markdown and args.markdown.name == "RESULTS.md":
        print(body)
        print(f"[{SECTION}] smoke run: {args.markdown} left alone", file=sys.stderr)
        return
    C.publish(SECTION, body, path, args.markdown)


# ------------------------------------------------------------------ report

def done_cells(state: dict, prefix: str) -> list[dict]:
    return [c for k, c in state["cells"].items() if k.startswith(prefix) and c.get("status") == "done"]


def median_of(cells: list[dict], field: str):
    values = [c[field] for c in cells if isinstance(c.get(field), (int, float))]
    return statistics.median(values) if values else None


def side_figures(state: dict, side: str) -> dict:
    """Median fit seconds per epoch count, the least-squares slope and intercept over them, the
    slope of each interval, and the medians of everything else the fits recorded."""
    epochs = state["config"]["epochs"]
    cells = {e: done_cells(state, f"fit/{side}/e{e}/") for e in epochs}
    fit = {e: median_of(cs, "fit_s") for e, cs in cells.items()}
    known = [(e, s) for e, s in fit.items() if s is not None]
    out = {"fit_s": fit, "runs": {e: len(cs) for e, cs in cells.items()}}
    if len(known) >= 2:
        slope, intercept = np.polyfit([e for e, _ in known], [s for _, s in known], 1)
        out |= {"epoch_s": float(slope), "fixed_s": float(intercept),
                "intervals": [(a, b, (sb - sa) / (b - a)) for (a, sa), (b, sb) in zip(known, known[1:])]}
    every = [c for cs in cells.values() for c in cs]
    for field in ("transformer_fit_s", "transform_s", "steps_per_epoch", "data_width", "condition_width",
                  "other_cores_during"):
        out[field] = median_of(every, field)
    out["precision"] = next((c.get("precision") for c in every), None)
    out["load_max"] = max((c["load_before"][0] for c in every), default=None)
    out["busy"] = any(c.get("busy") for c in every)
    biggest = cells.get(max(epochs), [])
    for field in ("sample_s", "sample_exact_s", "sample_inverse_transform_s", "sample_generator_only_s",
                  "sample_generator_only_fp32_s", "sample_fp32_s"):
        out[field] = median_of(biggest, field)
    shares = [c["activated_output"]["subnormal"] for c in biggest if c.get("activated_output")]
    out["subnormal"] = statistics.median(shares) if shares else None
    if out.get("epoch_s") and out.get("steps_per_epoch"):
        out["step_s"] = out["epoch_s"] / out["steps_per_epoch"]
    return out


NOTES = """\
How each figure is taken (see the script's docstring for the whole method):
- fit s: wall seconds of one whole `fit` call in a fresh child process (imports and data loading \
before the clock), median over the repeats; seconds per epoch: least-squares slope of those medians \
against the epoch counts, so the fixed cost of a fit (transformer fit, transform, set-up, synthgan's \
post-fit missing-value calibration and exact-match index) is the intercept and drops out. The slope \
of each interval is printed too: per-epoch time that grows as training goes on (bench_tabular's \
curve showed it on both sides) makes the later intervals steeper, and a figure from 1 to 7 epochs \
then understates a 300-epoch fit; add a long count (`--epochs 1 4 7 60`) to measure it.
- ctgan `CTGAN(epochs=E, batch_size=B, enable_gpu=False, embedding 128, (256, 256) both nets, pac 10)`, \
`fit(train, discrete_columns)`; its transformer fit and transform are timed from inside that fit (the \
class methods wrapped with a timer in the child). ctgan's transform is joblib-parallel with \
`n_jobs=-1` (all cores, whatever the thread setting), and cold (the pool starts in it).
- synthgan (like-for-like): `TabularSynthesizer(epochs=E, batch_size=B, device="cpu", seed, same \
architecture, continuous_encoding="mixture", validation=0, patience=0, generator_ema=0, amp={amp})`, \
`fit(train, metadata=ctgan's discrete columns as categorical)`.
- sampling: in the fits with the most epochs, one call for the rows named after a 1,000-row warm-up; \
ctgan's sample() runs its generator in train mode with autograd on (as ctgan does), 500 rows a call; \
synthgan's `sample(n, privacy=False)` (no filter, as ctgan) at its default `sample_precision="auto"` \
(bf16 matmuls on CPUs with AVX-512-BF16 or AMX, fp32 elsewhere; ctgan samples in fp32), apart with \
`sample_precision="fp32"`, and apart with its default exact-match check. "generator arithmetic alone": \
synthgan's eval-mode generator for the same rows in that dtype, no sampler, activations or decoding.
- subnormal share: float32 values between 0 and 1.2e-38 in one batch of activated generator output \
at the end of the longest fit (Gumbel-softmax at tau 0.2 makes them as the generator sharpens; on \
CPUs with a subnormal penalty they slow every op that touches them). `--flush-denormal` reruns with \
flush-to-zero set in every child before torch starts its threads.
- load: 1-minute load average read before each cell (after waiting up to --settle s for the last \
child's load to decay) and CPU seconds other processes used during it per wall second.
- ratios are ctgan / synthgan: above 1 favours synthgan for times.
"""


def render(state: dict) -> str:
    config, f = state["config"], C.fmt
    sides = [s for s in SIDES if any(k.startswith(f"fit/{s}/") for k in state["cells"])]
    figs = {s: side_figures(state, s) for s in sides}
    last = state["runs"][-1]
    settings = [
        f"- data: Adult train split ({TEST_SIZE:.0%} held out, seed {config['seed']})"
        + (f", subsampled to {config['rows']:,} rows" if config["rows"] else "")
        + f"; batch {config['batch_size']}; epoch counts {', '.join(map(str, config['epochs']))}; "
        f"sampling {config['sample_rows']:,} rows; flush-to-zero {'on' if config['flush_denormal'] else 'off'}",
        f"- versions: ctgan {last['versions'].get('ctgan')}, synthgan {last['versions'].get('synthgan')}, "
        f"torch {last['versions'].get('torch')}",
    ]
    lines = C.heading(SECTION, "seconds per epoch and sampling, both sides timed by whole fits", state,
                      "fit", "torch/BLAS/OpenMP threads each side", settings)
    if any(fig["busy"] for fig in figs.values()):
        lines += ["", "**TAKEN ON A BUSY MACHINE (--allow-busy): the 1-minute load or other processes were "
                  "above the limit before some cells; these figures are not evidence.**"]
    header = ["figure", *sides] + ([f"ctgan / {s}" for s in sides if s != "ctgan"] if "ctgan" in sides else [])
    rows = []

    def row(name, key, digits=3, value=None):
        vals = [value(figs[s]) if value else figs[s].get(key) for s in sides]
        ratios = [f(C.ratio(vals[0], v)) for s, v in zip(sides[1:], vals[1:])] if "ctgan" in sides else []
        rows.append([name, *[f(v, digits) if isinstance(v, (int, float)) else "n/a" for v in vals], *ratios])

    row("**seconds per epoch (slope)**", "epoch_s")
    row("seconds per training step (slope / steps per epoch)", "step_s")
    row("fixed seconds per fit (intercept)", "fixed_s")
    for e in config["epochs"]:
        row(f"whole fit, {e} epoch{'s' * (e > 1)} (s, median)", None, value=lambda fig, e=e: fig["fit_s"].get(e))
    intervals = next((fig["intervals"] for fig in figs.values() if fig.get("intervals")), [])
    for i, (a, b, _) in enumerate(intervals):
        row(f"seconds per epoch between {a} and {b} epochs", None,
            value=lambda fig, i=i: fig["intervals"][i][2] if len(fig.get("intervals", [])) > i else None)
    row("steps per epoch", "steps_per_epoch")
    row("model matrix width + conditional width", None, value=lambda fig: (fig["data_width"] or 0) + (fig["condition_width"] or 0) or None)
    row("transformer fit (s, median over fits)", "transformer_fit_s")
    row("transform, encode the train rows (s)", "transform_s")
    row(f"sample {config['sample_rows']:,} rows (s; synthgan without filter)", "sample_s")
    row("  of which ctgan's inverse_transform (s)", "sample_inverse_transform_s")
    row("  synthgan with its default exact-match check (s)", "sample_exact_s")
    row("  synthgan with sample_precision='fp32' (s)", "sample_fp32_s")
    row("  synthgan's generator arithmetic alone, its sampling dtype (s)", "sample_generator_only_s")
    row("  synthgan's generator arithmetic alone, fp32 (s)", "sample_generator_only_fp32_s")
    row("subnormal share of activated generator output, longest fit", "subnormal")
    row("highest 1-minute load before a cell", "load_max")
    row("other processes during the fits (cores, median)", "other_cores_during")
    lines += ["", C.markdown_table(header, rows)]
    lines += quality_lines(state)
    lines += profile_lines(state)
    lines += ["", NOTES.format(amp=config["amp"])]
    return "\n".join(lines) + "\n"


def quality_lines(state: dict) -> list[str]:
    """Time to ctgan's quality: each side's whole fit at its defaults and the quality it reached."""
    cells = {side: state["cells"].get(f"quality/{side}") for side in QUALITY_SIDES}
    cells = {k: v for k, v in cells.items() if v and v.get("status") == "done"}
    if not cells:
        return []
    f, ct = C.fmt, cells.get("ctgan")
    rows = []
    for side, c in cells.items():
        epochs = f"{c['epochs_run']}" if side == "ctgan" else (
            f"{c['epochs_run']} of {c['planned_epochs']} planned (best {c['best_epoch']}"
            f"{', stopped early' if c['stopped_early'] else ''}), batch {c['batch_size']}")
        share = f(c["fit_s"] / ct["fit_s"]) if ct else "n/a"
        rows.append([side, epochs, f(c["fit_s"]), share, f(c["quality"]), f(c.get("load_before", [None])[0]),
                     f(c.get("other_cores_during"))])
    lines = ["", f"Time to ctgan's {state['config']['quality_epochs']}-epoch quality, each library at its "
             "defaults (one whole fit each, one process at a time; quality = sdmetrics QualityReport of as many "
             "synthetic rows as train rows against the train rows):", "",
             C.markdown_table(["side", "epochs", "whole fit (s)", "fit s / ctgan's", "quality",
                               "1-min load before", "other cores during"], rows)]
    sg = cells.get("synthgan-defaults")
    if ct and sg:
        reached = sg["quality"] >= ct["quality"]
        lines += ["", f"synthgan at its defaults {'reached' if reached else 'did NOT reach'} ctgan's quality "
                  f"({f(sg['quality'])} vs {f(ct['quality'])}) in one whole fit of {f(sg['fit_s'])} s: "
                  + (f"time to ctgan's quality <= **{f(sg['fit_s'] / ct['fit_s'])}x** ctgan's {f(ct['fit_s'])} s "
                     "(an upper bound: the whole fit, set-up and post-fit work included)." if reached else
                     "no time-to-quality figure.")]
    return lines


def profile_lines(state: dict) -> list[str]:
    cells = done_cells(state, "profile/")
    if not cells:
        return []
    f = C.fmt

    def med(getter):
        values = [getter(c) for c in cells if getter(c) is not None]
        return statistics.median(values) if values else None

    shipped = med(lambda c: c["shipped_step_s"])
    names = list(dict.fromkeys(k for c in cells for k in c["sections_s"]))
    mirror = med(lambda c: c["mirror_step_s"])
    rows = []
    for name in names:
        s = med(lambda c, n=name: c["sections_s"].get(n))
        rows.append([name, f(s * 1e3), f(s / mirror), ""])
    section_sum = sum(med(lambda c, n=n: c["sections_s"].get(n)) or 0 for n in names)
    rows.append(["glue between sections (Python)", f((mirror - section_sum) * 1e3), f((mirror - section_sum) / mirror), ""])
    rows.append(["**mirrored step, wall (mean)**", f(mirror * 1e3), "1", f(mirror / shipped)])
    rows.append(["**train_step() as shipped, wall (median)**", f(shipped * 1e3), "", "1"])
    bare = med(lambda c: c.get("bare_fp32_step_s"))
    rows.append(["bare arithmetic of the same networks, fp32", f(bare * 1e3), "", f(bare / shipped)])
    bf16 = med(lambda c: c.get("bare_bf16_step_s"))
    if bf16:
        rows.append(["bare arithmetic, bf16 autocast", f(bf16 * 1e3), "", f(bf16 / shipped)])
    c0 = cells[0]
    lines = ["", f"Per-step profile of synthgan's training step (like-for-like options, {c0['precision']}, batch "
             f"{c0['batch_size']}, widths {c0['data_width']} + {c0['condition_width']}; {c0['steps']} steps per "
             f"measure, median over {len(cells)} profile run(s); aten ops per step: "
             f"{f(med(lambda c: c['aten_ops_per_step']))}, nested calls included):", "",
             C.markdown_table(["part of the step", "ms per step", "share of the mirrored step",
                               "/ shipped step"], rows)]
    if mirror and shipped and abs(mirror / shipped - 1) > 0.15:
        lines += ["", f"**The mirrored step differs from train_step() by {mirror / shipped - 1:+.0%}: "
                  "bench_speed.mirrored_step may no longer follow CTGANModel.train_step.**"]
    top = c0["profiler_top"][:12]
    lines += ["", "torch.profiler, top ops of train_step() by self CPU time (first profile run):", "",
              C.markdown_table(["op", "calls per step", "self CPU ms per step"],
                               [[t["op"], f(t["calls_per_step"]), f(t["self_cpu_ms_per_step"])] for t in top])]
    return lines


if __name__ == "__main__":
    main()
