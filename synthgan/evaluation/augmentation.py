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
#: a change in a score (mean over model families) smaller than this counts as no change
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
        return self.changes.get("minority PR AUC")

    @property
    def changes(self) -> dict:
        """Each of LIFT_METRICS with augmentation minus without (means over model families);
        metrics undefined in either arm are left out."""
        out = {}
        for metric in LIFT_METRICS:
            before, after = self.mean(REAL, metric), self.mean(AUGMENTED, metric)
            if before is not None and after is not None:
                out[metric] = after - before
        return out


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


def moves(changes: dict) -> tuple[list, list]:
    """(metrics that rose by more than LIFT_TOLERANCE, metrics that fell by more)."""
    rose = [m for m, c in changes.items() if c > LIFT_TOLERANCE]
    fell = [m for m, c in changes.items() if c < -LIFT_TOLERANCE]
    return rose, fell


def _verdict(changes: dict) -> str | None:
    """Weighs every score the section shows: "helped" when some rise and none falls, "hurt"
    when some fall and none rises, "no clear change" when nothing moves or they disagree."""
    if "minority PR AUC" not in changes:
        return None
    rose, fell = moves(changes)
    if rose and not fell:
        return "helped"
    if fell and not rose:
        return "hurt"
    return "no clear change"


def _moves_sentence(changes: dict) -> str:
    rose, fell = moves(changes)
    if not rose and not fell:
        return f"No score moved by more than {LIFT_TOLERANCE}."
    parts = []
    for word, names in (("Rose", rose), ("fell", fell)):
        if names:
            parts.append(f"{word}: " + ", ".join(f"{m} {changes[m]:+.3f}" for m in names))
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    if rose and fell:
        text += " The scores disagree, so the verdict is no clear change."
    return text


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
        f"to {_f(result.mean(AUGMENTED, 'minority recall'))} (means over {len(families)} model families). "
        + _moves_sentence(result.changes)
    )
    return Section(
        key="augmentation",
        title=f"Augmentation lift (class {m!r})",
        summary=summary,
        verdict=_verdict(result.changes),
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
            f"Verdict weighs every score shown ({', '.join(LIFT_METRICS)}; means over model families): "
            f"'helped' when at least one rises by more than {LIFT_TOLERANCE} and none falls by more, 'hurt' "
            "when at least one falls and none rises, else 'no clear change'. Recall and F1 also move with the "
            "decision threshold, which extra minority rows shift; PR AUC does not depend on it.",
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
            "changes": result.changes,
        },
    )


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
