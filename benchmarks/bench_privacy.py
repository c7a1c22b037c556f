"""Privacy filters and differentially private training on Adult and fraud: what they cost.

    python benchmarks/bench_privacy.py                          # the full benchmark
    python benchmarks/bench_privacy.py --rows 3000 --epochs 1 --dp-epochs 1 --throughput-rows 20000 \
        --results /tmp/r.md                                     # a smoke run

For each dataset: a stratified 80/20 split; ``TabularSynthesizer(epochs=E)`` fitted on the 80%.

1. Filters: as many synthetic rows as training rows, drawn with ``privacy=False``, then passed
   through each filter (exact match only; + DCR at the 5% holdout quantile; + rare
   quasi-identifier combinations, k=5; all three): rows dropped per reason.
2. Cost of the filters: ``sample(n, privacy=filter)`` (drawn until n rows pass) against the
   unfiltered rows: sdmetrics quality and TSTR ROC AUC (boosted trees) on the real holdout.
3. Throughput: ``--throughput-rows`` synthetic rows filtered against the full training table,
   per check (exact, rare, DCR), rows per second.
4. DP: ``TabularSynthesizer(epochs=--dp-epochs, dp=DPConfig(epsilon))`` for epsilon 1, 3, 10
   against no DP at the same epochs: quality, TSTR ROC AUC and the epsilon spent. The target
   column's two classes are given as public categories (they are public knowledge); every
   other statistic is private.

``--marginal`` runs only the private synthesizers' comparison (section ``bench_privacy_marginal``):

    python benchmarks/bench_privacy.py --marginal --epsilons 1 3 10 --seeds 0 1 2

for each dataset, epsilon and seed: ``PrivateSynthesizer`` with ``method="aim"`` (``target=``
given), ``"mst"``, ``"dpctgan"`` (``--dp-epochs`` epochs), and an independent-marginals
baseline (every column from its own noisy histogram: AIM restricted to one-way marginals, the
same private domains and bins). The target's classes are public in every arm. Each cell is
appended to ``benchmarks/results/privacy_marginal.json`` as it finishes (a rerun skips done cells).
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

sys.path.insert(1, str(C.REPO_ROOT))

SECTION = "bench_privacy"
DATASETS = {
    # name: (file, target, positive class, reader, quasi-identifiers)
    "adult": ("adult.csv", "class", ">50K", C.load_adult, ["age", "sex", "race", "marital-status"]),
    "fraud": (
        "fraud_oracle.csv", "FraudFound_P", 1, lambda p: pd.read_csv(p, encoding="utf-8-sig"),
        ["AgeOfPolicyHolder", "Sex", "MaritalStatus", "Make"],
    ),
}
EPSILONS = (1.0, 3.0, 10.0)
MARGINAL_ARMS = ("aim", "mst", "dpctgan", "independent")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--dp-epochs", type=int, default=10, help="epochs of the DP fits and their no-DP reference")
    p.add_argument("--rows", type=int, default=0, help="subsample each dataset to this many rows (0: all)")
    p.add_argument("--throughput-rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--results", type=Path, default=C.RESULTS_MD)
    p.add_argument("--marginal", action="store_true", help="only the PrivateSynthesizer comparison (AIM, MST, ...)")
    p.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", default=list(MARGINAL_ARMS), choices=list(MARGINAL_ARMS))
    p.add_argument("--cells", type=Path, default=C.REPO_ROOT / "benchmarks" / "results" / "privacy_marginal.json")
    p.add_argument("--render-only", action="store_true", help="only rewrite the table from the cells already recorded")
    p.add_argument("--merge", type=Path, nargs="*", default=[], help="more cell files to show in the table (other runs)")
    p.add_argument("--peer", type=Path, default=C.REPO_ROOT / "benchmarks" / "results" / "privacy_marginal_peer.json",
                   help="smartnoise-synth AIM cells written by benchmarks/peer_smartnoise_aim.py")
    return p.parse_args(argv)


def load(name: str, rows: int, seed: int):
    filename, target, positive, reader, qis = DATASETS[name]
    df = reader(C.dataset_path(filename))
    df.columns = [str(c).strip() for c in df.columns]
    if rows and rows < len(df):
        df = df.sample(rows, random_state=seed).reset_index(drop=True)
    return df, target, positive, qis


def scores(train, synthetic, test, target, positive, seed) -> dict:
    meta = C.sdmetrics_metadata(train)
    utility = C.train_test_utility(synthetic, test, target, positive, seed)
    model = "boosted trees" if "boosted trees" in utility else next(iter(utility))
    return {"quality": C.quality_score(train, synthetic, meta), "tstr_auc": utility[model]["roc_auc"]}


def filters(train, holdout, qis, seed) -> dict:
    from synthgan import PrivacyFilter

    common = dict(seed=seed, verbose=False)
    return {
        "exact match": PrivacyFilter(dcr_quantile=None, **common).fit(train, holdout=holdout),
        "exact + DCR 5%": PrivacyFilter(dcr_quantile=0.05, **common).fit(train, holdout=holdout),
        "exact + rare QI (k=5)": PrivacyFilter(dcr_quantile=None, quasi_identifiers=qis, k=5, **common).fit(
            train, holdout=holdout
        ),
        "all three": PrivacyFilter(dcr_quantile=0.05, quasi_identifiers=qis, k=5, **common).fit(
            train, holdout=holdout
        ),
    }


def throughput(model, train, qis, n: int, seed: int) -> dict:
    """Seconds and rows/s of each check alone on n synthetic rows against all of ``train``."""
    from synthgan import PrivacyFilter

    rows = model.sample(n, seed=seed + 7, privacy=False)
    checks = {
        "exact match": PrivacyFilter(dcr_quantile=None, seed=seed, verbose=False),
        "rare QI (k=5)": PrivacyFilter(exact=False, dcr_quantile=None, quasi_identifiers=qis, k=5, seed=seed,
                                       verbose=False),
        "DCR 5%": PrivacyFilter(exact=False, dcr_quantile=0.05, seed=seed, verbose=False),
    }
    out = {}
    for name, filt in checks.items():
        start = time.perf_counter()
        filt.fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        result = filt.filter(rows)
        seconds = time.perf_counter() - start
        out[name] = {"fit_s": fit_s, "seconds": seconds, "rows_per_s": n / seconds, "dropped": len(result.dropped)}
        print(f"  throughput {name}: {n / seconds:,.0f} rows/s", flush=True)
    return out


def dp_arms(train, test, target, positive, args) -> dict:
    from synthgan import DPConfig, TabularSynthesizer

    from synthgan.errors import DataError

    classes = sorted(train[target].dropna().unique().tolist())
    out = {}
    for eps in (None, *EPSILONS):
        bounds, categories = {}, {target: classes}
        start = time.perf_counter()
        while True:  # a column too small to describe privately gets a public domain, recorded
            dp = None if eps is None else DPConfig(epsilon=eps, categories=categories, bounds=bounds)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = TabularSynthesizer(epochs=args.dp_epochs, seed=args.seed, verbose=False, dp=dp)
                    model.fit(train)
                break
            except DataError as exc:
                column = str(exc).split("'")[1]
                if "bounds" in str(exc) and column not in bounds:
                    bounds[column] = (float(train[column].min()), float(train[column].max()))
                elif column not in categories:
                    categories[column] = sorted(train[column].dropna().unique().tolist())
                else:
                    raise
        fit_s = time.perf_counter() - start
        synthetic = model.sample(len(train), seed=args.seed, privacy=False)
        row = scores(train, synthetic, test, target, positive, args.seed) | {"fit_s": fit_s}
        if eps is not None:
            row |= {"spent": model.privacy_["epsilon"], "noise": model.privacy_["noise_multiplier"]}
            lost = [c for c, enc in model.transformer_.encoders.items() if hasattr(enc, "categories")
                    and len(enc.categories) < train[c].nunique()]
            row["categories_cut"] = len(lost)
            row["public"] = sorted(bounds) + sorted(c for c in categories if c != target)
        out["no DP" if eps is None else f"epsilon {eps:g}"] = row
        print(f"  {'no DP' if eps is None else f'eps={eps:g}'}: {row}", flush=True)
    return out


def run(name: str, args) -> dict:
    from synthgan import TabularSynthesizer

    df, target, positive, qis = load(name, args.rows, args.seed)
    train, test = C.split(df, target, test_size=0.2, seed=args.seed)
    start = time.perf_counter()
    model = TabularSynthesizer(epochs=args.epochs, seed=args.seed, verbose=False).fit(train)
    fit_s = time.perf_counter() - start
    raw = model.sample(len(train), seed=args.seed, privacy=False)
    base = scores(train, raw, test, target, positive, args.seed)
    print(f"{name}: fitted in {fit_s:.0f}s; unfiltered {base}", flush=True)
    arms = {}
    for label, filt in filters(train, test, qis, args.seed).items():
        result = filt.filter(raw)
        start = time.perf_counter()
        kept = model.sample(len(train), seed=args.seed + 1, privacy=filt)
        sample_s = time.perf_counter() - start
        arms[label] = {"counts": result.counts, "pass_rate": result.pass_rate, "sample_s": sample_s}
        arms[label] |= scores(train, kept, test, target, positive, args.seed)
        print(f"  {label}: {arms[label]}", flush=True)
    return {
        "name": name, "target": target, "qis": qis, "rows": (len(train), len(test)), "fit_s": fit_s,
        "base": base, "arms": arms,
        "throughput": throughput(model, train, qis, args.throughput_rows, args.seed),
        "dp": dp_arms(train, test, target, positive, args),
    }


def render(results: list[dict], args) -> str:
    m = C.machine()
    lines = [
        f"## {SECTION}: privacy filters and DP training on Adult and fraud",
        "",
        f"`python benchmarks/bench_privacy.py --epochs {args.epochs} --dp-epochs {args.dp_epochs} "
        f"--throughput-rows {args.throughput_rows}" + (f" --rows {args.rows}" if args.rows else "") + "` "
        f"({m['cpu']}, {m['nproc']} CPUs, torch {m['torch']}, {m['date']}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}). Stratified 80/20 split; the holdout "
        "sets the DCR threshold and scores TSTR (boosted trees ROC AUC).",
    ]
    for r in results:
        n = r["rows"][0]
        lines += [
            "",
            f"### {r['name']} ({r['rows'][0]} train / {r['rows'][1]} holdout rows; quasi-identifiers "
            f"{', '.join(f'`{q}`' for q in r['qis'])})",
            "",
            f"Filters on {n} unfiltered synthetic rows (model: {args.epochs} epochs), and the cost of "
            f"`sample({n}, privacy=filter)` against the unfiltered rows (quality {C.fmt(r['base']['quality'])}, "
            f"TSTR AUC {C.fmt(r['base']['tstr_auc'])}):",
            "",
            "| filter | exact copies | DCR | rare QI | pass rate | quality | TSTR AUC | sample s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, a in r["arms"].items():
            c = a["counts"]
            lines.append(
                f"| {label} | {c.get('exact_match', 0)} | {c.get('dcr', 0)} | {c.get('rare_combination', 0)} | "
                f"{a['pass_rate']:.1%} | {C.fmt(a['quality'])} | {C.fmt(a['tstr_auc'])} | {a['sample_s']:.1f} |"
            )
        lines += [
            "",
            f"Throughput: {args.throughput_rows:,} synthetic rows against all {n} training rows, each check alone:",
            "",
            "| check | fit s | filter s | rows/s | dropped |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, t in r["throughput"].items():
            lines.append(f"| {label} | {t['fit_s']:.1f} | {t['seconds']:.1f} | {t['rows_per_s']:,.0f} | {t['dropped']} |")
        lines += [
            "",
            f"Differential privacy ({args.dp_epochs} epochs each; DP-SGD critic, no PacGAN, fp32). For reference, "
            f"the {args.epochs}-epoch model above: quality {C.fmt(r['base']['quality'])}, TSTR AUC "
            f"{C.fmt(r['base']['tstr_auc'])}.",
            "",
            "| arm | epsilon spent | noise multiplier | columns with categories cut | public domain assumed | quality "
            "| TSTR AUC | fit s |",
            "|---|---:|---:|---:|---|---:|---:|---:|",
        ]
        for label, d in r["dp"].items():
            public = ", ".join(f"`{c}`" for c in d.get("public", [])) or ("none" if "spent" in d else "")
            lines.append(
                f"| {label} | {C.fmt(d.get('spent'))} | {C.fmt(d.get('noise'))} | {d.get('categories_cut', '')} | "
                f"{public} | {C.fmt(d['quality'])} | {C.fmt(d['tstr_auc'])} | {d['fit_s']:.0f} |"
            )
        lines += [
            "",
            "The target's classes are public in every DP arm. \"Public domain assumed\": columns whose range or "
            "categories could not be estimated privately at that epsilon (too few rows per noisy count); the "
            "benchmark then gives their observed range or categories as public knowledge, as a user would with "
            "`DPConfig(bounds=..., categories=...)`. \"Categories cut\": columns that lost their rarer categories "
            "to the noisy-count threshold.",
        ]
    return "\n".join(lines) + "\n"


def marginal_cell(name: str, arm: str, eps: float, seed: int, args) -> dict:
    from synthgan import PrivateSynthesizer

    df, target, positive, _ = load(name, args.rows, args.seed)
    train, test = C.split(df, target, test_size=0.2, seed=args.seed)
    public = {target: sorted(train[target].dropna().unique().tolist())}
    options = dict(epsilon=eps, seed=seed, verbose=False, categories=public)
    if arm == "dpctgan":
        options |= dict(method="dpctgan", epochs=args.dp_epochs)
    elif arm == "independent":
        from synthgan.schema import ColumnKind, detect_schema

        modelled = [c.name for c in detect_schema(train).columns if c.kind is not ColumnKind.ID]
        options |= dict(method="aim", workload=[(c,) for c in modelled])
    else:
        options |= dict(method=arm)
    from synthgan.errors import DataError

    start = time.perf_counter()
    while True:  # DP-CTGAN's Laplace domains: a column it cannot release gets a public domain, recorded
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = PrivateSynthesizer(**options)
                model.fit(train, target=target) if arm == "aim" else model.fit(train)
            break
        except DataError as exc:
            column = str(exc).split("'")[1]
            if arm != "dpctgan" or column in options["categories"] or column not in train.columns:
                raise
            options["categories"] = dict(options["categories"], **{column: sorted(train[column].dropna().unique().tolist())})
    fit_s = time.perf_counter() - start
    synthetic = model.sample(len(train), seed=seed, privacy=False)
    row = scores(train, synthetic, test, target, positive, seed)
    return row | {"fit_s": fit_s, "epsilon_spent": model.privacy_["epsilon"], "delta": model.privacy_["delta"],
                  "rows": [len(train), len(test)], "public": sorted(c for c in options["categories"] if c != target)}


def run_marginal(args) -> None:
    import json

    cells = json.loads(args.cells.read_text()) if args.cells.exists() else {}
    for name in [] if args.render_only else args.datasets:  # the reference: a classifier on the real training rows (TRTR)
        key = f"{name}|real|0|0"
        if key not in cells:
            df, target, positive, _ = load(name, args.rows, args.seed)
            train, test = C.split(df, target, test_size=0.2, seed=args.seed)
            utility = C.train_test_utility(train, test, target, positive, args.seed)
            model = "boosted trees" if "boosted trees" in utility else next(iter(utility))
            cells[key] = {"tstr_auc": utility[model]["roc_auc"], "rows": [len(train), len(test)]}
    for seed in [] if args.render_only else args.seeds:  # every dataset and epsilon at one seed before the next
        for name in args.datasets:
            for eps in args.epsilons:
                for arm in args.arms:
                    key = f"{name}|{arm}|{eps:g}|{seed}"
                    if key in cells:
                        continue
                    cells[key] = marginal_cell(name, arm, eps, seed, args)
                    print(key, {k: v for k, v in cells[key].items() if k != "rows"}, flush=True)
                    args.cells.parent.mkdir(parents=True, exist_ok=True)
                    args.cells.write_text(json.dumps(cells, indent=1))
    shown = dict(cells)
    for extra in args.merge:
        shown |= json.loads(extra.read_text())
    body = render_marginal(shown, args)
    print(body)
    C.write_section("bench_privacy_marginal", body, args.results)


def render_marginal(cells: dict, args) -> str:
    import statistics

    m = C.machine()
    lines = [
        "## bench_privacy_marginal: private synthesizers (AIM, MST, DP-CTGAN, independent marginals)",
        "",
        f"`python benchmarks/bench_privacy.py --marginal --epsilons {' '.join(f'{e:g}' for e in args.epsilons)} "
        f"--seeds {' '.join(map(str, args.seeds))} --dp-epochs {args.dp_epochs}` ({m['cpu']}, {m['nproc']} CPUs, "
        f"table written {m['date']}). `PrivateSynthesizer` defaults "
        "(delta = min(1e-5, 1/n^1.1)); the target's classes public; stratified 80/20 split; quality: sdmetrics "
        "QualityReport against the training rows; TSTR: boosted trees trained on as many synthetic rows as training "
        "rows, ROC AUC on the real holdout. Mean and spread (min-max) over seeds; every cell in "
        "`benchmarks/results/privacy_marginal.json`.",
    ]
    import json

    peer = json.loads(args.peer.read_text()) if args.peer.exists() else {}

    def rows_of(name, arm, eps):
        return [v for k, v in cells.items() if k.startswith(f"{name}|{arm}|{eps:g}|")]

    def mean(rows, key):
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.fmean(values) if values else None

    for name in dict.fromkeys(k.split("|")[0] for k in cells):
        lines += ["", f"### {name}", "", "| epsilon | arm | seeds | quality | TSTR ROC AUC | fit s | public domains |",
                  "|---:|---|---:|---:|---:|---:|---|"]
        real = cells.get(f"{name}|real|0|0")
        if real:
            lines.append(f"| - | real training rows (TRTR) | - | - | {real['tstr_auc']:.3f} | - | - |")
        for eps in sorted({float(k.split("|")[2]) for k in cells if k.startswith(name + "|") and "|real|" not in k}):
            for arm in MARGINAL_ARMS:
                rows = rows_of(name, arm, eps)
                if not rows:
                    continue

                def stat(key):
                    values = [r[key] for r in rows]
                    return f"{statistics.fmean(values):.3f}" + (
                        f" ({min(values):.3f}-{max(values):.3f})" if len(values) > 1 else "")

                public = sorted({c for r in rows for c in r.get("public", [])})
                shown = ", ".join(f"`{c}`" for c in public[:6]) + (f" and {len(public) - 6} more" if len(public) > 6 else "")
                lines.append(f"| {eps:g} | {arm} | {len(rows)} | {stat('quality')} | {stat('tstr_auc')} | "
                             f"{mean(rows, 'fit_s'):.0f} | {shown or 'none'} |")
            for key, value in peer.items():
                if key.startswith(f"{name}|smartnoise-aim|{eps:g}|"):
                    if value.get("status") == "timeout":
                        lines.append(f"| {eps:g} | smartnoise-synth AIM (peer) | 1 | did not finish | | "
                                     f"> {value['fit_s_over']:.0f} | all categories (released without noise) |")
                    else:
                        lines.append(f"| {eps:g} | smartnoise-synth AIM (peer) | 1 | {value['quality']:.3f} | "
                                     f"{value['tstr_auc']:.3f} | {value['fit_s']:.0f} | all categories |")
    # the targets, read off the cells
    checks = []

    def check(label, value, ok):
        if value is not None:
            checks.append(f"| {label} | {value} | {'met' if ok else '**missed**'} |")

    a3, a1, f3 = rows_of("adult", "aim", 3), rows_of("adult", "aim", 1), rows_of("fraud", "aim", 3)
    if a3:
        check("Adult, epsilon 3, AIM: TSTR ROC AUC >= 0.88", f"{mean(a3, 'tstr_auc'):.3f}", mean(a3, "tstr_auc") >= 0.88)
        check("Adult, epsilon 3, AIM: quality >= 0.85", f"{mean(a3, 'quality'):.3f}", mean(a3, "quality") >= 0.85)
        check("Adult, epsilon 3, AIM: fit under 10 minutes", f"{max(r['fit_s'] for r in a3):.0f} s (slowest)",
              max(r["fit_s"] for r in a3) < 600)
    if a1:
        check("Adult, epsilon 1, AIM: TSTR ROC AUC >= 0.85", f"{mean(a1, 'tstr_auc'):.3f}", mean(a1, "tstr_auc") >= 0.85)
    if f3:
        check("fraud, epsilon 3, AIM: TSTR ROC AUC >= 0.70", f"{mean(f3, 'tstr_auc'):.3f}", mean(f3, "tstr_auc") >= 0.70)
    for name in dict.fromkeys(k.split("|")[0] for k in cells):
        for eps in sorted({float(k.split("|")[2]) for k in cells if k.startswith(name + "|") and "|real|" not in k}):
            base = rows_of(name, "independent", eps)
            if not base:
                continue
            for arm in ("aim", "mst", "dpctgan"):
                rows = rows_of(name, arm, eps)
                if rows:
                    q, t = mean(rows, "quality"), mean(rows, "tstr_auc")
                    bq, bt = mean(base, "quality"), mean(base, "tstr_auc")
                    check(f"{name}, epsilon {eps:g}: {arm} beats independent marginals (quality, TSTR)",
                          f"{q:.3f} vs {bq:.3f}, {t:.3f} vs {bt:.3f}", q > bq and t > bt)
    lines += ["", "Targets (issue 16), read off the cells above:", "", "| target | figure | |", "|---|---|---|", *checks]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.marginal:
        run_marginal(args)
        return
    results = [run(name, args) for name in args.datasets]
    body = render(results, args)
    print(body)
    C.write_section(SECTION, body, args.results)


if __name__ == "__main__":
    main()
