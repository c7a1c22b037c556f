"""Issue 13: quantile encoding, recorded decimals, the size-aware budget, best-epoch selection,
early stopping, the validation proxy's agreement with sdmetrics, TensorBoard logging."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine

from synthgan import TabularSynthesizer
from synthgan.schema import detect_schema
from synthgan.tabular.budget import MAX_STEPS, MIN_STEPS, training_budget
from synthgan.tabular.encoders import QuantileEncoder
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import quick_quality
from synthgan.training import EpochRecord, Selection, TrainingHistory, train

FAST = dict(epochs=6, batch_size=50, seed=0, verbose=False)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


# -- quantile encoding ----------------------------------------------------------------------
@pytest.mark.parametrize("output", ["normal", "uniform"])
def test_quantile_inverse_is_exact_on_training_values(output):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(3, 1, 3_000), np.zeros(1_000), np.full(200, 7.5)])
    enc = QuantileEncoder(output, atom_share=None).fit(values)  # the bare quantile map
    back = enc.inverse(enc.scalar(enc.quantile(values))[:, None], np.zeros((len(values), 0), int), True)
    np.testing.assert_allclose(back, values, rtol=1e-9, atol=1e-9)
    assert len(enc.knots) <= 2_000 + 4  # bounded state; the point masses keep two knots each


def test_quantile_keeps_point_masses_and_the_range():
    rng = np.random.default_rng(1)
    values = np.where(rng.random(5_000) < 0.3, 0.0, rng.normal(50, 10, 5_000))
    enc = QuantileEncoder(atom_share=None).fit(values)
    # a generator that draws uniformly over the quantiles gives the real distribution back
    q = rng.random(20_000)
    out = enc.inverse(enc.scalar(q)[:, None], np.zeros((len(q), 0), int), False)
    assert out.min() >= values.min() and out.max() <= values.max()
    assert abs((out == 0).mean() - (values == 0).mean()) < 0.02  # the point mass survives
    assert (out == values.max()).mean() < 0.001  # no pile-up at the edges
    # normal scores far out map to the edges, never beyond
    edge = enc.inverse(np.array([[-9.0], [9.0]]), np.zeros((2, 0), int), False)
    assert edge.tolist() == [values.min(), values.max()]


def test_quantile_state_round_trips():
    values = np.random.default_rng(2).gamma(2, 3, 500)
    values[:20] = np.nan
    enc = QuantileEncoder().fit(values)
    again = QuantileEncoder.from_state(enc.state())
    s = np.linspace(-0.99, 0.99, 7)[:, None]
    choices = np.zeros((7, 1), int)
    np.testing.assert_array_equal(enc.inverse(s, choices, True), again.inverse(s, choices, True))
    assert [sp.role for sp in enc.spans] == ["value", "missing"]


# -- point masses (atoms) --------------------------------------------------------------------
def _zero_inflated(n=5_000, seed=0):
    rng = np.random.default_rng(seed)
    values = np.where(rng.random(n) < 0.8, 0.0, np.round(rng.lognormal(8, 1, n)))
    values[rng.random(n) < 0.15] = 40.0  # a second point mass
    values[:50] = np.nan
    return values


def test_point_masses_get_a_mode_span_and_encode_exactly():
    values = _zero_inflated()
    enc = QuantileEncoder().fit(values)
    assert enc.atoms.tolist() == [0.0, 40.0] and enc.has_rest
    assert [(sp.role, sp.width) for sp in enc.spans] == [("value", 1), ("mode", 3), ("missing", 2)]
    block = enc.transform(values)
    mode, missing = block[:, 1:4].argmax(axis=1), block[:, 4:6].argmax(axis=1)
    observed = ~np.isnan(values)
    assert (mode[observed & (values == 0)] == 0).all() and (mode[values == 40] == 1).all()
    assert (mode[observed & (values != 0) & (values != 40)] == 2).all()
    # a scalar the row does not use is drawn from the other values' distribution: no spike
    unused, used = block[~observed | (values == 0) | (values == 40), 0], block[mode == 2, 0]
    assert np.unique(unused).size > 0.9 * unused.size
    assert abs(np.median(unused) - np.median(used)) < 0.05 and abs(unused.std() - used.std()) < 0.05
    back = enc.inverse(block[:, :1], np.stack([mode, missing], axis=1), True)
    np.testing.assert_allclose(back, values, rtol=1e-5)  # float32 scalars; NaN where missing
    assert np.isnan(back[:50]).all()


def test_point_masses_come_back_at_the_chosen_rate_and_the_rest_keeps_its_shape():
    values = _zero_inflated()[50:]
    enc = QuantileEncoder().fit(values)
    rng = np.random.default_rng(1)
    # a generator whose mode choices follow the real shares and whose scalars are uniform
    shares = [(values == 0).mean(), (values == 40).mean()]
    mode = rng.choice(3, 20_000, p=[shares[0], shares[1], 1 - sum(shares)])
    out = enc.inverse(enc.scalar(rng.random(20_000))[:, None], mode[:, None], False)
    assert abs((out == 0).mean() - shares[0]) < 0.01 and abs((out == 40).mean() - shares[1]) < 0.01
    rest, out_rest = values[(values != 0) & (values != 40)], out[mode == 2]
    assert abs(np.median(out_rest) - np.median(rest)) / np.median(rest) < 0.05
    assert out.min() >= values.min() and out.max() <= values.max()


def test_atoms_are_the_heaviest_values_above_the_share():
    values = np.concatenate([np.zeros(500), np.full(300, 1.0), np.full(150, 2.0), np.full(120, 3.0),
                             np.arange(10.0, 940.0)])
    # shares: 0 -> 25%, 1 -> 15%, 2 -> 7.5%, 3 -> 6%, the rest one row each
    assert QuantileEncoder(atom_share=0.07, max_atoms=3).fit(values).atoms.tolist() == [0.0, 1.0, 2.0]
    assert QuantileEncoder(atom_share=0.1, max_atoms=3).fit(values).atoms.tolist() == [0.0, 1.0]
    assert QuantileEncoder(atom_share=0.05, max_atoms=2).fit(values).atoms.tolist() == [0.0, 1.0]  # the heaviest
    assert QuantileEncoder(atom_share=None).fit(values).n_modes == 0
    with pytest.raises(ValueError, match="atom_share"):
        QuantileEncoder(atom_share=0.0)


def test_a_column_of_atoms_only_round_trips_with_missing_values():
    values = np.array([0.0] * 60 + [5.0] * 30 + [np.nan] * 10)
    enc = QuantileEncoder().fit(values)
    assert not enc.has_rest and [(sp.role, sp.width) for sp in enc.spans] == [("value", 1), ("mode", 2), ("missing", 2)]
    block = enc.transform(values)
    choices = np.stack([block[:, 1:3].argmax(axis=1), block[:, 3:5].argmax(axis=1)], axis=1)
    back = enc.inverse(block[:, :1], choices, True)
    np.testing.assert_array_equal(back[:90], values[:90])
    assert np.isnan(back[90:]).all()


def test_atom_state_round_trips_and_older_states_have_no_atoms():
    values = _zero_inflated(800, seed=3)
    enc = QuantileEncoder().fit(values)
    again = QuantileEncoder.from_state(enc.state())
    assert again.atoms.tolist() == enc.atoms.tolist() and again.spans == enc.spans
    s = np.linspace(-0.99, 0.99, 9)[:, None]
    choices = np.stack([np.arange(9) % 3, np.zeros(9, int)], axis=1)
    np.testing.assert_array_equal(enc.inverse(s, choices, True), again.inverse(s, choices, True))
    old = {k: v for k, v in QuantileEncoder(atom_share=None).fit(values).state().items() if k not in ("atoms", "has_rest")}
    assert QuantileEncoder.from_state(old).n_modes == 0  # a model file from before atoms


def test_a_point_mass_keeps_its_dependence_on_a_category_at_the_defaults():
    # a zero-inflated number whose non-zero share depends on a category (capital-gain by sex on
    # Adult): without the mode span the generator blurred it (non-zero shares A 0.10-0.14 and
    # B 0.06-0.08 on seeds 0-2, against 0.185 / 0.026); with it 0.16-0.22 / 0.014-0.027
    rng = np.random.default_rng(0)
    n = 3_000
    g = rng.choice(["A", "B"], n, p=[0.4, 0.6])
    gain = np.where(rng.random(n) < np.where(g == "A", 0.15, 0.03), np.round(rng.lognormal(8, 1, n)), 0.0)
    df = pd.DataFrame({"g": g, "x": rng.normal(0, 1, n).round(3), "gain": gain,
                       "hours": np.where(rng.random(n) < 0.5, 40, rng.integers(10, 80, n))})
    synth = TabularSynthesizer(seed=0, verbose=False).fit(df)
    assert synth.transformer_.encoders["gain"].atoms.tolist() == [0.0]
    out = synth.sample(4_000, seed=1)
    real, syn = (df.gain > 0).groupby(df.g).mean(), (out.gain > 0).groupby(out.g).mean()
    assert (syn - real).abs().max() < 0.05
    assert abs((syn["A"] - syn["B"]) - (real["A"] - real["B"])) < 0.06


def test_values_come_back_at_the_recorded_decimals(cancer):
    df = pd.DataFrame({"price": np.round(np.random.default_rng(3).lognormal(3, 1, 400), 2),
                       "rate": np.random.default_rng(4).random(400)})
    rng = np.random.default_rng(0)
    tt = TableTransformer().fit(df, detect_schema(df), rng)
    assert tt.decimals["price"] == 2 and tt.decimals["rate"] is None  # full float precision: never rounded
    q = np.random.default_rng(5).random((1_000, 2))  # what a faithful generator would output
    scalars = np.stack([tt.encoders[c].scalar(q[:, i]) for i, c in enumerate(df.columns)], axis=1)
    out = tt.inverse_transform(scalars, np.zeros((1_000, 0), int), rng)
    cents = out["price"].to_numpy() * 100
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    assert len(np.unique(out["rate"])) > 900  # a truly continuous column is not coarsened
    # and the transformer's round trip is exact on training values recorded at 2 decimals
    back = tt.inverse_transform(*tt.decode(tt.transform(df, rng)), rng)
    assert back["price"].equals(df["price"])


def test_datetimes_come_back_at_the_recorded_resolution():
    rng = np.random.default_rng(6)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2_000, 500), unit="D")
    minutes = pd.Timestamp("2024-01-01", tz="Asia/Kolkata") + pd.to_timedelta(rng.integers(0, 10**6, 500), unit="min")
    df = pd.DataFrame({"day": days, "minute": minutes})
    tt = TableTransformer().fit(df, detect_schema(df), np.random.default_rng(0))
    assert tt.steps == {"day": 86_400 * 10**9, "minute": 60 * 10**9}  # a zoned column: minutes at most
    q = np.random.default_rng(7).random((300, 2))
    scalars = np.stack([tt.encoders[c].scalar(q[:, i]) for i, c in enumerate(df.columns)], axis=1)
    out = tt.inverse_transform(scalars, np.zeros((300, 0), int), np.random.default_rng(0))
    assert (out["day"] == out["day"].dt.normalize()).all()
    assert (out["minute"].dt.second == 0).all() and str(out["minute"].dt.tz) == "Asia/Kolkata"


# -- size-aware budget ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "rows, batch, steps_per_epoch, epochs",
    [(133, 50, 2, 2_000), (5_000, 500, 10, 400), (1_000_000, 500, 2_000, 3)],
)
def test_budget_for_table_sizes(rows, batch, steps_per_epoch, epochs):
    budget = training_budget(rows)
    assert (budget.batch_size, budget.steps_per_epoch, budget.epochs) == (batch, steps_per_epoch, epochs)
    assert MIN_STEPS <= budget.steps <= MAX_STEPS + steps_per_epoch


def test_explicit_budget_overrides_and_a_tiny_batch_warns():
    assert training_budget(133, epochs=7).epochs == 7
    with pytest.warns(UserWarning, match="1 optimiser step"):
        budget = training_budget(133, batch_size=500)
    assert budget.steps_per_epoch == 1 and budget.steps >= MIN_STEPS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training_budget(5_000, batch_size=500)  # 10 steps an epoch: no warning


def test_fit_records_the_budget_it_used(cancer):
    synth = TabularSynthesizer(epochs=2, seed=0, verbose=False, validation=0).fit(cancer.iloc[:200])
    assert synth.history_.budget["batch_size"] == 50  # an eighth of 200 rows, at least 5 pac-groups
    assert synth.history_.budget["steps_per_epoch"] == 4
    assert len(synth.history_.records) == 2 and synth.history_.best_epoch is None


# -- best-epoch selection and early stopping -------------------------------------------------
class _Toy:
    """A Trainable whose 'weights' are a counter; scores follow a script."""

    steps_per_epoch = 1

    def __init__(self):
        self.net = torch.nn.Linear(1, 1)
        self.generator = torch.Generator().manual_seed(0)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)

    def modules(self):
        return {"generator": self.net}

    def optimizers(self):
        return {"generator": self.opt}

    def fingerprint(self):
        return "toy"

    def train_step(self):
        with torch.no_grad():
            self.net.bias += 1.0  # the "epoch number" lives in the weights
        return {"loss": torch.tensor(0.0)}


def _selection(toy, scores, patience):
    it = iter(scores)
    return Selection(
        score=lambda: next(it),
        snapshot=lambda: {k: v.clone() for k, v in toy.net.state_dict().items()},
        restore=toy.net.load_state_dict,
        every=1,
        patience=patience,
    )


def _config(epochs):
    from synthgan.config import TrainingConfig

    return TrainingConfig(epochs=epochs, verbose=False)


def test_best_epoch_is_restored():
    from synthgan.training import Precision

    toy = _Toy()
    start = float(toy.net.bias)
    scores = [0.5, 0.7, 0.9, 0.6, 0.8, 0.85]
    history = train(toy, _config(6), Precision(torch.device("cpu"), False), selection=_selection(toy, scores, 0))
    assert history.best_epoch == 3 and not history.stopped_early and len(history.records) == 6
    assert float(toy.net.bias) == pytest.approx(start + 3)  # the weights of epoch 3, not 6
    assert [v for _, v in history.validation] == scores


def test_early_stop_on_a_plateau():
    from synthgan.training import Precision

    toy = _Toy()
    scores = [0.5, 0.8, 0.8, 0.79, 0.8, 0.7, 0.9, 0.95]  # flat after epoch 2
    history = train(toy, _config(8), Precision(torch.device("cpu"), False), selection=_selection(toy, scores, 3))
    assert history.stopped_early and len(history.records) == 5 and history.best_epoch == 2
    assert history.planned_epochs == 8


def test_history_round_trips_through_json():
    h = TrainingHistory([EpochRecord(1, 0.1, {"g": 1.0}), EpochRecord(2, 0.1, {"g": 0.5}, 0.8)], best_epoch=2,
                        stopped_early=True, planned_epochs=9, budget={"batch_size": 50})
    again = TrainingHistory.from_json(h.to_json())
    assert again == h and again.validation == [(2, 0.8)]


def test_saved_model_samples_what_the_best_epoch_sampled(cancer, tmp_path):
    seen = {}

    def remember(epoch, synth):
        seen[epoch] = synth.sample(40, seed=7, privacy=False)

    synth = TabularSynthesizer(epochs=8, batch_size=50, seed=0, verbose=False, validation=0.2, patience=0)
    synth.fit(cancer, on_epoch_end=remember)
    best = synth.history_.best_epoch
    assert best is not None and len(synth.history_.validation) == 8
    pd.testing.assert_frame_equal(synth.sample(40, seed=7, privacy=False), seen[best])
    synth.save(tmp_path / "m.synth")
    loaded = TabularSynthesizer.load(tmp_path / "m.synth")
    pd.testing.assert_frame_equal(loaded.sample(40, seed=7, privacy=False), seen[best])
    assert loaded.history_.best_epoch == best


def test_validation_rows_are_held_out(cancer):
    synth = TabularSynthesizer(**FAST, validation=0.25).fit(cancer)
    assert synth.history_.selection["validation_rows"] == round(len(cancer) * 0.25)
    small = TabularSynthesizer(**FAST, validation=0.25).fit(cancer.iloc[:80])  # under 100 rows: no split
    assert small.history_.selection is None and small.history_.best_epoch is None


# -- the validation proxy agrees with sdmetrics ----------------------------------------------
def _wine():
    df = load_wine(as_frame=True).frame
    df["target"] = df["target"].astype(str)
    return df


@pytest.mark.parametrize("table", ["cancer", "wine"])
def test_quick_quality_agrees_with_sdmetrics(table, cancer):
    from synthgan.evaluation.fidelity import fidelity

    real = cancer if table == "cancer" else _wine()
    schema = detect_schema(real)
    rng = np.random.default_rng(0)
    noisy = real.sample(len(real), replace=True, random_state=1).reset_index(drop=True)
    numeric = noisy.select_dtypes("number").columns.drop("target", errors="ignore")
    bad = noisy.copy()
    bad[numeric] = bad[numeric].to_numpy() + rng.normal(0, 1, bad[numeric].shape) * real[numeric].std().to_numpy()
    scores = []
    for synthetic in (noisy, bad):
        quick = quick_quality(real, synthetic, schema).score
        full = fidelity(real, synthetic, schema).quality
        assert abs(quick - full) < 0.03, (table, quick, full)
        scores.append(quick)
    assert scores[0] > scores[1] + 0.1  # and it tells a good table from a bad one


def test_tensorboard_scalars_are_written(cancer, tmp_path):
    pytest.importorskip("tensorboard")
    TabularSynthesizer(**FAST, log_dir=str(tmp_path / "tb")).fit(cancer)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "validation/quality" in tags and "loss/generator" in tags
    assert len(events.Scalars("loss/generator")) == 6


def test_no_early_stop_before_min_epochs():
    from synthgan.training import Precision

    toy = _Toy()
    scores = [0.5, 0.8, 0.7, 0.7, 0.7, 0.9, 0.95, 0.96]  # a plateau, then a climb
    selection = _selection(toy, scores, 2)
    selection.min_epochs = 6
    history = train(toy, _config(8), Precision(torch.device("cpu"), False), selection=selection)
    assert not history.stopped_early and history.best_epoch == 8 and len(history.records) == 8
