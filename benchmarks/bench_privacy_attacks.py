"""Privacy attacks on synthgan's default model, with and without the default privacy filters.

    python benchmarks/bench_privacy_attacks.py --threads 1 --markdown benchmarks/RESULTS.md
    python benchmarks/bench_privacy_attacks.py --resume-from benchmarks/results/privacy_attacks.json \\
        --markdown benchmarks/RESULTS.md                                          # continue an interrupted run
    python benchmarks/bench_privacy_attacks.py --smoke --tables adult --max-rows 3000 --threads 1

The evidence issue 18 asks for: on Adult and the vehicle insurance fraud table, every membership
attack's ROC AUC and true positive rate at 1% and 0.1% false positive rate (with intervals), the
attribute inference figures and their cost in seconds, for synthetic rows released without and with
the default filters. Target: with the default filters, every attack's AUC <= 0.55 and TPR at 1% FPR
<= 0.03 on both tables.

Tables: fraud (``../shared/datasets/fraud_oracle.csv``, ``PolicyNumber`` dropped, stratified on
``FraudFound_P``; secrets ``FraudFound_P`` and ``Fault``) and Adult (``C.load_adult``, stratified on
``class``; secrets ``class``, the income bracket, and ``race``). A seeded stratified split: 50% train
(the model's rows, the members), 40% holdout (half the density-ratio attack's reference rows, half the
non-member targets; it also sets the default filter's DCR threshold, as a user would) and 10% fresh
real rows that only the reference arm uses. 50% train leaves thousands of non-members, so a TPR at
0.1% FPR rests on several false positives rather than none.

``TabularSynthesizer(seed=s)`` at library defaults is fitted once per table on the train rows (timed).
Arms, each ``len(train)`` rows sampled with the same seed:

- ``exact``: ``sample(n)``, the library default release check (rows equal to a training row dropped);
- ``default filter``: ``sample(n, privacy=PrivacyFilter().fit(train, holdout))``: PrivacyFilter's
  defaults are exact match plus distance to the closest record below the 5% quantile of the
  holdout's (``dcr_quantile=0.05``); no quasi-identifiers and no membership-risk check;
- ``+ membership risk 5%``: the same plus ``membership_risk=0.05`` (``membership_radius=0.5``, its
  default): no synthetic row within half the 5th-neighbour distance of the 5% most isolated records;
- ``real rows (reference)``: the fresh real rows as the "synthetic" table: a table that knows nothing
  of the members, so every attack should sit at chance (AUC 0.5, TPR at 1% FPR 0.01).

For each arm: ``membership_attacks`` (density ratio, DOMIAS-style; distance to closest record) at the
settings of ``evaluate(attacks="thorough")`` by default (``--level``), ``attribute_inference`` on the
table's secrets, optionally the shadow-model attack (``--shadow-budget``: its shadow models are fitted
once per table and the released table of every arm is scored against them), the rows each filter drops
from ``n`` unfiltered rows (``sample(n, privacy=False)``, same seed) by reason, the seconds of sampling
and of each attack, and the sdmetrics QualityReport score of the arm's rows against the train rows.

The json (default benchmarks/results/privacy_attacks.json) is rewritten after every cell;
``--resume-from`` reuses the finished cells of an earlier run with the same settings (the model is
fitted again, with the same seed, for a table that still has cells to run). ``--smoke`` (2 epochs)
and ``--max-rows`` are for checking the script: both are recorded, and a smoke run writes
privacy_attacks-smoke.json by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_privacy_attacks"
DEFAULT_JSON = C.RESULTS_DIR / "privacy_attacks.json"
SMOKE_JSON = C.RESULTS_DIR / "privacy_attacks-smoke.json"
SMOKE_EPOCHS = 2
#: shares of the table: train (members), holdout (attack reference + non-members), fresh (reference arm)
SPLIT = (0.5, 0.4, 0.1)
TABLES = ("fraud", "adult")
SECRETS = {"fraud": ["FraudFound_P", "Fault"], "adult": ["class", "race"]}
ARMS = ("exact", "default", "membership", "reference")
ARM_LABELS = {"exact": "exact match only (library default)", "default": "default filter (exact + DCR 5%)",
              "membership": "default filter + membership risk 5%", "reference": "real rows (reference)"}
#: the arms the target is judged on
FILTERED = ("default", "membership")
TARGET_AUC, TARGET_TPR = 0.55, 0.03
MEMBERSHIP_RISK = 0.05
RESUME_KEYS = ("seed", "split", "max_rows", "smoke", "smoke_epochs", "level", "shadow_budget")
PACKAGES = ("synthgan", "sdmetrics", "scikit-learn", "torch", "numpy", "pandas")


# ------------------------------------------------------------------ data

def load(name: str, args) -> tuple[pd.DataFrame, str, dict]:
    """(frame, stratification column, facts), subsampled (stratified) to --max-rows."""
    from sklearn.model_selection import train_test_split

    if name == "fraud":
        df = C.load_fraud(C.dataset_path("fraud_oracle.csv")).drop(columns=["PolicyNumber"])
        target, source = "FraudFound_P", "../shared/datasets/fraud_oracle.csv, PolicyNumber dropped"
    else:
        df = C.load_adult(C.dataset_path("adult.csv"))
        target, source = "class", "../shared/datasets/adult.csv (benchmarks/_common.load_adult)"
    facts = {"source": source, "stratified_on": target, "rows_raw": len(df), "columns": len(df.columns),
             "duplicate_rows": int(df.duplicated().sum()), "secrets": SECRETS[name]}
    if args.max_rows and args.max_rows < len(df):
        df, _ = train_test_split(df, train_size=args.max_rows, stratify=df[target], random_state=args.seed)
        df = df.reset_index(drop=True)
        facts["subsampled_to"] = len(df)
    return df, target, facts


def three_way_split(df: pd.DataFrame, target: str, seed: int):
    """Seeded stratified train / holdout / fresh rows in the SPLIT shares, each with a fresh index."""
    from sklearn.model_selection import train_test_split

    train, rest = train_test_split(df, train_size=SPLIT[0], stratify=df[target], random_state=seed)
    holdout, fresh = train_test_split(rest, train_size=SPLIT[1] / (SPLIT[1] + SPLIT[2]),
                                      stratify=rest[target], random_state=seed)
    return tuple(part.reset_index(drop=True) for part in (train, holdout, fresh))


# ------------------------------------------------------------------ attacks

def attack_settings(level: str) -> dict:
    from synthgan.evaluation.evaluate import ATTACK_LEVELS

    return dict(ATTACK_LEVELS[level])


def estimate(e) -> dict:
    return {"value": e.value, "low": e.low, "high": e.high}


def result_cell(r) -> dict:
    """An AttackResult's figures (exposed records as labels only, never values)."""
    return {"auc": estimate(r.auc), "tpr_1pct": estimate(r.tpr_at_fpr[0.01]),
            "tpr_01pct": estimate(r.tpr_at_fpr[0.001]),
            "n_members": r.n_members, "n_non_members": r.n_non_members, "seconds": r.seconds,
            "most_exposed": [C.plain(x) for x in r.most_exposed[:5]],
            "exposed_p_values": list(r.exposed_p_values[:5])}


class Shadow:
    """The shadow-model attack fitted once per table; every arm's released rows scored against it.

    The same target choice as ``synthgan.privacy.attacks.shadow_attack`` (members from train,
    non-members and the shadow models' reference rows from the holdout), with the fitted attack's
    released points swapped per arm (``dataclasses.replace``), so the costly shadow fits are shared.
    """

    def __init__(self, model, train, holdout, budget_s: float, seed: int):
        from synthgan.privacy.attacks import SHADOW_TARGETS, ShadowModelAttack
        from synthgan.privacy.metrics import sample_positions
        from synthgan.privacy.space import MixedSpace
        from synthgan.schema import detect_schema

        schema = detect_schema(train)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(holdout))
        n_non = min(SHADOW_TARGETS, len(holdout) // 2)
        self.non_members = holdout.iloc[np.sort(order[:n_non])]
        reference = holdout.iloc[np.sort(order[n_non:])]
        self.members = train.iloc[sample_positions(len(train), SHADOW_TARGETS, rng)]
        self.space = MixedSpace.fit(schema.canonical(train), schema)
        self.seed = seed
        start = time.perf_counter()
        released = model.sample(len(train), seed=seed)  # replaced per arm; fixes the shadow sample size
        self.attack = ShadowModelAttack.fit(
            self.space, model, released, reference, pd.concat([self.members, self.non_members]),
            n_train=len(train), budget_s=float(budget_s), seed=seed,
        )
        self.fit_s = time.perf_counter() - start

    def info(self) -> dict:
        if isinstance(self.attack, str):
            return {"skipped": self.attack, "fit_s": self.fit_s}
        return {"shadow_models": self.attack.n_shadow, "seconds_per_fit": self.attack.seconds_per_fit,
                "fit_s": self.fit_s, "targets": [len(self.members), len(self.non_members)]}

    def score(self, synthetic: pd.DataFrame, n_bootstrap: int):
        from synthgan.privacy.attacks import attack_result
        from synthgan.privacy.metrics import ATTACK_ROWS_FACTOR, MAX_ROWS, embed_rows, sample_positions

        start = time.perf_counter()
        rng = np.random.default_rng(self.seed)
        rows = synthetic.iloc[sample_positions(len(synthetic), ATTACK_ROWS_FACTOR * MAX_ROWS, rng)]
        attack = dataclasses.replace(self.attack, synthetic=embed_rows(self.space, rows))
        return attack_result("shadow", attack.scores(self.members), attack.scores(self.non_members),
                             self.members.index.tolist(), n_bootstrap=n_bootstrap, seed=self.seed,
                             seconds=time.perf_counter() - start)


# ------------------------------------------------------------------ cells

def filters(train, holdout, seed: int) -> dict:
    """The PrivacyFilter of each filtered arm, fitted, with its fit seconds."""
    from synthgan import PrivacyFilter

    out = {}
    for arm, options in (("default", {}), ("membership", {"membership_risk": MEMBERSHIP_RISK})):
        start = time.perf_counter()
        filt = PrivacyFilter(seed=seed, verbose=False, **options).fit(train, holdout)
        out[arm] = (filt, time.perf_counter() - start)
    return out


def drop_counts(model, train, fitted: dict, seed: int) -> dict:
    """Rows each arm's check drops from len(train) unfiltered rows drawn with the arms' seed."""
    from synthgan import PrivacyFilter

    raw = model.sample(len(train), seed=seed, privacy=False)
    exact = PrivacyFilter(dcr_quantile=None, seed=seed, verbose=False).fit(train)
    out = {}
    for arm, filt in (("exact", exact), *((a, f) for a, (f, _) in fitted.items())):
        result = filt.filter(raw)
        out[arm] = {"drawn": len(raw), "dropped": {k: v for k, v in result.counts.items() if v},
                    "pass_rate": len(result.kept) / len(raw), "threshold": C.plain(result.threshold)}
    return out


def run_arm(name: str, arm: str, ctx: dict, args) -> dict:
    from synthgan.privacy.attacks import membership_attacks
    from synthgan.privacy.attribute import attribute_inference

    train, holdout, fresh, model = ctx["train"], ctx["holdout"], ctx["fresh"], ctx["model"]
    cell = {"table": name, "arm": arm, "started": C.now(), "load_before": list(os.getloadavg())}
    other = C.OtherCores()
    start = time.perf_counter()
    if arm == "reference":
        rows = fresh
    elif arm == "exact":
        rows = model.sample(len(train), seed=args.seed)
    else:
        filt, cell["filter_fit_s"] = ctx["filters"][arm]
        rows = model.sample(len(train), seed=args.seed, privacy=filt)
        if arm == "membership":
            cell["protected_records"] = len(filt.isolation_positions())
    cell["sample_s"] = time.perf_counter() - start
    cell["rows"] = len(rows)
    if arm in ctx["drops"]:
        cell["filter_on_unfiltered_rows"] = ctx["drops"][arm]
    settings = attack_settings(args.level)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        results = membership_attacks(train, rows, holdout, seed=args.seed, **settings)
        cell["membership_attacks_s"] = time.perf_counter() - start  # with the bootstrap intervals
        cell["attacks"] = {k: result_cell(r) for k, r in results.items()}
        if ctx.get("shadow") is not None and not isinstance(ctx["shadow"].attack, str):
            cell["attacks"]["shadow"] = result_cell(ctx["shadow"].score(rows, settings["n_bootstrap"]))
        start = time.perf_counter()
        risks = attribute_inference(train, rows, holdout, SECRETS[name], seed=args.seed)
        cell["attribute_s"] = time.perf_counter() - start
        cell["attributes"] = {col: {k: C.plain(v) for k, v in r.to_dict().items()} for col, r in risks.items()}
        start = time.perf_counter()
        cell["quality"] = C.quality_score(train, rows, C.sdmetrics_metadata(train))
        cell["quality_s"] = time.perf_counter() - start
    cell["warnings"] = C.warning_lines(caught)
    cell["other_cores_busy"] = other.share()
    cell["status"] = "done"
    return cell


def prepare_table(name: str, args, state: dict) -> dict:
    """Split, fit the model (timed), fit the filters, count drops, fit the shadow attack if asked."""
    from synthgan import TabularSynthesizer

    df, target, facts = load(name, args)
    train, holdout, fresh = three_way_split(df, target, args.seed)
    facts.update(rows=len(df), train=len(train), holdout=len(holdout), fresh=len(fresh))
    params = {"seed": args.seed, "verbose": False}
    if args.smoke:
        params["epochs"] = args.smoke_epochs
    start = time.perf_counter()
    model = TabularSynthesizer(**params).fit(train)
    fit = {"call": "TabularSynthesizer(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ").fit(train)",
           "fit_s": time.perf_counter() - start, "epochs_run": len(model.history_.records),
           "best_epoch": model.history_.best_epoch, "started": C.now()}
    fitted = filters(train, holdout, args.seed)
    ctx = {"train": train, "holdout": holdout, "fresh": fresh, "model": model, "filters": fitted,
           "drops": drop_counts(model, train, fitted, args.seed), "shadow": None}
    if args.shadow_budget:
        ctx["shadow"] = Shadow(model, train, holdout, args.shadow_budget, args.seed)
        fit["shadow"] = ctx["shadow"].info()
    state["tables"][name] = {"facts": facts, "fit": fit}
    return ctx


# ------------------------------------------------------------------ markdown

def _e(e: dict | None, digits: int = 3) -> str:
    if not e:
        return "n/a"
    return f"{e['value']:.{digits}f} [{e['low']:.{digits}f}, {e['high']:.{digits}f}]"


def target_line(name: str, state: dict) -> str:
    parts = []
    for arm in FILTERED:
        c = state["cells"].get(f"{name}/{arm}")
        if not c or c.get("status") != "done":
            parts.append(f"{ARM_LABELS[arm]}: not measured")
            continue
        worst_auc = max(a["auc"]["value"] for a in c["attacks"].values())
        worst_tpr = max(a["tpr_1pct"]["value"] for a in c["attacks"].values())
        misses = [f"{k} AUC {a['auc']['value']:.3f}" for k, a in c["attacks"].items() if a["auc"]["value"] > TARGET_AUC]
        misses += [f"{k} TPR@1% {a['tpr_1pct']['value']:.3f}" for k, a in c["attacks"].items()
                   if a["tpr_1pct"]["value"] > TARGET_TPR]
        verdict = "met" if not misses else "NOT met (" + "; ".join(misses) + ")"
        parts.append(f"{ARM_LABELS[arm]}: {verdict}; worst AUC {worst_auc:.3f}, worst TPR@1% {worst_tpr:.3f} "
                     f"over {', '.join(c['attacks'])}")
    return f"- **{name}**, target AUC <= {TARGET_AUC} and TPR@1% FPR <= {TARGET_TPR}: " + " | ".join(parts)


def render(state: dict) -> str:
    config = state["config"]
    v = state["runs"][-1]["versions"]
    lo, hi = int(SPLIT[0] * 100), int(SPLIT[1] * 100)
    settings = [
        f"- versions: synthgan {v['synthgan']}, sdmetrics {v['sdmetrics']}, scikit-learn {v['scikit-learn']}, "
        f"torch {v['torch']}, numpy {v['numpy']}, pandas {v['pandas']}, Python {v['python']}",
        f"- seeded stratified split {lo}/{hi}/{100 - lo - hi} (train / holdout / fresh real rows), seed "
        f"{config['seed']}; attacks at `evaluate(attacks=\"{config['level']}\")` settings "
        f"({attack_settings(config['level'])}); shadow-model attack "
        + (f"budget {config['shadow_budget']:g} s per table" if config["shadow_budget"]
           else "not run (--shadow-budget 0)")
        + (f"; every table subsampled (stratified) to at most {config['max_rows']:,} rows (--max-rows)"
           if config["max_rows"] else ""),
    ]
    lines = C.heading(SECTION, "membership and attribute inference attacks, with and without the default filters",
                      state, "fit", "torch / BLAS / OpenMP threads", settings)
    tables = [n for n in TABLES if n in state["tables"]]
    facts = []
    for name in tables:
        f, fit = state["tables"][name]["facts"], state["tables"][name]["fit"]
        shadow = fit.get("shadow") or {}
        shadow_text = (shadow.get("skipped", "")[:80] if "skipped" in shadow else
                       f"{shadow['shadow_models']} fits, {shadow['fit_s']:.0f} s" if shadow else "-")
        facts.append([name, f"{f['rows']:,}", f"{f['train']:,} / {f['holdout']:,} / {f['fresh']:,}",
                      ", ".join(f"`{s}`" for s in f["secrets"]), f"{fit['fit_s']:.0f}",
                      f"{fit['epochs_run']} ({fit['best_epoch']})", shadow_text])
    lines += ["", C.markdown_table(["table", "rows", "train / holdout / fresh", "secrets", "fit s",
                                    "epochs run (best)", "shadow models"], facts), ""]

    rows = []
    for name in tables:
        for arm in ARMS:
            c = state["cells"].get(f"{name}/{arm}")
            if c is None:
                continue
            if c.get("status") != "done":
                rows.append([name, ARM_LABELS[arm], f"error: {c.get('error', '')[:100]}"] + [""] * 5)
                continue
            for attack, a in c["attacks"].items():
                rows.append([name, ARM_LABELS[arm], attack, _e(a["auc"]), _e(a["tpr_1pct"]),
                             _e(a["tpr_01pct"]), C.fmt(a["seconds"]), f"{c['quality']:.3f}"])
    lines += ["Membership attacks (95% stratified bootstrap intervals). Seconds: fitting the attack and scoring "
              "every target, without the bootstrap (all attacks of a cell with their intervals: "
              "`membership_attacks_s` in the json); the shadow attack's shared shadow fits are in the table above. "
              "Quality: sdmetrics QualityReport of the arm's rows against the train rows:", "",
              C.markdown_table(["table", "arm", "attack", "AUC", "TPR @ 1% FPR", "TPR @ 0.1% FPR", "seconds",
                                "quality"], rows), ""]

    lines += ["Target (issue 18) with the default filters:", ""]
    lines += [target_line(name, state) for name in tables] + [""]

    drops = []
    for name in tables:
        for arm in ARMS:
            c = state["cells"].get(f"{name}/{arm}")
            if not c or c.get("status") != "done":
                continue
            f = c.get("filter_on_unfiltered_rows")
            dropped = ", ".join(f"{k} {n:,}" for k, n in f["dropped"].items()) if f else "-"
            drops.append([name, ARM_LABELS[arm], dropped or "none", f"{f['pass_rate']:.1%}" if f else "-",
                          C.fmt(f["threshold"]) if f and f.get("threshold") is not None else "-",
                          f"{c['sample_s']:.1f}", f"{c.get('filter_fit_s', 0):.1f}" if "filter_fit_s" in c else "-",
                          f"{c['quality']:.3f}"])
    lines += ["What each filter drops from as many unfiltered rows as train rows (`sample(n, privacy=False)`, the "
              "arms' seed), and what the arm costs:", "",
              C.markdown_table(["table", "arm", "rows dropped (reason)", "pass rate", "DCR threshold",
                                "sample s", "filter fit s", "quality"], drops), ""]

    attrs = []
    for name in tables:
        for arm in ARMS:
            c = state["cells"].get(f"{name}/{arm}")
            if not c or c.get("status") != "done":
                continue
            for col, r in c["attributes"].items():
                cap = (f"{C.fmt_value(r.get('cap_members'))} / {C.fmt_value(r.get('cap_non_members'))}")
                attrs.append([name, ARM_LABELS[arm], f"`{col}`", r["metric"], f"{r['members']:.3f}",
                              f"{r['non_members']:.3f}", f"{r['member_advantage']:+.3f}",
                              f"{r['baseline_members']:.3f}", cap, f"{c['attribute_s']:.1f}"])
    lines += ["Attribute inference (nearest synthetic row in the other columns; member advantage = members - "
              "non-members; baseline = the marginal-only guess on members; CAP = sdmetrics DisclosureProtection, "
              "1 protected, n/a where sdmetrics returned no score; seconds for all the table's secrets, CAP "
              "included):", "",
              C.markdown_table(["table", "arm", "secret", "metric", "members", "non-members", "member advantage",
                                "baseline", "CAP members / non-members", "seconds"], attrs), ""]
    busy = [c["other_cores_busy"] for c in state["cells"].values() if c.get("other_cores_busy") is not None]
    if busy:
        lines.append(f"- other cores busy during the cells (CPU seconds of other processes / wall seconds): mean "
                     f"{np.mean(busy):.2f}, max {np.max(busy):.2f}; above about 0.1 the seconds are skewed")
    lines.append("- the reference arm's rows are real rows the model never saw: attacks on it should read AUC about "
                 "0.5 and TPR about the FPR; its quality is what real data scores against the train rows")
    lines.append("- the holdout is both the attacks' non-member / reference pool and the default filter's DCR "
                 "threshold source (a 5% quantile of holdout-to-train distances), as a user with one holdout would "
                 "run them")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    p.add_argument("--level", choices=("fast", "thorough"), default="thorough",
                   help="membership attack settings, as evaluate(attacks=...) (default: thorough)")
    p.add_argument("--shadow-budget", type=float, default=0.0,
                   help="seconds of shadow-model fits per table (0: no shadow-model attack; each fit is a "
                   "default fit, minutes on Adult) (default: 0)")
    p.add_argument("--max-rows", type=int, default=0,
                   help="subsample each table (stratified) to this many rows (checks only; recorded)")
    p.add_argument("--smoke", action="store_true",
                   help=f"{SMOKE_EPOCHS} epochs: checks the script, never results (recorded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch / BLAS / OpenMP threads (default: os.cpu_count())")
    C.add_output_args(p, DEFAULT_JSON, SMOKE_JSON)
    args = p.parse_args(argv)
    if not args.shadow_budget >= 0:
        p.error(f"--shadow-budget {args.shadow_budget:g}: expected seconds >= 0 (0: no shadow-model attack)")
    args.smoke_epochs = SMOKE_EPOCHS
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    threads = C.set_threads(args.threads)
    config = {"seed": args.seed, "split": list(SPLIT), "max_rows": args.max_rows, "smoke": args.smoke,
              "smoke_epochs": args.smoke_epochs if args.smoke else None, "level": args.level,
              "shadow_budget": args.shadow_budget}
    path = C.json_path(args, DEFAULT_JSON, SMOKE_JSON)
    record = C.run_record("bench_privacy_attacks.py", args, threads, PACKAGES)
    state = C.start_state(SECTION, config, record, args.resume_from, RESUME_KEYS)
    print(f"[{SECTION}] threads {threads}; load average {record['load_average_before']}; json -> {path}",
          file=sys.stderr, flush=True)
    for name in args.tables:
        todo = [a for a in ARMS if state["cells"].get(f"{name}/{a}", {}).get("status") != "done"]
        if not todo:
            continue
        print(f"[{SECTION}] {name}: fitting ...", file=sys.stderr, flush=True)
        try:
            ctx = prepare_table(name, args, state)
        except Exception as exc:  # noqa: BLE001 - recorded, the other table still runs
            for arm in todo:
                state["cells"][f"{name}/{arm}"] = C.failed_cell(SECTION, f"{name}/{arm}", exc, table=name, arm=arm)
            C.write_json(state, path)
            continue
        print(f"[{SECTION}] {name}: fitted in {state['tables'][name]['fit']['fit_s']:.0f} s", file=sys.stderr,
              flush=True)
        C.write_json(state, path)
        for arm in todo:
            key = f"{name}/{arm}"
            print(f"[{SECTION}] {key} ...", file=sys.stderr, flush=True)
            try:
                cell = run_arm(name, arm, ctx, args)
            except Exception as exc:  # noqa: BLE001 - one failed cell must not lose the run
                cell = C.failed_cell(SECTION, key, exc, table=name, arm=arm)
            else:
                figures = ", ".join(f"{k} AUC {a['auc']['value']:.3f} TPR@1% {a['tpr_1pct']['value']:.3f}"
                                    for k, a in cell["attacks"].items())
                print(f"[{SECTION}] {key}: {figures}; quality {cell['quality']:.3f}", file=sys.stderr, flush=True)
            state["cells"][key] = cell
            C.write_json(state, path)
    C.publish(SECTION, render(state), path, args.markdown)


if __name__ == "__main__":
    main()
