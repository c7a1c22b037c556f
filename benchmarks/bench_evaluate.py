"""synthgan.evaluate on Adult and fraud: the report's headline numbers and its wall time.

    python benchmarks/bench_evaluate.py                                  # the full benchmark
    python benchmarks/bench_evaluate.py --epochs 1 --rows 2000 --results /tmp/r.md   # a smoke run

For each dataset: a stratified 80/20 split, ``TabularSynthesizer(epochs=30, seed=0)`` fitted on
the 80%, as many synthetic rows as training rows, then ``evaluate(train, synthetic,
holdout=test, target=...)``, timed. Writes one markdown section ("bench_evaluate") into
benchmarks/RESULTS.md and the two HTML reports next to it, if --html-dir is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_evaluate"
DATASETS = {
    # name: (file, target, reader, sensitive columns for the bias section)
    "adult": ("adult.csv", "class", C.load_adult, ["sex", "race"]),
    "fraud": ("fraud_oracle.csv", "FraudFound_P", lambda p: pd.read_csv(p, encoding="utf-8-sig"),
              ["Sex", "AgeOfPolicyHolder"]),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--rows", type=int, default=0, help="subsample each dataset to this many rows (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--results", type=Path, default=C.RESULTS_MD)
    p.add_argument("--html-dir", type=Path, help="also write each dataset's HTML report here")
    return p.parse_args(argv)


def load(name: str, rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    filename, target, reader, _ = DATASETS[name]
    df = reader(C.dataset_path(filename))
    df.columns = [str(c).strip() for c in df.columns]
    if rows and rows < len(df):
        df = df.sample(rows, random_state=seed).reset_index(drop=True)
    return df, target


def run(name: str, args) -> dict:
    from synthgan import TabularSynthesizer, evaluate

    df, target = load(name, args.rows, args.seed)
    train, test = C.split(df, target, test_size=0.2, seed=args.seed)
    start = time.perf_counter()
    model = TabularSynthesizer(epochs=args.epochs, seed=args.seed, verbose=False).fit(train)
    fit_s = time.perf_counter() - start
    synthetic = model.sample(len(train), seed=args.seed)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate(
            train, synthetic, holdout=test, target=target, sensitive=DATASETS[name][3], seed=args.seed, verbose=False
        )
    evaluate_s = time.perf_counter() - start
    if args.html_dir:
        args.html_dir.mkdir(parents=True, exist_ok=True)
        report.to_html(args.html_dir / f"evaluate_{name}.html")
    print(report.summary(), flush=True)
    return {
        "name": name,
        "rows": (len(train), len(test)),
        "target": target,
        "sensitive": DATASETS[name][3],
        "fit_s": fit_s,
        "evaluate_s": evaluate_s,
        "report": report,
        "warnings": sorted({str(w.message).split("\n")[0][:120] for w in caught}),
    }


def render(results: list[dict], args) -> str:
    machine = C.machine()
    lines = [
        f"## {SECTION}: synthgan.evaluate on Adult and fraud",
        "",
        f"`python benchmarks/bench_evaluate.py --epochs {args.epochs}"
        + (f" --rows {args.rows}" if args.rows else "")
        + f"` ({machine['cpu']}, {machine['nproc']} CPUs, torch {machine['torch']}, {machine['date']}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}). Stratified 80/20 split; "
        f"`TabularSynthesizer(epochs={args.epochs}, seed={args.seed})` fitted on the 80%, as many synthetic rows "
        "as training rows; `evaluate(train, synthetic, holdout=test, target=..., sensitive=[...])`.",
        "",
        "| dataset | train / holdout rows | fit s | evaluate() s |",
        "|---|---|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['rows'][0]} / {r['rows'][1]} | {r['fit_s']:.1f} | {r['evaluate_s']:.1f} |")
    for r in results:
        lines += [
            "", f"### {r['name']} (target `{r['target']}`, sensitive {', '.join(f'`{c}`' for c in r['sensitive'])})",
            "", "| section | verdict | headline | value |",
        ]
        lines.append("|---|---|---|---:|")
        for section in r["report"].sections:
            for h in section.headline or [None]:
                label, value = (h.label, _fmt(h.value)) if h else (section.summary, "")
                lines.append(f"| {section.title} | {section.verdict or ''} | {label} | {value} |")
        for key in ("bias", "diversity", "privacy"):
            notes = [n for n in r["report"][key].notes if not n.startswith(("Verdict", "Groups are"))][:6]
            if notes:
                lines += ["", f"{r['report'][key].title}, in words:", ""] + [f"- {n}" for n in notes]
        if r["warnings"]:
            lines += ["", "Warnings: " + "; ".join(r["warnings"])]
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    if isinstance(value, float):
        return C.fmt(value)
    return "n/a" if value is None else str(value)


def main(argv=None) -> None:
    args = parse_args(argv)
    results = [run(name, args) for name in args.datasets]
    body = render(results, args)
    print(body)
    C.write_section(SECTION, body, args.results)


if __name__ == "__main__":
    main()
