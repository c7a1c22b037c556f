"""Constraints through the synthesizer: every sampled row obeys every declared rule (issue 17)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgan import TabularSynthesizer
from synthgan.constraints import (
    FixedCombinations, FixedIncrements, Inequality, OneHot, Range, ScalarRange, Sum,
)
from synthgan.constraints.errors import ConstraintError
from synthgan.errors import ModelFileError

N = 500


def _table(seed=0, n=N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    admitted = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    discharged = admitted + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    city = rng.choice(["Boston", "Cambridge", "Austin", "Dallas"], n)
    premium, fee = np.round(rng.uniform(100, 1000, n), 2), np.round(rng.uniform(5, 50, n), 2)
    plan = rng.integers(0, 3, n)
    low = rng.integers(0, 50, n)
    return pd.DataFrame({
        "admitted": admitted, "discharged_text": discharged.strftime("%Y-%m-%d"),
        "city": city, "state": np.where(np.isin(city, ["Boston", "Cambridge"]), "MA", "TX"),
        "premium": premium, "fee": fee, "total": np.round(premium + fee, 2),
        "age": rng.integers(18, 90, n), "dose": rng.integers(1, 20, n) * 5,
        "low": low, "mid": low + rng.integers(0, 10, n), "high": low + rng.integers(10, 20, n),
        "basic": (plan == 0).astype(int), "plus": (plan == 1).astype(int), "premium_plan": (plan == 2).astype(int),
    })


CONSTRAINTS = [
    Inequality("admitted", "discharged_text"), FixedCombinations(["city", "state"]), Sum(["premium", "fee"], "total"),
    OneHot(["basic", "plus", "premium_plan"]), ScalarRange("age", 18, 89), FixedIncrements("dose", 5),
    Range("low", "mid", "high"),
]


@pytest.fixture(scope="module")
def fitted():
    df = _table()
    return df, TabularSynthesizer(epochs=3, seed=0, verbose=False).fit(df, constraints=CONSTRAINTS)


def test_every_sampled_row_obeys_every_declared_constraint(fitted):
    df, synth = fitted
    rows = synth.sample(10_000)
    assert list(rows.columns) == list(df.columns)
    validity = synth.constraints_.validity(synth.user_schema_.canonical(rows))
    assert validity and all(v == 1.0 for v in validity.values()), validity
    dates = pd.to_datetime(rows["discharged_text"])
    assert (dates >= rows["admitted"]).all()  # the datetime rule, with one side held as ISO text
    assert rows["discharged_text"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert (rows["dose"] % 5 == 0).all() and rows["age"].between(18, 89).all()
    assert set(map(tuple, rows[["city", "state"]].to_numpy())) <= set(map(tuple, df[["city", "state"]].to_numpy()))
    assert np.allclose(rows["premium"] + rows["fee"], rows["total"])
    assert (rows[["basic", "plus", "premium_plan"]].sum(axis=1) == 1).all()


def test_a_table_breaking_a_constraint_is_refused_with_the_rows_named():
    df = _table(1)
    df.loc[7, "discharged_text"] = "2020-01-01"
    with pytest.raises(ConstraintError, match=r"Inequality.*1 of 500.*\[7\]"):
        TabularSynthesizer(epochs=1, verbose=False).fit(df, constraints=[Inequality("admitted", "discharged_text")])


def test_constraints_survive_save_and_load(fitted, tmp_path):
    _, synth = fitted
    path = synth.save(tmp_path / "c.synth")
    back = TabularSynthesizer.load(path)
    rows = back.sample(2_000, seed=3)
    assert all(v == 1.0 for v in back.constraints_.validity(back.user_schema_.canonical(rows)).values())
    assert rows.equals(synth.sample(2_000, seed=3))


def test_conditions_and_the_privacy_filter_work_with_constraints(fitted):
    from synthgan import PrivacyFilter

    df, synth = fitted
    rows = synth.sample(300, conditions={"state": "MA"})  # a column rebuilt by FixedCombinations
    assert set(rows["state"]) == {"MA"} and set(rows["city"]) <= {"Boston", "Cambridge"}
    rows = synth.sample(200, conditions={"city": "Austin", "premium": (500, 900)})
    assert set(rows["state"]) == {"TX"} and rows["premium"].between(500, 900).all()
    filt = PrivacyFilter(dcr_quantile=0.05).fit(df)
    rows = synth.sample(300, privacy=filt)
    assert len(rows) == 300
    assert all(v == 1.0 for v in synth.constraints_.validity(synth.user_schema_.canonical(rows)).values())


class EvenTotal:
    """A custom rule checked by rejection: the rounded total is even."""

    name = "even_total"

    def is_valid(self, df):
        return (np.round(df["total"]).astype(int) % 2 == 0).to_numpy()


def test_a_custom_constraint_is_met_by_rejection_and_must_be_passed_again_at_load(tmp_path):
    df = _table(2)
    df = df[np.round(df["total"]).astype(int) % 2 == 0].reset_index(drop=True)
    synth = TabularSynthesizer(epochs=2, seed=0, verbose=False).fit(df[["premium", "total", "city"]],
                                                                     constraints=[EvenTotal()])
    rows = synth.sample(500)
    assert len(rows) == 500 and (np.round(rows["total"]).astype(int) % 2 == 0).all()
    drawn, kept = synth.constraint_acceptance_
    assert 0 < kept < drawn  # rejection did work: the generator does not know the rule
    path = synth.save(tmp_path / "custom.synth")
    with pytest.raises(ModelFileError, match=r"even_total"):
        TabularSynthesizer.load(path)
    back = TabularSynthesizer.load(path, custom_constraints={"even_total": EvenTotal()})
    assert (np.round(back.sample(100)["total"]).astype(int) % 2 == 0).all()


def test_cli_detects_constraints_and_fits_with_them(tmp_path, capsys):
    from synthgan.cli import main

    src = tmp_path / "claims.csv"
    _table(4).to_csv(src, index=False)
    assert main(["fit", str(src), "--detect-constraints"]) == 0
    printed = capsys.readouterr()
    rules = json.loads(printed.out)
    kinds = {r["type"] for r in rules}
    assert {"OneHot", "FixedCombinations", "Sum", "Inequality"} <= kinds, kinds
    assert "holds on all" in printed.err
    rules_path = tmp_path / "rules.json"
    rules_path.write_text(json.dumps(rules))
    model, out = tmp_path / "m.synth", tmp_path / "out.csv"
    assert main(["fit", str(src), "-o", str(model), "--constraints", str(rules_path), "--epochs", "2", "--quiet"]) == 0
    assert main(["sample", str(model), "-n", "500", "-o", str(out), "--quiet"]) == 0
    rows = pd.read_csv(out)
    assert (rows[["basic", "plus", "premium_plan"]].sum(axis=1) == 1).all()
    assert np.allclose(rows["premium"] + rows["fee"], rows["total"])


def test_the_report_shows_each_rules_validity_and_names_broken_ones(fitted):
    from synthgan import evaluate

    df, synth = fitted
    rows = synth.sample(len(df), seed=5)
    report = evaluate(df, rows, model=synth, attacks=None, verbose=False).to_dict()
    fidelity = next(s for s in report["sections"] if s["key"] == "fidelity")
    assert set(fidelity["details"]["constraints"]["synthetic"].values()) == {1.0}
    assert any(t["title"].startswith("Declared rules") for t in fidelity["tables"])
    broken = rows.copy()
    broken.loc[: len(broken) // 4, "state"] = "TX"
    broken.loc[: len(broken) // 4, "city"] = "Boston"  # Boston is in MA
    report = evaluate(df, broken, constraints=[FixedCombinations(["city", "state"])], attacks=None,
                      verbose=False).to_dict()
    fidelity = next(s for s in report["sections"] if s["key"] == "fidelity")
    share = fidelity["details"]["constraints"]["synthetic"]["FixedCombinations(columns=['city', 'state'])"]
    assert share < 0.8
    assert any("break the rule FixedCombinations" in n for n in fidelity["notes"])
    assert fidelity["verdict"] != "good"
