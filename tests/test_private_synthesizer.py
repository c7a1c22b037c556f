"""PrivateSynthesizer (AIM / MST on Private-PGM, DP-CTGAN): accountant, budget, domains,
the synthesizer contract, persistence, and what may not be released."""

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mbi")

from synthgan import PrivateSynthesizer  # noqa: E402
from synthgan.errors import ConditionError, ConfigError, NotFittedError  # noqa: E402
from synthgan.tabular import zcdp  # noqa: E402
from synthgan.tabular.discretise import merge_bins  # noqa: E402
from synthgan.tabular.marginal import Measured, _Estimator, marginal, workload_candidates  # noqa: E402

FAST = dict(seed=0, verbose=False, iters=150, round_iters=30)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 3000
    age = rng.integers(18, 80, n)
    income = np.round(np.where(age > 45, rng.lognormal(10.5, 0.5, n), rng.lognormal(10, 0.5, n)), 2)
    city = np.where(rng.random(n) < 0.7, "Oslo", np.where(rng.random(n) < 0.5, "Lyon", "Porto"))
    city[0] = "Reykjavik"  # a category of one row: never to be released
    return pd.DataFrame(
        {
            "age": age,
            "income": np.where(rng.random(n) < 0.2, np.nan, income),
            "city": pd.Series(city, dtype=object),
            "member": rng.random(n) < 0.3,
            "label": (age > 50).astype(int) ^ (rng.random(n) < 0.1),
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def fitted_mst(table):
    return PrivateSynthesizer(epsilon=5.0, method="mst", **FAST).fit(table)


@pytest.fixture(scope="module")
def fitted_aim(table):
    return PrivateSynthesizer(epsilon=5.0, method="aim", **FAST).fit(table, target="label")


# -- the accountant ----------------------------------------------------------------------
def test_zcdp_conversion_matches_an_independent_minimisation_and_beats_the_classic_bound():
    from scipy.optimize import minimize_scalar

    for rho, eps in [(0.1, 1.0), (0.5, 3.0), (2.0, 10.0)]:
        # Canonne, Kamath & Steinke (2020), Corollary 13, minimised over log(alpha - 1)
        def log_delta(t):
            alpha = 1 + math.exp(t)
            return (alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha) - math.log(alpha - 1)

        best = minimize_scalar(log_delta, bounds=(-20, 10), method="bounded", options={"xatol": 1e-12})
        assert zcdp.delta_for(rho, eps) == pytest.approx(math.exp(best.fun), rel=1e-6)
    # a value to pin (the exact conversion, as computed by the minimisation above): rho = 0.5 at delta = 1e-6
    eps = zcdp.epsilon_for(0.5, 1e-6)
    assert eps == pytest.approx(5.2215, abs=1e-3)
    assert eps < 0.5 + 2 * math.sqrt(0.5 * math.log(1e6))  # tighter than Bun & Steinke's bound (5.76)
    # rho_for inverts it
    assert zcdp.epsilon_for(zcdp.rho_for(3.0, 1e-5), 1e-5) == pytest.approx(3.0, rel=1e-6)
    assert zcdp.gaussian_rho(zcdp.gaussian_sigma(0.3)) == pytest.approx(0.3)
    assert zcdp.exponential_rho(2.0) == pytest.approx(0.5)


def test_the_ledger_refuses_a_spend_past_the_budget_and_records_nothing():
    ledger = zcdp.Ledger(1.0)
    ledger.spend("a", 0.6)
    with pytest.raises(ConfigError, match="refused"):
        ledger.spend("b", 0.5)
    assert ledger.spends == [("a", 0.6)]
    ledger.spend("c", 0.4)
    assert ledger.spent == pytest.approx(1.0)


@pytest.mark.parametrize("which", ["fitted_mst", "fitted_aim"])
def test_the_fit_spends_exactly_its_budget_and_never_more(which, request):
    synth = request.getfixturevalue(which)
    p = synth.privacy_
    assert p["rho_spent"] <= p["rho_budget"] * (1 + 1e-9)
    assert p["rho_spent"] == pytest.approx(p["rho_budget"], rel=1e-6)  # nothing left unused
    assert p["epsilon"] <= 5.0 * (1 + 1e-6)
    assert p["delta"] == pytest.approx(min(1e-5, 1 / 3000**1.1))
    assert len(p["measurements"]) >= 6  # every one-way marginal, then pairs


# -- the mechanisms ----------------------------------------------------------------------
def test_model_answers_across_the_junction_tree_equal_variable_elimination():
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.integers(0, 3, n)
    b = (a + rng.integers(0, 2, n)) % 4
    c = (b + rng.integers(0, 2, n)) % 3
    d = (c * 2 + rng.integers(0, 2, n)) % 5
    codes, sizes = dict(a=a, b=b, c=c, d=d, e=rng.integers(0, 2, n)), dict(a=3, b=4, c=3, d=5, e=2)
    cliques = [(k,) for k in sizes] + [("a", "b"), ("b", "c"), ("c", "d")]
    est = _Estimator(sizes, 200, 200)
    est.fit([Measured(cl, marginal(codes, sizes, cl), 1.0) for cl in cliques])
    for pair in [("a", "c"), ("a", "d"), ("d", "a"), ("b", "d"), ("a", "e")]:
        reference = np.asarray(est.model.project(pair).datavector(), float)
        np.testing.assert_allclose(est.answer(pair), reference, atol=1e-6)
    # a loop (a-b, b-c, a-c) triangulates into a three-column tree clique; d hangs off c
    loop = [(k,) for k in sizes] + [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("d", "e")]
    est = _Estimator(sizes, 200, 200)
    est.fit([Measured(cl, marginal(codes, sizes, cl), 1.0) for cl in loop])
    assert any(len(cl) == 3 for cl in est.tables)
    for clique in [("a", "b", "c"), ("c", "a"), ("a", "d"), ("b", "e"), ("e", "a")]:
        reference = np.asarray(est.model.project(clique).datavector(), float)
        np.testing.assert_allclose(est.answer(clique), reference, atol=1e-6)


def test_aim_candidates_cover_the_workload_downward_closure_with_its_weights():
    got = workload_candidates({("a", "b"): 1.0, ("b", "c"): 4.0})
    assert got == {("a",): 1.0, ("b",): 5.0, ("a", "b"): 2.0, ("c",): 4.0, ("b", "c"): 8.0}


def test_merge_bins_keeps_a_spike_alone_and_balances_the_rest():
    weights = np.array([1.0] * 10 + [50.0] + [1.0] * 10)
    coarse = merge_bins(weights, bins=10)
    spike = coarse[10]
    assert (coarse == spike).sum() == 1  # the spike is a bin of its own
    assert np.all(np.diff(coarse) >= 0)  # codes follow the order of values


# -- what may not be released -------------------------------------------------------------
def test_a_category_of_one_row_is_not_released(fitted_mst, table):
    enc = fitted_mst.codec_.transformer.encoders["city"]
    assert "Reykjavik" not in enc.categories
    assert set(enc.categories) == {"Oslo", "Lyon", "Porto"}
    assert "Reykjavik" not in set(fitted_mst.sample(5000, seed=0)["city"])
    assert fitted_mst.privacy_["release_threshold"] > 10  # a noisy count of 1 almost never clears it


def test_a_model_file_holds_no_exact_data_statistics(fitted_mst, tmp_path):
    import json

    from safetensors import safe_open

    path = fitted_mst.save(tmp_path / "p.synth")
    with safe_open(str(path), framework="pt") as f:
        state = json.loads(f.metadata()["state"])
    schema = state["codec"]["transformer"]["schema"]
    assert all(c["missing_rate"] == 0.0 for c in schema)  # the real missing rate is not kept
    assert "exact_index" not in state


# -- the contract -------------------------------------------------------------------------
def test_not_fitted_error_before_sample():
    with pytest.raises(NotFittedError):
        PrivateSynthesizer().sample(3)


@pytest.mark.parametrize("which", ["fitted_mst", "fitted_aim"])
def test_rows_come_back_in_the_training_columns_and_dtypes(which, request, table):
    rows = request.getfixturevalue(which).sample(2000, seed=1)
    assert list(rows.columns) == list(table.columns)
    pd.testing.assert_series_equal(rows.dtypes, table.dtypes)
    assert rows["income"].isna().mean() == pytest.approx(0.2, abs=0.06)
    assert rows["age"].between(16, 128).all()  # inside the private bounds (powers of two)


def test_the_model_keeps_what_the_marginals_say(fitted_aim, table):
    rows = fitted_aim.sample(3000, seed=2)
    # one-way: the city shares; two-way: label depends on age as in the real table
    real = table["city"].value_counts(normalize=True)
    synth = rows["city"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (real - synth).abs().max() < 0.05
    gap_real = table.loc[table.age > 50, "label"].mean() - table.loc[table.age <= 50, "label"].mean()
    gap_synth = rows.loc[rows.age > 50, "label"].mean() - rows.loc[rows.age <= 50, "label"].mean()
    assert gap_real > 0.6 and gap_synth > 0.4


def test_same_seed_same_rows_and_save_load_gives_identical_sample(fitted_aim, tmp_path):
    a, b = fitted_aim.sample(500, seed=4), fitted_aim.sample(500, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(fitted_aim.sample(500, seed=5))
    loaded = PrivateSynthesizer.load(fitted_aim.save(tmp_path / "aim.synth"))
    pd.testing.assert_frame_equal(loaded.sample(500, seed=4), a)
    assert loaded.privacy_ == fitted_aim.privacy_


def test_conditions_are_met_and_impossible_ones_fail_by_name(fitted_mst):
    rows = fitted_mst.sample(200, conditions={"city": "Lyon", "age": (30, 40)}, seed=0)
    assert len(rows) == 200 and (rows.city == "Lyon").all() and rows.age.between(30, 40).all()
    with pytest.raises(ConditionError, match="Reykjavik"):
        fitted_mst.sample(10, conditions={"city": "Reykjavik"})


def test_a_workload_too_large_is_refused_before_any_budget_is_spent():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": [f"a{i}" for i in rng.integers(0, 2500, 6000)],
                       "b": [f"b{i}" for i in rng.integers(0, 2500, 6000)], "c": rng.random(6000)})
    synth = PrivateSynthesizer(epsilon=1.0, **FAST)
    with pytest.raises(ConfigError, match=r"'a' \(up to .*'b' \(up to .*No privacy budget was spent"):
        synth.fit(df, metadata={"a": "categorical", "b": "categorical"})
    assert not hasattr(synth, "privacy_")


def test_bad_options_and_public_domains_are_named():
    df = pd.DataFrame({"x": np.arange(100.0), "c": ["u", "v"] * 50})
    with pytest.raises(ConfigError, match="method"):
        PrivateSynthesizer(method="gan").fit(df)
    with pytest.raises(ConfigError, match="epsilon"):
        PrivateSynthesizer(epsilon=0).fit(df)
    with pytest.raises(ConfigError, match="'nope' is not a column"):
        PrivateSynthesizer(bounds={"nope": (0, 1)}, **FAST).fit(df)
    with pytest.raises(ConfigError, match="workload"):
        PrivateSynthesizer(workload=[("x", "zz")], **FAST).fit(df)


def test_public_bounds_and_categories_are_used_as_given():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.uniform(0, 10, 2000), "c": rng.choice(["u", "v"], 2000)})
    synth = PrivateSynthesizer(epsilon=2.0, method="mst", bounds={"x": (0.0, 10.0)}, categories={"c": ["u", "v", "w"]}, **FAST)
    rows = synth.fit(df).sample(1000, seed=0)
    assert rows["x"].between(0, 10).all()
    assert synth.codec_.transformer.encoders["c"].categories == ["u", "v", "w"]


# -- the command line and the report ------------------------------------------------------
def test_cli_fits_with_epsilon_samples_with_a_condition_and_names_cli_options(table, tmp_path, capsys):
    from synthgan.cli import main

    csv = tmp_path / "t.csv"
    table.drop(columns=["joined"]).to_csv(csv, index=False)
    public = tmp_path / "public.json"
    public.write_text('{"bounds": {"income": [0, 500000]}, "categories": {"label": [0, 1]}}')
    model, out = tmp_path / "m.synth", tmp_path / "rows.csv"
    assert main(["fit", str(csv), "-o", str(model), "--epsilon", "4", "--dp-method", "mst", "--public", str(public),
                 "--seed", "0", "-q"]) == 0
    assert "epsilon 4.00 spent of 4" in capsys.readouterr().out
    assert main(["sample", str(model), "-n", "100", "-o", str(out), "--condition", "city=Lyon", "--seed", "1"]) == 0
    rows = pd.read_csv(out)
    assert len(rows) == 100 and (rows.city == "Lyon").all() and rows.income.dropna().between(0, 500000).all()
    assert main(["fit", str(csv), "-o", str(tmp_path / "x.synth"), "--delta", "1e-6"]) == 2
    assert "add --epsilon" in capsys.readouterr().err
    tiny = tmp_path / "tiny.csv"
    table.head(60).to_csv(tiny, index=False)
    assert main(["fit", str(tiny), "-o", str(tmp_path / "y.synth"), "--epsilon", "1", "-q"]) == 2
    assert "--public FILE.json" in capsys.readouterr().err  # the remedy in command-line terms


def test_the_report_records_what_a_private_model_spent(fitted_mst, table):
    from synthgan import evaluate

    rows = fitted_mst.sample(600, seed=0)
    report = evaluate(table.iloc[:600], rows, model=fitted_mst, attacks=None, verbose=False)
    spent = report["privacy"].details["differential_privacy"]
    assert spent["method"] == "mst" and spent["epsilon"] == pytest.approx(fitted_mst.privacy_["epsilon"])
    assert "MST" in report["privacy"].notes[0] and "epsilon 5.00 spent of 5" in report["privacy"].notes[0]


def test_dpctgan_runs_under_the_same_class_and_reloads(table, tmp_path):
    pytest.importorskip("opacus")
    synth = PrivateSynthesizer(epsilon=5.0, method="dpctgan", epochs=1, batch_size=500, seed=0, verbose=False)
    synth.fit(table.drop(columns=["joined"]))
    assert synth.privacy_["method"] == "dpctgan" and synth.privacy_["epsilon"] <= 5.0 * (1 + 1e-6)
    loaded = PrivateSynthesizer.load(synth.save(tmp_path / "d.synth"))
    pd.testing.assert_frame_equal(loaded.sample(50, seed=2), synth.sample(50, seed=2))


def test_the_default_workload_weights_the_targets_pairs_and_a_user_workload_is_followed(table):
    from synthgan.schema import detect_schema

    schema = detect_schema(table)
    weights = PrivateSynthesizer(target_weight=4.0)._workload(schema, "label")
    assert len(weights) == 15  # every pair of the six columns
    assert all(w == (4.0 if "label" in pair else 1.0) for pair, w in weights.items())
    # one-way marginals only: an independent model, no pair is ever measured
    synth = PrivateSynthesizer(epsilon=3.0, workload=[(c,) for c in table.columns], **FAST).fit(table)
    assert all(len(m) == 1 for m in synth.privacy_["measurements"])
    rows = synth.sample(3000, seed=0)
    gap = rows.loc[rows.age > 50, "label"].mean() - rows.loc[rows.age <= 50, "label"].mean()
    assert abs(gap) < 0.1  # the age -> label dependence is gone without its pair


def test_with_a_target_every_target_pair_is_measured_first(fitted_aim, table):
    measured = [tuple(m) for m in fitted_aim.privacy_["measurements"]]
    others = [c for c in table.columns if c != "label"]
    first = measured[len(table.columns): len(table.columns) + len(others)]  # after the one-way marginals
    assert sorted(tuple(sorted(q)) for q in first) == sorted(tuple(sorted((c, "label"))) for c in others)
