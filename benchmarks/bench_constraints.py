"""Business rules in synthetic rows: validity before and after declaring them, and what it costs.

    python benchmarks/bench_constraints.py --threads 1 --markdown benchmarks/RESULTS.md

Tables and rules (each rule holds on every row of the real table):
- the vehicle insurance fraud table (``PolicyNumber`` dropped): ``FixedCombinations(["PolicyType",
  "VehicleCategory", "BasePolicy"])`` (a policy type names its vehicle category and base policy);
- Adult: ``FixedCombinations(["education", "education-num"])`` (the number codes the level), the one
  rule ``synthgan.constraints.detect`` proposes on it.

For each table, on a seeded stratified 70/30 split: ``TabularSynthesizer(seed=s)`` at library
defaults fitted on the training rows without and with the rule, ``len(train)`` rows sampled from each;
reported: the share of rows obeying the rule (real train, real test, both synthetic tables), the
sdmetrics QualityReport score of each synthetic table against the training rows, and fit seconds.
The json (default benchmarks/results/constraints.json) is rewritten after every cell.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_constraints"
DEFAULT_JSON = C.RESULTS_DIR / "constraints.json"
SMOKE_JSON = C.RESULTS_DIR / "constraints-smoke.json"
TEST_SIZE = 0.3
TABLES = ("fraud", "adult")
PACKAGES = ("synthgan", "sdmetrics", "torch", "numpy", "pandas")


def load(name: str):
    from synthgan.constraints import FixedCombinations

    if name == "fraud":
        df = C.load_fraud(C.dataset_path("fraud_oracle.csv")).drop(columns=["PolicyNumber"])
        return df, "FraudFound_P", [FixedCombinations(["PolicyType", "VehicleCategory", "BasePolicy"])]
    df = C.load_adult(C.dataset_path("adult.csv"))
    return df, "class", [FixedCombinations(["education", "education-num"])]


def validity(rules, df) -> dict:
    from synthgan.constraints import ConstraintSet

    fitted = ConstraintSet(rules)
    return {name: float(share) for name, share in fitted.validity(df).items()}


def run_cell(name: str, arm: str, args) -> dict:
    from synthgan import TabularSynthesizer
    from synthgan.constraints import ConstraintSet

    df, target, rules = load(name)
    train, test = C.split(df, target, args.test_size, args.seed)
    cell = {"table": name, "arm": arm, "started": C.now(), "load_before": list(os.getloadavg()),
            "train_rows": len(train), "rules": [r.name for r in rules]}
    other = C.OtherCores()
    params = {"seed": args.seed, "verbose": False}
    if args.smoke:
        params["epochs"] = args.smoke_epochs
    start = time.perf_counter()
    synth = TabularSynthesizer(**params).fit(train, constraints=rules if arm == "declared" else None)
    cell["fit_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = synth.sample(len(train), seed=args.seed)
    cell["sample_s"] = time.perf_counter() - start
    checker = ConstraintSet(load(name)[2]).fit(train)  # the rule as fitted on the real rows
    cell["validity"] = {k: float(v) for k, v in checker.validity(rows).items()}
    cell["validity_real_train"] = {k: float(v) for k, v in checker.validity(train).items()}
    cell["validity_real_test"] = {k: float(v) for k, v in checker.validity(test).items()}
    cell["quality"] = C.quality_score(train, rows, C.sdmetrics_metadata(train))
    cell["epochs_run"] = len(synth.history_.records)
    cell["best_epoch"] = synth.history_.best_epoch
    cell["constraint_acceptance"] = synth.constraint_acceptance_
    cell["other_cores_busy"] = other.share()
    cell["status"] = "done"
    return cell


def render(state: dict) -> str:
    run = state["runs"][-1]
    lines = [
        "## bench_constraints: business rules in synthetic rows",
        "",
        f"`{run['command']}` ({run['started']}, {run['machine']['cpu']}, torch threads {run['torch_threads']}; "
        "other work on the machine during the run: see `other_cores_busy` in the json). Rules: fraud "
        "`FixedCombinations([PolicyType, VehicleCategory, BasePolicy])`, Adult "
        "`FixedCombinations([education, education-num])`; each holds on 100% of the real rows.",
        "",
    ]
    header = ["table", "rule declared", "rows obeying the rule (synthetic)", "real train / test",
              "sdmetrics quality", "fit s", "epochs run (best)"]
    rows = []
    for name in TABLES:
        for arm in ("none", "declared"):
            c = state["cells"].get(f"{name}/{arm}")
            if not c or c.get("status") != "done":
                continue
            share = next(iter(c["validity"].values()))
            real = f"{next(iter(c['validity_real_train'].values())):.3f} / {next(iter(c['validity_real_test'].values())):.3f}"
            rows.append([name, "yes" if arm == "declared" else "no", f"{share:.4f}", real, f"{c['quality']:.3f}",
                         f"{c['fit_s']:.0f}", f"{c['epochs_run']} ({c['best_epoch']})"])
    lines.append(C.markdown_table(header, rows))
    reading = []
    for name in TABLES:
        none, declared = state["cells"].get(f"{name}/none"), state["cells"].get(f"{name}/declared")
        if not (none and declared and none.get("status") == declared.get("status") == "done"):
            continue
        before, after = next(iter(none["validity"].values())), next(iter(declared["validity"].values()))
        stopped = (f"; the run with the rule stopped early at epoch {declared['epochs_run']} (best "
                   f"{declared['best_epoch']}), the run without ran {none['epochs_run']}, so the seconds compare "
                   "runs of different length" if declared["epochs_run"] != none["epochs_run"] else "")
        reading.append(
            f"{name}: without the rule {1 - before:.1%} of synthetic rows break it, with it none do; sdmetrics "
            f"quality {none['quality']:.3f} -> {declared['quality']:.3f}, fit {none['fit_s']:.0f} s -> "
            f"{declared['fit_s']:.0f} s{stopped}."
        )
    if reading:
        lines += ["", "Reading: " + " ".join(reading) + " Fit seconds were taken beside another benchmark "
                  "(one torch thread each; see `other_cores_busy`), so they are indicative only."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    p.add_argument("--smoke", action="store_true", help="2 epochs: checks the script, never results")
    C.add_run_args(p, TEST_SIZE)
    C.add_output_args(p, DEFAULT_JSON, SMOKE_JSON)
    args = p.parse_args(argv)
    args.smoke_epochs = 2
    threads = C.set_threads(args.threads)
    config = {"seed": args.seed, "test_size": args.test_size, "smoke": args.smoke}
    path = C.json_path(args, DEFAULT_JSON, SMOKE_JSON)
    state = C.start_state(SECTION, config, C.run_record("bench_constraints.py", args, threads, PACKAGES),
                          args.resume_from, ("seed", "test_size", "smoke"))
    for name in args.tables:
        for arm in ("none", "declared"):
            key = f"{name}/{arm}"
            if state["cells"].get(key, {}).get("status") == "done":
                continue
            print(f"[{SECTION}] {key} ...", flush=True)
            try:
                state["cells"][key] = run_cell(name, arm, args)
            except Exception as exc:  # recorded, the run goes on
                state["cells"][key] = C.failed_cell(SECTION, key, exc)
            c = state["cells"][key]
            print(f"[{SECTION}] {key}: {c.get('validity')} quality {c.get('quality')} fit {c.get('fit_s')}", flush=True)
            C.write_json(state, path)
    if args.markdown and not args.smoke:
        C.write_section(SECTION, render(state), Path(args.markdown))
    print(render(state))


if __name__ == "__main__":
    main()
