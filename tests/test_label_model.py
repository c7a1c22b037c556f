"""Issue 14: the label model of a discrete target (sequential synthesis of the target): rows
whose target no condition fixes get it from a classifier of the real rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import TabularSynthesizer
from synthgan.tabular.label_model import LabelModel

FAST = dict(epochs=3, batch_size=50, seed=0, verbose=False)


def _rule_table(n=1_500, seed=0):
    """The target is a rule of two columns (with 5% of labels flipped): an interaction the
    generator's marginals per class do not carry, but a classifier of real rows does."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    channel = rng.choice(["web", "shop", "phone"], n)
    positive = ((x > 0.8) & (channel == "web")) | ((x < -0.8) & (channel == "phone"))
    positive ^= rng.random(n) < 0.05
    return pd.DataFrame({
        "x": x.round(3),
        "noise": rng.normal(0, 1, n).round(3),
        "channel": channel,
        "label": np.where(positive, "yes", "no"),
    })


def _rule(df):
    return ((df["x"] > 0.8) & (df["channel"] == "web")) | ((df["x"] < -0.8) & (df["channel"] == "phone"))


@pytest.fixture(scope="module")
def fitted():
    df = _rule_table()
    return TabularSynthesizer(**FAST).fit(df, target="label"), df


def test_rows_follow_the_real_relation_between_features_and_target(fitted):
    synth, df = fitted
    rows = synth.sample(4_000, seed=1)
    agree = float(((rows["label"] == "yes") == _rule(rows)).mean())
    assert agree > 0.85, agree  # 0.95 in the real rows
    # the generator's own class after 3 epochs does not know the rule: the label model is what carries it
    plain = TabularSynthesizer(**FAST, label_model=False).fit(df, target="label")
    assert plain.label_model_ is None
    rows_plain = plain.sample(4_000, seed=1)
    assert float(((rows_plain["label"] == "yes") == _rule(rows_plain)).mean()) < agree - 0.1


def test_the_target_share_is_the_real_one(fitted):
    synth, df = fitted
    rows = synth.sample(8_000, seed=2)
    real = (df["label"] == "yes").mean()
    assert abs((rows["label"] == "yes").mean() - real) < 0.03, ((rows["label"] == "yes").mean(), real)


def test_conditioned_rows_keep_their_class(fitted):
    synth, df = fitted
    rows = synth.sample(500, conditions={"label": "yes"}, seed=3)
    assert set(rows["label"]) == {"yes"}
    both = synth.sample(300, conditions={"label": "no", "channel": "web"}, seed=4)
    assert set(both["label"]) == {"no"} and set(both["channel"]) == {"web"}
    out = synth.augment(df, strategy={"yes": 120}, indicator="synthetic", seed=5)
    assert out.loc[out["synthetic"], "label"].tolist() == ["yes"] * 120


def test_rows_of_a_conditioned_class_are_the_models_own_rows_of_that_class(fitted):
    """sample(conditions={target: c}) gives what the model's joint holds for class c (the
    rows of that class in an unconditioned sample), so they carry the rule the label model
    learnt; the generator's own conditional rows did not (and on the fraud table were a
    caricature of the class: 90% of its fraud rows in one claim month)."""
    synth, df = fitted
    yes = synth.sample(1_000, conditions={"label": "yes"}, seed=6)
    rows = synth.sample(8_000, seed=7)
    in_sample = float(_rule(rows[rows["label"] == "yes"]).mean())
    conditioned = float(_rule(yes).mean())
    assert conditioned > 0.6, conditioned  # 0.95 of the real "yes" rows follow the rule; 0.74 here
    assert abs(conditioned - in_sample) < 0.05, (conditioned, in_sample)
    plain = TabularSynthesizer(**FAST, label_model=False).fit(df, target="label")
    assert float(_rule(plain.sample(1_000, conditions={"label": "yes"}, seed=6)).mean()) < conditioned - 0.3  # 0.22


def test_label_model_is_fitted_on_training_rows_and_early_stopped(fitted):
    synth, df = fitted
    summary = synth.label_model_.summary
    n_valid = round(0.1 * len(df))  # the fit's validation slice
    assert summary["validation_rows"] == n_valid and summary["training_rows"] == len(df) - n_valid
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"]
    assert summary["validation_log_loss"] < 0.45  # ~0.2 is reachable; a constant guess is 0.55


def test_label_model_survives_save_and_load(fitted, tmp_path):
    synth, _ = fitted
    synth.save(tmp_path / "m.synth")
    loaded = TabularSynthesizer.load(tmp_path / "m.synth")
    assert loaded.label_model_ is not None and loaded.label_model_.summary == synth.label_model_.summary
    pd.testing.assert_frame_equal(loaded.sample(300, seed=7), synth.sample(300, seed=7))


def test_label_model_is_an_ensemble_whose_probabilities_are_the_members_mean(fitted, tmp_path):
    from synthgan.tabular.label_model import ENSEMBLE

    synth, df = fitted
    lm = synth.label_model_
    assert len(lm.net.others) == ENSEMBLE - 1 and lm.summary["members"] == ENSEMBLE
    losses = lm.summary["validation_log_loss_of_members"]
    assert len(set(losses)) == ENSEMBLE  # different seeds: different networks
    # averaging probabilities cannot be worse than the members' mean loss (log loss is convex)
    assert lm.summary["validation_log_loss"] <= np.mean(losses) + 1e-6
    scalars, choices = (torch.as_tensor(a) for a in synth.transformer_.decode(
        synth.transformer_.transform(df.head(50), np.random.default_rng(0))))
    x = lm.features(scalars, choices)
    with torch.no_grad():
        members = torch.stack([torch.softmax(m(x), 1) for m in (lm.net.net, *lm.net.others)]).mean(0)
        assert torch.allclose(torch.softmax(lm.net(x), 1), members, atol=1e-6)
    # a file from before the ensemble (one network, no "others") loads as that one network
    old = {k: v for k, v in lm.tensors().items() if ".others." not in k}
    single = LabelModel(synth.transformer_.layout, "label").load_tensors(old)
    assert len(single.net.others) == 0
    with torch.no_grad():
        assert torch.allclose(single.net(x), lm.net.net(x), atol=1e-6)


def test_numeric_target_has_no_label_model():
    df = _rule_table(300).assign(label=lambda d: d["x"] * 2.0)
    synth = TabularSynthesizer(**FAST).fit(df, target="label")
    assert synth.label_model_ is None


def test_prior_adjustment_matches_the_given_shares():
    from synthgan.tabular.transformer import Layout, Span

    layout = Layout((Span("a", "tanh", "value", 0, 1), Span("y", "softmax", "category", 1, 4)), 4)
    torch.manual_seed(0)
    model = LabelModel(layout, "y")
    scalars = torch.randn(5_000, 1)
    choices = torch.zeros(5_000, 1, dtype=torch.long)
    with torch.no_grad():
        model.net.net[-1].bias.copy_(torch.tensor([2.0, 0.0, -1.0]))  # a biased classifier
    priors = np.array([0.2, 0.8, 0.0])
    model.adjust_priors(scalars, choices, priors)
    # the share over the rows the tilt accepts (its weights), offsets closing what it cannot
    with torch.no_grad():
        weight = model._weight(model.net(model.features(scalars, choices)))
    mean = (model.proba(scalars, choices) * weight[:, None]).sum(dim=0) / weight.sum()
    np.testing.assert_allclose(mean.numpy(), priors, atol=2e-3)
    assert float(weight.min()) >= np.exp(-3.0) - 1e-6  # the tilt's reach bounds the rejection
    gen = torch.Generator().manual_seed(0)
    keep = model.accept(scalars, choices, gen)
    drawn = model.draw(scalars[keep], choices[keep], gen)
    assert not (drawn == 2).any()  # a class of share 0 is never drawn
    assert abs(float((drawn == 0).float().mean()) - 0.2) < 0.02


def test_the_tilt_keeps_the_classifier_probabilities_and_reaches_the_share():
    # a classifier whose probabilities spread over (0, 1): re-weighting rows reaches the share,
    # so no offset is needed and p(y | x) stays as fitted (what a model trained on the rows learns)
    from synthgan.tabular.transformer import Layout, Span

    layout = Layout((Span("a", "tanh", "value", 0, 1), Span("y", "softmax", "category", 1, 3)), 3)
    model = LabelModel(layout, "y")
    with torch.no_grad():
        model.net.net[0].weight.zero_(); model.net.net[0].bias.zero_()
        model.net.net[0].weight[0, 0] = 1.0  # hidden unit 0 = relu(a)
        model.net.net[0].weight[1, 0] = -1.0  # hidden unit 1 = relu(-a)
        model.net.net[-1].weight.zero_(); model.net.net[-1].bias.zero_()
        model.net.net[-1].weight[1, 0] = 3.0; model.net.net[-1].weight[1, 1] = -3.0  # logit of class 1: 3a
    scalars = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(1))
    choices = torch.zeros(20_000, 1, dtype=torch.long)
    plain = model.proba(scalars, choices)
    assert abs(float(plain[:, 1].mean()) - 0.5) < 0.02  # the rows as drawn: share 0.5
    # real class counts: shares that float32 cannot hold exactly (the tilt once came back all
    # zeros for Adult's 17,303 / 5,489 and left the whole share to the offsets)
    for counts in ([11_303, 7_489], [1_000_003, 699_999]):
        model.adjust_priors(scalars, choices, np.array(counts))
        with torch.no_grad():
            weight = model._weight(model.net(model.features(scalars, choices)))
        kept_share = float((plain[:, 1] * weight).sum() / weight.sum())
        assert model.tilted and abs(kept_share - counts[1] / sum(counts)) < 1e-3
        torch.testing.assert_close(model.proba(scalars, choices), plain, atol=1e-3, rtol=0)
    model.adjust_priors(scalars, choices, np.array([620, 380]))  # training share of class 1: 0.38
    assert model.tilted and model.summary["tilt"][1] < 0 and 0.5 < model.summary["acceptance"] < 1
    torch.testing.assert_close(model.proba(scalars, choices), plain, atol=1e-3, rtol=0)  # no offsets needed
    gen = torch.Generator().manual_seed(2)
    keep = model.accept(scalars, choices, gen)
    assert abs(float(keep.float().mean()) - model.summary["acceptance"]) < 0.01
    drawn = model.draw(scalars[keep], choices[keep], gen)
    assert abs(float(drawn.float().mean()) - 0.38) < 0.015


def test_streamed_blocks_follow_the_same_rule_as_sample(fitted):
    # sample_to_parquet / Dask draw blocks: a block under a target condition is, as in sample(),
    # the label model's draws filtered to that class (the generator is not conditioned on it)
    from synthgan.scale.blocks import draw_block, make_plan, model_fingerprint

    synth, _ = fitted
    assert make_plan(synth, 0, 500, None, False).relabel is True
    assert make_plan(synth, 0, 500, {"channel": "web"}, False).relabel is True
    plan = make_plan(synth, 0, 500, {"label": "yes"}, False)
    assert plan.relabel is True and plan.native is None
    block = draw_block(synth, plan, 0)
    assert 0 < block.matched < block.drawn and set(block.rows["label"]) == {"yes"}
    # the stream's model identity covers the label model: other weights, another stream
    before = model_fingerprint(synth)
    saved = synth.label_model_.net.offsets.clone()
    try:
        synth.label_model_.net.offsets.add_(0.1)
        assert model_fingerprint(synth) != before
    finally:
        synth.label_model_.net.offsets.copy_(saved)


def test_the_report_says_the_target_came_from_the_label_model(fitted):
    from synthgan.evaluation import evaluate

    synth, df = fitted
    holdout = _rule_table(400, seed=9)
    report = evaluate(df, synth.sample(len(df), seed=8), holdout, model=synth, verbose=False, attacks=None)
    notes = " ".join(report["utility"].notes)
    assert "'label' was drawn by the model's label model" in notes
    assert report["utility"].details["label_model"] == synth.label_model_.summary
    plain = TabularSynthesizer(**FAST, label_model=False).fit(df, target="label")
    report = evaluate(df, plain.sample(len(df), seed=8), holdout, model=plain, verbose=False, attacks=None)
    assert "label model" not in " ".join(report["utility"].notes)


def test_a_rare_class_is_drawn_not_refused():
    """Rows of a class of 0.3% of the table: met on the label model's draws, they cost about
    1 / 0.003 draws each; the give-up budget (200 draws a row) scales with that."""
    rng = np.random.default_rng(4)
    n = 3_000
    label = np.where(np.arange(n) < 9, "rare", "common")
    df = pd.DataFrame({"x": rng.normal(np.where(label == "rare", 2.0, 0.0), 1.0).round(3),
                       "channel": rng.choice(["web", "shop"], n), "label": label})
    synth = TabularSynthesizer(**FAST).fit(df, target="label")
    rows = synth.sample(300, conditions={"label": "rare"}, seed=1)
    assert len(rows) == 300 and set(rows["label"]) == {"rare"}
    assert synth._target_draws_per_row(synth._parse_conditions({"label": "rare"})) == pytest.approx(n / 9, rel=0.05)  # the training rows: 8 of 2,700
