"""Augmentation lift: does adding synthetic rows of a rare class help a classifier find it?

Two arms, scored on the real holdout: the real training rows alone, and the real rows plus
every synthetic row of the minority class. The same pipeline and model families as
:mod:`synthgan.evaluation.utility` are used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score, recall_score

from synthgan.evaluation.features import MODEL_FAMILIES, feature_spec
from synthgan.evaluation.inputs import Tables, Target
from synthgan.evaluation.utility import ArmResult, ArmScores, fit_predict, xy
from synthgan.report.section import Figure, Headline, Section, Table

LIFT_METRICS = ("minority recall", "balanced accuracy", "minority F1", "minority PR AUC")
REAL, AUGMENTED = "real only", "real + synthetic minority"
#: a change in minority PR AUC smaller than this is "no clear change"
LIFT_TOLERANCE = 0.01


@dataclass(frozen=True)
class LiftResult(ArmScores):
    target: str
    minority: object
    real_rows: int
    added_rows: int
    test_rows: int
    test_minority_rows: int
    arms: tuple  # of ArmResult
    notes: tuple = field(default_factory=tuple)

    @property
    def lift(self):
        """Minority PR AUC with augmentation minus without, averaged over model families."""
        before, after = self.mean(REAL, "minority PR AUC"), self.mean(AUGMENTED, "minority PR AUC")
        return None if before is None or after is None else after - before


def minority_scores(y_true: np.ndarray, y_pred: np.ndarray, proba_minority: np.ndarray, minority) -> dict:
    """Recall, F1 and PR AUC of the minority class (one-vs-rest), and balanced accuracy."""
    is_min, said_min = y_true == minority, y_pred == minority
    has_min = bool(is_min.any())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # predicted classes absent from the holdout
        balanced = float(balanced_accuracy_score(y_true, y_pred))
    return {
        "minority recall": float(recall_score(is_min, said_min, zero_division=0)) if has_min else None,
        "balanced accuracy": balanced,
        "minority F1": float(f1_score(is_min, said_min, zero_division=0)) if has_min else None,
        "minority PR AUC": float(average_precision_score(is_min, proba_minority)) if has_min else None,
    }


def augmentation_lift(tables: Tables, target: Target, seed: int = 0, families: tuple = MODEL_FAMILIES) -> LiftResult:
    """Score each model family trained on real rows, then on real + synthetic minority rows."""
    spec = feature_spec(tables.schema, target.name)
    X_test, y_test = xy(tables.holdout, target, spec)
    X_real, y_real = xy(tables.real, target, spec)
    X_synth, y_synth = xy(tables.synthetic, target, spec)
    chosen = y_synth == target.minority
    X_aug = pd.concat([X_real, X_synth[chosen]], ignore_index=True)
    y_aug = np.concatenate([y_real, y_synth[chosen]])
    minority_col = target.classes.index(target.minority)
    notes = []
    if not chosen.any():
        notes.append(f"the synthetic table has no rows of class {target.minority!r}: both arms are the same")
    if not np.any(y_test == target.minority):
        notes.append(f"the holdout has no rows of class {target.minority!r}: minority scores are undefined")
    arms = []
    for arm, X, y in ((REAL, X_real, y_real), (AUGMENTED, X_aug, y_aug)):
        for family in families:
            pred, proba, fit_notes = fit_predict(family, target, spec, X, y, X_test, seed)
            notes += [f"{family}, {arm}: {n}" for n in fit_notes]
            arms.append(
                ArmResult(family, arm, len(y), minority_scores(y_test, pred, proba[:, minority_col], target.minority))
            )
    return LiftResult(
        target.name,
        target.minority,
        real_rows=len(y_real),
        added_rows=int(chosen.sum()),
        test_rows=len(y_test),
        test_minority_rows=int(np.sum(y_test == target.minority)),
        arms=tuple(arms),
        notes=tuple(notes),
    )


def _verdict(lift) -> str | None:
    if lift is None:
        return None
    return "helped" if lift > LIFT_TOLERANCE else "hurt" if lift < -LIFT_TOLERANCE else "no clear change"


def augmentation_section(result: LiftResult) -> Section:
    families = sorted({a.model for a in result.arms}, key=list(MODEL_FAMILIES).index)
    rows = tuple(
        (
            f,
            m,
            result.score(f, REAL, m),
            result.score(f, AUGMENTED, m),
            (
                None
                if result.score(f, REAL, m) is None or result.score(f, AUGMENTED, m) is None
                else result.score(f, AUGMENTED, m) - result.score(f, REAL, m)
            ),
        )
        for f in families
        for m in LIFT_METRICS
    )
    labels = tuple(f"{f} \u00b7 {m}" for f in families for m in LIFT_METRICS)
    series = {arm: tuple(result.score(f, arm, m) for f in families for m in LIFT_METRICS) for arm in (REAL, AUGMENTED)}
    m = result.minority
    summary = (
        f"Adding {result.added_rows} synthetic rows of class {m!r} to {result.real_rows} real rows "
        f"changes the minority PR AUC on the holdout from {_f(result.mean(REAL, 'minority PR AUC'))} to "
        f"{_f(result.mean(AUGMENTED, 'minority PR AUC'))} and its recall from {_f(result.mean(REAL, 'minority recall'))} "
        f"to {_f(result.mean(AUGMENTED, 'minority recall'))} (means over {len(families)} model families)."
    )
    return Section(
        key="augmentation",
        title=f"Augmentation lift (class {m!r})",
        summary=summary,
        verdict=_verdict(result.lift),
        headline=[
            Headline(
                "minority PR AUC, real only",
                result.mean(REAL, "minority PR AUC"),
                "How well the models rank the rare class, trained on real rows.",
            ),
            Headline(
                "minority PR AUC, augmented",
                result.mean(AUGMENTED, "minority PR AUC"),
                "The same, with the synthetic minority rows added.",
            ),
            Headline(
                "minority recall, real only",
                result.mean(REAL, "minority recall"),
                "Share of the holdout's rare rows the models find.",
            ),
            Headline(
                "minority recall, augmented",
                result.mean(AUGMENTED, "minority recall"),
                "The same, with the synthetic minority rows added.",
            ),
        ],
        notes=[
            f"Verdict: 'helped' when the minority PR AUC rises by more than {LIFT_TOLERANCE}, 'hurt' when it "
            "falls by more, else 'no clear change'. Recall and F1 also move with the decision threshold, "
            "which extra minority rows shift; PR AUC does not depend on it.",
            f"The holdout has {result.test_minority_rows} rows of class {m!r} out of {result.test_rows}: "
            "with few rare rows, differences of a few points are noise.",
            *dict.fromkeys(result.notes),
        ],
        tables=[
            Table("Minority-class scores on the real holdout", ("model", "metric", REAL, AUGMENTED, "change"), rows)
        ],
        figures=[
            Figure("bars", "Real only vs augmented", labels, series, domain=(0.0, 1.0), group="Real only vs augmented")
        ],
        details={
            "target": result.target,
            "minority": result.minority,
            "real_rows": result.real_rows,
            "added_rows": result.added_rows,
            "test_rows": result.test_rows,
            "test_minority_rows": result.test_minority_rows,
            "arms": [
                {"model": a.model, "arm": a.arm, "train_rows": a.train_rows, "scores": a.scores} for a in result.arms
            ],
            "lift": result.lift,
        },
    )


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
