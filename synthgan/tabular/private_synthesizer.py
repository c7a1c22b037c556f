"""``PrivateSynthesizer``: differentially private tables by AIM or MST (marginals + a graphical
model), or by DP-CTGAN, under one contract.

What the guarantee covers: the whole fit is (epsilon, delta)-DP with respect to adding or
removing one row of the training table. One zCDP budget ``rho`` (:func:`synthgan.tabular.zcdp.rho_for`
of epsilon and half of delta) pays for

1. the domains and bins (``preprocessing_share`` of rho): released categories, private
   bounds and bins of numeric columns, as noisy Gaussian histograms
   (:mod:`synthgan.tabular.discretise`); the other half of delta is the chance that a
   category seen in few rows is released anyway (the thresholds);
2. the mechanism (the rest of rho): AIM or MST (:mod:`synthgan.tabular.marginal`).

Treated as public (not covered): column names, their kinds and dtypes (detected from the data
unless given as ``metadata``), how values are written (date text layouts, decimals of
Decimal columns), declared categories of a pandas ``category`` dtype, the public ``bounds``
and ``categories`` given by the user, and the number of rows (which sets the default delta).
Identifier columns are generated fresh and learn nothing. Everything sampled from the
fitted model is post-processing.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synthgan.base import Synthesizer
from synthgan.config import DPConfig
from synthgan.errors import ConditionError, ConfigError, DataError, ModelFileError, PrivacyFilterError, listing
from synthgan.io import read_table
from synthgan.schema import ColumnKind, Metadata, Schema, detect_schema
from synthgan.serialization import load_model, save_model
from synthgan.tabular.conditions import parse_conditions
from synthgan.tabular.discretise import Codec, fit_codec, histogram_count, release_threshold
from synthgan.tabular.marginal import aim, mst, require_mbi
from synthgan.tabular.zcdp import Ledger, epsilon_for, gaussian_sigma, rho_for

MODEL_KIND = "private-marginal"
METHODS = ("aim", "mst", "dpctgan")
#: the largest marginal (cells) the estimator is asked to hold; bigger workloads are refused
MAX_MARGINAL_CELLS = 4_000_000
#: rejection sampling for conditions gives up after this many times the requested rows
MAX_DRAW_FACTOR = 200


class PrivateSynthesizer(Synthesizer):
    """Differentially private synthetic tables: AIM (default), MST, or DP-CTGAN.

    ``PrivateSynthesizer(epsilon=3.0).fit(df).sample(10_000)``: the fit is
    (``epsilon``, ``delta``)-DP with respect to adding or removing one row (see the module
    docstring for exactly what is covered and what is treated as public).

    Parameters
    ----------
    epsilon : float
        Total privacy budget, in (0, 100].
    delta : float or None
        Failure probability. ``None``: ``1 / n^1.1`` for a table of ``n`` rows (below ``1/n``,
        as a meaningful delta must be), and never above 1e-5.
    method : {"aim", "mst", "dpctgan"}
        ``"aim"``: AIM (McKenna et al., 2022), adaptive selection of workload marginals; the
        most accurate. ``"mst"``: MST (McKenna et al., 2021), a maximum spanning tree of pairs;
        fast. ``"dpctgan"``: the DP-SGD GAN of :class:`~synthgan.TabularSynthesizer` with
        ``dp=DPConfig(...)``: the one for very wide tables, whose marginals no graphical
        model can hold.
    bins : int
        Coarse bins per numeric column (about equal noisy mass each; spikes keep their own).
    preprocessing_share : float
        Share of the zCDP budget spent on domains and bins.
    bounds, categories : dict
        Public ``{column: (low, high)}`` and ``{column: [categories]}``: no budget is spent on
        those columns' domains, and they are not estimated.
    workload : list or dict or None
        Marginals the synthetic data should preserve: cliques of column names, or
        ``{clique: weight}``. ``None``: every pair of columns, each pair with ``target``
        weighted ``target_weight``.
    max_model_size : float
        AIM's cap on the graphical model's junction tree, in megabytes.
    iters, round_iters : int
        Mirror-descent iterations of Private-PGM's first and of every later estimation.
    epochs, batch_size :
        ``method="dpctgan"`` only (see :class:`~synthgan.TabularSynthesizer`).

    Fitted attributes: ``privacy_`` (epsilon, delta, rho, what each part spent, the rounds),
    ``method_``, ``timings_``.

    Raises ``MissingDependencyError`` without the ``mbi`` package (``pip install
    'synthgan[dp]'``), ``ConfigError`` for bad options or a workload whose marginals are too
    large (before any budget is spent).
    """

    def __init__(
        self,
        epsilon: float = 3.0,
        delta: float | None = None,
        method: str = "aim",
        *,
        bins: int = 32,
        preprocessing_share: float = 0.1,
        bounds: dict | None = None,
        categories: dict | None = None,
        workload=None,
        target_weight: float = 4.0,
        max_model_size: float = 80.0,
        iters: int = 1000,
        round_iters: int = 100,
        epochs: int | None = None,
        batch_size: int | None = None,
        id_columns: str = "generate",
        seed: int | None = None,
        verbose: bool = True,
    ):
        self.epsilon = epsilon
        self.delta = delta
        self.method = method
        self.bins = bins
        self.preprocessing_share = preprocessing_share
        self.bounds = bounds
        self.categories = categories
        self.workload = workload
        self.target_weight = target_weight
        self.max_model_size = max_model_size
        self.iters = iters
        self.round_iters = round_iters
        self.epochs = epochs
        self.batch_size = batch_size
        self.id_columns = id_columns
        self.seed = seed
        self.verbose = verbose

    def __repr__(self) -> str:
        return f"PrivateSynthesizer(epsilon={self.epsilon}, delta={self.delta}, method={self.method!r}, seed={self.seed})"

    def _check_options(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"PrivateSynthesizer: method={self.method!r}; expected one of {METHODS}")
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) or not 0 < self.epsilon <= 100:
            raise ConfigError(f"PrivateSynthesizer: epsilon={self.epsilon!r}; need a number in (0, 100]")
        if self.delta is not None and not (isinstance(self.delta, (int, float)) and 0 < self.delta < 1):
            raise ConfigError(f"PrivateSynthesizer: delta={self.delta!r}; need a number in (0, 1), or None")
        if not 0 < self.preprocessing_share < 1:
            raise ConfigError(f"PrivateSynthesizer: preprocessing_share={self.preprocessing_share!r}; need (0, 1)")
        if not isinstance(self.bins, int) or self.bins < 2:
            raise ConfigError(f"PrivateSynthesizer: bins={self.bins!r}; need an integer >= 2")
        if self.id_columns not in ("generate", "drop"):
            raise ConfigError(f"PrivateSynthesizer: id_columns={self.id_columns!r}; expected 'generate' or 'drop'")

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self, data: pd.DataFrame | str | os.PathLike, metadata: Metadata | dict | None = None, *, target: str | None = None
    ) -> "PrivateSynthesizer":
        """Learn ``data`` (a DataFrame, or a CSV/Parquet path) under the privacy budget.

        ``target``: a column whose pairs get ``target_weight`` in the default workload (AIM),
        so the synthetic table keeps what predicts it. Raises ``ConfigError`` (options, a
        workload too large: before any budget is spent), ``DataError`` (a table that cannot
        be modelled), ``MissingDependencyError`` (no ``mbi``).
        """
        self._check_options()
        if isinstance(data, (str, os.PathLike)):
            data = read_table(data)
        if not isinstance(data, pd.DataFrame):
            raise ConfigError(f"fit: data must be a DataFrame or a CSV/Parquet path, got {type(data).__name__}")
        if len(data) < 2:
            raise DataError(f"fit: the table has {len(data)} row(s); a private model needs many rows")
        n = len(data)
        delta = self.delta if self.delta is not None else min(1e-5, 1.0 / n**1.1)
        self.method_ = self.method
        if self.method == "dpctgan":
            return self._fit_dpctgan(data, metadata, delta)
        require_mbi()
        timings = {}
        start = time.perf_counter()
        schema = detect_schema(data, metadata)
        if self.id_columns == "drop":
            schema = Schema(tuple(c for c in schema.columns if c.kind is not ColumnKind.ID))
        if not [c for c in schema.columns if c.kind is not ColumnKind.ID]:
            raise DataError("fit: every column is an identifier; there is nothing to model")
        # the missing rate is a statistic of the data: not kept in a private model's schema
        schema = Schema(tuple(replace(c, missing_rate=0.0) for c in schema.columns))
        data = schema.canonical(data[schema.names])
        if target is not None and target not in schema.names:
            raise DataError(f"fit: target {target!r} is not a column of the table; columns are {listing(schema.names)}")
        workload = self._workload(schema, target)
        self._check_domain(data, schema, workload)  # before any budget is spent
        rng = np.random.default_rng(self.seed)

        # one zCDP ledger for the whole fit: rho from (epsilon, delta / 2); the other half of
        # delta is the chance that a category seen in few rows is released (thresholds)
        rho = rho_for(float(self.epsilon), delta / 2)
        ledger = Ledger(rho)
        bounds, categories = dict(self.bounds or {}), dict(self.categories or {})
        histograms = histogram_count(schema, bounds, categories)
        unknown = [
            c for c in schema.columns
            if c.kind is ColumnKind.CATEGORICAL and c.name not in categories and not isinstance(data[c.name].dtype, pd.CategoricalDtype)
        ]
        delta_key = delta / 2 / max(len(unknown), 1)
        rho_pre = rho * self.preprocessing_share
        sigma_pre = gaussian_sigma(rho_pre / histograms)  # each histogram has sensitivity 1
        ledger.spend(f"domains and bins ({histograms} Gaussian histograms, sigma {sigma_pre:.3g})", rho_pre)
        codec, mapped = fit_codec(
            data, schema, bounds=bounds, categories=categories, bins=self.bins, sigma=sigma_pre,
            delta_key=delta_key, rng=rng,
        )
        codes = codec.encode(mapped)
        sizes = codec.sizes
        timings["preprocess_s"] = time.perf_counter() - start

        start = time.perf_counter()
        progress = _progress(self.verbose, f"PrivateSynthesizer({self.method})")
        on_round = None if progress is None else (lambda e: progress.update(e["rho_spent"] / rho * 100 - progress.n))
        mech_rng = np.random.default_rng(rng.integers(2**63))
        try:
            if self.method == "aim":
                model, measured, log = aim(
                    codes, sizes, workload, ledger, mech_rng, max_model_size=self.max_model_size,
                    iters=self.iters, round_iters=self.round_iters, on_round=on_round,
                    initial=self._initial(workload, target),
                )
            else:
                model, measured, log = mst(codes, sizes, ledger, mech_rng, iters=self.iters, on_round=on_round)
        finally:
            if progress is not None:
                progress.close()
        timings["mechanism_s"] = time.perf_counter() - start
        self.codec_, self.model_, self.target_ = codec, model, target
        self.privacy_ = {
            "method": self.method,
            "epsilon": epsilon_for(ledger.spent, delta / 2),
            "delta": delta,
            "epsilon_budget": float(self.epsilon),
            "rho_budget": rho,
            "rho_spent": ledger.spent,
            "rho_preprocessing": rho_pre,
            "release_threshold": release_threshold(sigma_pre, delta_key),
            "delta_conversion": delta / 2,
            "delta_thresholds": delta / 2,
            "measurements": [list(m.clique) for m in measured],
            "rounds": log,
            "accountant": "zCDP (Gaussian mechanisms, exponential mechanism as epsilon^2/8); thresholded category "
            "release as delta-approximate zCDP; converted to (epsilon, delta) by Canonne-Kamath-Steinke",
        }
        self.timings_ = timings
        self._sample_seed = np.random.default_rng(self.seed).integers(2**63) if self.seed is not None else None
        self._sample_rng = np.random.default_rng(self._sample_seed)
        return self

    def _fit_dpctgan(self, data, metadata, delta) -> "PrivateSynthesizer":
        from synthgan.tabular.synthesizer import TabularSynthesizer

        if self.workload is not None:
            raise ConfigError("PrivateSynthesizer: workload= applies to method='aim'; DP-CTGAN has no workload")
        dp = DPConfig(
            epsilon=self.epsilon, delta=delta, stats_share=self.preprocessing_share,
            bounds=self.bounds or {}, categories=self.categories or {},
        )
        inner = TabularSynthesizer(
            epochs=self.epochs, batch_size=self.batch_size, dp=dp, seed=self.seed, verbose=self.verbose,
            id_columns=self.id_columns,
        )
        inner.fit(data, metadata)
        self.model_, self.codec_, self.target_ = inner, None, None
        self.privacy_ = dict(inner.privacy_, method="dpctgan")
        self.timings_ = dict(inner.timings_)
        return self

    def _initial(self, workload: dict, target: str | None) -> list[tuple[str, ...]]:
        """With ``target``: every workload pair of the target is measured in AIM's first step.

        Measured on the fraud table (32 columns, 6% fraud) at epsilon 3, AIM's adaptive rounds
        spent the budget on the pairs with the largest absolute errors (dates against dates),
        never on the rare target's pairs, and a classifier trained on its rows scored ROC AUC
        0.50 on real rows; measuring the target's pairs first gives the model a star around the
        target (what a classifier needs) for a few rounds' worth of budget."""
        if target is None:
            return []
        return [q for q in workload if target in q and len(q) == 2]

    def _workload(self, schema: Schema, target: str | None) -> dict[tuple[str, ...], float]:
        names = [c.name for c in schema.columns if c.kind is not ColumnKind.ID]
        if self.workload is None:
            pairs = list(itertools.combinations(names, 2)) or [tuple(names)]
            return {p: (self.target_weight if target in p else 1.0) for p in pairs}
        items = self.workload.items() if isinstance(self.workload, dict) else ((q, 1.0) for q in self.workload)
        out = {}
        for clique, weight in items:
            clique = (clique,) if isinstance(clique, str) else tuple(clique)
            unknown = [c for c in clique if c not in names]
            if unknown or not clique:
                raise ConfigError(
                    f"workload: {clique!r} names {listing(unknown) if unknown else 'no column'}, not a modelled "
                    f"column; columns are {listing(names)}"
                )
            if not (isinstance(weight, (int, float)) and weight > 0):
                raise ConfigError(f"workload: the weight of {clique!r} must be a positive number, got {weight!r}")
            order = {c: i for i, c in enumerate(names)}
            out[tuple(sorted(set(clique), key=order.get))] = float(weight)
        return out

    def _check_domain(self, data: pd.DataFrame, schema: Schema, workload) -> None:
        """Refuse a workload whose marginals the estimator cannot hold, from an upper bound on
        every column's domain (seen categories + missing; numeric: at most ``2 bins + 2``
        codes), before any budget is spent. The refusal reaches only the data owner."""
        upper = {}
        for col in schema.columns:
            if col.kind is ColumnKind.ID:
                continue
            if col.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
                public = (self.categories or {}).get(col.name)
                seen = len(public) if public is not None else data[col.name].nunique(dropna=True)
                upper[col.name] = seen + 1
            else:
                upper[col.name] = 2 * self.bins + 2
        worst = max(workload, key=lambda q: math.prod(upper[c] for c in q))
        cells = math.prod(upper[c] for c in worst)
        if cells > MAX_MARGINAL_CELLS:
            wide = sorted(worst, key=lambda c: -upper[c])
            shown = ", ".join(f"{c!r} (up to {upper[c]:,} values)" for c in wide)
            raise ConfigError(
                f"fit: the marginal over {shown} may have {cells:,} cells, more than the {MAX_MARGINAL_CELLS:,} the "
                "graphical model can hold; coarsen those columns (group rare categories, fewer bins=), leave the "
                "pair out of workload=, or use method='dpctgan' for very wide tables. No privacy budget was spent"
            )

    # -- sample ---------------------------------------------------------------------------
    @property
    def columns(self) -> list:
        self._check_fitted()
        return self.model_.columns if self.codec_ is None else self.codec_.schema.names

    @property
    def transformer_(self):
        """The columns' released domains (categories, bounds), as conditions read them."""
        self._check_fitted()
        return self.model_.transformer_ if self.codec_ is None else self.codec_.transformer

    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None, privacy="exact") -> pd.DataFrame:
        """``n`` synthetic rows with the training columns and dtypes (post-processing of the
        private model: sampling spends no budget).

        ``conditions`` as in :meth:`TabularSynthesizer.sample` (met by rejection; a
        ``ConditionError`` when they are too rare). ``privacy``: ``"exact"`` (the default)
        keeps no hashes of training rows under DP, so nothing is compared (the guarantee
        replaces the check); a fitted :class:`~synthgan.PrivacyFilter` is applied (note that
        its decisions read the real rows, outside the guarantee); ``False``: no filter.
        """
        self._check_fitted()
        if self.codec_ is None:
            return self.model_.sample(n, conditions=conditions, seed=seed, privacy=privacy)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(f"sample: n must be a non-negative integer number of rows, got {n!r}")
        release = _release(privacy, self.codec_)
        rng = self._sample_rng if seed is None else np.random.default_rng(seed)
        parsed = parse_conditions(conditions, self.codec_.transformer) if conditions else []
        if not parsed and release is None:
            return self._draw(int(n), rng)
        from synthgan.tabular.synthesizer import _hopeless

        kept, total, drawn, budget = [], 0, 0, MAX_DRAW_FACTOR * n + 10_000
        batch = max(int(n), 1_000)
        while total < n:
            if drawn >= budget or _hopeless(drawn, total, total, n, budget):
                if parsed:
                    raise ConditionError(
                        f"sample: conditions {conditions!r} are too rare for the model: {total} of {drawn} drawn "
                        f"rows passed; {n} rows would take more than {budget:,} draws. Loosen them or ask for fewer rows"
                    )
                raise PrivacyFilterError(
                    f"sample: the privacy filter passed {total} of {drawn} drawn rows, short of {n}; loosen it "
                    "(lower dcr_quantile or k) or ask for fewer rows"
                )
            rows = self._draw(batch, rng)
            drawn += batch
            mask = np.ones(len(rows), dtype=bool)
            for cond in parsed:
                mask &= cond.mask(rows)
            rows = rows[mask]
            if release is not None:
                rows = release(rows)
            kept.append(rows)
            total += len(rows)
            rate = max(total / drawn, 1 / (10 * max(n, 1)))
            batch = int(min(max((n - total) / rate * 1.2, 1_000), 2_000_000, max(10 * drawn, 1_000)))
            batch = max(min(batch, budget - drawn), 1)
        return pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if n == 0:
            codes = {c: np.zeros(0, dtype=np.int64) for c in self.codec_.modelled}
            return self.codec_.decode(codes, 0, rng)
        with _numpy_global_seed(int(rng.integers(2**32))):  # mbi draws from numpy's global RNG
            data = self.model_.synthetic_data(rows=n)
        codes = {c: np.asarray(data.data[c]) for c in self.codec_.modelled}
        return self.codec_.decode(codes, n, rng)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """One file: the model's potentials as safetensors, its cliques, domain, codec and the
        privacy record as JSON; no pickle. A DP-CTGAN model is written as its
        :class:`TabularSynthesizer` file (``load`` reads either)."""
        self._check_fitted()
        if self.codec_ is None:
            return self.model_.save(path)
        potentials = self.model_.potentials
        cliques = [list(cl) for cl in potentials.cliques]
        tensors = {
            f"potential.{i}": torch.from_numpy(np.array(potentials.tables[tuple(cl)].values, dtype=np.float64))
            for i, cl in enumerate(cliques)
        }
        state = {
            "params": {k: _json(v) for k, v in self.get_params().items() if k != "workload"},
            # cliques are tuples (not JSON keys): the workload is written as two lists
            "workload": None if self.workload is None else _workload_json(self.workload),
            "privacy": self.privacy_,
            "codec": self.codec_.to_json(),
            "cliques": cliques,
            "domain": {"attributes": list(self.model_.domain.attributes), "shape": list(self.model_.domain.shape)},
            "total": float(self.model_.total),
            "target": self.target_,
        }
        return save_model(path, MODEL_KIND, state, tensors)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PrivateSynthesizer":
        """Rebuild a model written by :meth:`save` (AIM/MST, or DP-CTGAN)."""
        from synthgan.serialization import read_kind

        if read_kind(path) != MODEL_KIND:
            from synthgan.tabular.synthesizer import TabularSynthesizer

            inner = TabularSynthesizer.load(path)
            if inner.privacy_ is None:
                raise ModelFileError(f"{str(path)!r} holds a model trained without differential privacy")
            synth = cls(epsilon=inner.privacy_["epsilon_budget"], method="dpctgan", seed=inner.seed)
            synth.model_, synth.codec_, synth.target_, synth.method_ = inner, None, None, "dpctgan"
            synth.privacy_ = dict(inner.privacy_, method="dpctgan")
            return synth
        mbi = require_mbi()
        state, tensors = load_model(path, MODEL_KIND)
        try:
            params = dict(state["params"])
            workload = state.get("workload")
            if workload is not None:
                params["workload"] = {tuple(q): float(w) for q, w in zip(workload["cliques"], workload["weights"])}
            synth = cls(**params)
            codec = Codec.from_json(state["codec"])
            domain = mbi.Domain(state["domain"]["attributes"], state["domain"]["shape"])
            cliques = [tuple(cl) for cl in state["cliques"]]
            tables = {
                cl: mbi.Factor(domain.project(cl), np.asarray(tensors[f"potential.{i}"].numpy()))
                for i, cl in enumerate(cliques)
            }
            potentials = mbi.CliqueVector(domain, cliques, tables)
            total = float(state["total"])
            from mbi import marginal_oracles

            marginals = marginal_oracles.message_passing_stable(potentials, total)
            model = mbi.MarkovRandomField(potentials=potentials, marginals=marginals, total=total)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{str(path)!r}: private model state is inconsistent ({exc})") from None
        synth.codec_, synth.model_, synth.target_ = codec, model, state.get("target")
        synth.privacy_, synth.method_ = state["privacy"], state["privacy"]["method"]
        seed = synth.seed
        synth._sample_seed = np.random.default_rng(seed).integers(2**63) if seed is not None else None
        synth._sample_rng = np.random.default_rng(synth._sample_seed)
        return synth


def _release(privacy, codec: Codec):
    if privacy is False or (isinstance(privacy, str) and privacy == "exact"):
        return None  # no training-row hashes are kept under DP
    if hasattr(privacy, "filter") and hasattr(privacy, "check_rows"):
        if not hasattr(privacy, "options_"):
            raise ConfigError("sample: the PrivacyFilter is not fitted; call filt.fit(train_df) first")
        return lambda rows: privacy.filter(rows).kept
    raise ConfigError(
        f"sample: privacy={privacy!r}: expected 'exact' (the default), a fitted PrivacyFilter, or False"
    )


@contextlib.contextmanager
def _numpy_global_seed(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _progress(verbose: bool, desc: str):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=100, desc=desc, unit="% budget", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% of rho")


def _workload_json(workload) -> dict:
    items = workload.items() if isinstance(workload, dict) else ((q, 1.0) for q in workload)
    pairs = [([q] if isinstance(q, str) else list(q), float(w)) for q, w in items]
    return {"cliques": [q for q, _ in pairs], "weights": [w for _, w in pairs]}


def _json(value):
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value
