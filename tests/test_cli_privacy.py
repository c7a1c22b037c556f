"""``synthgan evaluate --attacks / --secrets / --shadow-budget``: the privacy attacks from the command line.

A small table is split into training and holdout rows, a 2-epoch model is fitted and sampled
through the CLI, and the JSON report is read back: the attack figures are there exactly when
asked for, equal those of ``synthgan.evaluate`` called in Python, and bad options fail with
exit code 2, a message in the command's own terms, and no report written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan.cli import _SHADOW_BUDGET_S, build_parser, main
from synthgan.privacy.attacks import SHADOW_BUDGET_S


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """train.csv (160 rows), holdout.csv (80), model.synth (2 epochs), synthetic.csv (160 sampled rows)."""
    folder = tmp_path_factory.mktemp("privacy_cli")
    rng = np.random.default_rng(7)
    n = 240
    age = rng.integers(18, 80, n)
    df = pd.DataFrame({
        "pid": [f"P{i:05d}" for i in range(n)],  # an identifier: unique text per row
        "age": age,
        "income": (age * 900 + rng.normal(0, 5_000, n)).round(0),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "diagnosis": np.where(age + rng.normal(0, 10, n) > 50, "yes", "no"),
    })
    paths = {name: folder / f"{name}.csv" for name in ("train", "holdout", "synthetic")}
    df.iloc[:160].to_csv(paths["train"], index=False)
    df.iloc[160:].to_csv(paths["holdout"], index=False)
    paths["model"] = folder / "model.synth"
    assert main(["fit", str(paths["train"]), "-o", str(paths["model"]), "--epochs", "2", "--seed", "0", "-q"]) == 0
    assert main(["sample", str(paths["model"]), "-n", "160", "-o", str(paths["synthetic"]), "--seed", "0", "-q"]) == 0
    paths["folder"] = folder
    return paths


def evaluate_json(capsys, files, name: str, *options, synthetic=None) -> dict:
    out = files["folder"] / f"{name}.json"
    code, _, err = run(capsys, "evaluate", files["train"], synthetic or files["synthetic"], "--holdout",
                       files["holdout"], "--json", out, "--overwrite", "-q", *options)
    assert code == 0, err
    return json.loads(out.read_text())


def privacy(report: dict) -> dict:
    return next(s for s in report["sections"] if s["key"] == "privacy")


# -- --attacks ----------------------------------------------------------------------------------


def test_attacks_none_leaves_the_membership_figures_out(capsys, files):
    section = privacy(evaluate_json(capsys, files, "none", "--attacks", "none"))
    attacks = section["details"]["attacks"]
    assert attacks["level"] is None
    assert attacks["results"] == {}
    assert "Membership attacks were not run (attacks=None)." in attacks["notes"]
    assert "attribute_inference" not in section["details"]
    labels = [h["label"] for h in section["headline"]]
    assert "strongest attack AUC" not in labels and "attack TPR at 1% FPR" not in labels


def test_attacks_default_is_fast_and_reports_auc_and_tpr_with_intervals(capsys, files):
    section = privacy(evaluate_json(capsys, files, "default"))
    default = section["details"]["attacks"]
    by_label = {h["label"]: h["value"] for h in section["headline"]}
    fast = privacy(evaluate_json(capsys, files, "fast", "--attacks", "fast"))["details"]["attacks"]
    assert default == fast
    assert fast["level"] == "fast"
    assert fast["settings"] == {"max_targets": 2_000, "n_bootstrap": 200}
    assert set(fast["results"]) == {"density_ratio", "distance"}
    for result in fast["results"].values():
        assert result["n_members"] == 160 and result["n_non_members"] == 40  # half the holdout is reference
        for estimate in (result["auc"], *result["tpr_at_fpr"].values()):
            assert 0.0 <= estimate["low"] <= estimate["value"] <= estimate["high"] <= 1.0
        assert set(result["tpr_at_fpr"]) == {"0.01", "0.001"}
    assert by_label["strongest attack AUC"] == max(r["auc"]["value"] for r in fast["results"].values())


def test_the_cli_figures_are_those_of_evaluate_in_python(capsys, files):
    from synthgan import evaluate

    cli = privacy(evaluate_json(capsys, files, "same", "--attacks", "fast", "--secrets", "diagnosis"))["details"]
    train, synthetic, holdout = (pd.read_csv(files[k]) for k in ("train", "synthetic", "holdout"))
    report = evaluate(train, synthetic, holdout, attacks="fast", secrets=["diagnosis"], seed=0, verbose=False)
    python = json.loads(report.to_json())
    api = privacy(python)["details"]
    assert cli["attacks"]["results"] == api["attacks"]["results"]
    assert cli["attribute_inference"] == api["attribute_inference"]


def test_attacks_fast_on_a_copy_of_the_training_rows_finds_every_member(capsys, files):
    """Known answer: synthetic rows that are the training rows -> AUC 1 and TPR 1 at 1% FPR."""
    copy = privacy(evaluate_json(capsys, files, "copy", "--attacks", "fast", synthetic=files["train"]))
    for name in ("density_ratio", "distance"):
        result = copy["details"]["attacks"]["results"][name]
        assert result["auc"]["value"] == pytest.approx(1.0)
        assert result["tpr_at_fpr"]["0.01"]["value"] == pytest.approx(1.0)
    assert copy["verdict"] == "poor"


def test_attacks_thorough_without_a_model_says_the_shadow_attack_needs_one(capsys, files):
    attacks = privacy(evaluate_json(capsys, files, "thorough", "--attacks", "thorough"))["details"]["attacks"]
    assert attacks["level"] == "thorough"
    assert attacks["settings"] == {"max_targets": 10_000, "n_bootstrap": 1_000}
    assert set(attacks["results"]) == {"density_ratio", "distance"}
    assert any("shadow-model attack needs the fitted synthesizer" in n for n in attacks["notes"])


def test_shadow_budget_reaches_the_shadow_attack(capsys, files):
    """A budget below one fit's time: the attack is skipped, and the note names that budget."""
    attacks = privacy(evaluate_json(capsys, files, "shadow", "--attacks", "thorough", "--model", files["model"],
                                    "--shadow-budget", "0.001"))["details"]["attacks"]
    assert "shadow" not in attacks["results"]
    assert any("budget of 0.001 s" in n for n in attacks["notes"]), attacks["notes"]


# -- --secrets ----------------------------------------------------------------------------------


def test_secrets_adds_attribute_inference_even_without_membership_attacks(capsys, files):
    section = privacy(evaluate_json(capsys, files, "secrets", "--attacks", "none", "--secrets", "diagnosis", "income"))
    inference = section["details"]["attribute_inference"]
    assert set(inference["columns"]) == {"diagnosis", "income"}
    assert inference["known"] == ["age", "city"]  # pid is an identifier: no attacker knowledge
    diagnosis, income = inference["columns"]["diagnosis"], inference["columns"]["income"]
    assert diagnosis["metric"] == "accuracy" and income["metric"] == "skill"
    assert diagnosis["n_members"] == 160 and diagnosis["n_non_members"] == 80
    assert 0.0 <= diagnosis["members"] <= 1.0
    assert diagnosis["member_advantage"] == pytest.approx(diagnosis["members"] - diagnosis["non_members"])
    assert section["details"]["attacks"]["results"] == {}


def _fails(capsys, files, name: str, *options, holdout: bool = True) -> str:
    out = files["folder"] / f"{name}.json"
    argv = ["evaluate", files["train"], files["synthetic"], "--json", out, "-q", *options]
    if holdout:
        argv[3:3] = ["--holdout", files["holdout"]]
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert not out.exists()
    return err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--secrets", "diagnosys"], "--secrets diagnosys: "),  # a typo: the close match is offered
        (["--secrets", "diagnosis", "diagnosis"], "--secrets: diagnosis listed more than once"),
        (["--secrets", "pid"], "'pid' was detected as an identifier column"),
        (["--secrets", "age", "income", "city", "diagnosis"], "every column is a secret"),
        (["--shadow-budget", "0", "--attacks", "thorough"], "--shadow-budget 0: expected a number of seconds > 0"),
        (["--shadow-budget", "nan", "--attacks", "thorough"], "--shadow-budget nan: expected"),
        (["--shadow-budget", "-5", "--attacks", "thorough"], "--shadow-budget -5: expected"),
        (["--shadow-budget", "10"], "--shadow-budget applies to the shadow-model attack"),
        (["--shadow-budget", "10", "--attacks", "thorough"], "--attacks thorough and --model MODEL"),
    ],
)
def test_bad_privacy_options_fail_in_the_commands_terms(capsys, files, options, message):
    err = _fails(capsys, files, "bad", *options)
    assert message in err
    assert "synthgan evaluate: error:" in err


def test_a_mistyped_secret_gets_the_close_column_offered(capsys, files):
    err = _fails(capsys, files, "typo", "--secrets", "diagnosys")
    assert "has no column 'diagnosys'; did you mean diagnosis?" in err


def test_secrets_without_a_holdout_fail_before_reading_anything(capsys, files):
    err = _fails(capsys, files, "noholdout", "--secrets", "diagnosis", holdout=False)
    assert "--secrets needs --holdout" in err


def test_an_unknown_attack_level_is_refused_by_the_parser(capsys, files):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(files["train"]), str(files["synthetic"]), "--attacks", "strong"])
    assert exit_.value.code == 2
    assert "invalid choice: 'strong'" in capsys.readouterr().err


# -- help ---------------------------------------------------------------------------------------


def test_help_states_each_privacy_options_default(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "none skips them (default: fast)" in text
    assert f"(default: {SHADOW_BUDGET_S:g})" in text
    assert "needs --holdout (default: none)" in text


def test_the_cli_shadow_budget_default_is_the_librarys():
    assert _SHADOW_BUDGET_S == SHADOW_BUDGET_S
    import inspect

    from synthgan.evaluation import evaluate

    assert inspect.signature(evaluate).parameters["shadow_budget_s"].default == _SHADOW_BUDGET_S
    ev = build_parser()._subparsers._group_actions[0].choices["evaluate"]
    assert ev.get_default("attacks") == "fast" and ev.get_default("secrets") is None
