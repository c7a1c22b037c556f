"""smartnoise-synth's AIM as the peer of ``PrivateSynthesizer(method="aim")`` (bench_privacy --marginal).

smartnoise-synth pins ``mbi<2`` and ``opacus<0.15``, so it cannot share synthgan's environment.
This script has two modes, each run by its own interpreter; neither imports synthgan.

1. Fit (in a separate venv holding smartnoise-synth; see below):

       OMP_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
           /work/snvenv/bin/python benchmarks/peer_smartnoise_aim.py --epsilons 3 --seeds 0 --out /tmp/peer

   For each epsilon and seed, one after the other, a child process loads the dataset and makes
   the stratified 80/20 split exactly as ``bench_privacy.py --marginal`` does (its ``load`` and
   ``_common.split``, split seed 0), fits ``snsynth.aim.AIMSynthesizer`` on the training rows and
   samples as many rows as there are training rows. It writes
   ``{out}/{dataset}_snaim_eps{e}_seed{s}.csv`` (the synthetic table) and ``.json`` (fit seconds,
   epsilon, delta, preprocessor epsilon, the column types snsynth inferred, a hash of the training
   rows). A fit that runs past ``--cap-min`` minutes is killed and recorded as ``"status":
   "timeout"``.

2. Score (in synthgan's own environment, with the benchmark's scoring code):

       .venv/bin/python benchmarks/peer_smartnoise_aim.py --score --out /tmp/peer

   loads and splits the data again (the training rows' hash must match), scores every synthetic
   CSV with ``bench_privacy.scores`` (sdmetrics QualityReport against the training rows; TSTR:
   boosted trees, ROC AUC on the real holdout) and adds the cells
   ``"{dataset}|smartnoise-aim|{eps}|{seed}"`` to ``benchmarks/results/privacy_marginal_peer.json``
   in the format of ``privacy_marginal.json`` (a cell already there is kept; ``--rescore``
   replaces it).

How the peer is configured: snsynth's defaults (``AIMSynthesizer()``: ``degree=2`` workload of
every pair with at most ``max_cells=10000`` cells, ``max_model_size=80`` MB, ``rounds=None`` =
16 x the number of encoded columns, 1000 mirror-descent iterations per estimation; column types
inferred by snsynth from the first 1000 rows; continuous columns in 10 equal-width bins between
private power-of-two bounds), except ``delta``: synthgan's default ``min(1e-5, 1/n^1.1)`` instead of
snsynth's 1e-9, so that both sides spend the same (epsilon, delta). snsynth needs some epsilon for
the continuous columns' bounds (``preprocessor_eps``, taken out of the total); ``--pre-share``
(default 0.1, as synthgan's ``preprocessing_share``) of epsilon goes there. snsynth releases the
categories of categorical and ordinal columns from the data without noise, so the target's classes
(and every other category) are public on its side.

The venv (smartnoise-synth 1.0.8; its AIM path needs neither torch, opacus nor pac-synth):

    python3.11 -m venv /work/snvenv
    /work/snvenv/bin/pip install --no-deps smartnoise-synth
    /work/snvenv/bin/pip install mbi==1.1.0 numpy "pandas<3" scipy networkx "disjoint-set>=0.9,<0.10" \\
        "Faker>=17" "smartnoise-sql>=1.0.10" scikit-learn==1.9.1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common as C  # noqa: E402  (imports no synthgan)
import bench_privacy as B  # noqa: E402  (imports synthgan only inside its functions, none used here)

ARM = "smartnoise-aim"
DEFAULT_CELLS = C.RESULTS_DIR / "privacy_marginal_peer.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["adult"], choices=list(B.DATASETS))
    p.add_argument("--epsilons", type=float, nargs="+", default=[3.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--rows", type=int, default=0, help="fit: subsample (0: all), as bench_privacy --rows "
                   "(score: each fit's own is used)")
    p.add_argument("--out", type=Path, default=Path("/tmp/peer"), help="synthetic CSVs and their json")
    p.add_argument("--cap-min", type=float, default=25.0, help="wall-clock cap on one fit, minutes")
    p.add_argument("--pre-share", type=float, default=0.1, help="share of epsilon for snsynth's preprocessor")
    p.add_argument("--rounds", type=int, default=None, help="AIM rounds (default: snsynth's, 16 x columns)")
    p.add_argument("--force", action="store_true", help="refit cells whose json exists")
    p.add_argument("--score", action="store_true", help="score the CSVs (run in synthgan's environment)")
    p.add_argument("--cells", type=Path, default=DEFAULT_CELLS)
    p.add_argument("--rescore", action="store_true", help="replace cells already in --cells")
    p.add_argument("--cell", nargs=3, metavar=("DATASET", "EPS", "SEED"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def stem(name: str, eps: float, seed: int) -> str:
    return f"{name}_snaim_eps{eps:g}_seed{seed}"


def split(name: str, rows: int):
    """bench_privacy.marginal_cell's data: ``load(name, rows, 0)`` and the split at seed 0."""
    df, target, positive, _ = B.load(name, rows, 0)
    train, test = C.split(df, target, test_size=0.2, seed=0)
    return train, test, target, positive


def table_hash(df: pd.DataFrame) -> str:
    return format(int(pd.util.hash_pandas_object(df, index=True).sum()) % 2**64, "016x")


# ---------------------------------------------------------------- fit (smartnoise venv)

def fit_cell(name: str, eps: float, seed: int, args) -> None:
    import numpy as np
    import snsynth
    from importlib.metadata import version
    from snsynth.aim import AIMSynthesizer

    train, test, target, _ = split(name, args.rows)
    n = len(train)
    delta = min(1e-5, 1.0 / n**1.1)
    pre_eps = args.pre_share * eps
    np.random.seed(seed)  # snsynth's exponential mechanism and mbi's sampling use np.random
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AIMSynthesizer(epsilon=eps, delta=delta, rounds=args.rounds)
        model.fit(train, preprocessor_eps=pre_eps)  # column types inferred by snsynth (its default)
    fit_s = time.perf_counter() - start
    t0 = time.perf_counter()
    synthetic = model.sample(n)
    sample_s = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    synthetic.to_csv(args.out / f"{stem(name, eps, seed)}.csv", index=False)
    kinds = {}
    for column, t in zip(train.columns, model._transformer.transformers):
        kinds[column] = type(t).__name__ + (
            f"(bins={t.bins}, bounds=({t.fit_lower:g}, {t.fit_upper:g}))" if hasattr(t, "bins") else
            f"({len(t.categories)} values)" if hasattr(t, "categories") else "")
    record = {
        "status": "ok", "dataset": name, "epsilon": eps, "seed": seed, "delta": delta,
        "preprocessor_eps": pre_eps, "aim_eps": model.epsilon, "rho": float(model.rho),
        "fit_s": fit_s, "sample_s": sample_s, "subsample": args.rows, "rows": [n, len(test)], "train_hash": table_hash(train),
        "rounds_arg": args.rounds, "rounds_cap": args.rounds or 16 * model._transformer.output_width,
        "model_cliques": [list(c) for c in getattr(model.synthesizer, "cliques", [])],
        "encoded_columns": model._transformer.output_width, "cardinality": model._transformer.cardinality,
        "columns": kinds, "snsynth": version("smartnoise-synth"), "mbi": version("mbi"),
        "snsynth_path": str(Path(snsynth.__file__).parent),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "XLA_FLAGS")},
        "finished": C.now(),
    }
    (args.out / f"{stem(name, eps, seed)}.json").write_text(json.dumps(record, indent=1, default=C.json_default))
    print(f"{name} eps={eps:g} seed={seed}: fit {fit_s:.0f}s, sample {sample_s:.0f}s", flush=True)


def run_fits(args) -> None:
    """One child process per cell, one at a time, each killed at --cap-min."""
    for seed in args.seeds:
        for name in args.datasets:
            for eps in args.epsilons:
                out = args.out / f"{stem(name, eps, seed)}.json"
                if out.exists() and not args.force:
                    print(f"{out} exists; skipped", flush=True)
                    continue
                cap = args.cap_min * 60
                cmd = [sys.executable, __file__, "--cell", name, f"{eps:g}", str(seed), "--out", str(args.out),
                       "--rows", str(args.rows), "--pre-share", str(args.pre_share)]
                if args.rounds:
                    cmd += ["--rounds", str(args.rounds)]
                start = time.perf_counter()
                print(f"{name} eps={eps:g} seed={seed}: fitting (cap {args.cap_min:g} min)", flush=True)
                proc = subprocess.Popen(cmd, start_new_session=True)
                try:
                    rc = proc.wait(timeout=cap)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
                    args.out.mkdir(parents=True, exist_ok=True)
                    train, test, _, _ = split(name, args.rows)
                    n = len(train)
                    out.write_text(json.dumps({
                        "status": "timeout", "dataset": name, "epsilon": eps, "seed": seed,
                        "delta": min(1e-5, 1.0 / n**1.1), "preprocessor_eps": args.pre_share * eps,
                        "fit_s_over": cap, "wall_s": time.perf_counter() - start, "subsample": args.rows, "rows": [n, len(test)],
                        "rounds_arg": args.rounds, "finished": C.now(),
                    }, indent=1))
                    print(f"{name} eps={eps:g} seed={seed}: killed after {cap:.0f}s (cap)", flush=True)
                    continue
                if rc != 0:
                    print(f"{name} eps={eps:g} seed={seed}: the fit failed (exit {rc})", flush=True)


# ---------------------------------------------------------------- score (synthgan venv)

def score(args) -> None:
    cells = json.loads(args.cells.read_text()) if args.cells.exists() else {}
    splits = {}
    for record_path in sorted(args.out.glob("*_snaim_eps*_seed*.json")):
        rec = json.loads(record_path.read_text())
        name, eps, seed = rec["dataset"], float(rec["epsilon"]), int(rec["seed"])
        key = f"{name}|{ARM}|{eps:g}|{seed}"
        if key in cells and not args.rescore:
            print(f"{key}: already in {args.cells}; skipped", flush=True)
            continue
        subsample = rec.get("subsample", 0)
        if (name, subsample) not in splits:
            splits[name, subsample] = split(name, subsample)
        train, test, target, positive = splits[name, subsample]
        if rec["status"] == "timeout":
            # killed before it released anything: nothing spent; the budget it was given is "epsilon"
            cells[key] = {"quality": None, "tstr_auc": None, "fit_s": None, "epsilon_spent": None,
                          "delta": rec["delta"], "rows": [len(train), len(test)], "status": "timeout",
                          "epsilon": eps, "preprocessor_eps": rec["preprocessor_eps"],
                          "fit_s_over": rec["fit_s_over"]}
        else:
            if rec["train_hash"] != table_hash(train):
                raise SystemExit(f"{record_path}: its training rows differ from this environment's split")
            synthetic = pd.read_csv(record_path.with_suffix(".csv"))
            row = B.scores(train, synthetic, test, target, positive, seed)
            cells[key] = row | {
                "fit_s": rec["fit_s"], "epsilon_spent": eps, "delta": rec["delta"], "rows": rec["rows"],
                "preprocessor_eps": rec["preprocessor_eps"], "sample_s": rec["sample_s"],
                "snsynth": rec["snsynth"], "mbi": rec["mbi"],
            }
        print(key, cells[key], flush=True)
        args.cells.parent.mkdir(parents=True, exist_ok=True)
        args.cells.write_text(json.dumps(cells, indent=1))


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.cell:
        name, eps, seed = args.cell
        fit_cell(name, float(eps), int(seed), args)
    elif args.score:
        score(args)
    else:
        run_fits(args)


if __name__ == "__main__":
    main()
