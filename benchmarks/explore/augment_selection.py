"""Exploration (issue 14, 2026-11-30): do filtered synthetic minority rows mislead less?

    THREADS=2 python benchmarks/explore/augment_selection.py fraud [FOLDS]     # e.g. 0,1,2
    MORE=1 SUFFIX=_more THREADS=1 python benchmarks/explore/augment_selection.py fraud 0

Not a benchmark of a shipped feature: the fraud table's 5-fold split of bench_augment, one
target-aware TabularSynthesizer fit per fold at its defaults (cached under /tmp/aug), a pool of
3x the rows needed to balance, and several ways of choosing the minority rows added: the first
ones (what SyntheticOverSampler does), the most minority-like by a HistGradientBoosting model of
the real training rows, discriminator rejection sampling (Azadi et al., 2019) against the real
minority rows, and random copies of real minority rows; with MORE=1, smaller volumes. Prints the
minority PR AUC on the validation fold; results in /tmp/aug/<table>_results<SUFFIX>.json (copied
to benchmarks/results/augment_selection_fraud.json for folds 0-2).
"""
import sys, os, time, json, types
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
import numpy as np, pandas as pd, torch
threads = int(os.environ.get("THREADS", "2")); torch.set_num_threads(threads)
import bench_augment as A
from sklearn.model_selection import StratifiedKFold
from sklearn.ensemble import HistGradientBoostingClassifier
from synthgan import TabularSynthesizer

table = sys.argv[1] if len(sys.argv) > 1 else "fraud"
folds_wanted = [int(x) for x in sys.argv[2].split(",")] if len(sys.argv) > 2 else range(5)
args = types.SimpleNamespace(seed=0, max_rows=None)
t = A.load_table(table, args)
frame, target, minority = t["frame"], t["target"], t["minority"]
y = frame[target]
splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))
TN = "__target__"

def clf_fit(name, X, yy):
    steps = A.classifier_steps(name, t, 0)
    from sklearn.pipeline import Pipeline
    pipe = Pipeline([("dtypes", A.KeepDtypes(t["dtypes"]))] + steps)
    return pipe.fit(X, yy)

def pr_auc(pipe, Xv, yv):
    from sklearn.metrics import average_precision_score
    p = pipe.predict_proba(Xv)[:, list(pipe.classes_).index(minority)]
    return average_precision_score(yv == minority, p)

out_path = f"/tmp/aug/{table}_results{os.environ.get('SUFFIX', '')}.json"
results = json.load(open(out_path)) if os.path.exists(out_path) else {}
for k in folds_wanted:
    tr, va = splits[k]
    Xt, yt = frame.iloc[tr][t["features"]].reset_index(drop=True), y.iloc[tr].reset_index(drop=True)
    Xv, yv = frame.iloc[va][t["features"]], y.iloc[va].to_numpy()
    need = int((yt != minority).sum() - (yt == minority).sum())
    path = f"/tmp/aug/{table}_fold{k}.synth"
    codes = (yt == minority).astype(np.int64)
    if os.path.exists(path):
        synth = TabularSynthesizer.load(path)
    else:
        s0 = time.perf_counter()
        synth = TabularSynthesizer(seed=0, verbose=False).fit(Xt.assign(**{TN: codes}), metadata={TN: "categorical"}, target=TN)
        print(f"fold {k} fit {time.perf_counter() - s0:.0f} s", flush=True)
        synth.save(path)
    pool = synth.sample(3 * need, conditions={TN: 1}, seed=1, privacy=False)[t["features"]]
    pool = A.cast_to(pool, t["dtypes"])
    # p(minority | x) from a classifier of real rows (out-of-fold on the real rows)
    hgb = clf_fit("hgb", Xt, yt)
    p_pool = hgb.predict_proba(pool)[:, list(hgb.classes_).index(minority)]
    # a real-vs-synthetic discriminator on minority rows (discriminator rejection sampling, Azadi et al. 2019)
    real_min = Xt[yt == minority]
    Xd = pd.concat([real_min, pool.iloc[:len(real_min) * 4]], ignore_index=True)
    yd = np.r_[np.ones(len(real_min)), np.zeros(len(real_min) * 4)]
    from sklearn.pipeline import Pipeline
    disc = Pipeline([("dtypes", A.KeepDtypes(t["dtypes"])), ("m", HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0, max_depth=3, max_iter=100))])
    d_pool = disc.fit(Xd, yd).predict_proba(pool)[:, 1]  # in-sample for the first 4n rows: biased, a first look
    ratio = d_pool / np.clip(1 - d_pool, 1e-6, None) * 4
    rng = np.random.default_rng(0)
    arms = {
        "real": Xt.iloc[:0],
        "none": pool.iloc[:need],
        "top_consistency": pool.iloc[np.argsort(-p_pool)[:need]],
        "drs": pool.iloc[np.flatnonzero(rng.random(len(pool)) < np.clip(ratio / np.quantile(ratio, 0.95), 0, 1))[:need]],
        "random": real_min.sample(need, replace=True, random_state=0),
    }
    if os.environ.get("MORE"):
        m = len(real_min)
        arms = {"real": arms["real"], "none_1x": pool.iloc[:m], "none_3x": pool.iloc[:3 * m],
                "top_1x": pool.iloc[np.argsort(-p_pool)[:m]],
                "random_plus_1x": pd.concat([real_min.sample(need - m, replace=True, random_state=0), pool.iloc[:m]]),
                "random_plus_top1x": pd.concat([real_min.sample(need - m, replace=True, random_state=0), pool.iloc[np.argsort(-p_pool)[:m]]])}
    res = results.setdefault(str(k), {})
    for arm, add in arms.items():
        Xa = pd.concat([Xt, add], ignore_index=True)
        ya = np.r_[yt.to_numpy(), np.repeat(minority, len(add))]
        res[arm] = {c: pr_auc(clf_fit(c, Xa, ya), Xv, yv) for c in ("hgb", "lr")} | {"added": len(add)}
        print(k, arm, {c: round(v, 4) for c, v in res[arm].items()}, flush=True)
    json.dump(results, open(out_path, "w"), indent=1)
