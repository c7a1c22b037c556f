"""The training section of the report: how the fit went, from the model's :class:`TrainingHistory`.

Losses per epoch, the validation score of every scored epoch with the kept (best) epoch
marked, and the budget the run was given. Nothing is recomputed: the history is what
:func:`synthgan.training.train` recorded.
"""

from __future__ import annotations

from synthgan.report.section import Figure, Headline, Section
from synthgan.training import TrainingHistory

KEY = "training"
TITLE = "Training"
GROUP = "Training curves"
#: why a history can lack validation scores, in the words the report uses
SELECTION_OFF = (
    "Best-epoch selection was off (validation=0, DP or data-parallel training, or fewer than 100 rows): "
    "the model keeps the generator of the last epoch."
)
LOSS_CAPTION = (
    "Mean loss over each epoch's optimiser steps. A GAN's two losses push against each other, so "
    "flat or oscillating curves are normal; a loss that runs away is the warning sign."
)


def training_section(history: TrainingHistory) -> Section:
    """A report section of ``history`` (``synth.history_``): headline numbers, curves, an explanation."""
    records = history.records
    epochs = [r.epoch for r in records]
    planned = history.planned_epochs if history.planned_epochs is not None else len(records)
    scored = history.validation
    best = history.best_epoch
    best_score = next((score for epoch, score in scored if epoch == best), None)
    seconds = sum(history.epoch_seconds)
    losses = _loss_curves(history)
    details = {
        **history.to_json(),
        "epochs_run": len(records),
        "best_validation": best_score,
        "training_seconds": seconds,
        "curves": {
            "epoch": epochs,
            "losses": losses,
            "validation": {"epoch": [e for e, _ in scored], "score": [s for _, s in scored]},
        },
    }
    section = Section(KEY, TITLE, _summary(history, planned, best_score), details=details)
    if not records:
        section.notes.append("The model carries no per-epoch record (an empty training history).")
        return section
    section.headline = _headlines(history, planned, best_score, seconds)
    marker = float(best) if best is not None else None
    label = f"best: epoch {best}" if best is not None else ""
    section.figures.append(
        Figure("lines", "Losses per epoch", tuple(epochs), losses, caption=LOSS_CAPTION, group=GROUP,
               marker=marker, marker_label=label)
    )
    if scored:
        section.figures.append(
            Figure(
                "lines", "Validation score per scored epoch", tuple(e for e, _ in scored),
                {"validation score": tuple(s for _, s in scored)},
                caption="Higher is better; the dashed line marks the epoch whose weights the model keeps.",
                group=GROUP, marker=marker, marker_label=label,
            )
        )
    section.notes.append(_selection_text(history) if history.selection is not None else SELECTION_OFF)
    return section


def _loss_curves(history: TrainingHistory) -> dict[str, tuple]:
    """One curve per loss name (in the order first recorded); None where an epoch lacks it."""
    names = list(dict.fromkeys(name for r in history.records for name in r.losses))
    return {name: tuple(r.losses.get(name) for r in history.records) for name in names}


def _summary(history: TrainingHistory, planned: int, best_score: float | None) -> str:
    if not history.records:
        return "No training epochs were recorded."
    run = len(history.records)
    text = f"Trained {run} of {planned} planned epochs"
    text += " (stopped early: the validation score stopped improving)" if history.stopped_early else ""
    if history.best_epoch is not None:
        score = f", whose validation score {best_score:.3f} was the best" if best_score is not None else ""
        return f"{text}; the model keeps the generator of epoch {history.best_epoch}{score}."
    return f"{text}; the model keeps the generator of the last epoch."


def _headlines(history: TrainingHistory, planned: int, best_score, seconds: float) -> list[Headline]:
    budget = history.budget or {}
    run = len(history.records)
    heads = [
        Headline("epochs run", f"{run} of {planned}", "Epochs trained, of those planned."),
        Headline(
            "best epoch",
            history.best_epoch,
            "The epoch whose generator the model keeps: the highest validation score."
            if history.best_epoch is not None
            else "Not chosen: without validation the model keeps the last epoch.",
        ),
        Headline(
            "best validation score", best_score, "Quality of generated rows against held-out real rows; 1 is best."
        ),
        Headline(
            "stopped early",
            "yes" if history.stopped_early else "no",
            "Training ended before the planned epochs because the validation score stopped improving."
            if history.stopped_early
            else "Training ran to its last planned epoch.",
        ),
    ]
    if "batch_size" in budget:
        rule = f" ({budget['rule']})" if budget.get("rule") else ""
        heads.append(Headline("batch size", budget["batch_size"], f"Rows per optimiser step{rule}."))
    if "steps_per_epoch" in budget:
        steps = f"; {budget['steps']} planned in all" if budget.get("steps") is not None else ""
        heads.append(Headline("steps per epoch", budget["steps_per_epoch"], f"Optimiser steps an epoch{steps}."))
    heads.append(
        Headline(
            "training seconds",
            seconds,
            f"Wall-clock time of the epochs ({seconds / run:.2f} s each) on {history.device}, {history.precision}.",
        )
    )
    return heads


def _selection_text(history: TrainingHistory) -> str:
    sel = history.selection
    every = sel.get("every", 1)
    often = "after every epoch" if every == 1 else f"every {every} epochs and after the last"
    patience = sel.get("patience", 0)
    stop = (
        f"training stops once {patience} scores in a row fail to beat the best"
        if patience
        else "training never stops early (patience 0)"
    )
    kept = (
        f"The kept weights are those of the best epoch ({history.best_epoch})"
        if history.best_epoch is not None
        else "No epoch was scored, so the model keeps the last epoch"
    )
    return (
        f"The validation score ({sel.get('score', 'quality')}) is an sdmetrics-style quality of "
        f"{sel.get('synthetic_rows', 'the')} generated rows against {sel.get('validation_rows', 'the')} held-out "
        f"real rows the model never trained on, computed {often}. {kept}; {stop}."
    )
