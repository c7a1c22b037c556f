"""Attribute inference: does the synthetic table help guess a person's secret from their other columns?

The attacker holds the synthetic table and, for a target person, the ``known`` columns; they
guess a ``sensitive`` column with the value of the synthetic row nearest in the known columns
(1-nearest neighbour in a :class:`~synthgan.privacy.space.MixedSpace` fitted on the synthetic
rows alone, the attacker's only data; synthetic rows are shuffled with the seed first, so ties
between equally near rows are broken at random). This is the inference attack of anonymeter
(M. Giomi et al., "A Unified Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs
2023) and of CAP (M.-J. Elliot, "Final report on the disclosure risk associated with the
synthetic data produced by the SYLLS team", 2014), with the guess taken from the nearest row.

The guess is scored on training rows (members) and on holdout rows (non-members), against an
attacker who holds only the synthetic marginals (the most frequent category / the median):

- categories and booleans (missing is a category): accuracy;
- numbers and datetimes (datetimes as seconds): ``skill = 1 - MAE / MAE of the median guess``
  (1: exact, 0: no better than the marginals, below 0: worse). Rows whose true value is
  missing are not scored; a guess taken from a missing synthetic value falls back to the median.

Guessing well on non-members is what a faithful table allows about anyone (population-level
inference, the purpose of the data); the privacy-relevant figure is ``member_advantage``,
members minus non-members: what the table reveals about the people it was trained on beyond
what it reveals about everyone.

When sdmetrics is installed, its DisclosureProtection (CAP, continuous columns in 10 bins;
1 = protected, 0 = disclosed) of at most :data:`CAP_ROWS` members and non-members is a
second figure. It compares equivalence classes of binned known columns, so it mostly measures
population-level inference and is less sensitive to copying (on a verbatim copy where the
nearest-neighbour guess was right for 100% of members and 50% of non-members, CAP scored 0.90
for members and 1.00 for non-members).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.errors import ConfigError, DataError
from synthgan.privacy.filter import check_columns
from synthgan.privacy.metrics import MAX_ROWS, embed_rows, sample_positions
from synthgan.privacy.space import NUMERIC_KINDS, MixedSpace, as_float, category_texts, nearest
from synthgan.schema import ColumnKind, Schema, detect_schema

#: rows of train and of holdout the sdmetrics DisclosureProtection figure uses (CAP loops in Python)
CAP_ROWS = 2_000
#: synthetic rows the CAP figure searches, as a multiple of CAP_ROWS
CAP_SYNTHETIC_FACTOR = 5


@dataclass(frozen=True)
class AttributeRisk:
    """How well one sensitive column is guessed; see the module docstring for the figures.

    ``metric`` is ``"accuracy"`` (categories) or ``"skill"`` (numbers); ``members`` and
    ``non_members`` are the attacker's figure on each group, ``baseline_members`` and
    ``baseline_non_members`` the marginal-only attacker's (for ``"skill"`` always 0).
    ``mae_*`` are the mean absolute errors behind a skill (column units; seconds for
    datetimes), None for categories. ``cap_*`` are sdmetrics' DisclosureProtection scores, None
    when not computed.
    """

    column: str
    metric: str
    members: float
    non_members: float
    baseline_members: float
    baseline_non_members: float
    n_members: int
    n_non_members: int
    mae_members: float | None = None
    mae_non_members: float | None = None
    mae_baseline_members: float | None = None
    mae_baseline_non_members: float | None = None
    cap_members: float | None = None
    cap_non_members: float | None = None

    @property
    def member_advantage(self) -> float:
        """Members minus non-members: what the table reveals about its own training rows."""
        return self.members - self.non_members

    @property
    def advantage_over_marginals(self) -> float:
        """Members' figure minus the marginal-only attacker's on members."""
        return self.members - self.baseline_members

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["member_advantage"] = self.member_advantage
        out["advantage_over_marginals"] = self.advantage_over_marginals
        return out


def attribute_columns(schema: Schema, sensitive, known=None) -> tuple[list, list]:
    """``(sensitive, known)`` as lists, ``known`` defaulting to every other non-identifier column.

    Raises one :class:`ConfigError` listing every problem (see :func:`attribute_inference`).
    """
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    sensitive = list(sensitive or [])
    problems = []
    if not sensitive:
        problems.append("sensitive must name at least one column")
    usable = {c.name for c in schema.columns if c.kind is not ColumnKind.ID}
    for name in sensitive:
        if name not in schema.names:
            problems.append(f"sensitive column {name!r} is not in the training table")
        elif name not in usable:
            problems.append(f"sensitive column {name!r} is an identifier column (unique per row: nothing to infer)")
    if known is None:
        known = [c for c in schema.names if c in usable and c not in sensitive]
    else:
        known = [known] if isinstance(known, str) else list(known)
        for name in known:
            if name not in schema.names:
                problems.append(f"known column {name!r} is not in the training table")
            elif name in sensitive:
                problems.append(f"column {name!r} is both known and sensitive; leave it out of known")
    if not known and sensitive:
        problems.append("no known column is left to guess from; pass known=[...] with at least one column")
    if problems:
        raise ConfigError("attribute_inference: " + "; ".join(problems))
    return sensitive, known


def _truth(df: pd.DataFrame, name: str, kind: ColumnKind) -> np.ndarray:
    return as_float(df[name], kind) if kind in NUMERIC_KINDS else category_texts(df[name])


def _score(kind, guess, baseline_guess, truth) -> tuple[float, float, float | None, float | None]:
    """(figure, baseline figure, MAE, baseline MAE) of guesses against the truth."""
    if kind not in NUMERIC_KINDS:
        return float(np.mean(guess == truth)), float(np.mean(baseline_guess == truth)), None, None
    scored = np.isfinite(truth)
    if not scored.any():
        return float("nan"), 0.0, None, None
    guess = np.where(np.isfinite(guess), guess, baseline_guess)[scored]
    mae = float(np.mean(np.abs(guess - truth[scored])))
    mae_base = float(np.mean(np.abs(baseline_guess - truth[scored])))
    skill = 1.0 - mae / mae_base if mae_base > 0 else (1.0 if mae == 0 else 0.0)
    return skill, 0.0, mae, mae_base


def _cap(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, known: list, secret: str) -> float | None:
    """sdmetrics' DisclosureProtection score, or None when sdmetrics is absent or refuses the data."""
    try:
        from sdmetrics.single_table import DisclosureProtection
    except ImportError:
        return None
    columns = [*known, secret]
    numeric = [c for c in columns if schema[c].kind in NUMERIC_KINDS]

    def prepare(df):
        out = df[columns].copy()
        for c in columns:
            kind = schema[c].kind
            out[c] = as_float(df[c], kind) if kind in NUMERIC_KINDS else category_texts(df[c])
        return out

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = DisclosureProtection.compute_breakdown(
                prepare(real), prepare(synthetic), known, [secret], continuous_column_names=numeric or None
            )
    except (ValueError, TypeError, KeyError):
        return None
    return float(result["score"])


def attribute_inference(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    sensitive,
    known=None,
    *,
    schema: Schema | None = None,
    metadata=None,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    cap: bool = True,
    device: str = "cpu",
) -> dict[str, AttributeRisk]:
    """Attribute inference risk of every ``sensitive`` column; ``{column: AttributeRisk}``.

    ``known`` (default: every other non-identifier column) are the columns the attacker knows
    about a target. At most ``max_rows`` rows of each table are used (seeded samples).
    ``cap=False`` skips the sdmetrics figure (about 1-2 s per column at :data:`CAP_ROWS` rows).

    Raises :class:`ConfigError` when a sensitive or known column is unknown, an identifier, in
    both lists, or nothing is left to guess from; :class:`DataError` for an empty table;
    :class:`~synthgan.errors.SchemaError` when a table's columns differ from ``train``'s.
    """
    for name, df in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise DataError(f"attribute inference: the {name} table is empty (0 rows) or not a DataFrame")
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
        raise ConfigError(f"attribute_inference: max_rows must be an integer >= 1, got {max_rows!r}")
    schema = schema if schema is not None else detect_schema(train, metadata)
    check_columns(schema, synthetic, "synthetic")
    check_columns(schema, holdout, "holdout")
    sensitive, known = attribute_columns(schema, sensitive, known)
    rng = np.random.default_rng(seed)
    train, synthetic, holdout = (schema.canonical(df) for df in (train, synthetic, holdout))
    members = train.iloc[sample_positions(len(train), max_rows, rng)]
    non_members = holdout.iloc[sample_positions(len(holdout), max_rows, rng)]
    synthetic = synthetic.iloc[rng.permutation(len(synthetic))[: 10 * max_rows]]

    known_schema = Schema(tuple(c for c in schema.columns if c.name in known))
    space = MixedSpace.fit(synthetic, known_schema)
    points = embed_rows(space, synthetic)
    nearest_of = {
        group: nearest(embed_rows(space, df), points, 1, device=device)[1][:, 0]
        for group, df in (("members", members), ("non_members", non_members))
    }
    results = {}
    for secret in sensitive:
        kind = schema[secret].kind
        values = _truth(synthetic, secret, kind)
        if kind in NUMERIC_KINDS:
            finite = values[np.isfinite(values)]
            baseline = float(np.median(finite)) if len(finite) else 0.0
        else:
            texts, counts = np.unique(values, return_counts=True)
            baseline = texts[np.argmax(counts)]
        scored = {
            group: _score(kind, values[idx], baseline, _truth(df, secret, kind))
            for (group, idx), df in zip(nearest_of.items(), (members, non_members))
        }
        m, n = scored["members"], scored["non_members"]
        cap_m = cap_n = None
        if cap:
            cap_rng = np.random.default_rng(seed)
            cap_syn = synthetic.iloc[: CAP_SYNTHETIC_FACTOR * CAP_ROWS]  # already shuffled
            cap_m = _cap(members.iloc[sample_positions(len(members), CAP_ROWS, cap_rng)], cap_syn, schema, known, secret)
            cap_n = _cap(non_members.iloc[sample_positions(len(non_members), CAP_ROWS, cap_rng)], cap_syn, schema, known, secret)
        results[secret] = AttributeRisk(
            column=secret,
            metric="skill" if kind in NUMERIC_KINDS else "accuracy",
            members=m[0],
            non_members=n[0],
            baseline_members=m[1],
            baseline_non_members=n[1],
            n_members=len(members),
            n_non_members=len(non_members),
            mae_members=m[2],
            mae_non_members=n[2],
            mae_baseline_members=m[3],
            mae_baseline_non_members=n[3],
            cap_members=cap_m,
            cap_non_members=cap_n,
        )
    return results
