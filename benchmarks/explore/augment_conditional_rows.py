"""Exploration (issue 14, 2026-12-08): what are the minority rows a target-aware model gives?

    THREADS=2 python benchmarks/explore/augment_conditional_rows.py fraud 0 [TARGET_LOSS]

Not a benchmark of a shipped feature: fold FOLD of bench_augment's 5-fold split, one
``TabularSynthesizer(seed=0, target_loss=TARGET_LOSS)`` fitted on the fold's training rows with
the class as target (cached under /tmp/aug), and two ways of drawing as many minority rows as
balancing needs: ``cond``, the generator conditioned on the minority class (what
``sample(conditions={target: c})`` gave before 2026-12-08), and ``bayes``, the rows of the
minority class among unconditioned rows, whose class the label model draws (what it gives
since). For each: a real-vs-synthetic classifier of the minority rows (HistGradientBoosting,
5-fold ROC AUC: 0.5 = indistinguishable), the categorical columns whose distribution differs
from the real minority rows' by a total variation above 0.1, and the change of minority PR AUC
on the validation fold when the rows are added to the real ones (bench_augment's two
classifiers). Then TSTR: ROC AUC on the validation fold of boosted trees trained on
``sample(len(train))``.
"""
import os
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
import numpy as np, pandas as pd, torch  # noqa: E401,E402

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
import bench_augment as A  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from synthgan import TabularSynthesizer  # noqa: E402

table, k = sys.argv[1], int(sys.argv[2])
target_loss = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
t = A.load_table(table, types.SimpleNamespace(seed=0, max_rows=None))
frame, target, minority = t["frame"], t["target"], t["minority"]
y = frame[target]
tr, va = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))[k]
Xt, yt = frame.iloc[tr][t["features"]].reset_index(drop=True), y.iloc[tr].reset_index(drop=True)
Xv, yv = frame.iloc[va][t["features"]], y.iloc[va].to_numpy()
need = int((yt != minority).sum() - (yt == minority).sum())
real_min = Xt[yt == minority]
TN = "__target__"
path = Path(f"/tmp/aug/{table}_fold{k}_tl{target_loss}.synth")
if path.exists():
    synth = TabularSynthesizer.load(path)
else:
    started = time.perf_counter()
    synth = TabularSynthesizer(seed=0, verbose=False, target_loss=target_loss).fit(
        Xt.assign(**{TN: (yt == minority).astype(np.int64)}), metadata={TN: "categorical"}, target=TN)
    path.parent.mkdir(exist_ok=True)
    synth.save(path)
    print(f"fit {time.perf_counter() - started:.0f} s", flush=True)


def pr_auc(clf, X, labels):
    pipe = Pipeline([("d", A.KeepDtypes(t["dtypes"]))] + A.classifier_steps(clf, t, 0)).fit(X, labels)
    return average_precision_score(yv == minority, pipe.predict_proba(Xv)[:, list(pipe.classes_).index(minority)])


def report(name, rows):
    rows = A.cast_to(rows[t["features"]].iloc[:need].reset_index(drop=True), t["dtypes"])
    n = len(real_min)
    Xd = A.cast_to(pd.concat([real_min, rows.iloc[:n]], ignore_index=True), t["dtypes"])
    yd = np.r_[np.ones(n), np.zeros(n)]
    p = cross_val_predict(HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0),
                          Xd, yd, cv=5, method="predict_proba")[:, 1]
    out = [name, f"real-vs-synthetic minority ROC AUC {roc_auc_score(yd, p):.3f}"]
    for clf in ("hgb", "logreg"):
        real = pr_auc(clf, Xt, yt)
        added = pr_auc(clf, pd.concat([Xt, rows], ignore_index=True), np.r_[yt.to_numpy(), np.repeat(minority, len(rows))])
        out.append(f"{clf} PR AUC {real:.4f} -> {added:.4f} ({added - real:+.4f})")
    print(" | ".join(out), flush=True)
    for c in t["features"]:
        if str(t["dtypes"][c]) == "category":
            a, b = real_min[c].astype(str).value_counts(normalize=True), rows[c].astype(str).value_counts(normalize=True)
            idx = a.index.union(b.index)
            tv = 0.5 * (a.reindex(idx, fill_value=0) - b.reindex(idx, fill_value=0)).abs().sum()
            if tv > 0.1:
                print(f"   {c}: TV {tv:.2f}; real top {a.head(2).round(2).to_dict()}, synthetic top {b.head(2).round(2).to_dict()}")


label_model = synth.label_model_
synth.label_model_ = None  # the generator's own conditional rows (the behaviour before 2026-12-08)
report("cond", synth.sample(need, conditions={TN: 1}, seed=1, privacy=False))
synth.label_model_ = label_model
report("bayes", synth.sample(need, conditions={TN: 1}, seed=1, privacy=False))
rows = synth.sample(len(Xt), seed=21, privacy=False)
labels = np.where(rows[TN] == 1, minority, [c for c in yt.unique() if c != minority][0])
pipe = Pipeline([("d", A.KeepDtypes(t["dtypes"]))] + A.classifier_steps("hgb", t, 0))
pipe.fit(A.cast_to(rows[t["features"]], t["dtypes"]), labels)
tstr = roc_auc_score(yv == minority, pipe.predict_proba(Xv)[:, list(pipe.classes_).index(minority)])
print(f"TSTR ROC AUC {tstr:.4f}", flush=True)
