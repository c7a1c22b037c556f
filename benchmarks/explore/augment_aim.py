"""Exploration (issue 14, 2026-11-30): minority rows from the marginal-based AIM model instead of the GAN.

    THREADS=1 python benchmarks/explore/augment_aim.py fraud 0 10        # table, fold, epsilon [, method]

One fold of bench_augment's 5-fold split: ``PrivateSynthesizer(epsilon, method="aim")`` fitted
on the fold's training rows with the class as target, conditional draws of the minority class
to balance (and to double it), the minority PR AUC of both classifiers on the validation fold,
and the ROC AUC on the validation fold of a HistGradientBoosting model trained on as many rows
of the model as training rows. Prints its results (2026-11-30 run: fraud fold 0, epsilon 10).
"""
import sys, os, time, json, types
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
import numpy as np, pandas as pd, torch
torch.set_num_threads(int(os.environ.get("THREADS", "1")))
import bench_augment as A
from sklearn.model_selection import StratifiedKFold
table = sys.argv[1]; fold = int(sys.argv[2]); eps = float(sys.argv[3]); method = sys.argv[4] if len(sys.argv) > 4 else "aim"
args = types.SimpleNamespace(seed=0, max_rows=None)
t = A.load_table(table, args)
frame, target, minority = t["frame"], t["target"], t["minority"]
y = frame[target]
splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))
from synthgan import PrivateSynthesizer
tr, va = splits[fold]
Xt, yt = frame.iloc[tr][t["features"]].reset_index(drop=True), y.iloc[tr].reset_index(drop=True)
Xv, yv = frame.iloc[va][t["features"]], y.iloc[va].to_numpy()
need = int((yt != minority).sum() - (yt == minority).sum())
codes = (yt == minority).astype(np.int64)
s0 = time.perf_counter()
synth = PrivateSynthesizer(epsilon=eps, method=method, seed=0, verbose=False).fit(Xt.assign(__target__=codes), target="__target__")
print("fit", round(time.perf_counter() - s0), flush=True)
def clf_fit(name, X, yy):
    from sklearn.pipeline import Pipeline
    return Pipeline([("dtypes", A.KeepDtypes(t["dtypes"]))] + A.classifier_steps(name, t, 0)).fit(X, yy)
def pr_auc(pipe):
    from sklearn.metrics import average_precision_score
    return average_precision_score(yv == minority, pipe.predict_proba(Xv)[:, list(pipe.classes_).index(minority)])
pool = A.cast_to(synth.sample(need, conditions={"__target__": 1}, seed=1)[t["features"]], t["dtypes"])
m = int((yt == minority).sum())
for arm, add in {"real": Xt.iloc[:0], "aim_balance": pool, "aim_1x": pool.iloc[:m]}.items():
    Xa = pd.concat([Xt, add], ignore_index=True); ya = np.r_[yt.to_numpy(), np.repeat(minority, len(add))]
    print(fold, arm, {c: round(pr_auc(clf_fit(c, Xa, ya)), 4) for c in ("hgb", "lr")}, flush=True)
# TSTR-style: the model's whole-table rows
rows = synth.sample(len(Xt), seed=2)
ys = (rows["__target__"] == 1).map({True: minority, False: [c for c in yt.unique() if c != minority][0]}).to_numpy()
from sklearn.metrics import roc_auc_score
pipe = clf_fit("hgb", A.cast_to(rows[t["features"]], t["dtypes"]), ys)
print("tstr roc auc (fold valid)", round(roc_auc_score(yv == minority, pipe.predict_proba(Xv)[:, list(pipe.classes_).index(minority)]), 4))
