"""``PrivacyFilter``: drop synthetic rows that copy, nearly copy or single out a training row.

Three checks, run in this order on every row; a row is dropped for the first one it fails
(its reason), and later, costlier checks only look at the rows still kept:

1. ``exact_match``: the row equals a training row after normalisation
   (:mod:`synthgan.privacy.exact`). On by default; ``exact=False`` opts out.
2. ``rare_combination``: its quasi-identifier combination occurs fewer than ``k`` times in
   the training table (:mod:`synthgan.privacy.rare`); with ``rare_mode="generalise"`` the row
   is generalised instead when that makes it common, and dropped otherwise. A generalised
   row is checked for an exact match again.
3. ``dcr``: its distance to the closest training record (:mod:`synthgan.privacy.space`) is
   below a threshold: the ``dcr_quantile`` quantile of the same distance measured for real
   rows the generator never saw (the holdout). Such a row is closer to a training row than
   all but that share of genuinely new real rows are. Without a holdout, ``fit`` sets aside
   a seeded ``holdout_fraction`` of the training rows and measures their distances to the
   rest; rows are still filtered against *all* training rows. (Distances to 80% of the rows
   run slightly larger than to all of them, so the threshold errs on the strict side.)
4. ``membership_risk`` (off by default; ``membership_risk=share`` switches it on): protects the
   training records a membership attack exposes first. A density-ratio attack (DOMIAS, see
   :mod:`synthgan.privacy.attacks`) names a training record when the synthetic rows are much
   denser at it than the population is; that happens first to *isolated* records, where the
   population is sparse, so one synthetic row near one gives it away. At ``fit``, every
   training record's isolation ``r_k`` is its distance to its :data:`ISOLATION_K`-th nearest
   other training record, and the ``share`` most isolated records are protected. A synthetic
   row is dropped when it lies within ``membership_radius * r_k`` of a protected record: it
   sits nearer that person than their :data:`ISOLATION_K`-th nearest real neighbour, in a
   region where new real data rarely falls. Fitting costs one nearest-neighbour search of the
   training table against itself (quadratic in its rows). A larger radius removes more rows
   (fidelity) and leaves an emptier neighbourhood around the protected records, which a
   sophisticated attacker could notice in turn; 0.5 keeps both small.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from tqdm.auto import tqdm

from synthgan.config import _Frozen, validate
from synthgan.errors import ConfigError, DataError, NotFittedError, SchemaError, listing
from synthgan.privacy.exact import ExactMatchIndex
from synthgan.privacy.rare import Generalisation, RareCombinations
from synthgan.privacy.space import MAX_BLOCK, MixedSpace, _device, nearest
from synthgan.forms import to_canonical
from synthgan.schema import ColumnKind, Schema, detect_schema

#: drop reasons, in the order the checks run
REASONS = ("exact_match", "rare_combination", "dcr", "membership_risk")
#: a training record's isolation is its distance to its ISOLATION_K-th nearest other training record
ISOLATION_K = 5
#: holdout rows the DCR threshold is estimated from (a seeded sample when there are more)
THRESHOLD_ROWS = 20_000
#: rows embedded at once when computing distances (bounds memory with ``max_block``)
CHUNK_ROWS = 65_536


class FilterOptions(_Frozen):
    """Validated options of :class:`PrivacyFilter` (documented there)."""

    exact: bool = True
    dcr_quantile: float | None = Field(0.05, gt=0, lt=1)
    quasi_identifiers: tuple[Any, ...] | None = None
    k: int = Field(5, ge=1)
    rare_mode: Literal["drop", "generalise"] = "drop"
    qi_bins: int = Field(10, ge=2)
    coarse_bins: int = Field(4, ge=2)
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    membership_risk: float | None = Field(None, gt=0, le=1)
    membership_radius: float = Field(0.5, gt=0)
    seed: int = Field(0, ge=0)
    device: str = "cpu"
    max_block: int = Field(MAX_BLOCK, ge=1)
    verbose: bool = True


class PassCounts:
    """``n_input`` and ``pass_rate`` of a filter result holding ``kept`` and ``dropped``."""

    @property
    def n_input(self) -> int:
        return len(self.kept) + len(self.dropped)

    @property
    def pass_rate(self) -> float:
        return len(self.kept) / self.n_input if self.n_input else float("nan")


@dataclass(frozen=True)
class FilterResult(PassCounts):
    """What :meth:`PrivacyFilter.filter` kept and dropped, and why.

    ``kept`` holds the released rows (generalised ones rewritten), ``dropped`` the others as
    given; both keep the input's index. ``reasons`` gives each dropped row's first failed
    check (index of ``dropped``); ``counts`` the rows dropped per reason (every reason
    present, zeros included). ``distances``: each input row's distance to the closest
    training record, NaN where it was not computed (DCR off, or dropped earlier).
    """

    kept: pd.DataFrame
    dropped: pd.DataFrame
    reasons: pd.Series
    counts: dict
    n_generalised: int = 0  # kept rows whose quasi-identifiers were generalised
    threshold: float | None = None
    distances: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))

    def __repr__(self) -> str:
        why = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"<FilterResult: kept {len(self.kept)} of {self.n_input} ({self.pass_rate:.1%}); dropped {why}>"


class PrivacyFilter:
    """Removes synthetic rows that copy, nearly copy or single out training rows.

    Parameters
    ----------
    exact : drop exact copies of training rows (after normalisation). Opt out explicitly.
    dcr_quantile : drop rows closer to a training row than this quantile of holdout-to-train
        distances (in (0, 1); None switches the distance check off).
    quasi_identifiers : columns whose combination may identify a person (age, sex, zip).
    k : a QI combination seen fewer than ``k`` times in training is rare.
    rare_mode : ``"drop"`` rare rows, or ``"generalise"`` them (see :mod:`synthgan.privacy.rare`).
    qi_bins : training-quantile bins continuous and datetime QIs are matched on.
    coarse_bins : bins numeric QIs are generalised to.
    holdout_fraction : share of the training rows set aside to set the DCR threshold when
        ``fit`` gets no holdout.
    membership_risk : share of the training records, the most isolated first, whose
        neighbourhood is kept free of synthetic rows (in (0, 1], e.g. 0.05; None, the default,
        switches the check off). See the module docstring.
    membership_radius : a synthetic row within this multiple of a protected record's distance
        to its ``ISOLATION_K``-th nearest other training record is dropped.
    metadata : column-kind overrides, as for ``TabularSynthesizer.fit``.
    seed : seeds the holdout split and samples.
    device : where distances are computed (``"cpu"``, ``"cuda"``, ``"auto"``).
    max_block : pairwise distances computed at once (memory: 4 bytes each).
    verbose : progress bar when distances are computed for more than one chunk of rows.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> df = load_wine(as_frame=True).frame
    >>> filt = PrivacyFilter(dcr_quantile=0.05, verbose=False).fit(df.iloc[:120], holdout=df.iloc[120:])
    >>> result = filt.filter(df.iloc[:10])   # training rows: exact copies
    >>> result.counts["exact_match"], len(result.kept)
    (10, 0)
    """

    def __init__(
        self,
        exact: bool = True,
        dcr_quantile: float | None = 0.05,
        quasi_identifiers: list | None = None,
        k: int = 5,
        rare_mode: str = "drop",
        qi_bins: int = 10,
        coarse_bins: int = 4,
        holdout_fraction: float = 0.2,
        membership_risk: float | None = None,
        membership_radius: float = 0.5,
        metadata=None,
        seed: int = 0,
        device: str = "cpu",
        max_block: int = MAX_BLOCK,
        verbose: bool = True,
    ):
        self.exact = exact
        self.dcr_quantile = dcr_quantile
        self.quasi_identifiers = quasi_identifiers
        self.k = k
        self.rare_mode = rare_mode
        self.qi_bins = qi_bins
        self.coarse_bins = coarse_bins
        self.holdout_fraction = holdout_fraction
        self.membership_risk = membership_risk
        self.membership_radius = membership_radius
        self.metadata = metadata
        self.seed = seed
        self.device = device
        self.max_block = max_block
        self.verbose = verbose

    # -- fit ------------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, holdout: pd.DataFrame | None = None) -> "PrivacyFilter":
        """Learn what the training rows look like, and the DCR threshold from ``holdout``."""
        qis = self.quasi_identifiers
        if isinstance(qis, str):
            raise ConfigError(
                f"PrivacyFilter: quasi_identifiers={qis!r}: expected a list of column names, e.g. [{qis!r}]"
            )
        opts = validate(
            FilterOptions, "PrivacyFilter", **{n: getattr(self, n) for n in FilterOptions.model_fields}
        )
        if not isinstance(train, pd.DataFrame) or len(train) == 0:
            raise DataError("PrivacyFilter.fit: the training table is empty (0 rows) or not a DataFrame")
        schema = detect_schema(train, self.metadata)
        self.schema_ = schema
        self.columns_ = [c.name for c in schema.columns if c.kind is not ColumnKind.ID]
        if not self.columns_:
            raise DataError("PrivacyFilter.fit: every column is an identifier; there is nothing to compare")
        self._check_qis(opts, schema)
        if holdout is not None:
            self.check_rows(holdout, "holdout")
        self._opts = opts
        rng = np.random.default_rng(opts.seed)
        self.exact_ = ExactMatchIndex.build(train, schema) if opts.exact else None
        self.rare_, self.generalisation_ = None, None
        if opts.quasi_identifiers:
            qis = list(opts.quasi_identifiers)
            self.rare_ = RareCombinations.fit(train, schema, qis, opts.k, opts.qi_bins)
            if opts.rare_mode == "generalise":
                self.generalisation_ = Generalisation.fit(train, schema, qis, opts.k, opts.coarse_bins)
        self.space_, self.reference_, self.threshold_ = None, None, None
        self.protected_, self.protected_radii_ = None, None
        if opts.dcr_quantile is not None or opts.membership_risk is not None:
            self.space_ = MixedSpace.fit(train, schema)
            self.reference_ = self._embed(train)
        if opts.dcr_quantile is not None:
            self.threshold_ = self._threshold(train, holdout, opts, rng)
        if opts.membership_risk is not None:
            self._protect(train, opts)
        self.options_ = opts
        return self

    def _check_qis(self, opts: FilterOptions, schema: Schema) -> None:
        names = schema.names
        for name in opts.quasi_identifiers or ():
            if name not in names:
                close = difflib.get_close_matches(str(name), [str(c) for c in names], n=3)
                hint = f"; did you mean {close}?" if close else f"; the columns are {listing(names)}"
                raise ConfigError(
                    f"PrivacyFilter: quasi-identifier {name!r} is not a column of the training table{hint}"
                )
            if schema[name].kind is ColumnKind.ID:
                raise ConfigError(
                    f"PrivacyFilter: quasi-identifier {name!r} is an identifier column (unique per row): every "
                    "combination with it is rare. Leave it out, or declare its kind with metadata=..."
                )
        if opts.quasi_identifiers is not None and len(set(opts.quasi_identifiers)) != len(opts.quasi_identifiers):
            raise ConfigError(f"PrivacyFilter: quasi_identifiers {list(opts.quasi_identifiers)} name a column twice")

    def _threshold(self, train, holdout, opts: FilterOptions, rng: np.random.Generator) -> float:
        """The ``dcr_quantile`` quantile of holdout-to-train distances (see the module docstring)."""
        if holdout is not None:
            sample = holdout.iloc[rng.permutation(len(holdout))[:THRESHOLD_ROWS]]
            distances = self._distances(sample, self.reference_)
        else:
            order = rng.permutation(len(train))
            n_hold = min(max(1, round(len(train) * opts.holdout_fraction)), len(train) - 1)
            held, rest = order[:n_hold][:THRESHOLD_ROWS], order[n_hold:]
            distances = self._distances(train.iloc[held], self.reference_[rest])
        return float(np.quantile(distances, opts.dcr_quantile))

    def _protect(self, train: pd.DataFrame, opts: FilterOptions) -> None:
        """The most isolated training records (``protected_``: positions) and their radii."""
        k = min(ISOLATION_K, len(train) - 1)
        if k < 1:
            raise DataError("PrivacyFilter.fit: membership_risk needs at least 2 training rows")
        isolation = nearest(self.reference_, self.reference_, k + 1, opts.max_block, opts.device)[0][:, k]
        n = max(1, int(round(opts.membership_risk * len(train))))
        order = np.lexsort((np.arange(len(train)), -isolation))[:n]  # most isolated first, ties by position
        self.protected_ = np.sort(order)
        self.protected_radii_ = opts.membership_radius * isolation[self.protected_]

    def isolation_positions(self) -> np.ndarray:
        """Positions in the training table of the records the membership-risk check protects."""
        self._check_fitted()
        if self.protected_ is None:
            raise ConfigError("PrivacyFilter: the membership-risk check is off (membership_risk=None)")
        return self.protected_.copy()

    # -- checks ---------------------------------------------------------------------------
    def check_rows(self, rows: pd.DataFrame, name: str = "synthetic") -> None:
        """Raise one :class:`SchemaError` naming every missing, extra or mistyped column of ``rows``."""
        check_columns(self.schema_, rows, name)

    def _check_fitted(self) -> None:
        if not hasattr(self, "options_"):
            raise NotFittedError("this PrivacyFilter is not fitted yet: call fit(train_df) first")

    def filter(self, rows: pd.DataFrame) -> FilterResult:
        """Split ``rows`` into kept and dropped rows (``rows`` itself is left unchanged)."""
        self._check_fitted()
        self.check_rows(rows)
        reasons = np.full(len(rows), "", dtype=object)  # "" while a row is kept
        released = rows
        if self.exact_ is not None:
            reasons[self.exact_.mask(rows)] = "exact_match"
        generalised = np.zeros(len(rows), dtype=bool)
        if self.rare_ is not None:
            rare = self.rare_.rare(rows) & (reasons == "")
            if self.generalisation_ is not None:
                released, generalised = self.generalisation_.apply(rows, rare)
                rare &= ~generalised
                at = np.flatnonzero(generalised)
                if self.exact_ is not None and len(at):
                    reasons[at[self.exact_.mask(released.iloc[at])]] = "exact_match"
            reasons[rare] = "rare_combination"
        distances = np.full(len(rows), np.nan)
        if self.threshold_ is not None:
            alive = np.flatnonzero(reasons == "")
            distances[alive] = self._distances(released.iloc[alive], self.reference_)
            reasons[alive[distances[alive] < self.threshold_]] = "dcr"
        if self.protected_ is not None:
            alive = np.flatnonzero(reasons == "")
            reasons[alive[self._near_protected(released.iloc[alive])]] = "membership_risk"
        keep = reasons == ""
        return FilterResult(
            kept=released[keep],
            dropped=rows[~keep],
            reasons=pd.Series(reasons[~keep], index=rows.index[~keep], dtype=object, name="reason"),
            counts={r: int((reasons == r).sum()) for r in REASONS},
            n_generalised=int((generalised & keep).sum()),
            threshold=self.threshold_,
            distances=pd.Series(distances, index=rows.index, name="dcr"),
        )

    def _near_protected(self, rows: pd.DataFrame) -> np.ndarray:
        """True for rows within their radius of a protected training record."""
        opts = self._opts
        centres = torch.from_numpy(np.ascontiguousarray(self.reference_[self.protected_])).to(_device(opts.device))
        radii = torch.from_numpy(self.protected_radii_.astype(np.float32)).to(centres.device)
        out = np.zeros(len(rows), dtype=bool)
        per_block = max(1, opts.max_block // max(len(centres), 1))
        with torch.inference_mode():
            for s in range(0, len(rows), CHUNK_ROWS):
                points = self.space_.transform(rows.iloc[s : s + CHUNK_ROWS])
                for b in range(0, len(points), per_block):
                    q = torch.from_numpy(points[b : b + per_block]).to(centres.device)
                    inside = (torch.cdist(q, centres) < radii).any(dim=1)
                    out[s + b : s + b + len(q)] = inside.cpu().numpy()
        return out

    def dcr(self, rows: pd.DataFrame) -> np.ndarray:
        """Distance of every row to its closest training record, in the filter's space."""
        self._check_fitted()
        if self.space_ is None:
            raise ConfigError("PrivacyFilter.dcr: the distance checks are off (dcr_quantile=None, membership_risk=None)")
        self.check_rows(rows)
        return self._distances(rows, self.reference_)

    # -- distances ------------------------------------------------------------------------
    def _embed(self, df: pd.DataFrame) -> np.ndarray:
        return np.concatenate(
            [self.space_.transform(df.iloc[s : s + CHUNK_ROWS]) for s in range(0, len(df), CHUNK_ROWS)]
            or [np.zeros((0, self.space_.width), np.float32)]
        )

    def _distances(self, rows: pd.DataFrame, reference: np.ndarray) -> np.ndarray:
        """Distance to the nearest ``reference`` point, chunk by chunk of rows."""
        out = np.empty(len(rows))
        starts = range(0, len(rows), CHUNK_ROWS)
        opts = self._opts
        show = opts.verbose and len(starts) > 1
        for s in tqdm(starts, desc="privacy filter", unit="chunk", disable=not show, leave=False):
            points = self.space_.transform(rows.iloc[s : s + CHUNK_ROWS])
            out[s : s + len(points)] = nearest(points, reference, 1, opts.max_block, opts.device)[0][:, 0]
        return out


def check_columns(schema: Schema, rows: pd.DataFrame, name: str) -> None:
    """Raise one :class:`SchemaError` naming every missing, extra or mistyped column of ``rows``.

    Identifier columns of the training table may be absent (a model may drop them).
    """
    if not isinstance(rows, pd.DataFrame):
        raise DataError(f"the {name} rows must be a pandas DataFrame, got {type(rows).__name__}")
    dupes = rows.columns[rows.columns.duplicated()].unique().tolist()
    if dupes:
        raise SchemaError([f"the {name} rows have duplicate column names {dupes}"])
    problems = []
    missing = [c.name for c in schema.columns if c.kind is not ColumnKind.ID and c.name not in rows.columns]
    extra = [c for c in rows.columns if c not in schema.names]
    if missing:
        problems.append(f"column(s) {missing} of the training table are missing from the {name} rows")
    if extra:
        problems.append(f"column(s) {extra} of the {name} rows are not in the training table")
    for col in schema.columns:
        if col.name not in rows.columns or col.kind is ColumnKind.ID or rows[col.name].isna().all():
            continue
        values = rows[col.name]
        if col.form is not None:  # dates as text or objects, Decimals...: canonical for the check
            try:
                values = to_canonical(values, col.form, col.name)
            except SchemaError as exc:
                problems.extend(f"{name} rows: {p}" for p in exc.problems)
                continue
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if col.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER) and not numeric:
            problems.append(f"column {col.name!r} holds numbers in training but {values.dtype} in the {name} rows")
        if col.kind is ColumnKind.DATETIME and not pd.api.types.is_datetime64_any_dtype(values):
            problems.append(f"column {col.name!r} holds datetimes in training but {values.dtype} in the {name} rows")
    if problems:
        raise SchemaError(problems)
