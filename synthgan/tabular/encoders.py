"""One encoder per column kind: table values <-> the blocks the networks see.

Every encoder turns a column into a block of spans (``tanh`` or ``linear`` scalars and ``softmax``
one-hots) and back, vectorised over rows. Fitted state is plain numbers and lists so a
model file holds JSON, never a pickled estimator.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

#: mixture components below this weight are dropped (CTGAN's threshold)
MODE_WEIGHT_THRESHOLD = 0.005
#: normalised values are (x - mean) / (SPREAD * std), clipped to the tanh range
SPREAD = 4.0


@dataclass(frozen=True)
class SpanSpec:
    """A block of output columns: ``tanh`` or ``linear`` (one scalar), or ``softmax`` (a one-hot)."""

    kind: str  # "tanh" | "linear" | "softmax"
    width: int
    role: str  # "value" | "mode" | "missing" | "category"


class ContinuousEncoder:
    """Mode-specific normalisation (CTGAN) with a variational Gaussian mixture.

    The mixture is fitted on at most ``subsample`` rows, so fitting is bounded however large
    the table. Encoding samples each value's mode from its posterior, as CTGAN does.
    Missing values get a two-way ``present/missing`` span.
    """

    def __init__(self, max_modes: int = 10, subsample: int = 5_000):
        self.max_modes = max_modes
        self.subsample = subsample

    def fit(self, values: np.ndarray, rng: np.random.Generator) -> "ContinuousEncoder":
        missing = np.isnan(values)
        observed = values[~missing]
        self.has_missing = bool(missing.any())
        self.low, self.high = float(observed.min()), float(observed.max())
        self.center = float(observed.mean())
        self.scale = float(observed.std()) or 1.0
        sample = observed
        if len(observed) > self.subsample:
            sample = rng.choice(observed, self.subsample, replace=False)
        self.means, self.stds, weights = _mixture(self._standardise(sample), self.max_modes, rng)
        # The subsample can miss rare far values (capital-gain's 99999). Give the values no
        # mode can represent modes of their own, so every observed value encodes unclipped.
        z_all = self._standardise(observed)
        for _ in range(3):
            uncovered = z_all[self._distance(z_all).min(axis=1) >= 0.99]
            if len(uncovered) == 0:
                break
            share = len(uncovered) / len(z_all)
            if len(uncovered) > self.subsample:
                uncovered = rng.choice(uncovered, self.subsample, replace=False)
            means, stds, extra = _mixture(uncovered, 3, rng)
            self.means = np.concatenate([self.means, means])
            self.stds = np.concatenate([self.stds, stds])
            weights = np.concatenate([weights * (1 - share), extra * share])
        self.log_weights = np.log(weights / weights.sum())
        return self

    def _distance(self, z: np.ndarray) -> np.ndarray:
        """|z - mean| in units of each mode's reach (1.0 = the edge of the tanh range)."""
        return np.abs(z[:, None] - self.means) / (SPREAD * self.stds)

    @property
    def spans(self) -> list[SpanSpec]:
        out = [SpanSpec("tanh", 1, "value"), SpanSpec("softmax", len(self.means), "mode")]
        if self.has_missing:
            out.append(SpanSpec("softmax", 2, "missing"))
        return out

    def _standardise(self, values: np.ndarray) -> np.ndarray:
        return (values - self.center) / self.scale

    def transform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        missing = np.isnan(values)
        z = self._standardise(np.where(missing, self.center, values))[:, None]
        # posterior over modes, then one mode drawn per row (inverse-CDF, vectorised)
        distance = self._distance(z[:, 0])
        log_p = -0.5 * (SPREAD * distance) ** 2 - np.log(self.stds) + self.log_weights
        # only modes that can represent the value without clipping (outliers the subsample
        # missed): else the nearest mode
        fits = distance < 0.99
        nearest = distance.argmin(axis=1)
        fits[np.arange(len(z)), nearest] |= ~fits.any(axis=1)
        log_p = np.where(fits, log_p, -np.inf)
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        cdf = np.cumsum(p, axis=1)
        u = rng.random(len(z))[:, None] * cdf[:, -1:]
        mode = np.minimum((cdf < u).sum(axis=1), len(self.means) - 1)
        normalised = (z[:, 0] - self.means[mode]) / (SPREAD * self.stds[mode])
        k = len(self.means)
        block = np.zeros((len(z), 1 + k + (2 if self.has_missing else 0)), dtype=np.float32)
        block[:, 0] = np.clip(normalised, -0.99, 0.99)
        block[np.arange(len(z)), 1 + mode] = 1.0
        if self.has_missing:
            block[np.arange(len(z)), 1 + k + missing.astype(int)] = 1.0
        return block

    def inverse(self, scalars: np.ndarray, choices: np.ndarray, enforce_bounds: bool) -> np.ndarray:
        """``scalars``: the tanh value per row; ``choices``: the chosen index of each softmax span."""
        mode = choices[:, 0]
        z = np.clip(scalars[:, 0], -1, 1) * SPREAD * self.stds[mode] + self.means[mode]
        values = z * self.scale + self.center
        if enforce_bounds:
            values = np.clip(values, self.low, self.high)
        if self.has_missing:
            values = np.where(choices[:, 1] == 1, np.nan, values)
        return values

    def state(self) -> dict:
        return {
            "has_missing": self.has_missing,
            "low": self.low,
            "high": self.high,
            "center": self.center,
            "scale": self.scale,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "log_weights": self.log_weights.tolist(),
            "encoding": "mixture",
        }

    @classmethod
    def from_state(cls, state: dict) -> "ContinuousEncoder":
        enc = cls()
        for key in ("has_missing", "low", "high", "center", "scale"):
            setattr(enc, key, state[key])
        for key in ("means", "stds", "log_weights"):
            setattr(enc, key, np.asarray(state[key], dtype=np.float64))
        return enc


#: most knots a quantile encoder keeps (its state is JSON in the model file)
MAX_KNOTS = 2_000
#: a value held by at least this share of a numeric column's rows is a point mass ("atom")
#: with its own entry in a softmax span (CTAB-GAN's mixed-type encoding, Zhao et al. 2021)
ATOM_SHARE = 0.1
#: most atoms per column (the heaviest are kept)
MAX_ATOMS = 3
#: quantile encodings: "uniform" puts the empirical CDF on (-1, 1); "normal" its normal score
QUANTILE_OUTPUTS = ("uniform", "normal", "normal_tanh")
#: "normal_tanh": normal scores divided by this, a tanh output (|score| <= 4.75 -> within +-0.95)
NORMAL_TANH_SCALE = 5.0
#: quantiles are kept in [QUANTILE_CLIP, 1 - QUANTILE_CLIP] before their normal score is taken
QUANTILE_CLIP = 1e-6


class QuantileEncoder:
    """A Gaussianising (or uniformising) quantile transform, as TabDDPM uses for numbers.

    Each value is replaced by its position in the column's empirical distribution: one
    ``tanh`` scalar, no modes to choose. The map is piecewise linear between knots placed
    at the observed values (at most :data:`MAX_KNOTS`, evenly spread over the sorted distinct
    values, always keeping the minimum, the maximum and every value that holds more than
    ``1 / MAX_KNOTS`` of the rows). A value held by ``c > 1`` rows owns a flat stretch of
    ``(c - 1) / n`` of the probability, so point masses (a column of zeros, a round price)
    come back as point masses; between knots values are interpolated, so the generator can
    make values the table never held. The inverse is exact on training values (up to float
    rounding), never leaves the observed range, and needs no clipping. Missing values get a
    ``present/missing`` span.

    Point masses ("atoms"): a value held by at least ``atom_share`` of the rows (at most
    ``max_atoms`` of them, the heaviest) gets its own entry in a ``softmax`` span, with one more
    entry for all other values, whose quantile map is then fitted on those other values alone.
    The scalar of a row it does not describe (an atom, a missing value) is a random draw from
    the other values' distribution: a constant there (0, or the minimum) showed up as a spike
    the generator copied into the other values (Adult's ``hours-per-week`` came back with a
    standard deviation of 7.2 hours against 12.3). This is CTAB-GAN's mixed-type encoding (Zhao et al.,
    2021, "CTAB-GAN: Effective Table Data Synthesizing") on top of the quantile map: the
    generator chooses "zero or not" as a category, conditioned on the rest of the row, instead
    of placing a tanh output on one side of a threshold. Measured on Adult, without it the
    generator gave half the real share of non-zero ``capital-gain`` (3.7% against 8.3%), and
    for women almost no non-zero ``capital-loss`` (0.1% against 3.4%) (docs/tabular.md).
    ``atom_share=None`` turns atoms off.

    ``output="normal_tanh"`` (the default): the normal score ``Phi^-1(q)`` (TabDDPM's
    ``QuantileTransformer(output_distribution="normal")``) divided by 5, a ``tanh`` network
    output; ``output="normal"``: the normal score itself as a ``linear`` (unsquashed) output;
    ``output="uniform"``: ``2 q - 1``, a ``tanh`` output. Measured on breast cancer (4 seeds)
    and Adult: "normal" reached the higher Adult quality (0.926 against 0.903) but piled values
    up at the edges and lost the class signal on breast cancer in 2 seeds of 4 (TSTR ROC AUC
    0.60 and 0.74); "normal_tanh" kept TSTR within 0.015 of real and no edge pile-ups on all
    four, "uniform" in between (docs/tabular.md).
    """

    def __init__(
        self,
        output: str = "normal_tanh",
        max_knots: int = MAX_KNOTS,
        atom_share: float | None = ATOM_SHARE,
        max_atoms: int = MAX_ATOMS,
    ):
        if output not in QUANTILE_OUTPUTS:
            raise ValueError(f"output must be one of {QUANTILE_OUTPUTS}, got {output!r}")
        if atom_share is not None and not 0 < atom_share <= 1:
            raise ValueError(f"atom_share must be in (0, 1] or None, got {atom_share!r}")
        self.output = output
        self.max_knots = max_knots
        self.atom_share = atom_share
        self.max_atoms = max_atoms

    def fit(self, values: np.ndarray, rng: np.random.Generator | None = None) -> "QuantileEncoder":
        missing = np.isnan(values)
        observed = np.sort(values[~missing])
        self.has_missing = bool(missing.any())
        self.low, self.high = float(observed[0]), float(observed[-1])
        distinct, counts = np.unique(observed, return_counts=True)
        self.atoms = np.empty(0)
        if self.atom_share is not None and self.max_atoms > 0:
            heavy = np.flatnonzero(counts >= self.atom_share * len(observed))
            heavy = heavy[np.argsort(-counts[heavy], kind="stable")][: self.max_atoms]
            self.atoms = np.sort(distinct[heavy])
        rest = observed[~np.isin(observed, self.atoms)]
        self.has_rest = len(rest) > 0
        self._fit_knots(rest if self.has_rest else observed)
        return self

    def _fit_knots(self, observed: np.ndarray) -> None:
        """The piecewise-linear quantile map of ``observed`` (sorted, not empty)."""
        n = len(observed)
        distinct, first = np.unique(observed, return_index=True)
        counts = np.diff(np.append(first, n))
        keep = np.zeros(len(distinct), dtype=bool)
        keep[np.unique(np.linspace(0, len(distinct) - 1, min(self.max_knots, len(distinct))).round().astype(int))] = True
        keep |= counts > n / self.max_knots
        left = first[keep] / n  # share of rows below each kept value
        right = (first[keep] + counts[keep]) / n  # share at or below it
        kept = distinct[keep]
        quantiles, knots = [], []
        half = 0.5 / n
        for value, lo, hi in zip(kept, left, right):
            if hi - lo > 1.5 / n:  # several rows: a flat stretch
                quantiles += [lo + half, hi - half]
                knots += [value, value]
            else:
                quantiles.append((lo + hi) / 2)
                knots.append(value)
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.knots = np.asarray(knots, dtype=np.float64)

    @property
    def n_modes(self) -> int:
        """Width of the point-mass span: one entry per atom, plus one for the other values."""
        return len(self.atoms) + int(self.has_rest) if len(self.atoms) else 0

    @property
    def spans(self) -> list[SpanSpec]:
        out = [SpanSpec("linear" if self.output == "normal" else "tanh", 1, "value")]
        if self.n_modes:
            out.append(SpanSpec("softmax", self.n_modes, "mode"))
        if self.has_missing:
            out.append(SpanSpec("softmax", 2, "missing"))
        return out

    def scalar(self, q: np.ndarray) -> np.ndarray:
        """The network's target for quantiles ``q`` (float64)."""
        if self.output == "uniform":
            return 2 * q - 1
        if self.output == "normal_tanh":
            return _normal_ppf(q) / NORMAL_TANH_SCALE
        return _normal_ppf(q)

    def _to_quantile(self, s: np.ndarray) -> np.ndarray:
        if self.output == "uniform":
            return (s + 1) / 2
        if self.output == "normal_tanh":
            return _normal_cdf(s * NORMAL_TANH_SCALE)
        return _normal_cdf(s)

    def quantile(self, values: np.ndarray) -> np.ndarray:
        """Position of each value in the training distribution, in (0, 1)."""
        if len(self.knots) == 1:
            return np.full(values.shape, 0.5)
        # forward map through the distinct knots; a flat stretch maps to its middle
        distinct, first, counts = np.unique(self.knots, return_index=True, return_counts=True)
        centre = (self.quantiles[first] + self.quantiles[first + counts - 1]) / 2
        lower = self.quantiles[first + counts - 1]  # between knots: from the stretch's top...
        upper = self.quantiles[first]  # ...to the next stretch's bottom
        j = np.clip(np.searchsorted(distinct, values, side="right") - 1, 0, len(distinct) - 1)
        exact = distinct[j] == values
        nxt = np.minimum(j + 1, len(distinct) - 1)
        width = np.where(nxt > j, distinct[nxt] - distinct[j], 1.0)
        frac = np.clip((values - distinct[j]) / width, 0.0, 1.0)
        between = lower[j] + frac * (upper[nxt] - lower[j])
        return np.where(exact, centre[j], between)

    def transform(self, values: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        missing = np.isnan(values)
        k = self.n_modes
        block = np.zeros((len(values), 1 + k + (2 if self.has_missing else 0)), dtype=np.float32)
        block[:, 0] = self.scalar(self.quantile(np.where(missing, self.low, values)))
        unused = missing.copy()  # rows whose value the scalar does not carry
        if k:
            atom = np.searchsorted(self.atoms, values)
            is_atom = np.isin(values, self.atoms)
            if not self.has_rest:  # every observed value is an atom; missing rows take the first
                is_atom |= missing
                atom = np.where(missing, 0, atom)
            mode = np.where(is_atom, atom, len(self.atoms))
            block[np.arange(len(values)), 1 + mode] = 1.0
            unused |= is_atom
        if unused.any():
            # a scalar the row does not use is drawn from the other values' distribution, so the
            # scalar's marginal has no spike (a constant there pulled generated values to it)
            rng = rng if rng is not None else np.random.default_rng(0)
            block[unused, 0] = self.scalar(rng.uniform(self.quantiles[0], self.quantiles[-1], int(unused.sum())))
        if self.has_missing:
            block[np.arange(len(values)), 1 + k + missing.astype(int)] = 1.0
        return block

    def inverse(self, scalars: np.ndarray, choices: np.ndarray, enforce_bounds: bool) -> np.ndarray:
        """``scalars``: the network's value per row; ``choices``: the chosen index of each
        softmax span (the point-mass span if the column has atoms, then the missing span).

        Always inside the observed range (``enforce_bounds`` has nothing to clip)."""
        s = scalars[:, 0].astype(np.float64)
        q = self._to_quantile(s if self.output == "normal" else np.clip(s, -1, 1))
        values = np.interp(q, self.quantiles, self.knots) if len(self.knots) > 1 else np.full(len(q), self.knots[0])
        k = self.n_modes
        if k:
            mode = np.minimum(choices[:, 0], len(self.atoms))
            chosen = mode < len(self.atoms)
            values = np.where(chosen, self.atoms[np.minimum(mode, len(self.atoms) - 1)], values)
        if self.has_missing:
            values = np.where(choices[:, 1 if k else 0] == 1, np.nan, values)
        return values

    def state(self) -> dict:
        return {
            "encoding": "quantile",
            "output": self.output,
            "has_missing": self.has_missing,
            "low": self.low,
            "high": self.high,
            "quantiles": self.quantiles.tolist(),
            "knots": self.knots.tolist(),
            "atoms": self.atoms.tolist(),
            "has_rest": self.has_rest,
        }

    @classmethod
    def from_state(cls, state: dict) -> "QuantileEncoder":
        enc = cls(state["output"])
        enc.has_missing, enc.low, enc.high = state["has_missing"], state["low"], state["high"]
        enc.quantiles = np.asarray(state["quantiles"], dtype=np.float64)
        enc.knots = np.asarray(state["knots"], dtype=np.float64)
        # files written before point-mass spans have no atoms
        enc.atoms = np.asarray(state.get("atoms", []), dtype=np.float64)
        enc.has_rest = bool(state.get("has_rest", True))
        return enc


def _normal_ppf(q: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(np.clip(q, QUANTILE_CLIP, 1 - QUANTILE_CLIP))


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


class CategoricalEncoder:
    """One-hot over the observed values; a missing value is a category of its own."""

    def fit(self, values: pd.Series) -> "CategoricalEncoder":
        observed = pd.unique(values.dropna())
        try:
            observed = sorted(observed)
        except TypeError:  # values that do not order (mixed numbers and bools): keep first-seen
            observed = list(observed)
        self.categories = [_plain(v) for v in observed]
        self.has_missing = bool(values.isna().any())
        self.frequencies = self._counts(values).tolist()
        return self

    @property
    def width(self) -> int:
        return len(self.categories) + int(self.has_missing)

    @property
    def spans(self) -> list[SpanSpec]:
        return [SpanSpec("softmax", self.width, "category")]

    def codes(self, values: pd.Series) -> np.ndarray:
        """Index of each value's category (missing -> the last index); -1 for unseen values."""
        codes = pd.Categorical(values, categories=self.categories).codes.astype(np.int64)
        unseen = (codes == -1) & values.notna().to_numpy()
        if self.has_missing:
            codes = np.where(values.isna().to_numpy(), len(self.categories), codes)
        codes[unseen] = -1
        return codes

    def _counts(self, values: pd.Series) -> np.ndarray:
        return np.bincount(self.codes(values), minlength=self.width).astype(np.float64)

    def transform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        codes = self.codes(values)
        block = np.zeros((len(codes), self.width), dtype=np.float32)
        block[np.arange(len(codes)), codes] = 1.0
        return block

    def inverse(self, scalars: np.ndarray, choices: np.ndarray, enforce_bounds: bool) -> np.ndarray:
        lookup = np.empty(self.width, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.has_missing:
            lookup[-1] = np.nan
        return lookup[choices[:, 0]]

    def state(self) -> dict:
        return {
            "categories": self.categories,
            "has_missing": self.has_missing,
            "frequencies": self.frequencies,
        }

    @classmethod
    def from_state(cls, state: dict) -> "CategoricalEncoder":
        enc = cls()
        enc.categories = list(state["categories"])
        enc.has_missing = state["has_missing"]
        enc.frequencies = list(state["frequencies"])
        return enc


class IdentifierGenerator:
    """Identifier columns are not modelled: fresh unique values of the same format are made.

    Integers continue after the largest real id. Text ids keep the most common length; each
    position keeps a constant character (a prefix) and otherwise draws from its character
    class: all digits where only digits were seen, all letters of a case where only such
    letters varied, else the characters seen there (so ``CUST-00017`` gives ``CUST-`` and
    five digits, and hex stays hex).
    """

    def fit(self, values: pd.Series) -> "IdentifierGenerator":
        observed = values.dropna()
        self.integer = bool(pd.api.types.is_integer_dtype(values))
        if self.integer:
            self.start = int(observed.max()) + 1
            self.alphabets = []
        else:
            text = observed.astype(str)
            length = int(text.str.len().mode().iloc[0])
            same = text[text.str.len() == length].to_numpy(dtype=f"U{max(length, 1)}")
            chars = same.view("U1").reshape(len(same), -1) if length else np.empty((len(same), 0))
            seen = [set(chars[:, i]) for i in range(length)]
            self.alphabets = [_widen(s) for s in seen]
            # zero padding: a constant digit in a run of digit positions where some digit varies
            # is part of a number ('CUST-00017'); a lone constant digit is a prefix ('0x', '+1-')
            digit = [s <= set("0123456789") for s in seen]
            start = 0
            while start < length:
                end = start
                while end < length and digit[end]:
                    end += 1
                if end > start and any(len(seen[i]) > 1 for i in range(start, end)):
                    for i in range(start, end):
                        self.alphabets[i] = "0123456789"
                start = end + 1
        return self

    def generate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.integer:
            return self.start + np.arange(n, dtype=np.int64)
        if not self.alphabets:
            return np.array([""] * n, dtype=object)
        out = self._draw(n, rng)
        for _ in range(20):  # redraw collisions; bounded because the space may be tiny
            _, first = np.unique(out, return_index=True)
            dupes = np.setdiff1d(np.arange(n), first)
            if len(dupes) == 0:
                break
            out[dupes] = self._draw(len(dupes), rng)
        return out.astype(object)

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = np.empty((n, len(self.alphabets)), dtype=np.uint32)
        for i, alphabet in enumerate(self.alphabets):
            points = np.frombuffer(alphabet.encode("utf-32-le"), dtype=np.uint32)
            codes[:, i] = points[rng.integers(len(points), size=n)]
        return codes.view(f"U{len(self.alphabets)}").ravel()

    def state(self) -> dict:
        return {"integer": self.integer, "start": getattr(self, "start", None), "alphabets": self.alphabets}

    @classmethod
    def from_state(cls, state: dict) -> "IdentifierGenerator":
        gen = cls()
        gen.integer = state["integer"]
        gen.alphabets = list(state["alphabets"])
        if state["start"] is not None:
            gen.start = int(state["start"])
        return gen


def _widen(seen: set[str]) -> str:
    """The alphabet one id position draws from (see :class:`IdentifierGenerator`)."""
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if seen <= set(alphabet) and len(seen) > 1:  # one character seen: a constant (prefix), kept
            return alphabet
    return "".join(sorted(seen))


def _mixture(z: np.ndarray, max_modes: int, rng: np.random.Generator):
    """Variational Gaussian mixture on 1-d values: (means, stds, weights) of active modes."""
    n_unique = len(np.unique(z))
    if n_unique < 2:  # one value: a single narrow mode; the mixture needs two points
        return np.array([float(z.mean())]), np.array([1e-3]), np.array([1.0])
    n_modes = int(min(max_modes, n_unique))
    gmm = BayesianGaussianMixture(
        n_components=n_modes,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=1e-3,
        max_iter=100,
        random_state=int(rng.integers(2**31 - 1)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(z.reshape(-1, 1))
    active = gmm.weights_ > MODE_WEIGHT_THRESHOLD
    if not active.any():
        active[np.argmax(gmm.weights_)] = True
    return gmm.means_.ravel()[active], np.sqrt(gmm.covariances_.ravel()[active]), gmm.weights_[active]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
