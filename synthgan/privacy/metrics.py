"""Privacy metrics: how close synthetic rows come to training rows, against unseen real rows.

Every measure compares the synthetic rows with the holdout, real rows the generator never saw.
Both sets face the same training table in the same space (:mod:`synthgan.privacy.space`), so a
generator that learned the distribution rather than the rows scores like the holdout:

- DCR, distance to the closest training record, of synthetic and of holdout rows;
- NNDR, distance to the nearest training record divided by the distance to the second
  nearest (0/0 counts as 1): near 0, a row sits on one training record and far from the rest;
- closer to train: the share of synthetic rows nearer a training row than a holdout row. The
  training rows are subsampled to the holdout's size (or the holdout to the training's), so
  0.5 is what an independent sample scores; ties count half. The subsample dilutes copying: a
  verbatim copy of a training table twice the holdout's size scores about 0.75, not 1 (copies
  of rows outside the subsample look like new data); the attack and exact matches are not diluted;
- exact matches (:mod:`synthgan.privacy.exact`) of synthetic rows, next to the holdout's own
  rate (real data has natural duplicates);
- a membership inference attack: the attacker scores a record by minus its DCR to the
  synthetic rows; members are training rows, non-members holdout rows (equal numbers). ROC
  AUC 0.5: the synthetic data tells the attacker nothing about who was in the training set.
  The attacker searches up to ``ATTACK_ROWS_FACTOR * max_rows`` synthetic rows.

Stronger attacks (:mod:`synthgan.privacy.attacks`, :mod:`synthgan.privacy.attribute`) come in as
an :class:`AttackEvidence`; :func:`attack_grade` judges each membership attack, and the section's
verdict is the worst of the attacks' and the checks below.

Verdict of the checks here, the worst of: attack AUC (good <= :data:`MIA_GOOD`, poor > :data:`MIA_POOR`), closer to
train (good <= :data:`CLOSER_GOOD`, poor > :data:`CLOSER_POOR`), exact matches beyond the
holdout's rate (good <= :data:`EXACT_GOOD`, poor > :data:`EXACT_POOR`). Without a holdout only
exact matches are judged, and only a poor result gives a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from synthgan.errors import DataError
from synthgan.privacy.exact import ExactMatchIndex
from synthgan.privacy.filter import check_columns
from synthgan.privacy.space import MixedSpace, nearest
from synthgan.report.section import Figure, Headline, Section, Table
from synthgan.schema import Schema, detect_schema

#: rows of the synthetic and of the holdout table the distance metrics use (seeded samples)
MAX_ROWS = 10_000
#: synthetic rows the membership attacker searches, as a multiple of ``max_rows``: the attack
#: sees (nearly) all the synthetic data, or a sample would hide copies from it
ATTACK_ROWS_FACTOR = 10
MIA_GOOD, MIA_POOR = 0.55, 0.65
#: membership attacks of :mod:`synthgan.privacy.attacks` (see :func:`attack_grade`): AUC and the true
#: positive rate at 1% false positive rate
ATTACK_AUC_GOOD, ATTACK_AUC_POOR = 0.55, 0.65
TPR_GOOD, TPR_POOR = 0.03, 0.10
#: the false positive rate the verdict reads the true positive rate at (chance level: this rate)
VERDICT_FPR = 0.01
CLOSER_GOOD, CLOSER_POOR = 0.60, 0.75
EXACT_GOOD, EXACT_POOR = 0.002, 0.02
#: quantiles shown in the distance table
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)
#: the holdout DCR quantile a synthetic row "beats" when it is closer (the filter's default)
LOW_QUANTILE = 0.05
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class PrivacyResult:
    """Distances and scores of :func:`privacy_metrics`; holdout-based fields are None without a holdout."""

    dcr_synthetic: np.ndarray
    nndr_synthetic: np.ndarray
    exact_match_rate: float
    dcr_holdout: np.ndarray | None = None
    nndr_holdout: np.ndarray | None = None
    holdout_exact_match_rate: float | None = None
    closer_to_train: float | None = None
    below_holdout_low: float | None = None  # share of synthetic DCRs under the holdout's LOW_QUANTILE
    mia_auc: float | None = None
    n_train: int = 0
    n_synthetic: int = 0
    n_holdout: int = 0
    n_attack: int = 0  # members (and as many non-members) in the attack and the closer-to-train share

    @property
    def excess_exact_match_rate(self) -> float:
        return self.exact_match_rate - (self.holdout_exact_match_rate or 0.0)

    @property
    def verdict(self) -> str | None:
        exact = _grade(self.excess_exact_match_rate, EXACT_GOOD, EXACT_POOR)
        if self.mia_auc is None:
            return "poor" if exact == "poor" else None
        grades = [
            exact,
            _grade(self.mia_auc, MIA_GOOD, MIA_POOR),
            _grade(self.closer_to_train, CLOSER_GOOD, CLOSER_POOR),
        ]
        return "poor" if "poor" in grades else "fair" if "fair" in grades else "good"


def attack_grade(result) -> str:
    """Verdict on one membership attack (an :class:`~synthgan.privacy.attacks.AttackResult`).

    "good": AUC <= :data:`ATTACK_AUC_GOOD` and the *upper* end of the confidence interval of the
    true positive rate at 1% false positive rate <= :data:`TPR_GOOD`, so a table too small to
    show a low rate is not rated good; "poor": AUC > :data:`ATTACK_AUC_POOR`, or the rate >
    :data:`TPR_POOR` with the interval's lower end above chance (1%), so one lucky hit among a
    few non-members is not called a leak; "fair" otherwise.
    """
    auc, tpr = result.auc.value, result.tpr_at_fpr[VERDICT_FPR]
    if auc > ATTACK_AUC_POOR or (tpr.value > TPR_POOR and tpr.low > VERDICT_FPR):
        return "poor"
    if auc <= ATTACK_AUC_GOOD and tpr.high <= TPR_GOOD:
        return "good"
    return "fair"


def worst(*verdicts: str | None) -> str | None:
    """The worst of "good" / "fair" / "poor" (None entries ignored; None when all are)."""
    given = [v for v in verdicts if v is not None]
    for v in ("poor", "fair", "good"):
        if v in given:
            return v
    return None


def _grade(value: float, good: float, poor: float) -> str:
    return "good" if value <= good else "poor" if value > poor else "fair"


def nndr(distances: np.ndarray) -> np.ndarray:
    """First over second nearest distance, per row of an (n, 2) array; 0/0 counts as 1."""
    ratio = np.ones(len(distances))
    np.divide(distances[:, 0], distances[:, 1], out=ratio, where=distances[:, 1] > 0)
    return ratio


def closer_share(to_train: np.ndarray, to_holdout: np.ndarray) -> float:
    """Share of rows nearer the training sample than the holdout sample; ties count half."""
    return float(np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout))


def membership_auc(member_dcr: np.ndarray, non_member_dcr: np.ndarray) -> float:
    """ROC AUC of the attack that calls a record a member the closer it is to a synthetic row."""
    labels = np.r_[np.ones(len(member_dcr)), np.zeros(len(non_member_dcr))]
    return float(roc_auc_score(labels, -np.r_[member_dcr, non_member_dcr]))


def sample_positions(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a seeded sample of at most ``size`` of ``n`` rows (all of them when n <= size)."""
    return np.sort(rng.permutation(n)[:size])


def embed_rows(space: MixedSpace, df: pd.DataFrame, chunk: int = 65_536) -> np.ndarray:
    """``space.transform`` of ``df``, ``chunk`` rows at a time (bounds the memory of the text conversions)."""
    return np.concatenate([space.transform(df.iloc[s : s + chunk]) for s in range(0, len(df), chunk)])


def privacy_metrics(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    schema: Schema | None = None,
    metadata=None,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    device: str = "cpu",
) -> PrivacyResult:
    """Measure how close ``synthetic`` comes to ``train``, with ``holdout`` as the reference.

    ``schema`` (e.g. the one :func:`synthgan.evaluate` detected) or ``metadata`` sets the column
    kinds; identifier columns are left out. Distances use at most ``max_rows`` synthetic and
    holdout rows (seeded samples) against all training rows; exact-match rates use every row.
    """
    for name, df in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
        if df is not None and (not isinstance(df, pd.DataFrame) or len(df) == 0):
            raise DataError(f"privacy metrics: the {name} table is empty (0 rows) or not a DataFrame")
    schema = schema if schema is not None else detect_schema(train, metadata)
    check_columns(schema, synthetic, "synthetic")
    if holdout is not None:
        check_columns(schema, holdout, "holdout")
    if len(train) < 2:
        raise DataError("privacy metrics: the train table needs at least 2 rows (NNDR uses two neighbours)")
    rng = np.random.default_rng(seed)
    space = MixedSpace.fit(train, schema)
    reference = embed_rows(space, train)
    synth = synthetic.iloc[sample_positions(len(synthetic), max_rows, rng)]
    synth_points = embed_rows(space, synth)
    d_synth = nearest(synth_points, reference, 2, device=device)[0]

    index = ExactMatchIndex.build(train, schema)
    common = dict(
        dcr_synthetic=d_synth[:, 0],
        nndr_synthetic=nndr(d_synth),
        exact_match_rate=float(index.mask(synthetic).mean()),
        n_train=len(train),
        n_synthetic=len(synth),
    )
    if holdout is None:
        return PrivacyResult(**common)

    hold = holdout.iloc[sample_positions(len(holdout), max_rows, rng)]
    hold_points = embed_rows(space, hold)
    d_hold = nearest(hold_points, reference, 2, device=device)[0]
    m = min(len(train), len(hold))
    members = reference[sample_positions(len(train), m, rng)]
    non_members = hold_points[sample_positions(len(hold), m, rng)]
    to_train = nearest(synth_points, members, 1, device=device)[0][:, 0]
    to_holdout = nearest(synth_points, non_members, 1, device=device)[0][:, 0]
    attacker_rows = sample_positions(len(synthetic), ATTACK_ROWS_FACTOR * max_rows, rng)
    attacker = embed_rows(space, synthetic.iloc[attacker_rows])
    return PrivacyResult(
        **common,
        dcr_holdout=d_hold[:, 0],
        nndr_holdout=nndr(d_hold),
        holdout_exact_match_rate=float(index.mask(holdout).mean()),
        closer_to_train=closer_share(to_train, to_holdout),
        below_holdout_low=float(np.mean(d_synth[:, 0] < np.quantile(d_hold[:, 0], LOW_QUANTILE))),
        mia_auc=membership_auc(
            nearest(members, attacker, 1, device=device)[0][:, 0],
            nearest(non_members, attacker, 1, device=device)[0][:, 0],
        ),
        n_holdout=len(hold),
        n_attack=m,
    )


# -- report section ----------------------------------------------------------------------------


def _histogram(title: str, synthetic: np.ndarray, holdout: np.ndarray | None, high: float) -> Figure:
    """Shares of rows per distance bin, holdout (real) first so it takes the 'real' colour."""
    edges = np.linspace(0.0, high if high > 0 else 1.0, HISTOGRAM_BINS + 1)
    series = {}
    for name, values in (("holdout", holdout), ("synthetic", synthetic)):
        if values is not None:
            counts = np.histogram(np.clip(values, 0, edges[-1]), edges)[0]
            series[name] = tuple(float(c) for c in counts / max(len(values), 1))
    labels = tuple(f"{e:.2g}" for e in edges[:-1])
    caption = "Share of rows per bin (the last bin also holds everything beyond it)."
    return Figure("columns", title, labels, series, group="privacy distances", caption=caption)


def _quantile_table(result: PrivacyResult) -> Table:
    def q(values, p):
        return None if values is None else float(np.quantile(values, p))

    rows = tuple(
        (
            f"{p:.0%}",
            q(result.dcr_synthetic, p),
            q(result.dcr_holdout, p),
            q(result.nndr_synthetic, p),
            q(result.nndr_holdout, p),
        )
        for p in QUANTILES
    )
    return Table(
        "Distance quantiles",
        ("quantile", "DCR synthetic", "DCR holdout", "NNDR synthetic", "NNDR holdout"),
        rows,
        note="Distances to the closest training row (DCR) and nearest-to-second-nearest ratios (NNDR). "
        "Synthetic quantiles well below the holdout's mean rows closer to real people than new real data is.",
    )


def _notes(result: PrivacyResult) -> list[str]:
    notes = []
    if result.mia_auc is None:
        notes.append(
            "No holdout was given: distances cannot be compared with real rows the generator never saw, "
            "so only exact matches are judged. Pass holdout=test_df for the full privacy assessment."
        )
    else:
        notes.append(
            f"An attacker holding the synthetic data and guessing who was in the training set from how close a "
            f"record lies to a synthetic row reaches AUC {result.mia_auc:.3f} (0.5 = coin flip; good <= {MIA_GOOD}, "
            f"poor > {MIA_POOR})."
        )
        notes.append(
            f"{result.closer_to_train:.1%} of synthetic rows lie nearer a training row than a holdout row, with both "
            f"sets of equal size ({result.n_attack} rows): about 50% is what new real data scores; near 100% means "
            "the generator reproduces its training rows."
        )
    notes.append(
        f"{result.exact_match_rate:.2%} of synthetic rows are exact copies of a training row"
        + (
            f" (holdout rows: {result.holdout_exact_match_rate:.2%}, natural duplicates)."
            if result.holdout_exact_match_rate is not None
            else "."
        )
        + " Numbers are compared at the decimals recorded in the training data; identifiers are ignored."
    )
    notes.append(
        "Distances: numbers scaled by their robust spread, categories one-hot, datetimes as numbers, identifiers "
        "left out; root mean square over columns. PrivacyFilter removes copies and too-close rows before release."
    )
    return notes


def _headline(result: PrivacyResult) -> list[Headline]:
    return [
        Headline(
            "membership attack AUC",
            result.mia_auc,
            "0.5: the synthetic data does not reveal who was in the training set.",
        ),
        Headline("closer to train than holdout", result.closer_to_train, "About 0.5 is good; near 1 means copying."),
        Headline("exact matches", result.exact_match_rate, "Share of synthetic rows identical to a training row."),
        Headline(
            f"DCR below holdout {LOW_QUANTILE:.0%}",
            result.below_holdout_low,
            f"Share of synthetic rows closer to a training row than the closest {LOW_QUANTILE:.0%} of holdout rows; "
            f"about {LOW_QUANTILE} is expected.",
        ),
    ]


def _figures(result: PrivacyResult) -> list[Figure]:
    pooled = np.concatenate([result.dcr_synthetic, *([result.dcr_holdout] if result.dcr_holdout is not None else [])])
    high = float(np.quantile(pooled, 0.99))
    return [
        _histogram("Distance to closest training row", result.dcr_synthetic, result.dcr_holdout, high),
        _histogram("Nearest / second-nearest distance ratio", result.nndr_synthetic, result.nndr_holdout, 1.0),
    ]


def _quantiles(values: np.ndarray | None) -> dict | None:
    return None if values is None else {str(p): float(np.quantile(values, p)) for p in QUANTILES}


def _details(result: PrivacyResult) -> dict:
    return {
        "mia_auc": result.mia_auc,
        "closer_to_train": result.closer_to_train,
        "exact_match_rate": result.exact_match_rate,
        "holdout_exact_match_rate": result.holdout_exact_match_rate,
        "below_holdout_low": result.below_holdout_low,
        "rows": {
            "train": result.n_train,
            "synthetic": result.n_synthetic,
            "holdout": result.n_holdout,
            "attack": result.n_attack,
        },
        "dcr_quantiles": {"synthetic": _quantiles(result.dcr_synthetic), "holdout": _quantiles(result.dcr_holdout)},
        "nndr_quantiles": {"synthetic": _quantiles(result.nndr_synthetic), "holdout": _quantiles(result.nndr_holdout)},
        "thresholds": {
            "mia": [MIA_GOOD, MIA_POOR],
            "closer": [CLOSER_GOOD, CLOSER_POOR],
            "exact": [EXACT_GOOD, EXACT_POOR],
        },
    }


@dataclass
class AttackEvidence:
    """What the attacks of :func:`synthgan.evaluate` found, for :func:`privacy_section`.

    ``attacks``: ``{name: AttackResult}``; ``attributes``: ``{column: AttributeRisk}`` with
    ``known`` the columns the attribute attacker held; ``anonymeter``: an ``AnonymeterResult``
    or None when not run; ``notes``: what was skipped and why; ``settings``: how the attacks ran.
    """

    level: str | None
    attacks: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    known: tuple = ()
    anonymeter: object | None = None
    notes: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def grades(self) -> dict:
        return {name: attack_grade(r) for name, r in self.attacks.items()}

    @property
    def verdict(self) -> str | None:
        return worst(*self.grades.values())


def _interval(e) -> str:
    return f"[{e.low:.3f}, {e.high:.3f}]"


def _attack_tables(evidence: AttackEvidence) -> list[Table]:
    if not evidence.attacks:
        return []
    grades = evidence.grades
    rows = tuple(
        (
            name,
            r.auc.value,
            _interval(r.auc),
            r.tpr_at_fpr[0.01].value,
            _interval(r.tpr_at_fpr[0.01]),
            r.tpr_at_fpr[0.001].value,
            _interval(r.tpr_at_fpr[0.001]),
            r.n_members,
            r.n_non_members,
            grades[name],
        )
        for name, r in evidence.attacks.items()
    )
    confidence = next(iter(evidence.attacks.values())).confidence
    attacks = Table(
        "Membership attacks",
        ("attack", "AUC", "AUC interval", "TPR at 1% FPR", "interval", "TPR at 0.1% FPR", "interval",
         "members", "non-members", "verdict"),
        rows,
        note=f"Members are training rows, non-members holdout rows the generator never saw; {confidence:.0%} "
        "stratified bootstrap intervals. AUC 0.5 and a true positive rate equal to the false positive rate are "
        "what an attacker guessing at random scores. TPR at a low FPR counts the records an attacker can name "
        f"with few mistakes. Good: AUC <= {ATTACK_AUC_GOOD} and the upper end of the TPR-at-1%-FPR interval <= "
        f"{TPR_GOOD}; poor: AUC > {ATTACK_AUC_POOR} or TPR at 1% FPR > {TPR_POOR} (interval above chance).",
    )
    exposed_rows = []
    for name, r in evidence.attacks.items():
        for rank, (label, p) in enumerate(zip(r.most_exposed, r.exposed_p_values), start=1):
            exposed_rows.append((name, rank, label if r.exposed_by == "label" else f"position {label}", p))
    exposed = Table(
        "Most exposed training records",
        ("attack", "rank", "training row", "p-value"),
        tuple(exposed_rows),
        note="Row labels of the training table (its positions when labels repeat), never their values: the "
        "records each attack is surest were trained on. p-value: the share of non-members the attack scores at "
        "least as high (0: no unseen real record looks as exposed).",
        collapsed=True,
    )
    return [attacks, exposed]


def _attribute_table(evidence: AttackEvidence) -> list[Table]:
    if not evidence.attributes:
        return []
    rows = tuple(
        (
            col,
            r.metric,
            r.members,
            r.non_members,
            r.member_advantage,
            r.baseline_members,
            r.advantage_over_marginals,
            r.cap_members,
            r.cap_non_members,
        )
        for col, r in evidence.attributes.items()
    )
    return [
        Table(
            "Attribute inference",
            ("secret column", "metric", "members", "non-members", "member advantage", "marginals only",
             "advantage over marginals", "CAP members", "CAP non-members"),
            rows,
            note=f"An attacker who knows a person's {list(evidence.known)} guesses the secret from the nearest "
            "synthetic row (accuracy for categories; skill = 1 - MAE / MAE of the median guess for numbers). "
            "'member advantage' (members minus non-members) is what the table reveals about the people it was "
            "trained on beyond what it reveals about anyone; 'advantage over marginals' includes what any faithful "
            "table reveals. CAP: sdmetrics' DisclosureProtection (1 = protected).",
        )
    ]


def _anonymeter_parts(evidence: AttackEvidence) -> tuple[list[Table], list[str]]:
    result = evidence.anonymeter
    if result is None:
        return [], []
    if not result.installed or not result.risks:
        return [], [result.note] if result.note else []
    rows = tuple((name, e.value, _interval(e)) for name, e in result.risks.items())
    return [Table("anonymeter risks", ("evaluator", "risk", "interval"), rows, note=result.note)], []


def _attack_notes(evidence: AttackEvidence) -> list[str]:
    notes = []
    grades = evidence.grades
    for name, r in evidence.attacks.items():
        if grades[name] != "good":
            tpr = r.tpr_at_fpr[0.01]
            notes.append(
                f"The {name} membership attack rates privacy {grades[name]}: AUC {r.auc.value:.3f} "
                f"{_interval(r.auc)}, TPR at 1% FPR {tpr.value:.3f} {_interval(tpr)}; most exposed training rows "
                f"{list(r.most_exposed[:5])}."
            )
    return notes + list(evidence.notes)


def _attack_details(evidence: AttackEvidence) -> dict:
    grades = evidence.grades
    out = {
        "attacks": {
            "level": evidence.level,
            # without the wall time: same seed, same inputs, same report
            "results": {
                name: {**{k: v for k, v in r.to_dict().items() if k != "seconds"}, "verdict": grades[name]}
                for name, r in evidence.attacks.items()
            },
            "verdict": evidence.verdict,
            "thresholds": {"auc": [ATTACK_AUC_GOOD, ATTACK_AUC_POOR], "tpr_at_1pct_fpr": [TPR_GOOD, TPR_POOR]},
            "settings": dict(evidence.settings),
            "notes": list(evidence.notes),
        }
    }
    if evidence.attributes:
        out["attribute_inference"] = {
            "known": list(evidence.known),
            "columns": {col: r.to_dict() for col, r in evidence.attributes.items()},
        }
    if evidence.anonymeter is not None:
        out["anonymeter"] = evidence.anonymeter.to_dict()
    return out


def privacy_section(result: PrivacyResult, evidence: AttackEvidence | None = None) -> Section:
    """The report's ``privacy`` section; ``evidence`` adds the attacks (verdict: the worst of both)."""
    section = Section(
        key="privacy",
        title="Privacy",
        summary="How close synthetic rows come to real training rows, compared with real rows the generator never saw.",
        verdict=result.verdict,
        headline=_headline(result),
        notes=_notes(result),
        tables=[_quantile_table(result)],
        figures=_figures(result),
        details=_details(result),
    )
    if evidence is None:
        return section
    section.verdict = worst(result.verdict, evidence.verdict)
    if evidence.attacks:
        strongest = max(evidence.attacks.values(), key=lambda r: (r.auc.value, r.tpr_at_fpr[0.01].value))
        section.headline[:0] = [
            Headline(
                "strongest attack AUC",
                max(r.auc.value for r in evidence.attacks.values()),
                f"Best ROC AUC of {len(evidence.attacks)} membership attacks ({', '.join(evidence.attacks)}); "
                f"0.5 is chance (good <= {ATTACK_AUC_GOOD}, poor > {ATTACK_AUC_POOR}).",
            ),
            Headline(
                "attack TPR at 1% FPR",
                max(r.tpr_at_fpr[0.01].value for r in evidence.attacks.values()),
                f"Share of training records the best attack names at a 1% false alarm rate; 0.01 is chance "
                f"(good: interval up to {TPR_GOOD}, poor > {TPR_POOR}).",
            ),
        ]
        section.summary += (
            f" Membership attacks ({evidence.level}): the strongest, {strongest.attack}, reaches AUC "
            f"{strongest.auc.value:.3f}."
        )
    anonymeter_tables, anonymeter_notes = _anonymeter_parts(evidence)
    section.notes[:0] = _attack_notes(evidence)
    section.notes.extend(anonymeter_notes)
    section.tables.extend(_attack_tables(evidence) + _attribute_table(evidence) + anonymeter_tables)
    section.details.update(_attack_details(evidence))
    return section
