"""One encoder per column kind: table values <-> the blocks the networks see.

Every encoder turns a column into a block of spans (``tanh`` scalars and ``softmax``
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
    """A block of output columns: ``tanh`` (one scalar) or ``softmax`` (a one-hot)."""

    kind: str  # "tanh" | "softmax"
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
        }

    @classmethod
    def from_state(cls, state: dict) -> "ContinuousEncoder":
        enc = cls()
        for key in ("has_missing", "low", "high", "center", "scale"):
            setattr(enc, key, state[key])
        for key in ("means", "stds", "log_weights"):
            setattr(enc, key, np.asarray(state[key], dtype=np.float64))
        return enc


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
            self.alphabets = [_widen(set(chars[:, i])) for i in range(length)]
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
        if seen <= set(alphabet) and (len(seen) > 1 or alphabet[0] == "0"):
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
