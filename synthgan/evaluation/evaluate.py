"""``synthgan.evaluate``: one call from (real, synthetic, holdout) tables or images to a :class:`Report`."""

from __future__ import annotations

import importlib.util
import numbers
from collections import Counter
from importlib.metadata import version

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from synthgan.errors import ConfigError
from synthgan.evaluation import augmentation, bias, diversity, fidelity, marginals, utility
from synthgan.evaluation.bias_section import bias_section
from synthgan.evaluation.diversity_section import diversity_section
from synthgan.evaluation.features import feature_spec
from synthgan.evaluation.image_evaluate import evaluate_images
from synthgan.evaluation.image_inputs import is_image_input
from synthgan.evaluation.inputs import check_tables, check_target_present, resolve_target
from synthgan.evaluation.training_section import training_section
from synthgan.privacy.attacks import (
    ANONYMETER_NOTE,
    MIN_HOLDOUT,
    SHADOW_BUDGET_S,
    AnonymeterResult,
    anonymeter_risks,
    membership_attacks,
    shadow_attack,
)
from synthgan.privacy.attribute import attribute_columns, attribute_inference
from synthgan.privacy.metrics import AttackEvidence, privacy_metrics, privacy_section
from synthgan.report import Report, Table
from synthgan.schema import Metadata

UTILITY_TITLE = "Utility (train synthetic, test real)"
#: synthetic rows whose median distance to the closest training row exceeds this multiple of the
#: holdout's are too far from the real data: a fidelity problem (see ``_weigh_distance``)
DISTANCE_RATIO = 2.0
AUGMENTATION_TITLE = "Augmentation lift"
#: membership attack settings per ``attacks=`` level (see :func:`synthgan.privacy.attacks.membership_attacks`)
ATTACK_LEVELS = {
    "fast": {"max_targets": 2_000, "n_bootstrap": 200},
    "thorough": {"max_targets": 10_000, "n_bootstrap": 1_000},
}


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    target=None,
    *,
    sensitive=None,
    task: str | None = None,
    minority=None,
    metadata: Metadata | dict | None = None,
    seed: int = 0,
    max_rows: int = fidelity.MAX_ROWS,
    title: str = "Synthetic data report",
    verbose: bool = True,
    inception: bool = False,
    privacy: dict | None = None,
    model=None,
    attacks: str | None = "fast",
    secrets=None,
    shadow_budget_s: float = SHADOW_BUDGET_S,
    constraints=None,
) -> Report:
    """How faithful and how useful ``synthetic`` is, compared with ``real``.

    Parameters
    ----------
    real : the table the generator was fitted on.
    synthetic : rows it generated (same columns; identifier columns may be left out).
    holdout : real rows the generator never saw. Without it, utility is skipped (scoring
        models on the training rows would reward copying them).
    target : column to predict for utility (TSTR/TRTR) and, for classification, augmentation.
    sensitive : columns (e.g. ``["sex", "race", "age"]``) whose groups the ``bias`` section
        compares: representation, positive rate of the target per group, and downstream
        fairness on the holdout. Numeric columns are binned into real-data quantiles.
    task : ``"classification"`` or ``"regression"``; inferred from the target's column kind.
    minority : class whose synthetic rows are added for augmentation; default the rarest.
    metadata : column-kind overrides, as for ``TabularSynthesizer.fit``.
    seed : seeds the subsample of the QualityReport and the models; same seed, same report.
    max_rows : rows of each table the sdmetrics QualityReport sees (pair trends are
        O(columns^2)); recorded in the report.
    verbose : show progress.
    inception : images only: add InceptionV3 FID and KID (needs ``synthgan[fid]``; slow on a CPU).
    privacy : what a DP fit spent (``synth.privacy_``), recorded in the privacy section.
    model : the fitted synthesizer (tabular or image) that made ``synthetic``; its
        ``history_`` becomes a ``training`` section: losses and validation score per epoch,
        the best epoch it keeps, whether it stopped early, and its batch size and steps.
        A model fitted with ``target=`` supplies ``target`` when it is not given; with
        ``attacks="thorough"`` it is refitted for the shadow-model attack.
    attacks : membership inference attacks in the privacy section (they need a holdout):
        ``"fast"`` (default) runs the density-ratio (DOMIAS-style) and distance attacks on up to
        2,000 members and non-members with 200 bootstrap replicates; ``"thorough"`` up to 10,000
        with 1,000, plus the shadow-model attack when ``model`` is given (anonymeter too, when
        installed); ``None`` skips them. Each reports ROC AUC and the true positive rate at 1% and
        0.1% false positive rate with intervals and the most exposed training rows by label.
    secrets : columns whose values an attacker might infer (``["diagnosis"]``): attribute
        inference from every other non-identifier column (the report names them). Needs a holdout.
    shadow_budget_s : seconds the shadow-model attack's refits may take (``attacks="thorough"``).
    constraints : rules between columns (:mod:`synthgan.constraints`) whose validity the fidelity
        section reports, real against synthetic (default: the rules of ``model``, if any). The
        real table must obey them (a ``ConstraintError`` lists the rows that do not); synthetic
        rows that break one are named in a note and cap fidelity at "fair".

    Notes
    -----
    Images: pass each set as ``(images, labels)``, ``(images,)`` or a bare uint8 array of shape
    (N,H,W) or (N,H,W,C). The report then has ``image_fidelity`` (domain FID in the feature
    space of a CNN trained on the real images, per-class accuracy of that CNN on synthetic
    images, class balance), ``image_utility`` (the CNN trained on synthetic vs on real images,
    tested on the holdout) and ``image_samples`` (grids per class). ``target``, ``task``,
    ``minority``, ``metadata``, ``sensitive`` and ``max_rows`` apply to tables only; for images the
    groups are the classes, whose balance and per-class accuracy ``image_fidelity`` reports.
    Every report has a ``diversity`` section (precision, recall, density, coverage and, for
    tables, category and range coverage, duplicates and cluster occupancy).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> df = load_iris(as_frame=True).frame
    >>> report = evaluate(df.iloc[::2], df.iloc[1::2], target="target", verbose=False)
    >>> report["fidelity"].verdict
    'good'
    """
    _check_int("max_rows", max_rows, 10)
    _check_int("seed", seed, 0)
    _check_attack_options(attacks, shadow_budget_s)
    history = _history_of(model)
    if privacy is None and getattr(model, "privacy_", None) is not None:
        privacy = model.privacy_  # a DP model brings what it spent
    if target is None and getattr(model, "target_", None) is not None:
        target = model.target_  # a target-aware model names the column the report predicts
    if is_image_input(real):
        given = (("target", target), ("task", task), ("minority", minority), ("metadata", metadata), ("sensitive", sensitive),
                 ("privacy", privacy), ("secrets", secrets), ("attacks", None if attacks != "thorough" else attacks))
        for name, value in given:
            if value is not None:
                raise ConfigError(f"evaluate: {name}={value!r} applies to tables; real is a set of images")
        report = evaluate_images(real, synthetic, holdout, seed=seed, inception=inception, title=title, verbose=verbose)
        return report.add(training_section(history)) if history is not None else report
    if inception:
        raise ConfigError("evaluate: inception=True applies to images; real is a table")
    if target is not None:
        check_target_present(target, {"real": real, "synthetic": synthetic, "holdout": holdout})
    tables = check_tables(real, synthetic, holdout, metadata)
    goal = resolve_target(tables, target, task, minority) if target is not None else None
    groups = bias.check_sensitive(tables, sensitive, goal) if sensitive is not None else None
    if secrets is not None:
        if tables.holdout is None:
            raise ConfigError(
                "evaluate: secrets= needs holdout=: attribute inference compares training rows with real rows "
                "the generator never saw"
            )
        attribute_columns(tables.schema, secrets)  # a bad column fails now, not after the other sections

    steps = ["fidelity", "utility", "augmentation", "diversity", "privacy"] + (["bias"] if groups else [])
    report = Report(
        title=title,
        dataset=_describe(tables, goal, seed),
        versions={p: version(p) for p in ("synthgan", "sdmetrics", "scikit-learn")},
    )
    with tqdm(total=len(steps), desc="evaluate", disable=not verbose, leave=False) as bar:
        bar.set_postfix_str("fidelity")
        result = fidelity.fidelity(
            tables.real, tables.synthetic, tables.schema, max_rows=max_rows, seed=seed, converted=tables.converted
        )
        section = fidelity.fidelity_section(
            result,
            marginals.marginals(tables.real, tables.synthetic, tables.schema),
            marginals.correlations(tables.real, tables.synthetic, tables.schema),
        )
        rules = constraints if constraints is not None else getattr(model, "constraints_", None)
        if rules is not None:
            _add_constraint_validity(section, rules, tables)
        if tables.dropped:
            section.notes.append(
                f"Identifier columns {list(tables.dropped)} are absent from the synthetic table and not compared."
            )
        report.add(section)
        bar.update()

        bar.set_postfix_str("utility")
        reason = _why_no_utility(goal, tables)
        if reason:
            report.add(utility.skipped_section("utility", UTILITY_TITLE, reason))
        else:
            report.add(utility.utility_section(utility.tstr(tables, goal, seed)))
            if tables.overlap:
                report["utility"].notes.append(
                    f"{tables.overlap} of {len(tables.holdout)} holdout rows also occur in the real table: "
                    "scores on them are optimistic."
                )
        bar.update()

        bar.set_postfix_str("augmentation")
        if not reason and goal.task == "classification":
            report.add(augmentation.augmentation_section(augmentation.augmentation_lift(tables, goal, seed)))
        else:
            why = reason or "Augmentation lift applies to classification targets (the minority class)."
            report.add(utility.skipped_section("augmentation", AUGMENTATION_TITLE, why))
        bar.update()

        bar.set_postfix_str("diversity")
        report.add(diversity_section(diversity.diversity(tables, seed=seed)))
        bar.update()

        bar.set_postfix_str("privacy")
        result = privacy_metrics(tables.real, tables.synthetic, tables.holdout, schema=tables.schema, seed=seed)
        evidence = _attack_evidence(tables, attacks, secrets, model, metadata, seed, shadow_budget_s)
        report.add(privacy_section(result, evidence))
        _weigh_distance(report["fidelity"], report["privacy"], result)
        if privacy is not None:
            report["privacy"].details["differential_privacy"] = dict(privacy)
            report["privacy"].notes.insert(0, _dp_note(privacy))
        bar.update()

        if groups:
            bar.set_postfix_str("bias")
            report.add(bias_section(bias.bias(tables, goal, groups, seed=seed)))
            bar.update()
    if history is not None:
        report.add(training_section(history))
    _note_label_model(report, model, target)
    return report


def _note_label_model(report, model, target) -> None:
    """Say in the utility section when the synthetic rows' target came from the model's label
    model (a classifier fitted on the real training rows): train-on-synthetic scores then
    measure the generated features together with that classifier's labels."""
    label_model = getattr(model, "label_model_", None)
    if label_model is None or target is None or target != getattr(model, "target_", None) or "utility" not in report:
        return
    summary = dict(label_model.summary)
    loss = summary.get("validation_log_loss")
    report["utility"].details["label_model"] = summary
    report["utility"].notes.append(
        f"The synthetic rows' {target!r} was drawn by the model's label model, a classifier fitted on the real "
        "training rows and applied to the generated features (sequential synthesis; fit(label_model=False) keeps "
        "the generator's own class)"
        + (f"; its validation log loss was {loss:.3f}" if isinstance(loss, float) else "")
        + ". Train-on-synthetic scores measure those features together with its labels."
    )


def _add_constraint_validity(section, rules, tables) -> None:
    """The share of real and synthetic rows obeying each declared rule, in the fidelity section."""
    from synthgan.constraints import ConstraintSet

    fitted = rules if isinstance(rules, ConstraintSet) and hasattr(rules, "plan_") else None
    if fitted is None:
        fitted = ConstraintSet(list(rules) if not isinstance(rules, ConstraintSet) else rules.constraints)
        fitted.fit(tables.real)
    real, synthetic = fitted.validity(tables.real), fitted.validity(tables.synthetic)
    rows = tuple((name, round(real[name], 4), round(synthetic[name], 4)) for name in real)
    section.tables.append(Table(
        "Declared rules: share of rows that obey each", ("rule", "real", "synthetic"), rows,
        note="100% of sampled rows obey every rule declared at fit (transformed or redrawn).",
    ))
    section.details["constraints"] = {"real": real, "synthetic": synthetic}
    broken = {name: share for name, share in synthetic.items() if share < 1.0}
    for name, share in broken.items():
        section.notes.append(f"{1 - share:.1%} of synthetic rows break the rule {name}, which every real row obeys.")
    if broken and section.verdict == "good":
        section.verdict = "fair"


def _weigh_distance(fidelity_part, privacy_part, result) -> None:
    """Distance from every real row is a sign of low fidelity, not of privacy.

    When synthetic rows lie much farther from the training rows than holdout rows do (median
    distance to the closest record over :data:`DISTANCE_RATIO` times the holdout's), the
    generator has not learned where the real data lies: fidelity says so and is at most "fair".
    Privacy is "good" only when fidelity is at least "fair": noise is private and useless (the
    note says so also when the attacks already rated privacy "fair").
    """
    ratio = None
    if result.dcr_holdout is not None and len(result.dcr_holdout) and len(result.dcr_synthetic):
        synth, hold = float(np.median(result.dcr_synthetic)), float(np.median(result.dcr_holdout))
        if hold > 0:
            ratio = synth / hold
        elif synth > 0:
            ratio = float("inf")
        fidelity_part.details["median_dcr"] = {"synthetic": synth, "holdout": hold, "ratio": ratio}
    if ratio is not None and ratio > DISTANCE_RATIO:
        fidelity_part.notes.insert(
            0,
            f"Synthetic rows lie far from the real ones: their median distance to the closest training row is "
            f"{synth:.3g}, {ratio:.1f} times that of holdout rows ({hold:.3g}). New real data lands nearer the "
            f"training rows than this; the generator has not learned where the data lies (verdict at most fair "
            f"above {DISTANCE_RATIO:g} times).",
        )
        if fidelity_part.verdict == "good":
            fidelity_part.verdict = "fair"
        fidelity_part.summary += (
            f" Synthetic rows lie {ratio:.1f} times farther from the closest training row than holdout rows do."
        )
    if privacy_part.verdict in ("good", "fair") and fidelity_part.verdict == "poor":
        privacy_part.verdict = "fair"
        privacy_part.notes.insert(
            0,
            "Privacy is at most fair while fidelity is poor: synthetic rows that resemble no real row are "
            "private only because they are unlike the data (a sign of low fidelity, not of privacy).",
        )
    elif ratio is not None and ratio > DISTANCE_RATIO:
        privacy_part.notes.insert(
            0,
            f"Synthetic rows lie {ratio:.1f} times farther from the training rows than holdout rows do (median "
            "distance to the closest record): that distance is a sign of low fidelity, not of privacy.",
        )
    privacy_part.details["fidelity_verdict"] = fidelity_part.verdict


def _check_attack_options(attacks, shadow_budget_s) -> None:
    if attacks is not None and (not isinstance(attacks, str) or attacks not in ATTACK_LEVELS):
        raise ConfigError(f"evaluate: attacks={attacks!r}: expected 'fast', 'thorough' or None (skip the attacks)")
    if isinstance(shadow_budget_s, bool) or not isinstance(shadow_budget_s, numbers.Real) or not shadow_budget_s > 0:
        raise ConfigError(f"evaluate: shadow_budget_s={shadow_budget_s!r}: expected a number of seconds > 0")


def _attack_evidence(tables, level, secrets, model, metadata, seed: int, shadow_budget_s: float) -> AttackEvidence:
    """Run the attacks ``level`` and ``secrets`` ask for (see :func:`evaluate`)."""
    evidence = AttackEvidence(level=level)
    if level is None:
        evidence.notes.append("Membership attacks were not run (attacks=None).")
        if secrets is None:
            return evidence
    if tables.holdout is None:
        evidence.notes.append("Membership attacks need real rows the generator never saw: pass holdout=test_df.")
        return evidence
    real, synthetic, holdout, schema = tables.real, tables.synthetic, tables.holdout, tables.schema
    if level is not None and len(holdout) < MIN_HOLDOUT:
        evidence.notes.append(
            f"Membership attacks were skipped: the holdout has {len(holdout)} rows, at least {MIN_HOLDOUT} are needed."
        )
    elif level is not None:
        settings = ATTACK_LEVELS[level]
        evidence.attacks.update(membership_attacks(real, synthetic, holdout, schema=schema, seed=seed, **settings))
        evidence.settings.update(settings)
        if level == "thorough":
            _shadow(evidence, real, synthetic, holdout, model, metadata, schema, seed, shadow_budget_s, settings)
    if secrets is not None:
        known = attribute_columns(schema, secrets)[1]
        evidence.attributes.update(attribute_inference(real, synthetic, holdout, secrets, schema=schema, seed=seed))
        evidence.known = tuple(known)
    evidence.anonymeter = _anonymeter(evidence, real, synthetic, holdout, secrets)
    return evidence


def _shadow(evidence, real, synthetic, holdout, model, metadata, schema, seed, budget_s, settings) -> None:
    if model is None:
        evidence.notes.append(
            "The shadow-model attack needs the fitted synthesizer: evaluate(..., model=synth, attacks='thorough')."
        )
        return
    if not callable(getattr(model, "get_params", None)):
        evidence.notes.append(f"The shadow-model attack cannot refit a {type(model).__name__} (no get_params()).")
        return
    result = shadow_attack(
        real, synthetic, holdout, model, schema=schema, metadata=metadata, budget_s=budget_s, seed=seed,
        n_bootstrap=settings["n_bootstrap"],
    )
    if isinstance(result, str):
        evidence.notes.append(result)
    else:
        evidence.attacks[result.attack] = result
        evidence.settings["shadow_budget_s"] = budget_s


def _anonymeter(evidence, real, synthetic, holdout, secrets) -> AnonymeterResult:
    """anonymeter's risks with ``attacks="thorough"`` when it is installed; otherwise why not."""
    if importlib.util.find_spec("anonymeter") is None:
        return AnonymeterResult(installed=False, risks={}, note=ANONYMETER_NOTE)
    if evidence.level != "thorough":
        return AnonymeterResult(
            installed=True, risks={}, note="anonymeter is installed: attacks='thorough' runs its evaluators."
        )
    return anonymeter_risks(real, synthetic, holdout, sensitive=secrets or ())


def _history_of(model):
    """``model.history_``, or None without a model; a model with no history is an error."""
    if model is None:
        return None
    inner = getattr(model, "model_", None)
    if type(model).__name__ == "PrivateSynthesizer":  # AIM / MST fit no network: no history
        return getattr(inner, "history_", None)
    history = getattr(model, "history_", None)
    if history is None:
        raise ConfigError(
            f"evaluate: model={type(model).__name__} has no training history (history_); "
            "pass the fitted synthesizer that made the synthetic data, or leave model unset"
        )
    return history


def _dp_note(spent: dict) -> str:
    if spent.get("method") in ("aim", "mst"):
        rounds = len(spent.get("rounds") or [])
        return (
            f"The synthetic rows come from a differentially private model ({spent['method'].upper()}, marginals "
            f"and a graphical model): epsilon {spent['epsilon']:.2f} spent of {spent['epsilon_budget']:g} (delta "
            f"{spent['delta']:.0e}; zCDP rho {spent['rho_spent']:.4f} of {spent['rho_budget']:.4f}, "
            f"{spent['rho_preprocessing']:.4f} on private domains and bins); {len(spent['measurements'])} noisy "
            f"marginals measured" + (f" over {rounds} rounds" if spent["method"] == "aim" else "") + ". Categories "
            f"with fewer than about {spent['release_threshold']:.0f} rows were not released."
        )
    return (
        f"The generator was trained with differential privacy: epsilon {spent['epsilon']:.2f} spent of "
        f"{spent['epsilon_budget']:g} (delta {spent['delta']:.0e}); {spent['epsilon_statistics']:.2f} on the "
        f"transformer's statistics, {spent['epsilon_training']:.2f} on DP-SGD ({spent['accountant']})."
    )


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"evaluate: {name}={value!r}: expected an integer >= {low}")


def _why_no_utility(goal, tables) -> str | None:
    if goal is None:
        return "Skipped: no target column was given (evaluate(..., target='column'))."
    if tables.holdout is None:
        return (
            "Skipped: no holdout was given. Utility needs real rows the generator never saw "
            "(evaluate(..., holdout=test_df)); scoring on its training rows would reward copying them."
        )
    if not feature_spec(tables.schema, goal.name).columns:
        return f"Skipped: the table has no columns besides the target {goal.name!r} to predict it from."
    return None


def _describe(tables, goal, seed: int) -> dict:
    kinds = Counter(c.kind.value for c in tables.schema.columns)
    out = {
        "real rows": len(tables.real),
        "synthetic rows": len(tables.synthetic),
        "holdout rows": len(tables.holdout) if tables.holdout is not None else "none",
        "columns": len(tables.schema.columns),
        "column kinds": dict(kinds),
    }
    if goal is not None:
        out["target"] = str(goal.name)
        out["task"] = goal.task
        if goal.minority is not None:
            out["minority class"] = goal.minority
    out["seed"] = seed
    return out
