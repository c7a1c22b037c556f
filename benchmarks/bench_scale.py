"""How synthgan's costs grow: streaming generation, Dask generation, training and transformer fit.

    python benchmarks/bench_scale.py                                   # the full benchmark
    python benchmarks/bench_scale.py --budget-minutes 60               # room for 100M streamed rows
    python benchmarks/bench_scale.py --stream-sizes 20000,200000 --inmemory-sizes 20000 \\
        --dask-rows 100000 --dask-task-rows 20000 --train-sizes 2000,20000 --results /tmp/r.md  # a quick check

Four measurements, each of a model fitted on Adult (a few epochs: speed and memory do not
depend on how well it is trained):

1. streaming: ``sample_to_parquet(folder, n, chunk_rows)`` for each n, in its own child
   process, with that process's peak RSS; against it, the in-memory way
   (``sample(n)`` then ``to_parquet``) for the smaller sizes. Sizes whose predicted time
   no longer fits in ``--budget-minutes`` are skipped, and the table says so.
2. Dask: ``dask_sample_to_parquet`` on a LocalCluster of 1, 2 and 4 worker processes
   (one thread each): rows/s, speed-up and efficiency.
3. training: seconds per epoch for tables of 10k, 100k and 1M rows (Adult resampled with
   noise), each in its own child process.
4. transformer fit seconds for the same tables: bounded, since the mixtures are fitted on
   at most ``gmm_subsample`` rows per column.

Writes its table into benchmarks/RESULTS.md (section "bench_scale").
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_scale"


def sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="path to adult.csv (default: $SYNTHGAN_DATASETS or ../shared/datasets)")
    p.add_argument("--model-epochs", type=int, default=5, help="epochs of the Adult model that generates")
    p.add_argument("--stream-sizes", type=sizes, default=sizes("1e6,1e7,1e8"), help="rows, comma-separated")
    p.add_argument("--chunk-rows", type=int, default=1_000_000)
    p.add_argument("--inmemory-sizes", type=sizes, default=sizes("1e6,1e7"),
                   help="sizes also run the in-memory way, sample(n) + to_parquet (empty: none)")
    p.add_argument("--budget-minutes", type=float, default=15.0,
                   help="streaming sizes predicted to end past this many minutes of streaming are skipped")
    p.add_argument("--dask-rows", type=int, default=2_000_000)
    p.add_argument("--dask-workers", type=sizes, default=sizes("1,2,4"))
    p.add_argument("--dask-task-rows", type=int, default=250_000, help="candidate rows per Dask task")
    p.add_argument("--train-sizes", type=sizes, default=sizes("1e4,1e5,1e6"))
    p.add_argument("--train-epochs", type=int, default=2, help="epochs per training size (the fastest is reported)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, help="scratch folder for outputs (default: a temporary one)")
    p.add_argument("--results", type=Path, default=C.RESULTS_MD, help="markdown file to update")
    p.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    p.add_argument("--only", choices=["stream", "inmemory", "train"], help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--result-json", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- child processes

def child_generate(args) -> dict:
    """One streaming (or in-memory) run of ``args.rows`` rows; peak RSS is this process's."""
    from synthgan import TabularSynthesizer

    synth = TabularSynthesizer.load(args.model, device="cpu")
    synth.sample(10, seed=0)  # warm up: the first draw allocates the generator's buffers
    before = C.peak_rss_mib()
    target = Path(args.out)
    start = time.perf_counter()
    if args.only == "stream":
        result = synth.sample_to_parquet(target, args.rows, chunk_rows=args.chunk_rows, seed=args.seed, verbose=False)
        drawn = result.drawn
    else:
        rows = synth.sample(args.rows, seed=args.seed)
        target.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(target / "rows.parquet", index=False)
        drawn = None
    seconds = time.perf_counter() - start
    disk = sum(p.stat().st_size for p in target.iterdir())
    return {"seconds": seconds, "rss_before_mib": before, "peak_rss_mib": C.peak_rss_mib(),
            "disk_bytes": disk, "drawn": drawn}


def child_train(args) -> dict:
    """Fit on ``args.rows`` rows of Adult resampled with noise; epoch and transformer times."""
    from synthgan import TabularSynthesizer

    adult = C.load_adult(C.dataset_path("adult.csv", args.data))
    table = C.resample_with_noise(adult, args.rows, args.seed)
    synth = TabularSynthesizer(epochs=args.train_epochs, batch_size=args.batch_size, seed=args.seed, verbose=False)
    synth.fit(table)
    return {"epoch_seconds": synth.history_.epoch_seconds, "steps_per_epoch": synth.model_.steps_per_epoch,
            "transformer_fit_s": synth.timings_["transformer_fit_s"], "transform_s": synth.timings_["transform_s"],
            "gmm_subsample": synth.gmm_subsample, "peak_rss_mib": C.peak_rss_mib()}


def run_child(args, mode: str, rows: int, out: Path | None = None, model: Path | None = None) -> dict:
    """This script as a child process (``--only mode``); returns the JSON it writes."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--only", mode, "--rows", str(rows), "--result-json", str(result),
                   "--chunk-rows", str(args.chunk_rows), "--seed", str(args.seed),
                   "--train-epochs", str(args.train_epochs), "--batch-size", str(args.batch_size)]
        if out is not None:
            command += ["--out", str(out)]
        if model is not None:
            command += ["--model", str(model)]
        if args.data:
            command += ["--data", args.data]
        subprocess.run(command, check=True)
        return json.loads(result.read_text())


# ---------------------------------------------------------------- the parts

def fit_model(args, folder: Path) -> tuple[Path, float, int]:
    from synthgan import TabularSynthesizer

    adult = C.load_adult(C.dataset_path("adult.csv", args.data))
    start = time.perf_counter()
    synth = TabularSynthesizer(epochs=args.model_epochs, batch_size=args.batch_size, seed=args.seed, verbose=False)
    synth.fit(adult)
    path = synth.save(folder / "adult.synth")
    return path, time.perf_counter() - start, len(adult.columns)


def bench_streaming(args, model: Path, work: Path) -> tuple[list[dict], list[str]]:
    results, skipped, spent, rate = [], [], 0.0, None
    budget = args.budget_minutes * 60
    for mode, todo in (("stream", args.stream_sizes), ("inmemory", args.inmemory_sizes)):
        for n in todo:
            if rate is not None and spent + n / rate > budget:
                skipped.append(f"{mode} {n:,} rows (predicted {n / rate / 60:.0f} min at {rate:,.0f} rows/s; "
                               f"{(budget - spent) / 60:.0f} min of the {args.budget_minutes:g}-minute budget left)")
                continue
            out = work / f"{mode}-{n}"
            shutil.rmtree(out, ignore_errors=True)
            result = run_child(args, mode, n, out=out, model=model)
            shutil.rmtree(out, ignore_errors=True)
            spent += result["seconds"]
            if mode == "stream":
                rate = n / result["seconds"]
            results.append({"mode": mode, "n": n, **result})
            print(f"[bench_scale] {mode} {n:,} rows: {result['seconds']:.1f} s, peak RSS "
                  f"{result['peak_rss_mib']:.0f} MiB", file=sys.stderr)
    return results, skipped


def bench_dask(args, model: Path, work: Path) -> list[dict]:
    from distributed import Client, LocalCluster

    from synthgan.scale import dask_sample_to_parquet

    results = []
    for workers in args.dask_workers:
        out = work / f"dask-{workers}"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        startup = time.perf_counter() - start
        try:
            # warm-up: every worker imports torch and loads the model once (its first task)
            start = time.perf_counter()
            dask_sample_to_parquet(model, work / f"warm-{workers}", 2 * workers, chunk_rows=1, block_rows=1,
                                   seed=args.seed, client=client, verbose=False)
            warm = time.perf_counter() - start
            cpu_before = C.busy_cpu_seconds()
            result = dask_sample_to_parquet(model, out, args.dask_rows, chunk_rows=args.dask_task_rows,
                                            seed=args.seed, client=client, verbose=False)
            busy = (C.busy_cpu_seconds() - cpu_before) / result.seconds
        finally:
            client.close()
            cluster.close()
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(work / f"warm-{workers}", ignore_errors=True)
        results.append({"workers": workers, "startup_s": startup, "warm_s": warm, "seconds": result.seconds,
                        "rows_per_s": args.dask_rows / result.seconds, "parts": result.files, "busy_cores": busy})
        print(f"[bench_scale] dask {workers} worker(s): {result.seconds:.1f} s", file=sys.stderr)
    return results


def bench_training(args) -> list[dict]:
    results = []
    for n in args.train_sizes:
        result = run_child(args, "train", n)
        results.append({"n": n, **result})
        print(f"[bench_scale] train {n:,} rows: {min(result['epoch_seconds']):.1f} s/epoch", file=sys.stderr)
    return results


# ---------------------------------------------------------------- the table

def render(args, fit_s, n_columns, streams, skipped, dask, train) -> str:
    f = C.fmt
    m = C.machine()
    lines = [
        "## bench_scale: streaming, Dask and training cost as the size grows",
        "",
        f"- command: `python benchmarks/bench_scale.py {shlex.join(sys.argv[1:])}`",
        f"- date: {m['date']}",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), no GPU, torch {m['torch']}, Python {m['python']}",
        f"- model: TabularSynthesizer fitted on Adult ({n_columns} columns, {args.model_epochs} epochs, "
        f"{f(fit_s)} s); rows pass the default exact-match check",
        "",
        f"### Streaming generation: `sample_to_parquet(folder, n, chunk_rows={args.chunk_rows:,})`, one process",
        "",
        "Peak RSS is the child process's high-water mark (imports, model and all); \"before\" is "
        "after loading the model and a 10-row warm-up draw. The in-memory rows hold the whole "
        "sample as one DataFrame before writing it.",
        "",
    ]
    rows = []
    for r in streams:
        rows.append([
            "sample_to_parquet" if r["mode"] == "stream" else "sample(n) + to_parquet",
            f(r["n"]), f(r["seconds"]), f(r["n"] / r["seconds"]), f(r["rss_before_mib"]),
            f(r["peak_rss_mib"]), f(r["peak_rss_mib"] - r["rss_before_mib"]), f(r["disk_bytes"] / 2**20),
        ])
    lines.append(C.markdown_table(
        ["how", "rows", "seconds", "rows/s", "RSS before (MiB)", "peak RSS (MiB)", "growth (MiB)", "output (MiB)"],
        rows))
    if skipped:
        lines += ["", "Skipped to stay within the time budget (`--budget-minutes`): " + "; ".join(skipped) + "."]
    if dask:
        base = dask[0]["rows_per_s"] / dask[0]["workers"]
        lines += [
            "",
            f"### Dask: `dask_sample_to_parquet`, {args.dask_rows:,} rows in tasks of {args.dask_task_rows:,} "
            "candidate rows, LocalCluster of worker processes, 1 thread each",
            "",
            f"This machine has {m['nproc']} cores: beyond {m['nproc']} workers, efficiency can be at most "
            f"{m['nproc']} / workers. Seconds exclude starting the cluster and a warm-up run in which each "
            "worker imports torch and loads the model file (their own columns). Busy cores: the whole "
            "machine's, other processes included.",
            "",
            C.markdown_table(
                ["workers", "cluster start (s)", "warm-up (s)", "seconds", "rows/s", "speed-up vs 1 worker",
                 "efficiency", "busy cores", "parts"],
                [[d["workers"], f(d["startup_s"]), f(d["warm_s"]), f(d["seconds"]), f(d["rows_per_s"]),
                  f(d["rows_per_s"] / dask[0]["rows_per_s"]), f(d["rows_per_s"] / (base * d["workers"])),
                  f(d["busy_cores"]), d["parts"]] for d in dask],
            ),
        ]
    if train:
        small = train[0]
        per_row = min(small["epoch_seconds"]) / small["n"]
        lines += [
            "",
            f"### Training and transformer fit against table size (Adult resampled with noise, batch "
            f"{args.batch_size}, fastest of {args.train_epochs} epochs)",
            "",
            "Linear growth shows as a constant \"s/epoch per 100k rows\" and a growth ratio equal to the "
            "size ratio. The transformer fits its mixtures on at most `gmm_subsample` rows per column, so "
            "its fit time stays bounded; encoding every row (transform) is linear.",
            "",
            C.markdown_table(
                ["rows", "steps/epoch", "s/epoch", "s/epoch per 100k rows", "size ratio", "s/epoch ratio",
                 "transformer fit (s)", "transform (s)", "peak RSS (MiB)"],
                [[f(t["n"]), f(t["steps_per_epoch"]), f(min(t["epoch_seconds"])),
                  f(min(t["epoch_seconds"]) / t["n"] * 1e5), f(t["n"] / small["n"]),
                  f(min(t["epoch_seconds"]) / (per_row * small["n"])), f(t["transformer_fit_s"]),
                  f(t["transform_s"]), f(t["peak_rss_mib"])] for t in train],
            ),
        ]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.only:
        result = child_train(args) if args.only == "train" else child_generate(args)
        Path(args.result_json).write_text(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        model, fit_s, n_columns = fit_model(args, work)
        streams, skipped = bench_streaming(args, model, work)
        dask = bench_dask(args, model, work) if args.dask_workers and args.dask_rows else []
        train = bench_training(args)
    body = render(args, fit_s, n_columns, streams, skipped, dask, train)
    print(body)
    if not args.no_write:
        C.write_section(SECTION, body, args.results)
        print(f"[bench_scale] wrote section {SECTION!r} of {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
