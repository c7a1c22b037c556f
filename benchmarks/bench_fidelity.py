"""Fidelity at library defaults: synthgan vs ctgan's CTGAN and TVAE vs SDV's GaussianCopula.

    python benchmarks/bench_fidelity.py --markdown benchmarks/RESULTS.md        # the full benchmark
    python benchmarks/bench_fidelity.py --resume-from benchmarks/results/fidelity.json \\
        --markdown benchmarks/RESULTS.md                                         # continue an interrupted run
    python benchmarks/bench_fidelity.py --tables wine --models synthgan ctgan tvae --smoke --threads 1

Every model runs with its own library's defaults and no tuning: ``TabularSynthesizer(seed=s,
verbose=False)`` with no epochs or batch size, ``fit(train)`` and nothing else; ctgan's
``CTGAN()`` and ``TVAE()`` with ``discrete_columns`` = the categorical columns (as their docs
require); SDV's ``GaussianCopulaSynthesizer(metadata)`` where the ``sdv`` package is installed.
Tables: scikit-learn's breast cancer, wine and diabetes (regression), Adult and the insurance
fraud table; a seeded 70/30 split (stratified on the target for classification). Per table and
model: wall seconds of the whole fit call, synthgan's own ``fidelity()`` figures (sdmetrics
QualityReport: quality, column shapes, column pair trends), values piled up at the real min / max
and missing rates (``synthgan.evaluation.edges``), and TSTR against TRTR with a
HistGradientBoosting model (native categorical splits) scored on the real 30%.

The json (default benchmarks/results/fidelity.json) is rewritten after every (table, model)
cell; ``--resume-from`` reuses the finished cells of an earlier run with the same settings.
``--smoke`` (2 epochs for every model) and ``--max-train-rows`` are for checking the script:
both are recorded in the output, and a smoke run writes fidelity-smoke.json by default.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import inspect
import json
import math
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

SECTION = "bench_fidelity"
RESULTS_DIR = C.RESULTS_DIR
DEFAULT_JSON = RESULTS_DIR / "fidelity.json"
SMOKE_JSON = RESULTS_DIR / "fidelity-smoke.json"
SMOKE_EPOCHS = 2
TEST_SIZE = 0.3
MODELS = ("synthgan", "ctgan", "tvae", "gaussiancopula")
LABELS = {"synthgan": "synthgan", "ctgan": "CTGAN", "tvae": "TVAE", "gaussiancopula": "GaussianCopula"}
#: settings a resumed run must share with the run it continues
RESUME_KEYS = ("seed", "test_size", "max_train_rows", "smoke", "smoke_epochs")
#: whose versions each run records
PACKAGES = ("synthgan", "ctgan", "sdv", "sdmetrics", "torch", "numpy", "pandas", "scikit-learn",
            "rdt", "copulas", "python-dateutil")


# ------------------------------------------------------------------ tables

def _sklearn(loader, **kwargs):
    def load() -> pd.DataFrame:
        return loader(as_frame=True, **kwargs).frame

    return load


def _adult() -> pd.DataFrame:
    return C.load_adult(C.dataset_path("adult.csv"))


def _fraud() -> pd.DataFrame:
    return C.load_fraud(C.dataset_path("fraud_oracle.csv"))


def _tables() -> dict:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    return {
        # name: (loader, target, task, source)
        "breast_cancer": (_sklearn(load_breast_cancer), "target", "classification",
                          "sklearn load_breast_cancer(as_frame=True).frame"),
        "wine": (_sklearn(load_wine), "target", "classification", "sklearn load_wine(as_frame=True).frame"),
        "diabetes": (_sklearn(load_diabetes, scaled=False), "target", "regression",
                     "sklearn load_diabetes(as_frame=True, scaled=False).frame"),
        "adult": (_adult, "class", "classification", "../shared/datasets/adult.csv (benchmarks/_common.load_adult)"),
        "fraud": (_fraud, "FraudFound_P", "classification",
                  "../shared/datasets/fraud_oracle.csv (pandas, encoding utf-8-sig)"),
    }


TABLE_NAMES = ("breast_cancer", "wine", "diabetes", "adult", "fraud")


def load_table(name: str, args) -> dict:
    """The table, split and described: train / test frames, the schema synthgan detects on the
    training rows, the categorical columns every model is told about, and facts about the data."""
    from sklearn.model_selection import train_test_split
    from synthgan.schema import ColumnKind, detect_schema

    loader, target, task, source = _tables()[name]
    df = loader()
    facts = {
        "source": source,
        "target": target,
        "task": task,
        "rows": len(df),
        "columns": len(df.columns),
        "missing_cells": int(df.isna().sum().sum()),
        "duplicate_rows": int(df.duplicated().sum()),
    }
    # Row identifiers (fraud's PolicyNumber) carry nothing to learn: synthgan generates fresh ones,
    # ctgan and TVAE would model them as a number. Drop them for every model alike.
    ids = [c.name for c in detect_schema(df).columns if c.kind is ColumnKind.ID]
    df = df.drop(columns=ids)
    facts["dropped_id_columns"] = ids
    stratify = df[target] if task == "classification" else None
    train, test = train_test_split(df, test_size=args.test_size, stratify=stratify, random_state=args.seed)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    facts["split_rows"] = [len(train), len(test)]
    if args.max_train_rows and args.max_train_rows < len(train):
        train = train.sample(args.max_train_rows, random_state=args.seed).reset_index(drop=True)
        facts["train_subsample"] = len(train)
    schema = detect_schema(train)
    categorical = [c.name for c in schema.columns if c.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)]
    numeric_kinds = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)
    numeric = [c.name for c in schema.columns if c.kind in numeric_kinds]
    facts |= {
        "train_rows": len(train),
        "test_rows": len(test),
        "kinds": {c.name: c.kind.value for c in schema.columns},
        "categorical_columns": categorical,
        "numeric_columns": numeric,
    }
    if task == "classification":
        facts["train_classes"] = {str(k): int(v) for k, v in train[target].value_counts().sort_index().items()}
    return {"name": name, "train": train, "test": test, "target": target, "task": task, "schema": schema,
            "categorical": categorical, "numeric": numeric, "facts": facts}


# ------------------------------------------------------------------ models

def sdv_status() -> str | None:
    """None when SDV's GaussianCopula can run, else why not."""
    if importlib.util.find_spec("sdv") is None:
        return ("the sdv package is not installed here; when checked (2026-11-29), `pip install sdv` "
                "(2.0.0) would have downgraded python-dateutil 4.0.0 -> 2.9.0.post0, a pandas "
                "dependency, through botocore's <3 pin, so it was left out of the environment")
    try:
        from sdv.single_table import GaussianCopulaSynthesizer  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure is a reason not to run
        return f"sdv is installed but does not import: {type(exc).__name__}: {exc}"
    return None


def fit_synthgan(t: dict, args) -> tuple:
    import synthgan

    kwargs = {"epochs": args.smoke_epochs} if args.smoke else {}
    model = synthgan.TabularSynthesizer(seed=args.seed, verbose=False, **kwargs)
    accepts_target = "target" in inspect.signature(model.fit).parameters
    start = time.perf_counter()
    model.fit(t["train"])  # no target=, even where fit accepts one: the benchmark stays unconditional
    fit_s = time.perf_counter() - start
    params = model.get_params()
    history = getattr(model, "history_", None)
    info = {
        "constructor": f"TabularSynthesizer(seed={args.seed}, verbose=False"
                       + (f", epochs={args.smoke_epochs}" if args.smoke else "") + ")",
        "fit_call": "fit(train)",
        "fit_accepts_target": accepts_target,
        "epochs_param": params.get("epochs"),
        "batch_size_param": params.get("batch_size"),
        "epochs_run": len(history.records) if history is not None else None,
        "device": getattr(history, "device", None),
        "precision": getattr(history, "precision", None),
    }
    # what a size-aware default chose, where this synthgan records it (json-safe copies)
    for attr in ("budget", "planned_epochs", "best_epoch", "stopped_early", "selection"):
        if getattr(history, attr, None) is not None:
            info[attr] = json.loads(json.dumps(getattr(history, attr), default=C.json_default))
    trained = getattr(model, "model_", None)
    if getattr(trained, "batch_size", None) is not None:
        info["batch_size_used"] = C.plain(trained.batch_size)
    return fit_s, (lambda n: model.sample(n, seed=args.seed)), info


def _fit_ctgan_family(cls_name: str, t: dict, args) -> tuple:
    import ctgan

    cls = getattr(ctgan, cls_name)
    model = cls(epochs=args.smoke_epochs) if args.smoke else cls()
    model.set_random_state(args.seed)
    start = time.perf_counter()
    model.fit(t["train"], discrete_columns=t["categorical"])
    fit_s = time.perf_counter() - start
    info = {
        "constructor": f"{cls_name}(" + (f"epochs={args.smoke_epochs}" if args.smoke else "") + ")",
        "fit_call": "fit(train, discrete_columns=<categorical columns>)",
        "epochs": getattr(model, "_epochs", getattr(model, "epochs", None)),
        "batch_size": getattr(model, "_batch_size", getattr(model, "batch_size", None)),
        "device": str(getattr(model, "_device", "")),
    }
    # ctgan's sample() never switches its networks to eval mode; used as its docs show
    return fit_s, model.sample, info


def fit_ctgan(t: dict, args) -> tuple:
    return _fit_ctgan_family("CTGAN", t, args)


def fit_tvae(t: dict, args) -> tuple:
    return _fit_ctgan_family("TVAE", t, args)


def fit_gaussiancopula(t: dict, args) -> tuple:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer
    from synthgan.schema import ColumnKind

    sdtypes = {ColumnKind.DATETIME: "datetime", ColumnKind.BOOLEAN: "boolean"}
    columns = {
        c.name: {"sdtype": sdtypes.get(c.kind, "categorical" if c.name in t["categorical"] else "numerical")}
        for c in t["schema"].columns
    }
    metadata = Metadata.load_from_dict({"tables": {"table": {"columns": columns}}})
    model = GaussianCopulaSynthesizer(metadata)
    # sdv 2 takes and returns {table name: frame} even for one table; sdv 1 plain frames
    dicts = int(importlib.metadata.version("sdv").split(".")[0]) >= 2
    start = time.perf_counter()
    model.fit({"table": t["train"]} if dicts else t["train"])
    fit_s = time.perf_counter() - start
    info = {"constructor": "GaussianCopulaSynthesizer(metadata)",
            "fit_call": "fit({'table': train})" if dicts else "fit(train)",
            "metadata": "sdtypes from synthgan's detected kinds (categorical columns as for ctgan)",
            "smoke": "no epochs: runs as in a full run" if args.smoke else None}

    def sample(n: int) -> pd.DataFrame:
        out = model.sample(num_rows=n)
        return out["table"] if dicts else out

    return fit_s, sample, info


FITTERS = {"synthgan": fit_synthgan, "ctgan": fit_ctgan, "tvae": fit_tvae, "gaussiancopula": fit_gaussiancopula}


# ------------------------------------------------------------------ measurements

def _text(series: pd.Series) -> pd.Series:
    """Categories as text (1, 1.0 and True alike, as synthgan's report compares them); missing stays NaN."""
    from synthgan.evaluation.features import category_text

    return series.astype(object).map(lambda v: np.nan if pd.isna(v) else category_text(v))


def categories_of(t: dict) -> dict:
    """Every feature category seen in the real train or test rows: the shared category dtype."""
    return {
        c: sorted(set(_text(t["train"][c]).dropna()) | set(_text(t["test"][c]).dropna()))
        for c in t["categorical"] if c != t["target"]
    }


def _features(df: pd.DataFrame, t: dict, categories: dict) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for col in t["test"].columns:
        if col == t["target"]:
            continue
        if col in categories:  # values outside the real categories become missing
            out[col] = pd.Categorical(_text(df[col]), categories=categories[col])
        else:
            out[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return out


def utility(rows: pd.DataFrame, t: dict, categories: dict, seed: int) -> dict:
    """HistGradientBoosting (native categorical splits) fit on ``rows`` (synthetic: TSTR; real
    training rows: TRTR), scored on the real test rows: ROC AUC (binary), macro one-vs-rest ROC AUC
    (more classes) or R2. Whatever cannot be scored is said in ``note``."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score

    target, test = t["target"], t["test"]
    x_test = _features(test, t, categories)
    notes = []
    if t["task"] == "regression":
        y = pd.to_numeric(rows[target], errors="coerce")
        keep = y.notna().to_numpy()
        if not keep.all():
            notes.append(f"{int((~keep).sum())} rows with a missing target left out")
        if keep.sum() < 2:
            return {"metric": "r2", "score": None, "note": "fewer than 2 rows with a target"}
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=seed)
        model.fit(_features(rows, t, categories)[keep], y[keep].astype(float))
        score = r2_score(test[target].astype(float), model.predict(x_test))
        return {"metric": "r2", "score": float(score), "note": "; ".join(notes) or None}

    y_test = _text(test[target])
    classes = sorted(y_test.unique())
    metric = "roc_auc" if len(classes) == 2 else "roc_auc_ovr_macro"
    y = _text(rows[target])
    keep = y.isin(classes).to_numpy()
    if not keep.all():
        notes.append(f"{int((~keep).sum())} rows with a missing or unknown class left out")
    present = sorted(y[keep].unique())
    counts = {c: int((y[keep] == c).sum()) for c in classes}
    absent = [c for c in classes if counts[c] == 0]
    if absent:
        notes.append(f"class(es) {absent} absent from the rows trained on")
    if len(present) < 2:
        return {"metric": metric, "score": None, "classes_scored": 0, "class_counts": counts,
                "note": "; ".join(notes + ["fewer than 2 classes: nothing to score"])}
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(_features(rows, t, categories)[keep], y[keep].to_numpy())
    proba = model.predict_proba(x_test)
    model_classes = list(model.classes_)
    if len(classes) == 2:
        positive = classes[1]
        score = roc_auc_score(y_test == positive, proba[:, model_classes.index(positive)])
        scored = 2
    else:  # macro one-vs-rest over the classes the model knows (all of them unless some were absent)
        per_class = [roc_auc_score(y_test == c, proba[:, i]) for i, c in enumerate(model_classes)]
        score, scored = float(np.mean(per_class)), len(per_class)
        if absent:
            notes.append(f"macro over {scored} of {len(classes)} classes")
    return {"metric": metric, "score": float(score), "classes_scored": scored, "class_counts": counts,
            "note": "; ".join(notes) or None}


def edges_and_missing(t: dict, synthetic: pd.DataFrame) -> dict:
    from synthgan.evaluation.edges import edge_shares, missing_rates

    out = {}
    try:
        edges = edge_shares(t["train"], synthetic, t["numeric"])
        ratios = [(e.ratio, e.column) for e in edges if e.ratio is not None and not math.isnan(e.ratio)]
        worst = max(ratios) if ratios else (None, None)
        out |= {
            "edge_columns": len(edges),
            "edge_flagged": sum(e.flagged for e in edges),
            "edge_flagged_columns": [e.column for e in edges if e.flagged],
            "edge_worst_ratio": C.plain(float(worst[0])) if worst[0] is not None else None,
            "edge_worst_column": worst[1] if worst[0] else None,  # None: no synthetic value at an edge
            "edges": [{"column": e.column, "real_low": e.real_low, "real_high": e.real_high,
                       "synthetic_low": e.synthetic_low, "synthetic_high": e.synthetic_high,
                       "ratio": C.plain(float(e.ratio)), "flagged": bool(e.flagged)} for e in edges],
        }
    except Exception as exc:  # noqa: BLE001 - record and carry on with the other figures
        out["edges_error"] = f"{type(exc).__name__}: {exc}"
    try:
        missing = missing_rates(t["train"], synthetic, list(t["train"].columns))
        out |= {
            "missing_mean_error": float(np.mean([m.error for m in missing])) if missing else None,
            "missing_worst": max(((m.error, m.column) for m in missing), default=(None, None))[1],
            "missing": [{"column": m.column, "real": m.real, "synthetic": m.synthetic, "error": m.error}
                        for m in missing if m.real or m.synthetic],
        }
    except Exception as exc:  # noqa: BLE001
        out["missing_error"] = f"{type(exc).__name__}: {exc}"
    return out


WARMED: set[str] = set()
WARM_UP_ROWS = 600  # enough for ctgan's transform to start its joblib pool (it does from 500 rows)


def warm_up(t: dict, model: str, args) -> float | None:
    """The first fit of a model in this process pays one-off costs (lazy imports, torch and
    joblib start-up) that would favour whichever model runs later: pay them, untimed, with a
    throw-away 1-epoch fit on a few rows, once per model and process."""
    if model in WARMED:
        return None
    WARMED.add(model)
    small = dict(t, train=t["train"].head(WARM_UP_ROWS).reset_index(drop=True))
    quick = argparse.Namespace(**{**vars(args), "smoke": True, "smoke_epochs": 1})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sample, _ = FITTERS[model](small, quick)
        sample(10)
    return time.perf_counter() - start


def run_cell(t: dict, model: str, categories: dict, args) -> dict:
    """Fit, sample as many rows as the training table has, measure."""
    from synthgan.evaluation.fidelity import fidelity

    cell = {"table": t["name"], "model": model, "started": C.now()}
    cell["warm_up_s"] = warm_up(t, model, args)
    cell["load_before"] = list(os.getloadavg())
    other_cores = C.OtherCores()
    C.seed_everything(args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_s, sample, info = FITTERS[model](t, args)
        start = time.perf_counter()
        synthetic = sample(len(t["train"]))
        sample_s = time.perf_counter() - start
    cell |= {"fit_s": fit_s, "sample_s": sample_s, "model_info": info, "synthetic_rows": len(synthetic)}
    cell["other_cores_during_fit"] = other_cores.share()
    cell["warnings"] = C.warning_lines(caught)
    absent = [c for c in t["train"].columns if c not in synthetic.columns]
    if absent:
        raise RuntimeError(f"synthetic table lacks columns {absent}")
    synthetic = synthetic[list(t["train"].columns)].reset_index(drop=True)

    start = time.perf_counter()
    fid = fidelity(t["train"], synthetic, t["schema"], seed=args.seed)
    cell |= {
        "quality": fid.quality,
        "column_shapes": fid.column_shapes,
        "column_pair_trends": fid.column_pair_trends,
        "validity": fid.validity,
        "quality_rows_used": list(fid.rows_used),
        "quality_max_rows": fid.max_rows,
        "fidelity_notes": list(fid.notes),
        "worst_shapes": sorted(([r[0], r[2]] for r in fid.shapes if r[2] is not None), key=lambda r: r[1])[:5],
    }
    cell |= edges_and_missing(t, synthetic)
    cell["tstr"] = utility(synthetic, t, categories, args.seed)
    cell["eval_s"] = time.perf_counter() - start
    cell["status"] = "done"
    return cell


# ------------------------------------------------------------------ output

_f = C.fmt_value


def _cell_rows(state: dict, tables: list[str], models: list[str]) -> list[list[str]]:
    rows = []
    for name in tables:
        trtr = state["tables"].get(name, {}).get("trtr", {})
        base = state["cells"].get(f"{name}/synthgan", {})
        for model in models:
            cell = state["cells"].get(f"{name}/{model}")
            label = LABELS[model]
            if cell is None:
                continue
            if cell.get("status") != "done":
                why = "see below" if cell.get("status") == "not run" else cell.get("error", "")[:120]
                rows.append([name, label, f"{cell.get('status')} ({why})"] + [""] * 9)
                continue
            tstr = cell["tstr"]
            worst = (f"{_f(cell.get('edge_worst_ratio'))} ({cell.get('edge_worst_column')})"
                     if cell.get("edge_worst_column") else _f(cell.get("edge_worst_ratio")))
            flagged = (f"{cell['edge_flagged']} / {cell['edge_columns']}" if "edge_flagged" in cell
                       else f"error: {cell.get('edges_error', '')[:60]}")
            ratio = C.ratio(cell["fit_s"], base.get("fit_s")) if base.get("status") == "done" else None
            rel = C.ratio(tstr.get("score"), trtr.get("score"))
            note = tstr.get("note") or ""
            rows.append([
                name, label, _f(cell["fit_s"]), _f(ratio), _f(cell["quality"]), _f(cell["column_shapes"]),
                _f(cell["column_pair_trends"]), flagged, worst, _f(cell.get("missing_mean_error")),
                f"{_f(tstr.get('score'))} / {_f(trtr.get('score'))} ({_f(rel)})" + (f" [{note}]" if note else ""),
                _f(cell.get("other_cores_during_fit"), 2),
            ])
    return rows


HEADER = ["table", "model", "fit s", "fit s / synthgan's", "quality", "column shapes", "pair trends",
          "edge columns flagged", "worst edge ratio (column)", "mean missing-rate error",
          "TSTR / TRTR (ratio)", "other cores busy"]


def quality_view(state: dict, tables: list[str], models: list[str], out_dir: Path, link_base: Path) -> list[str]:
    """A scatter of quality against fit seconds per table (PNG, matplotlib), else a compact table."""
    done = {k: c for k, c in state["cells"].items() if c.get("status") == "done"}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        rows = []
        for name in tables:
            cells = sorted((c for c in done.values() if c["table"] == name and c["model"] in models),
                           key=lambda c: c["fit_s"])
            if cells:
                rows.append([name, "; ".join(f"{LABELS[c['model']]} {_f(c['quality'])} @ {_f(c['fit_s'])} s"
                                             for c in cells)])
        return ["Quality against fit seconds (matplotlib is not installed, so a table instead of scatter "
                "plots; models ordered by fit seconds):", "", C.markdown_table(["table", "quality @ fit s"], rows)]
    lines = ["Quality against fit seconds (log scale), one plot per table:", ""]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in tables:
        cells = [c for c in done.values() if c["table"] == name and c["model"] in models]
        if not cells:
            continue
        fig, ax = plt.subplots(figsize=(3.6, 2.6), dpi=110)
        for c in cells:
            ax.scatter(c["fit_s"], c["quality"], s=28)
            ax.annotate(LABELS[c["model"]], (c["fit_s"], c["quality"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis overlap
        ax.margins(x=0.3, y=0.15)  # room for the labels of the outermost points
        ax.set_xlabel("fit seconds", fontsize=8)
        ax.set_ylabel("sdmetrics quality", fontsize=8)
        ax.set_title(name + (" (smoke)" if state["config"]["smoke"] else ""), fontsize=9)
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        png = out_dir / f"fidelity_{name}{'-smoke' if state['config']['smoke'] else ''}.png"
        fig.savefig(png)
        plt.close(fig)
        lines.append(f"![{name}: quality against fit seconds]({os.path.relpath(png, link_base)})")
    return lines


NOTES = """\
How each figure is taken:
- every model at its library's defaults, no tuning: `TabularSynthesizer(seed={seed}, verbose=False)` \
and `fit(train)` (no epochs, batch size or target; synthgan chooses them); ctgan `CTGAN()` and `TVAE()` \
(300 epochs, batch 500) with `discrete_columns` = the categorical columns; SDV \
`GaussianCopulaSynthesizer(metadata)` with the same columns declared categorical. Categorical columns \
are those synthgan's schema detection calls categorical on the training rows (text, pandas \
categories, whole numbers with at most 10 distinct values); row-identifier columns are dropped for \
every model.
- fit s: wall seconds of the whole `fit` call (ctgan's includes its DataTransformer), after an \
untimed 1-epoch warm-up fit of the same model on {warm_up} rows once per process (one-off imports, \
torch and joblib start-up would otherwise favour whichever model runs later). Then as many rows \
are sampled as the training table has. "fit s / synthgan's" above 1 means the peer took longer.
- quality, column shapes, pair trends: `synthgan.evaluation.fidelity.fidelity(train, synthetic, schema, \
seed={seed})`, the figures of synthgan's own report (sdmetrics {sdmetrics} QualityReport on a seeded \
subsample of at most 5,000 rows of each table).
- edges: `synthgan.evaluation.edges.edge_shares` over the numeric columns, every row: a column is \
flagged when its synthetic share at (or beyond) the real min or max exceeds twice the real share \
plus five standard errors of the difference of two binomial shares (`EDGE_NOISE_SE`); the ratio is synthetic / real share on the worse side \
(1 = as real), and the worst is the largest. Missing-rate error: mean over all columns of \
|synthetic - real| missing share (`missing_rates`).
- TSTR / TRTR: scikit-learn HistGradientBoosting (`categorical_features="from_dtype"`, categorical \
columns as pandas categories over the real train and test values, default settings, random_state \
{seed}) fit on the synthetic rows / the real training rows, scored on the real {test_pct}% test rows: \
ROC AUC (binary), macro one-vs-rest ROC AUC (wine), R2 (diabetes). Synthetic rows with a missing \
or unknown class are left out and a class absent from the synthetic rows is reported in brackets.
- other cores busy: CPU seconds other processes used during the cell / its wall seconds (from \
/proc/stat; ctgan's joblib workers count as other): above about 0.1 the timings are skewed.
"""


def render(state: dict, tables: list[str], models: list[str], markdown_path: Path | None) -> str:
    config = state["config"]
    runs = state["runs"]
    last = runs[-1]
    v = last["versions"]
    settings = [
        f"- versions: synthgan {v['synthgan']}, ctgan {v['ctgan']}, sdv {v['sdv'] or 'not installed'}, "
        f"sdmetrics {v['sdmetrics']}, torch {v['torch']}, numpy {v['numpy']}, pandas {v['pandas']}, "
        f"scikit-learn {v['scikit-learn']}, Python {v['python']}",
        f"- split: {round(100 * (1 - config['test_size']))}/{round(100 * config['test_size'])} train/test, seed "
        f"{config['seed']}, stratified on the target for classification"
        + (f"; training rows subsampled to at most {config['max_train_rows']:,} (--max-train-rows)"
           if config["max_train_rows"] else ""),
    ]
    lines = C.heading(SECTION, "synthgan vs CTGAN, TVAE and GaussianCopula at library defaults", state,
                      "model", "torch threads", settings)
    data_rows = []
    for name in tables:
        facts = state["tables"].get(name, {}).get("facts")
        if not facts:
            continue
        data_rows.append([
            name, f"`{facts['target']}` ({facts['task']})", f"{facts['rows']:,}",
            f"{facts['train_rows']:,} / {facts['test_rows']:,}",
            f"{len(facts['numeric_columns'])} / {len(facts['categorical_columns'])}",
            f"{facts['missing_cells']:,}", f"{facts['duplicate_rows']:,}",
            ", ".join(facts["dropped_id_columns"]) or "-",
        ])
    lines += ["", C.markdown_table(["table", "target", "rows", "train / test rows", "numeric / categorical columns",
                                    "missing cells", "duplicate rows", "dropped id columns"], data_rows), ""]
    lines += [C.markdown_table(HEADER, _cell_rows(state, tables, models)), ""]
    for model, reason in state.get("not_run", {}).items():
        if model in models:
            lines.append(f"{LABELS[model]}: not run ({reason})")
            lines.append("")
    # what each library chose, where the defaults are size-aware
    chosen = []
    for name in tables:
        cell = state["cells"].get(f"{name}/synthgan")
        if cell and cell.get("status") == "done":
            i = cell["model_info"]
            budget = i.get("budget") or {}
            epochs = budget.get("epochs", i.get("planned_epochs", i.get("epochs_param")))
            batch = i.get("batch_size_used", budget.get("batch_size", i.get("batch_size_param")))
            chosen.append(f"{name}: {epochs} epochs planned, batch {batch}, {i.get('epochs_run')} run"
                          + (f" (best epoch {i['best_epoch']} kept)" if i.get("best_epoch") is not None else "")
                          + (", stopped early" if i.get("stopped_early") else "")
                          + (f", {i.get('device')} {i.get('precision')}" if i.get("device") else "")
                          + ("; fit accepts target= (not passed)" if i.get("fit_accepts_target") else ""))
    if chosen:
        lines += ["synthgan's choices at its defaults: " + "; ".join(chosen) + ".", ""]
    out_dir = markdown_path.parent if markdown_path else RESULTS_DIR
    lines += quality_view(state, tables, models, out_dir, out_dir) + [""]
    lines.append(NOTES.format(seed=config["seed"], warm_up=WARM_UP_ROWS, sdmetrics=last["versions"]["sdmetrics"],
                              test_pct=round(100 * config["test_size"])))
    return "\n".join(lines)


# ------------------------------------------------------------------ main

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=list(TABLE_NAMES), choices=TABLE_NAMES)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    C.add_run_args(p, TEST_SIZE)
    p.add_argument("--max-train-rows", type=int, default=0,
                   help="subsample each training split to this many rows (checks only; recorded)")
    p.add_argument("--smoke", action="store_true",
                   help=f"{SMOKE_EPOCHS} epochs for every model: checks the script, never results (recorded)")
    C.add_output_args(p, DEFAULT_JSON, SMOKE_JSON)
    args = p.parse_args(argv)
    args.smoke_epochs = SMOKE_EPOCHS
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    threads = C.set_threads(args.threads)
    config = {"seed": args.seed, "test_size": args.test_size, "max_train_rows": args.max_train_rows,
              "smoke": args.smoke, "smoke_epochs": args.smoke_epochs if args.smoke else None}
    json_path = C.json_path(args, DEFAULT_JSON, SMOKE_JSON)
    record = C.run_record("bench_fidelity.py", args, threads, PACKAGES)
    state = C.start_state(SECTION, config, record, args.resume_from, RESUME_KEYS)
    reason = sdv_status()
    if reason:
        state["not_run"]["gaussiancopula"] = reason
    else:
        state["not_run"].pop("gaussiancopula", None)
    print(f"[{SECTION}] torch threads {threads}; load average {record['load_average_before']}; json -> {json_path}",
          file=sys.stderr, flush=True)

    for name in args.tables:
        todo = [m for m in args.models if state["cells"].get(f"{name}/{m}", {}).get("status") != "done"]
        if not todo:
            print(f"[{SECTION}] {name}: every cell reused from {args.resume_from}", file=sys.stderr)
            continue
        t = load_table(name, args)
        categories = categories_of(t)
        entry = state["tables"].setdefault(name, {})
        entry["facts"] = t["facts"]
        if "trtr" not in entry:
            entry["trtr"] = utility(t["train"], t, categories, args.seed)
        C.write_json(state, json_path)
        for model in todo:
            key = f"{name}/{model}"
            if model == "gaussiancopula" and reason:
                state["cells"][key] = {"table": name, "model": model, "status": "not run", "reason": reason}
                continue
            print(f"[{SECTION}] {key}: fitting ...", file=sys.stderr, flush=True)
            try:
                cell = run_cell(t, model, categories, args)
            except Exception as exc:  # noqa: BLE001 - one failed cell must not lose the run
                cell = C.failed_cell(SECTION, key, exc, table=name, model=model)
            else:
                print(f"[{SECTION}] {key}: fit {cell['fit_s']:.1f} s, quality {cell['quality']:.3f}, "
                      f"TSTR {cell['tstr'].get('score')}", file=sys.stderr, flush=True)
            state["cells"][key] = cell
            C.write_json(state, json_path)
    C.write_json(state, json_path)

    tables = [n for n in TABLE_NAMES if n in state["tables"]]
    models = [m for m in MODELS if m in args.models or any(k.endswith("/" + m) for k in state["cells"])]
    C.publish(SECTION, render(state, tables, models, args.markdown), json_path, args.markdown)


if __name__ == "__main__":
    main()
