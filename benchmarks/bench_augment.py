"""Minority over-sampling with synthetic rows: does synthgan's SyntheticOverSampler help a classifier?

    python benchmarks/bench_augment.py --markdown benchmarks/RESULTS.md        # the full benchmark
    python benchmarks/bench_augment.py --resume-from benchmarks/results/augment.json \\
        --markdown benchmarks/RESULTS.md                                         # continue an interrupted run
    python benchmarks/bench_augment.py --tables fraud --smoke --max-rows 1500 --folds 2 --threads 1

Tables: the vehicle insurance fraud table (target ``FraudFound_P``, minority 1, ``PolicyNumber``
dropped), Adult (target ``class``, minority ``>50K``) and scikit-learn's breast cancer with its
malignant rows thinned (seeded) to 10% of the table (labels "malignant" / "benign").

Stratified k-fold cross-validation (default 5 folds). Each arm is an imbalanced-learn ``Pipeline``
of sampler, a dtype step (categorical columns back to the table's pandas categories) and
classifier, fitted on the fold's training rows only, so no sampler ever sees a validation row.
Arms: real rows only (no sampler), ``RandomOverSampler``, ``SMOTENC`` (``SMOTE`` on the
all-numeric breast cancer), synthgan's ``SyntheticOverSampler()`` at library defaults, and ctgan's
``CTGAN()`` at its defaults fitted on the training rows and sampled conditionally on the minority
class (``CTGANOverSampler`` below). Every sampler tops the minority class up to the majority's count
(``sampling_strategy="auto"``). Classifiers: ``HistGradientBoostingClassifier`` with native
categorical splits and ``LogisticRegression`` after one-hot encoding and standard scaling. Per
validation fold: minority average precision (PR AUC), minority recall at the precision the
real-only model reaches at its 0.5 threshold on that fold, balanced accuracy; mean and standard
deviation over folds and the paired difference to real-only.

Then on a seeded stratified 70/30 split: TSTR against TRTR ROC AUC with HistGradientBoosting for
``TabularSynthesizer(seed=s).fit(train, target=target).sample(len(train))`` and for ctgan's
``CTGAN()``; on Adult also the positive-rate gap across ``sex`` and ``race`` (groups of at least 30
rows) in the real training rows and in the synthetic rows, and the equalised-odds difference across
``sex`` (fairlearn) of a model trained on synthetic rows against one trained on real rows.

The json (default benchmarks/results/augment.json) is rewritten after every cell; ``--resume-from``
reuses the finished cells of an earlier run with the same settings. ``--smoke`` (2 epochs for every
generator) and ``--max-rows`` are for checking the script: both are recorded, and a smoke run writes
augment-smoke.json by default.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.base import BaseEstimator, TransformerMixin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))  # benchmark the synthgan of this checkout

SECTION = "bench_augment"
RESULTS_DIR = C.RESULTS_DIR
DEFAULT_JSON = RESULTS_DIR / "augment.json"
SMOKE_JSON = RESULTS_DIR / "augment-smoke.json"
SMOKE_EPOCHS = 2
TEST_SIZE = 0.3
THIN_SHARE = 0.10  # breast cancer: malignant rows as a share of the thinned table
MIN_GROUP_ROWS = 30
#: the sensitive columns of the --fairness arm (Adult only): conditioned on jointly with the target
FAIRNESS_COLUMNS = ("sex", "race")
MISSING = "<missing>"  # missing categorical values become this category, for every arm alike
TABLE_NAMES = ("fraud", "adult", "breast_cancer")
ARMS = ("real", "random", "smote", "synthgan", "ctgan")
CLASSIFIERS = ("hgb", "logreg")
CLASSIFIER_LABELS = {"hgb": "HistGradientBoosting", "logreg": "LogisticRegression"}
#: settings a resumed run must share with the run it continues
RESUME_KEYS = ("seed", "folds", "max_rows", "smoke", "smoke_epochs", "thin_share", "test_size")
#: whose versions each run records
PACKAGES = ("synthgan", "ctgan", "imbalanced-learn", "scikit-learn", "fairlearn", "torch", "numpy",
            "pandas", "rdt", "joblib")


def arm_label(arm: str, table: dict | None = None) -> str:
    if arm == "smote":
        return "SMOTE" if table is not None and not table["categorical"] else "SMOTENC"
    return {"real": "real rows only", "random": "RandomOverSampler", "synthgan": "synthgan SyntheticOverSampler",
            "ctgan": "ctgan CTGAN, conditional"}[arm]


# ------------------------------------------------------------------ tables

def _text(value) -> str:
    """A category as text: whole floats without '.0', missing as MISSING."""
    if pd.isna(value):
        return MISSING
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _texts(series: pd.Series) -> pd.Series:
    """A column as text categories (object dtype, so grouping never sees pandas categories)."""
    return series.astype(object).map(_text)


def _raw_table(name: str, seed: int) -> tuple[pd.DataFrame, str, object, str, dict]:
    """(frame, target, minority label, source, extra facts) before any preparation."""
    if name == "fraud":
        df = C.load_fraud(C.dataset_path("fraud_oracle.csv")).drop(columns=["PolicyNumber"])
        return df, "FraudFound_P", 1, "../shared/datasets/fraud_oracle.csv, PolicyNumber dropped", {}
    if name == "adult":
        df = C.load_adult(C.dataset_path("adult.csv"))
        return df, "class", ">50K", "../shared/datasets/adult.csv (benchmarks/_common.load_adult)", {}
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        df = load_breast_cancer(as_frame=True).frame
        df["target"] = df["target"].map({0: "malignant", 1: "benign"})  # sklearn: 0 is malignant
        benign = df[df["target"] == "benign"]
        malignant = df[df["target"] == "malignant"]
        keep = round(THIN_SHARE * len(benign) / (1 - THIN_SHARE))
        kept = malignant.sample(keep, random_state=seed)
        thinned = pd.concat([benign, kept]).sort_index().reset_index(drop=True)
        extra = {"thinned": f"malignant rows {len(malignant)} -> {keep} (seeded), "
                            f"{keep / len(thinned):.1%} of {len(thinned)} rows; benign all kept"}
        return thinned, "target", "malignant", "sklearn load_breast_cancer(as_frame=True).frame", extra
    raise ValueError(name)


def load_table(name: str, args) -> dict:
    """The table prepared for every arm alike: categorical columns (as synthgan's schema detection
    calls them on the whole table) as text pandas categories with missing values as their own
    category, numeric columns as they are; optionally a stratified subsample."""
    from sklearn.model_selection import train_test_split
    from synthgan.schema import ColumnKind, detect_schema

    df, target, minority, source, extra = _raw_table(name, args.seed)
    facts = {"source": source, "target": target, "minority": C.plain(minority), "rows_raw": len(df),
             "missing_cells": int(df.isna().sum().sum()), "duplicate_rows": int(df.duplicated().sum()), **extra}
    if args.max_rows and args.max_rows < len(df):
        df, _ = train_test_split(df, train_size=args.max_rows, stratify=df[target], random_state=args.seed)
        df = df.reset_index(drop=True)
        facts["subsampled_to"] = len(df)
    schema = detect_schema(df)
    ids = [c.name for c in schema.columns if c.kind is ColumnKind.ID and c.name != target]
    if ids:  # nothing to learn from a row identifier
        df = df.drop(columns=ids)
    categorical = [c.name for c in schema.columns
                   if c.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and c.name != target and c.name not in ids]
    features = [c for c in df.columns if c != target]
    numeric = [c for c in features if c not in categorical]
    out = pd.DataFrame(index=df.index)
    dtypes = {}
    for col in features:
        if col in categorical:
            text = _texts(df[col])
            dtypes[col] = pd.CategoricalDtype(sorted(text.unique()))
            out[col] = text.astype(dtypes[col])
        else:
            out[col] = pd.to_numeric(df[col])
            dtypes[col] = out[col].dtype
    out[target] = df[target].to_numpy()
    numeric_missing = int(out[numeric].isna().sum().sum())
    counts = out[target].value_counts()
    facts |= {
        "rows": len(out), "dropped_id_columns": ids, "categorical_columns": categorical,
        "numeric_columns": numeric, "numeric_missing_cells": numeric_missing,
        "classes": {str(k): int(v) for k, v in counts.items()},
        "minority_share": float(counts.get(minority, 0) / len(out)),
    }
    return {"name": name, "frame": out, "target": target, "minority": minority, "categorical": categorical,
            "numeric": numeric, "features": features, "dtypes": dtypes, "facts": facts}


# ------------------------------------------------------------------ samplers and pipeline steps

class KeepDtypes(BaseEstimator, TransformerMixin):
    """Cast the columns to the table's dtypes (categorical columns to its categories; a value outside
    them becomes missing). A no-op on rows that already have them: real rows and samplers that keep
    pandas dtypes. What ``fit`` saw differ is kept in ``changed_`` and ``unknown_``."""

    def __init__(self, dtypes: dict | None = None):
        self.dtypes = dtypes

    def fit(self, X, y=None):
        self.changed_ = {c: str(X[c].dtype) for c, d in self.dtypes.items() if X[c].dtype != d}
        self.unknown_ = {}
        for c in self.changed_:
            if isinstance(self.dtypes[c], pd.CategoricalDtype):
                text = _texts(X[c])
                bad = int((~text.isin(self.dtypes[c].categories)).sum())
                if bad:
                    self.unknown_[c] = bad
        return self

    def transform(self, X):
        return cast_to(X, self.dtypes)


def cast_to(X: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    out = pd.DataFrame(index=X.index)
    for c, d in dtypes.items():
        if X[c].dtype == d:
            out[c] = X[c]
        elif isinstance(d, pd.CategoricalDtype):
            out[c] = pd.Categorical(_texts(X[c]), dtype=d)
        else:
            values = pd.to_numeric(X[c], errors="coerce")
            if np.issubdtype(d, np.integer):
                values = values.round()
                out[c] = values.astype(d) if values.notna().all() else values.astype(float)
            else:
                out[c] = values.astype(d)
    return out


LABEL = "__label__"


class CTGANOverSampler(BaseOverSampler):
    """The peer arm: ctgan's ``CTGAN`` (its defaults unless ``epochs``) fitted on the training rows
    with the label as a discrete column, minority rows drawn with ``sample(n,
    condition_column=label, condition_value=class)`` until each class reaches the strategy's count.
    Takes and returns pandas frames; the new rows get the input's dtypes (categories included).
    ``label_agreement_``: the share of drawn rows whose generated label is the class asked for."""

    _parameter_constraints = {**BaseOverSampler._parameter_constraints,
                              "categorical_features": [list, None], "epochs": [int, None]}

    def __init__(self, sampling_strategy="auto", random_state=None, categorical_features=None, epochs=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.epochs = epochs

    def _check_X_y(self, X, y):
        from imblearn.utils import check_target_type

        if not isinstance(X, pd.DataFrame):
            raise TypeError("CTGANOverSampler takes a pandas DataFrame")
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        from ctgan import CTGAN

        data = X.reset_index(drop=True).copy()
        labels = np.asarray(y)
        data[LABEL] = labels
        model = CTGAN() if self.epochs is None else CTGAN(epochs=self.epochs)
        if self.random_state is not None:
            model.set_random_state(int(self.random_state))
        model.fit(data, discrete_columns=list(self.categorical_features or []) + [LABEL])
        new_x, new_y, agree, drawn = [], [], 0, 0
        for klass, n in self.sampling_strategy_.items():
            if n <= 0:
                continue
            rows = model.sample(int(n), condition_column=LABEL, condition_value=klass)
            agree += int((rows[LABEL].astype(str) == str(klass)).sum())
            drawn += len(rows)
            new_x.append(cast_to(rows.drop(columns=[LABEL]), dict(X.dtypes)))
            new_y.append(np.full(len(rows), klass, dtype=labels.dtype))
        self.label_agreement_ = agree / drawn if drawn else None
        if not new_x:
            return X, y
        X_res = pd.concat([X.reset_index(drop=True)] + new_x, ignore_index=True)
        return X_res, np.concatenate([labels] + new_y)


class _Timed:
    """Books the seconds and rows of ``fit_resample`` on the (fitted, cached) sampler."""

    def fit_resample(self, X, y, **params):
        start = time.perf_counter()
        out = super().fit_resample(X, y, **params)
        self.fit_resample_s_ = time.perf_counter() - start
        self.rows_in_ = len(X)
        self.rows_added_ = len(out[0]) - len(X)
        self.classes_after_ = {str(k): int(v) for k, v in pd.Series(np.asarray(out[1])).value_counts().items()}
        return out


def timed(cls):
    """``cls`` with ``_Timed`` in front, registered in this module so the pipeline's cache can pickle it."""
    name = "Timed" + cls.__name__
    if name not in globals():
        sub = type(name, (_Timed, cls), {"__module__": __name__})
        sub.__qualname__ = name
        globals()[name] = sub
    return globals()[name]


def synthgan_sampler_class():
    """(SyntheticOverSampler, None) or (None, why not)."""
    try:
        from synthgan.imblearn import SyntheticOverSampler
    except Exception as exc:  # noqa: BLE001 - any import failure is a reason not to run the arm
        return None, f"synthgan.imblearn.SyntheticOverSampler does not import: {type(exc).__name__}: {exc}"
    return SyntheticOverSampler, None


def make_sampler(arm: str, t: dict, args):
    """(sampler or None, its constructor as text)."""
    seed = args.seed
    if arm == "real":
        return None, "none"
    if arm == "random":
        from imblearn.over_sampling import RandomOverSampler

        return timed(RandomOverSampler)(random_state=seed), f"RandomOverSampler(random_state={seed})"
    if arm == "smote":
        from imblearn.over_sampling import SMOTE, SMOTENC

        if not t["categorical"]:
            return timed(SMOTE)(random_state=seed), f"SMOTE(random_state={seed})"
        return (timed(SMOTENC)(categorical_features=list(t["categorical"]), random_state=seed),
                f"SMOTENC(categorical_features=<{len(t['categorical'])} categorical columns>, random_state={seed})")
    if arm == "synthgan":
        cls, reason = synthgan_sampler_class()
        if cls is None:
            raise RuntimeError(reason)
        kwargs = {"synthesizer_params": {"epochs": args.smoke_epochs}} if args.smoke else {}
        text = f"SyntheticOverSampler(random_state={seed}" + (
            f", synthesizer_params={{'epochs': {args.smoke_epochs}}}" if args.smoke else "") + ")"
        return timed(cls)(random_state=seed, **kwargs), text
    if arm == "ctgan":
        epochs = args.smoke_epochs if args.smoke else None
        text = (f"CTGANOverSampler(random_state={seed}, categorical_features=<categorical columns>"
                + (f", epochs={epochs}" if epochs else "") + ") -> CTGAN(" + (f"epochs={epochs}" if epochs else "") + ")")
        return timed(CTGANOverSampler)(random_state=seed, categorical_features=list(t["categorical"]),
                                       epochs=epochs), text
    raise ValueError(arm)


def classifier_steps(name: str, t: dict, seed: int) -> list:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if name == "hgb":
        return [("model", HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed))]
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), t["categorical"]),
                              ("num", StandardScaler(), t["numeric"])])
    return [("prep", prep), ("model", LogisticRegression(max_iter=1000))]


# ------------------------------------------------------------------ metrics

def fold_metrics(is_minority: np.ndarray, proba: np.ndarray, ref_precision: float | None) -> dict:
    """Average precision, balanced accuracy, precision / recall at 0.5 and the best recall at a
    precision of at least ``ref_precision`` (the real-only model's at 0.5 on this fold)."""
    from sklearn.metrics import (average_precision_score, balanced_accuracy_score, precision_recall_curve,
                                 precision_score, recall_score)

    pred = proba >= 0.5
    out = {
        "average_precision": float(average_precision_score(is_minority, proba)),
        "balanced_accuracy": float(balanced_accuracy_score(is_minority, pred)),
        "precision_at_05": float(precision_score(is_minority, pred, zero_division=np.nan)),
        "recall_at_05": float(recall_score(is_minority, pred)),
        "predicted_minority_at_05": int(pred.sum()),
    }
    if ref_precision is None:  # the real-only arm: its own precision is the reference
        ref_precision = out["precision_at_05"]
    if ref_precision is None or not math.isfinite(ref_precision):
        out["reference_precision"], out["recall_at_reference"] = None, None
    else:
        precision, recall, _ = precision_recall_curve(is_minority, proba)
        out["reference_precision"] = float(ref_precision)
        out["recall_at_reference"] = float(recall[precision >= ref_precision - 1e-12].max())
    return out


def run_cv_cell(t: dict, arm: str, fold: int, train_idx, valid_idx, state: dict, args) -> dict:
    """One arm on one fold: a pipeline per classifier; the sampler's result is cached between them."""
    from imblearn.pipeline import Pipeline
    from joblib import Memory

    name, target, minority = t["name"], t["target"], t["minority"]
    frame = t["frame"]
    x_train, y_train = frame.iloc[train_idx][t["features"]], frame.iloc[train_idx][target]
    x_valid, y_valid = frame.iloc[valid_idx][t["features"]], frame.iloc[valid_idx][target]
    is_minority = (y_valid == minority).to_numpy()
    cell = {"table": name, "arm": arm, "fold": fold, "started": C.now(), "load_before": list(os.getloadavg()),
            "train_rows": len(train_idx), "valid_rows": len(valid_idx),
            "train_minority": int((y_train == minority).sum()), "valid_minority": int(is_minority.sum()),
            "classifiers": {}}
    other_cores = C.OtherCores()
    with tempfile.TemporaryDirectory(prefix="bench_augment_") as cache, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        memory = Memory(cache, verbose=0)
        for clf in args.classifiers:
            sampler, text = make_sampler(arm, t, args)
            cell["sampler"] = text
            steps = ([("sampler", sampler)] if sampler is not None else []) + [("dtypes", KeepDtypes(t["dtypes"]))]
            pipe = Pipeline(steps + classifier_steps(clf, t, args.seed), memory=memory)
            C.seed_everything(args.seed)
            start = time.perf_counter()
            pipe.fit(x_train, y_train)
            fit_s = time.perf_counter() - start
            proba = pipe.predict_proba(x_valid)[:, list(pipe.classes_).index(minority)]
            ref = None
            if arm != "real":
                real = state["cells"].get(f"{name}/cv/real/{fold}", {})
                ref = real.get("classifiers", {}).get(clf, {}).get("precision_at_05")
                ref = float("nan") if ref is None else ref
            cell["classifiers"][clf] = {"pipeline_fit_s": fit_s, **fold_metrics(is_minority, proba, ref)}
            if sampler is not None:
                fitted = pipe.named_steps["sampler"]
                cell["sampler_fit_s"] = getattr(fitted, "fit_resample_s_", None)
                cell["rows_added"] = getattr(fitted, "rows_added_", None)
                cell["classes_after"] = getattr(fitted, "classes_after_", None)
                if getattr(fitted, "label_agreement_", None) is not None:
                    cell["label_agreement"] = fitted.label_agreement_
            step = pipe.named_steps["dtypes"]
            cell["dtype_changes"], cell["unknown_category_values"] = step.changed_, step.unknown_
        memory.clear(warn=False)
    cell["other_cores_busy"] = other_cores.share()
    cell["warnings"] = C.warning_lines(caught)
    cell["status"] = "done"
    return cell


# ------------------------------------------------------------------ TSTR and fairness

def _is_positive(series: pd.Series, positive) -> np.ndarray:
    return (_texts(series) == _text(positive)).to_numpy()


def rate_gap(frame: pd.DataFrame, group: str, target: str, positive) -> dict:
    """Max minus min positive rate over the groups of ``group`` with at least MIN_GROUP_ROWS rows."""
    groups = _texts(frame[group])
    positive_rows = pd.Series(_is_positive(frame[target], positive), index=frame.index)
    counts = groups.value_counts()
    rates = positive_rows.groupby(groups).mean()
    used = [g for g in counts.index if counts[g] >= MIN_GROUP_ROWS]
    out = {"rates": {g: float(rates[g]) for g in used}, "rows": {g: int(counts[g]) for g in counts.index},
           "left_out": [g for g in counts.index if counts[g] < MIN_GROUP_ROWS]}
    out["gap"] = float(max(out["rates"].values()) - min(out["rates"].values())) if len(used) >= 2 else None
    return out


def tstr_generate(model: str, train: pd.DataFrame, t: dict, args) -> tuple[pd.DataFrame, dict]:
    target = t["target"]
    if model in ("synthgan", "synthgan_fair"):
        import synthgan

        kwargs = {"epochs": args.smoke_epochs} if args.smoke else {}
        synth = synthgan.TabularSynthesizer(seed=args.seed, verbose=False, **kwargs)
        fairness = list(FAIRNESS_COLUMNS) if model == "synthgan_fair" else None
        start = time.perf_counter()
        synth.fit(train, target=target, fairness=fairness)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        rows = synth.sample(len(train) * args.draws)
        info = {"call": f"TabularSynthesizer(seed={args.seed}, verbose=False"
                        + (f", epochs={args.smoke_epochs}" if args.smoke else "")
                        + ").fit(train, target=target" + (f", fairness={fairness}" if fairness else "")
                        + f").sample(len(train) * {args.draws}), scored as {args.draws} draws of len(train) rows"}
    else:
        from ctgan import CTGAN

        synth = CTGAN(epochs=args.smoke_epochs) if args.smoke else CTGAN()
        synth.set_random_state(args.seed)
        start = time.perf_counter()
        synth.fit(train, discrete_columns=t["categorical"] + [target])
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        rows = synth.sample(len(train) * args.draws)
        info = {"call": "CTGAN(" + (f"epochs={args.smoke_epochs}" if args.smoke else "")
                        + f").fit(train, discrete_columns=<categorical columns + target>).sample(len(train) * {args.draws})"}
    info |= {"fit_s": fit_s, "sample_s": time.perf_counter() - start, "rows": len(rows)}
    return rows, info


def score_rows(rows: pd.DataFrame, test: pd.DataFrame, t: dict, seed: int) -> dict:
    """HistGradientBoosting fit on ``rows``, scored on the real ``test`` rows: ROC AUC, and on Adult
    the equalised-odds difference across sex at the 0.5 threshold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    y = _is_positive(rows[t["target"]], t["minority"])
    out = {"train_rows": len(rows), "train_minority": int(y.sum())}
    if y.all() or not y.any():
        return out | {"roc_auc": None, "note": "one class only in the rows trained on"}
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(cast_to(rows[t["features"]], t["dtypes"]), y)
    proba = model.predict_proba(test[t["features"]])[:, list(model.classes_).index(True)]
    y_test = _is_positive(test[t["target"]], t["minority"])
    out["roc_auc"] = float(roc_auc_score(y_test, proba))
    if "sex" in test.columns:
        from fairlearn.metrics import equalized_odds_difference

        out["equalized_odds_difference_sex"] = float(equalized_odds_difference(
            y_test.astype(int), (proba >= 0.5).astype(int), sensitive_features=_texts(test["sex"]).to_numpy()))
    return out


def run_tstr_cell(t: dict, model: str, train: pd.DataFrame, test: pd.DataFrame, args) -> dict:
    cell = {"table": t["name"], "model": model, "started": C.now(), "load_before": list(os.getloadavg())}
    C.seed_everything(args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model == "real":
            rows = train
        else:
            rows, info = tstr_generate(model, train, t, args)
            cell |= info
            absent = [c for c in train.columns if c not in rows.columns]
            if absent:
                raise RuntimeError(f"synthetic rows lack columns {absent}")
            rows = rows[list(train.columns)].reset_index(drop=True)
            cell["unknown_category_values"] = {
                c: int((~_texts(rows[c]).isin(t["dtypes"][c].categories)).sum()) for c in t["categorical"]}
            cell["unknown_category_values"] = {c: n for c, n in cell["unknown_category_values"].items() if n}
        # a generator's rows are scored as independent draws of len(train) rows each: the
        # equalised-odds difference in particular moves with the draw (0.14-0.19 on Adult)
        draws = [rows] if model == "real" else [
            rows.iloc[i * len(train) : (i + 1) * len(train)].reset_index(drop=True) for i in range(args.draws)]
        scored = []
        for part in draws:
            one = {"classes": {str(k): int(v) for k, v in _texts(part[t["target"]]).value_counts().items()}}
            one |= score_rows(part, test, t, args.seed)
            for group in ("sex", "race"):
                if group in part.columns and t["name"] == "adult":
                    one[f"rate_gap_{group}"] = rate_gap(part, group, t["target"], t["minority"])
            scored.append(one)
        cell |= scored[0]  # the first draw's figures, as before; the spread over draws beside them
        if len(scored) > 1:
            cell["draws"] = scored
            for key in ("roc_auc", "equalized_odds_difference_sex"):
                values = [d.get(key) for d in scored if d.get(key) is not None]
                if values:
                    cell[f"{key}_mean"], cell[f"{key}_sd"] = float(np.mean(values)), float(np.std(values, ddof=1))
            for group in ("sex", "race"):
                values = [d[f"rate_gap_{group}"]["gap"] for d in scored if d.get(f"rate_gap_{group}")]
                if values:
                    cell[f"rate_gap_{group}_mean"] = float(np.mean(values))
                    cell[f"rate_gap_{group}_sd"] = float(np.std(values, ddof=1))
    cell["warnings"] = C.warning_lines(caught)
    cell["status"] = "done"
    return cell


# ------------------------------------------------------------------ output

_f = C.fmt_value


def _stats(values: list) -> tuple[float | None, float | None, int]:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return None, None, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None, len(v)


def _pm(mean, sd, signed: bool = False) -> str:
    if mean is None:
        return "n/a"
    text = f"{mean:+.3f}" if signed else f"{mean:.3f}"
    return text + (f" ± {sd:.3f}" if sd is not None else "")


METRICS = (("average_precision", "PR AUC"), ("recall_at_reference", "recall @ real's precision"),
           ("balanced_accuracy", "balanced accuracy"))


def summary(state: dict, name: str, arm: str, clf: str, folds: int) -> dict | None:
    cells = [state["cells"].get(f"{name}/cv/{arm}/{f}") for f in range(folds)]
    done = [c for c in cells if c and c.get("status") == "done" and clf in c["classifiers"]]
    if not done:
        errors = [c for c in cells if c and c.get("status") == "error"]
        return {"error": errors[0]["error"]} if errors else None
    real = {c["fold"]: c for f in range(folds)
            if (c := state["cells"].get(f"{name}/cv/real/{f}")) and c.get("status") == "done"}
    out = {"folds": len(done), "sampler_fit_s": _stats([c.get("sampler_fit_s") for c in done]),
           "rows_added": _stats([c.get("rows_added") for c in done])}
    out["reference_precision"] = _stats([c["classifiers"][clf].get("reference_precision") for c in done])
    for key, _ in METRICS:
        out[key] = _stats([c["classifiers"][clf].get(key) for c in done])
        diffs = []
        for c in done:
            base = real.get(c["fold"], {}).get("classifiers", {}).get(clf, {})
            a, b = c["classifiers"][clf].get(key), base.get(key)
            diffs.append(a - b if a is not None and b is not None else None)
        out["diff_" + key] = _stats(diffs)
    return out


def render(state: dict) -> str:
    config, runs = state["config"], state["runs"]
    last = runs[-1]
    v = last["versions"]
    folds = config["folds"]
    settings = [
        f"- versions: synthgan {v['synthgan']}, ctgan {v['ctgan']}, imbalanced-learn {v['imbalanced-learn']}, "
        f"scikit-learn {v['scikit-learn']}, fairlearn {v['fairlearn']}, torch {v['torch']}, numpy {v['numpy']}, "
        f"pandas {v['pandas']}, Python {v['python']}",
        f"- {folds}-fold stratified cross-validation (shuffled, seed {config['seed']}); TSTR on a "
        f"{round(100 * (1 - config['test_size']))}/{round(100 * config['test_size'])} stratified split"
        + (f"; every table subsampled (stratified) to at most {config['max_rows']:,} rows (--max-rows)"
           if config["max_rows"] else ""),
    ]
    lines = C.heading(SECTION, "minority over-sampling with synthgan, CTGAN, SMOTE(NC) and random copies",
                      state, "generator", "torch / BLAS / OpenMP threads", settings)
    tables = [n for n in TABLE_NAMES if n in state["tables"]]
    data_rows = []
    for name in tables:
        f = state["tables"][name]["facts"]
        data_rows.append([name, f"`{f['target']}`, minority `{f['minority']}`", f"{f['rows']:,}",
                          f"{f['minority_share']:.1%}", f"{len(f['numeric_columns'])} / {len(f['categorical_columns'])}",
                          f"{f['missing_cells']:,}", f"{f['duplicate_rows']:,}", f.get("thinned", "-")])
    lines += ["", C.markdown_table(["table", "target", "rows", "minority share", "numeric / categorical columns",
                                    "missing cells", "duplicate rows", "thinning"], data_rows), ""]

    rows, odd = [], []
    arms = [a for a in ARMS if any(k.split("/")[2] == a for k in state["cells"] if "/cv/" in k)]
    for name in tables:
        t_like = {"categorical": state["tables"][name]["facts"]["categorical_columns"]}
        for clf in CLASSIFIERS:
            for arm in arms:
                s = summary(state, name, arm, clf, folds)
                if s is None:
                    continue
                label = arm_label(arm, t_like)
                if "error" in s:
                    rows.append([name, CLASSIFIER_LABELS[clf], label, f"error: {s['error'][:100]}"] + [""] * 4)
                    continue
                row = [name, CLASSIFIER_LABELS[clf], label]
                for key, _ in METRICS:
                    text = _pm(*s[key][:2])
                    if arm != "real":
                        text += f" ({_pm(*s['diff_' + key][:2], signed=True)})"
                    elif key == "recall_at_reference":
                        text += f" [precision {_pm(*s['reference_precision'][:2])}]"
                    row.append(text)
                row.append(_f(s["sampler_fit_s"][0]) if arm != "real" else "-")
                row.append(_f(s["rows_added"][0], 4) if arm != "real" else "-")
                row.append(f"{s['folds']}/{folds}")
                rows.append(row)
        for arm in arms:
            changed, unknown, agreement = set(), {}, []
            for f in range(folds):
                c = state["cells"].get(f"{name}/cv/{arm}/{f}", {})
                changed |= set(c.get("dtype_changes") or {})
                for col, n in (c.get("unknown_category_values") or {}).items():
                    unknown[col] = unknown.get(col, 0) + n
                if c.get("label_agreement") is not None:
                    agreement.append(c["label_agreement"])
            if changed:
                odd.append(f"{name}, {arm_label(arm, {'categorical': state['tables'][name]['facts']['categorical_columns']})}: "
                           f"resampled rows came back with other dtypes in {len(changed)} column(s) "
                           f"({', '.join(sorted(changed)[:5])}{', ...' if len(changed) > 5 else ''}); the pipeline's "
                           "dtype step restored them" + (f"; values outside the real categories (made missing): "
                                                         f"{unknown}" if unknown else ""))
            if agreement:
                odd.append(f"{name}, ctgan: {np.mean(agreement):.1%} of the conditionally drawn rows carry the "
                           "class asked for (all are labelled with it)")
    header = ["table", "classifier", "arm"] + [f"{label} (Δ vs real)" for _, label in METRICS] + [
        "sampler fit s / fold", "rows added / fold", "folds"]
    lines += ["Cross-validation, minority class; mean ± sd over folds, in brackets the mean ± sd of the "
              "per-fold difference to real rows only:", "", C.markdown_table(header, rows), ""]
    busy = [c["other_cores_busy"] for k, c in state["cells"].items()
            if "/cv/" in k and c.get("status") == "done" and c.get("other_cores_busy") is not None]
    if busy:
        odd.append(f"other cores busy during the cross-validation cells (CPU seconds of other processes / wall "
                   f"seconds, from /proc/stat): mean {np.mean(busy):.2f}, max {np.max(busy):.2f}; above about "
                   "0.1 the fit seconds are skewed")
    for note in odd:
        lines.append(f"- {note}")
    for arm, reason in state.get("not_run", {}).items():
        lines.append(f"- {arm_label(arm)}: not run ({reason})")
    if odd or state.get("not_run"):
        lines.append("")

    trows = []
    for name in tables:
        real = state["cells"].get(f"{name}/tstr/real", {})
        for model in ("real", "synthgan", "synthgan_fair", "ctgan"):
            c = state["cells"].get(f"{name}/tstr/{model}")
            if c is None:
                continue
            label = {"real": "real rows (TRTR)", "synthgan": "synthgan", "ctgan": "CTGAN",
                     "synthgan_fair": f"synthgan, fairness={list(FAIRNESS_COLUMNS)}"}[model]
            if c.get("status") != "done":
                trows.append([name, label, f"error: {c.get('error', '')[:100]}"] + [""] * 5)
                continue
            spread = "draws" in c  # mean ± sd over draws of the same fit
            auc_value = c.get("roc_auc_mean") if spread else c.get("roc_auc")
            auc = _pm(c.get("roc_auc_mean"), c.get("roc_auc_sd")) if spread else _f(auc_value)
            if model != "real":
                auc += f" ({_f(C.ratio(auc_value, real.get('roc_auc')))})"
            gaps = []
            for group in ("sex", "race"):
                g = c.get(f"rate_gap_{group}")
                if spread and c.get(f"rate_gap_{group}_mean") is not None:
                    gaps.append(_pm(c[f"rate_gap_{group}_mean"], c[f"rate_gap_{group}_sd"]))
                else:
                    gaps.append(_f(g["gap"]) if g else "-")
            eod = c.get("equalized_odds_difference_sex")
            if spread and c.get("equalized_odds_difference_sex_mean") is not None:
                eod = _pm(c["equalized_odds_difference_sex_mean"], c["equalized_odds_difference_sex_sd"])
            classes = ", ".join(f"{k} {v:,}" for k, v in sorted(c["classes"].items()))
            trows.append([name, label, _f(c.get("fit_s")) if model != "real" else "-", auc, classes,
                          gaps[0], gaps[1], eod if isinstance(eod, str) else (_f(eod) if eod is not None else "-")])
    if trows:
        lines += ["Train on synthetic, test on real (HistGradientBoosting, real 30% test rows); on Adult the "
                  f"positive-rate gap (max - min rate of `>50K` over groups of >= {MIN_GROUP_ROWS} rows) in the "
                  "rows trained on and the equalised-odds difference across sex of the model, on the test rows:",
                  "", C.markdown_table(["table", "rows trained on", "fit s", "ROC AUC (ratio to TRTR)", "classes",
                                        "rate gap sex", "rate gap race", "equalised-odds diff. sex"], trows), ""]
    lines.append(NOTES.format(seed=config["seed"], miss=MISSING, groups=MIN_GROUP_ROWS,
                              draws=config.get("tstr_draws", 1)))
    return "\n".join(lines)


NOTES = """\
How each figure is taken:
- preparation, the same for every arm: categorical columns (those synthgan's schema detection calls \
categorical on the table: text, whole numbers with at most 10 distinct values) as pandas categories \
of their text values over the whole table, a missing value as the category `{miss}` (SMOTENC refuses \
missing values); numeric columns as they are. Breast cancer's malignant rows are thinned before \
anything else, so training and validation folds share the 10% prevalence.
- arms: imbalanced-learn `Pipeline(sampler, dtype step, classifier)` fitted on the fold's training rows; \
samplers at their defaults with `random_state={seed}` and `sampling_strategy="auto"` (minority topped up \
to the majority's count); `SyntheticOverSampler()` with no `synthesizer_params` (smoke: epochs only); \
the CTGAN arm is `CTGANOverSampler` in this script: `CTGAN()` fitted on the training rows with the label \
as a discrete column, `sample(n, condition_column=label, condition_value=minority)`, every drawn row \
labelled minority. The dtype step casts categorical columns back to the table's categories (a no-op \
for rows that kept them; noted above where it was not). The sampler's result is cached between the two \
classifiers of a fold (joblib memory of the pipeline), so each generator is fitted once per fold.
- classifiers: `HistGradientBoostingClassifier(categorical_features="from_dtype", random_state={seed})`; \
`LogisticRegression(max_iter=1000)` after `OneHotEncoder(handle_unknown="ignore")` on the categorical \
and `StandardScaler()` on the numeric columns.
- metrics on the validation fold, minority class positive: PR AUC = average precision; recall @ real's \
precision = the highest recall at a threshold whose precision is at least what the real-only model \
of the same classifier reaches at 0.5 on that fold (that precision in square brackets on the real-only \
row; a fold where it predicts no minority row is left out); balanced \
accuracy at 0.5. sd is the sample standard deviation over folds.
- sampler fit s: seconds of the sampler's `fit_resample` on the fold's training rows (generators: fit and \
sampling), mean over folds; the first fold of a generator includes one-off start-up costs.
- TSTR: `TabularSynthesizer(seed={seed}, verbose=False).fit(train, target=target)` and \
`CTGAN().fit(train, discrete_columns=<categorical columns + target>)` on the prepared 70% rows, each \
sampled as {draws} draws of len(train) rows from the one fit and every draw scored on its own (mean ± sd \
over draws where there are several; classes of the first draw); HistGradientBoosting as above, ROC AUC on the real 30%. Rate gaps use the groups with at least \
{groups} rows of that table; the equalised-odds difference is fairlearn's \
`equalized_odds_difference(y_test, prediction at 0.5, sensitive_features=sex)` (worst case between groups).
"""


# ------------------------------------------------------------------ main

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=list(TABLE_NAMES), choices=TABLE_NAMES)
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS,
                   help="'real' always runs: the other arms' recall is taken at its precision")
    p.add_argument("--classifiers", nargs="+", default=list(CLASSIFIERS), choices=CLASSIFIERS)
    p.add_argument("--folds", type=int, default=5)
    C.add_run_args(p, TEST_SIZE)
    p.add_argument("--max-rows", type=int, default=0,
                   help="subsample each table (stratified) to this many rows (checks only; recorded)")
    p.add_argument("--smoke", action="store_true",
                   help=f"{SMOKE_EPOCHS} epochs for every generator: checks the script, never results (recorded)")
    p.add_argument("--no-tstr", action="store_true", help="skip the TSTR / fairness part")
    p.add_argument("--draws", type=int, default=3,
                   help="TSTR: score each generator's rows as this many draws of len(train) rows from one fit "
                   "(mean ± sd in the table; the first draw's figures stay in the cell)")
    p.add_argument("--fairness", action="store_true",
                   help=f"Adult: also a TSTR arm fitted with fairness={list(FAIRNESS_COLUMNS)} (joint conditioning)")
    p.add_argument("--no-cv", action="store_true",
                   help="skip the cross-validated arms (only TSTR / fairness for the --arms generators)")
    C.add_output_args(p, DEFAULT_JSON, SMOKE_JSON)
    args = p.parse_args(argv)
    args.smoke_epochs = SMOKE_EPOCHS
    if "real" not in args.arms:
        args.arms = ["real"] + args.arms
    args.arms = [a for a in ARMS if a in args.arms]  # real first: the others need its precision
    return args


def _cv_done(cell: dict | None, classifiers: list[str]) -> bool:
    return bool(cell) and cell.get("status") == "done" and all(c in cell["classifiers"] for c in classifiers)


def main(argv=None) -> None:
    args = parse_args(argv)
    from sklearn.model_selection import StratifiedKFold

    threads = C.set_threads(args.threads)
    config = {"seed": args.seed, "folds": args.folds, "max_rows": args.max_rows, "smoke": args.smoke,
              "smoke_epochs": args.smoke_epochs if args.smoke else None, "thin_share": THIN_SHARE,
              "test_size": args.test_size, "tstr_draws": args.draws}
    json_path = C.json_path(args, DEFAULT_JSON, SMOKE_JSON)
    record = C.run_record("bench_augment.py", args, threads, PACKAGES)
    state = C.start_state(SECTION, config, record, args.resume_from, RESUME_KEYS)
    _, reason = synthgan_sampler_class()
    if reason and "synthgan" in args.arms:
        state["not_run"]["synthgan"] = reason
        args.arms.remove("synthgan")
    else:
        state["not_run"].pop("synthgan", None)
    print(f"[{SECTION}] threads {threads}; load average {record['load_average_before']}; json -> {json_path}",
          file=sys.stderr, flush=True)
    if "ctgan" in args.arms:
        import ctgan  # noqa: F401 - one-off import costs off the first fold's clock
    import synthgan.tabular  # noqa: F401

    for name in args.tables:
        t = load_table(name, args)
        state["tables"].setdefault(name, {})["facts"] = t["facts"]
        C.write_json(state, json_path)
        y = t["frame"][t["target"]]
        splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(t["frame"], y))
        for fold, (train_idx, valid_idx) in enumerate([] if args.no_cv else splits):
            for arm in args.arms:
                key = f"{name}/cv/{arm}/{fold}"
                if _cv_done(state["cells"].get(key), args.classifiers):
                    continue
                print(f"[{SECTION}] {key} ...", file=sys.stderr, flush=True)
                try:
                    cell = run_cv_cell(t, arm, fold, train_idx, valid_idx, state, args)
                except Exception as exc:  # noqa: BLE001 - one failed cell must not lose the run
                    cell = C.failed_cell(SECTION, key, exc, table=name, arm=arm, fold=fold)
                else:
                    figures = ", ".join(f"{clf} AP {m['average_precision']:.3f}" for clf, m in cell["classifiers"].items())
                    print(f"[{SECTION}] {key}: sampler {_f(cell.get('sampler_fit_s'))} s; {figures}",
                          file=sys.stderr, flush=True)
                state["cells"][key] = cell
                C.write_json(state, json_path)
        if args.no_tstr:
            continue
        train, test = C.split(t["frame"], t["target"], args.test_size, args.seed)
        models = ["real"] + [m for m in ("synthgan", "ctgan") if m in args.arms or
                             (m == "synthgan" and "synthgan" in state["not_run"])]
        if args.fairness and name == "adult":
            models.append("synthgan_fair")
        for model in models:
            key = f"{name}/tstr/{model}"
            if state["cells"].get(key, {}).get("status") == "done":
                continue
            print(f"[{SECTION}] {key} ...", file=sys.stderr, flush=True)
            try:
                cell = run_tstr_cell(t, model, train, test, args)
            except Exception as exc:  # noqa: BLE001
                cell = C.failed_cell(SECTION, key, exc, table=name, model=model)
            else:
                print(f"[{SECTION}] {key}: ROC AUC {cell.get('roc_auc')}", file=sys.stderr, flush=True)
            state["cells"][key] = cell
            C.write_json(state, json_path)
    C.write_json(state, json_path)

    C.publish(SECTION, render(state), json_path, args.markdown)


if __name__ == "__main__":
    main()
