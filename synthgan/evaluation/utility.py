"""Downstream utility: train on synthetic, test on real (TSTR) next to train on real (TRTR).

Both arms use the same pipeline (:mod:`synthgan.evaluation.features`), the same model
families and the same real holdout; only the training rows differ. If synthetic data is as
useful as real data, TSTR matches TRTR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.pipeline import Pipeline

from synthgan.evaluation.features import (
    MODEL_FAMILIES,
    FeatureSpec,
    feature_spec,
    fit_quietly,
    make_pipeline,
    model_frame,
    preprocessor,
)
from synthgan.evaluation.inputs import Tables, Target, label_values
from synthgan.report.section import Figure, Headline, Section, Table

CLASSIFICATION_METRICS = ("accuracy", "macro F1", "ROC AUC")
REGRESSION_METRICS = ("R2", "MAE")
#: the metric verdicts and headlines use: threshold-free ROC AUC (macro F1 when the holdout
#: has one class), R2 for regression
PRIMARY = {"classification": "ROC AUC", "regression": "R2"}
FALLBACK = "macro F1"
BASELINE = "baseline"
TRTR, TSTR = "trained on real (TRTR)", "trained on synthetic (TSTR)"
#: verdict thresholds on the gap TRTR - TSTR of the primary metric (rules of thumb)
GOOD_GAP, FAIR_GAP = 0.03, 0.10


@dataclass(frozen=True)
class ArmResult:
    """Scores of one model family trained on one arm's rows, measured on the real holdout."""

    model: str
    arm: str
    train_rows: int
    scores: dict


class ArmScores:
    """Lookups over ``self.arms`` (ArmResult rows), shared by utility and augmentation results."""

    def score(self, model: str, arm: str, metric: str):
        for a in self.arms:
            if a.model == model and a.arm == arm:
                return a.scores[metric]
        raise KeyError((model, arm))

    def mean(self, arm: str, metric: str):
        """Mean of ``metric`` over model families for one arm; None when no family has it."""
        values = [a.scores[metric] for a in self.arms if a.arm == arm and a.scores.get(metric) is not None]
        return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class UtilityResult(ArmScores):
    target: str
    task: str
    metrics: tuple
    arms: tuple  # of ArmResult
    test_rows: int
    notes: tuple = field(default_factory=tuple)
    baseline: dict = field(default_factory=dict)  # a constant prediction fitted on the real rows

    @property
    def primary(self) -> str:
        metric = PRIMARY[self.task]
        return metric if self.mean(TRTR, metric) is not None else FALLBACK

    @property
    def gap(self):
        """TRTR minus TSTR of the primary metric, averaged over model families."""
        real, synth = self.mean(TRTR, self.primary), self.mean(TSTR, self.primary)
        return None if real is None or synth is None else real - synth


# -- scores ---------------------------------------------------------------------------------
def aligned_proba(pipeline: Pipeline, X: pd.DataFrame, classes: tuple) -> np.ndarray:
    """Predicted probabilities with one column per class of ``classes`` (0 for unseen ones)."""
    proba = pipeline.predict_proba(X)
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(X), len(classes)))
    for j, c in enumerate(pipeline.classes_):
        if c in index:
            out[:, index[c]] = proba[:, j]
    return out


def roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: tuple):
    """Binary AUC, or one-vs-rest macro AUC over the classes the holdout holds; None if < 2."""
    present = [c for c in classes if np.any(y_true == c)]
    if len(present) < 2:
        return None
    idx = [classes.index(c) for c in present]
    keep = np.isin(y_true, np.asarray(present, dtype=y_true.dtype))
    y, scores = y_true[keep], proba[keep][:, idx]
    if len(present) == 2:
        return float(roc_auc_score(y == present[1], scores[:, 1]))
    total = scores.sum(axis=1, keepdims=True)
    scores = np.where(total > 0, scores / np.where(total > 0, total, 1), 1.0 / len(present))
    return float(roc_auc_score(y, scores, multi_class="ovr", average="macro", labels=present))


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, classes: tuple) -> dict:
    labels = sorted(set(y_true.tolist()), key=lambda v: (str(type(v)), v))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro F1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "ROC AUC": roc_auc(y_true, proba, classes),
    }


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    return {"R2": float(r2_score(y_true, y_pred)), "MAE": float(mean_absolute_error(y_true, y_pred))}


# -- training -------------------------------------------------------------------------------
def xy(df: pd.DataFrame, target: Target, spec: FeatureSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and labels of the rows whose target is known."""
    df = df[df[target.name].notna()]
    if target.task == "classification":
        y = label_values(df[target.name])
    else:
        y = pd.to_numeric(df[target.name]).to_numpy(dtype="float64")
    return model_frame(df, spec), y


def fit_predict(family, target: Target, spec, X_train, y_train, X_test, seed: int):
    """(predictions, class probabilities or None, notes) of one model trained on one arm."""
    notes = []
    if family == BASELINE or (target.task == "classification" and len(set(y_train.tolist())) < 2):
        if family != BASELINE:
            notes.append(f"the training rows hold one class ({y_train[0]!r}): the model predicts it for every row")
        constant = DummyClassifier(strategy="most_frequent") if target.task == "classification" else DummyRegressor()
        pipeline = Pipeline([("features", preprocessor(spec)), ("model", constant)])
        pipeline.fit(X_train, y_train)
    else:
        pipeline = make_pipeline(family, target.task, spec, seed)
        notes += fit_quietly(pipeline, X_train, y_train)
    pred = pipeline.predict(X_test)
    proba = aligned_proba(pipeline, X_test, target.classes) if target.task == "classification" else None
    return pred, proba, notes


def score(target: Target, y_test, pred, proba) -> dict:
    if target.task == "classification":
        return classification_scores(y_test, pred, proba, target.classes)
    return regression_scores(y_test, pred)


def tstr(tables: Tables, target: Target, seed: int = 0, families: tuple = MODEL_FAMILIES) -> UtilityResult:
    """Each model family trained on the real rows and on the synthetic rows, scored on the holdout."""
    spec = feature_spec(tables.schema, target.name)
    X_test, y_test = xy(tables.holdout, target, spec)
    metrics = CLASSIFICATION_METRICS if target.task == "classification" else REGRESSION_METRICS
    notes = []
    if len(y_test) < len(tables.holdout):
        notes.append(f"{len(tables.holdout) - len(y_test)} holdout rows without a target value are left out")
    arms = []
    for arm, df in ((TRTR, tables.real), (TSTR, tables.synthetic)):
        X_train, y_train = xy(df, target, spec)
        for family in families:
            if len(y_train) == 0:
                arms.append(ArmResult(family, arm, 0, {m: None for m in metrics}))
                notes.append(f"{arm}: no training rows have a target value")
                continue
            pred, proba, fit_notes = fit_predict(family, target, spec, X_train, y_train, X_test, seed)
            notes += [f"{family}, {arm}: {n}" for n in fit_notes]
            arms.append(ArmResult(family, arm, len(y_train), score(target, y_test, pred, proba)))
    if spec.left_out:
        notes.append(f"identifier columns {list(spec.left_out)} are not used as features")
    X_real, y_real = xy(tables.real, target, spec)
    pred, proba, _ = fit_predict(BASELINE, target, spec, X_real, y_real, X_test, seed)
    baseline = score(target, y_test, pred, proba)
    return UtilityResult(target.name, target.task, metrics, tuple(arms), len(y_test), tuple(notes), baseline)


# -- report section -------------------------------------------------------------------------
def _verdict(gap) -> str | None:
    if gap is None:
        return None
    return "good" if gap <= GOOD_GAP else "fair" if gap <= FAIR_GAP else "poor"


def utility_section(result: UtilityResult) -> Section:
    primary = result.primary
    real, synth, gap = result.mean(TRTR, primary), result.mean(TSTR, primary), result.gap
    families = sorted({a.model for a in result.arms}, key=list(MODEL_FAMILIES).index)
    rows = []
    for family in families:
        for metric in result.metrics:
            r, s = result.score(family, TRTR, metric), result.score(family, TSTR, metric)
            rows.append((family, metric, r, s, None if r is None or s is None else s - r, result.baseline.get(metric)))
    figures = []
    groups = [result.metrics] if result.task == "classification" else [(m,) for m in result.metrics]
    for metrics in groups:
        labels = tuple(f"{f} \u00b7 {m}" for f in families for m in metrics)
        series = {arm: tuple(result.score(f, arm, m) for f in families for m in metrics) for arm in (TRTR, TSTR)}
        bounded = all(m in CLASSIFICATION_METRICS for m in metrics)
        figures.append(
            Figure(
                "bars",
                f"{', '.join(metrics)} on the real holdout",
                labels,
                series,
                domain=(0.0, 1.0) if bounded else None,
                group="Trained on real vs trained on synthetic",
            )
        )
    what = f"{primary} on {result.test_rows} real holdout rows"
    summary = (
        f"Models trained on synthetic rows reach {_f(synth)} {what}, against {_f(real)} for the same "
        f"models trained on real rows (a gap of {_f(gap)}; means over {len(families)} model families). "
        f"A constant prediction scores {_f(result.baseline.get(primary))}."
    )
    return Section(
        key="utility",
        title="Utility (train synthetic, test real)",
        summary=summary,
        verdict=_verdict(gap),
        headline=[
            Headline(
                f"{primary}, trained on synthetic",
                synth,
                f"Mean over {', '.join(families)} trained on synthetic rows (TSTR).",
            ),
            Headline(
                f"{primary}, trained on real",
                real,
                "The same models trained on the real rows (TRTR): the bar to reach.",
            ),
            Headline(
                "gap (TRTR - TSTR)", gap, f"How much {primary} is lost by training on synthetic data; near 0 is best."
            ),
            Headline(
                f"{primary}, baseline",
                result.baseline.get(primary),
                "A constant prediction: what a model that learned nothing scores.",
            ),
        ],
        notes=[
            f"Verdict: good when the gap is at most {GOOD_GAP}, fair up to {FAIR_GAP}, poor beyond (rules of thumb).",
            "Both arms use the same preprocessing (median imputation + scaling for numbers, one-hot "
            "for categories), fitted on each arm's own training rows.",
            *dict.fromkeys(result.notes),
        ],
        tables=[
            Table(
                "Scores on the real holdout",
                ("model", "metric", "TRTR", "TSTR", "TSTR - TRTR", "baseline"),
                tuple(rows),
                note="baseline: a constant prediction (the real majority class, or the real mean), "
                "the score of a model that learned nothing.",
            )
        ],
        figures=figures,
        details={
            "target": result.target,
            "task": result.task,
            "test_rows": result.test_rows,
            "arms": [
                {"model": a.model, "arm": a.arm, "train_rows": a.train_rows, "scores": a.scores} for a in result.arms
            ],
            "primary_metric": primary,
            "gap": gap,
            "baseline": result.baseline,
        },
    )


def skipped_section(key: str, title: str, reason: str) -> Section:
    return Section(key=key, title=title, summary=reason, verdict="skipped")


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
