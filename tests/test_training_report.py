"""The report's training section: loss and validation curves of a fit, as data, JSON and inline SVG."""

from __future__ import annotations

import json
import re
import warnings

import pytest
from sklearn.datasets import load_wine

from synthgan import Report, TabularSynthesizer, evaluate
from synthgan.cli import main
from synthgan.errors import ConfigError
from synthgan.evaluation.training_section import SELECTION_OFF, training_section
from synthgan.report import Figure, Section
from synthgan.report import svg
from synthgan.training import EpochRecord, TrainingHistory

GENERATOR = (1.5, 1.2, 0.9, 1.1, 1.0)
DISCRIMINATOR = (-0.4, -0.2, None, 0.1, 0.05)  # epoch 3 lacks the loss: a gap in the curve
SCORES = {1: 0.61, 3: 0.83, 5: 0.79}  # scored every other epoch and after the last


def make_history(selection: bool = True) -> TrainingHistory:
    records = []
    for epoch, (g, d) in enumerate(zip(GENERATOR, DISCRIMINATOR), start=1):
        losses = {"generator": g} if d is None else {"generator": g, "discriminator": d}
        records.append(EpochRecord(epoch, 0.5, losses, SCORES.get(epoch) if selection else None))
    return TrainingHistory(
        records,
        best_epoch=3 if selection else None,
        stopped_early=selection,
        planned_epochs=8,
        budget={"batch_size": 50, "steps_per_epoch": 3, "epochs": 8, "steps": 24, "rule": "explicit"},
        selection={"score": "quick_quality", "validation_rows": 18, "synthetic_rows": 1000, "every": 2, "patience": 2}
        if selection
        else None,
    )


def training_report(history: TrainingHistory) -> Report:
    return Report("r").add(training_section(history))


def test_section_holds_the_curves_and_the_best_epoch():
    section = training_section(make_history())
    assert section.key == "training"
    assert section.value("epochs run") == "5 of 8"
    assert section.value("best epoch") == 3
    assert section.value("best validation score") == pytest.approx(0.83)
    assert section.value("stopped early") == "yes"
    assert section.value("batch size") == 50 and section.value("steps per epoch") == 3
    assert section.value("training seconds") == pytest.approx(2.5)
    losses, validation = section.figures
    assert losses.kind == validation.kind == "lines"
    assert losses.labels == (1, 2, 3, 4, 5) and losses.series["discriminator"] == DISCRIMINATOR
    assert validation.labels == (1, 3, 5) and validation.series["validation score"] == (0.61, 0.83, 0.79)
    assert validation.marker == 3 and "epoch 3" in validation.marker_label
    assert "held-out real rows the model never trained on" in " ".join(section.notes)

    data = json.loads(training_report(make_history()).to_json())["sections"][0]
    assert data["details"]["best_epoch"] == 3 and data["details"]["epochs_run"] == 5
    assert data["details"]["curves"]["losses"]["generator"] == list(GENERATOR)
    assert data["details"]["curves"]["validation"] == {"epoch": [1, 3, 5], "score": [0.61, 0.83, 0.79]}
    assert data["figures"][1]["marker"] == 3
    assert Section.from_dict(data).to_dict() == data  # markers and numeric labels round-trip


def test_html_draws_polylines_and_the_best_epoch_marker():
    page = training_report(make_history()).html()
    assert page.count("<svg") == 2
    # generator: one polyline; discriminator: two pieces around its gap; validation: one
    assert len(re.findall(r"<polyline points=", page)) == 4
    assert "stroke-dasharray" in page and "best: epoch 3" in page
    assert "<script" not in page


def test_lines_chart_places_points_by_x_value_and_skips_an_outside_marker():
    figure = Figure("lines", "v", (1, 2, 10), {"score": (0.0, 0.5, 1.0)}, domain=(0.0, 1.0), marker=2.0)
    chart = svg.lines(figure)
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', chart)]
    assert (xs[1] - xs[0]) * 8 == pytest.approx(xs[2] - xs[1], abs=0.5)  # spaced by value, not by index
    assert "stroke-dasharray" in chart
    outside = svg.lines(Figure("lines", "v", (1, 2), {"s": (0.1, 0.2)}, marker=7.0))
    assert "stroke-dasharray" not in outside
    assert "<svg" in svg.lines(Figure("lines", "empty", (), {}))


def test_a_history_without_validation_says_selection_was_off():
    section = training_section(make_history(selection=False))
    assert [f.title for f in section.figures] == ["Losses per epoch"]
    assert section.value("best epoch") is None and section.value("stopped early") == "no"
    assert SELECTION_OFF in section.notes
    page = training_report(make_history(selection=False)).html()
    assert "Best-epoch selection was off (validation=0, DP or data-parallel training" in page
    assert "stroke-dasharray" not in page


def test_an_empty_history_gives_a_section_without_figures():
    section = training_section(TrainingHistory())
    assert section.figures == [] and section.headline == []
    assert section.details["epochs_run"] == 0
    assert "No training epochs" in training_report(TrainingHistory()).html()


# -- with a real (tiny) fit ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def wine():
    return load_wine(as_frame=True).frame


@pytest.fixture(scope="module")
def fitted(wine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # three steps an epoch: tiny on purpose
        return TabularSynthesizer(epochs=3, batch_size=50, seed=0, verbose=False).fit(wine)


def test_evaluate_with_the_model_adds_its_training_section(wine, fitted):
    report = evaluate(wine, fitted.sample(len(wine), seed=0), model=fitted, verbose=False)
    assert report.sections[-1].key == "training"
    details = report["training"].details
    assert details["curves"]["epoch"] == [r.epoch for r in fitted.history_.records]
    assert details["epochs_run"] == len(fitted.history_.records)
    assert details["best_epoch"] == fitted.history_.best_epoch
    assert "polyline" in report.html()


def test_evaluate_refuses_a_model_without_history(wine):
    with pytest.raises(ConfigError, match="no training history"):
        evaluate(wine, wine, model=TabularSynthesizer(), verbose=False)


def test_cli_evaluate_model_adds_the_training_section(wine, fitted, tmp_path, capsys):
    real, synthetic, model = tmp_path / "real.csv", tmp_path / "synth.csv", tmp_path / "m.synth"
    wine.to_csv(real, index=False)
    fitted.sample(len(wine), seed=0).to_csv(synthetic, index=False)
    fitted.save(model)
    argv = ["evaluate", real, synthetic, "--model", model, "--json", tmp_path / "r.json", "-q"]
    code = main([str(a) for a in argv])
    assert code == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "r.json").read_text())
    training = next(s for s in data["sections"] if s["key"] == "training")
    assert training["details"]["curves"]["epoch"] == [r.epoch for r in fitted.history_.records]
