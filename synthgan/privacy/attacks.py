"""Membership inference attacks on a synthetic table, judged the way attacks are judged today.

An attack scores target records: the higher the score, the surer the attacker that a record
was in the training set. Members are training rows; non-members are holdout rows the
generator never saw. Two attacks are built in; both see only the synthetic table and, for the
density ratio, reference rows from the same population:

- :class:`DensityRatioAttack` (``"density_ratio"``), after DOMIAS: B. van Breugel, H. Sun,
  Z. Qian, M. van der Schaar, "Membership Inference Attacks against Synthetic Data through
  Overfitting Detection", AISTATS 2023. The score is ``log p_syn(x) - log p_ref(x)``: a
  generator that overfits puts more density on its training records than the population
  does. Both densities are nearest-neighbour density estimates in :class:`MixedSpace`
  coordinates (:func:`log_knn_density`), so the score is ``d * log(r_ref(x) / r_syn(x))`` plus
  a constant, ``r`` the distance to the nearest reference / synthetic row and ``d`` the number
  of columns. A Gaussian kernel density estimate (``estimator="kde"``) was measured to be far
  weaker (see :class:`DensityRatioAttack`) and is kept for comparison. The reference rows are
  never scored, so the reference density cannot recognise a target by itself;
- :class:`DistanceAttack` (``"distance"``): minus the distance to the closest synthetic record
  (the attack of :mod:`synthgan.privacy.metrics`), kept for comparison.

- :class:`ShadowModelAttack` (``"shadow"``, run by :func:`shadow_attack`): the synthesizer is
  fitted again on reference rows with and without each of a subsample of targets, and the
  released table is compared with what those shadow models produce at the target, in the
  spirit of LiRA (Carlini et al. 2022, below) and T. Stadler, B. Oprisanu, C. Troncoso,
  "Synthetic Data - Anonymisation Groundhog Day", USENIX Security 2022. It needs the model
  and costs whole fits, so it runs within a time budget.

Further attacks plug in through the :class:`Attack` protocol: a ``name`` and ``scores(targets)``.

Each attack is judged by :func:`attack_result`: ROC AUC and the true positive rate at 1% and
0.1% false positive rate, because an attack that is sure of a few records is a real leak even
at AUC 0.5 (N. Carlini et al., "Membership Inference Attacks From First Principles", IEEE S&P
2022). Confidence intervals are stratified bootstrap percentile intervals over the targets
(members and non-members resampled separately, seeded): the bootstrap carries the uncertainty
of the threshold (a quantile of the non-member scores) as well as of the hit rate, which a
Clopper-Pearson interval at a fixed threshold would leave out. ``most_exposed`` lists the row
labels of the members with the highest scores, never their values.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from synthgan.errors import ConfigError, DataError
from synthgan.privacy.filter import check_columns
from synthgan.privacy.metrics import ATTACK_ROWS_FACTOR, MAX_ROWS, embed_rows, sample_positions
from synthgan.privacy.space import MAX_BLOCK, MixedSpace, _device, nearest
from synthgan.schema import Schema, detect_schema

#: false positive rates the true positive rate is reported at
FPR_LEVELS = (0.01, 0.001)
#: members (and, separately, non-members) scored at most (seeded samples)
MAX_TARGETS = 5_000
#: synthetic and reference rows each density model holds at most (seeded samples): the cost
#: grows with targets x rows; 10,000 rows keep an Adult-sized run to seconds on one core
MAX_DENSITY_ROWS = 10_000
#: holdout rows needed: half of them become the reference set, half the non-member targets
MIN_HOLDOUT = 20
N_BOOTSTRAP = 200
CONFIDENCE = 0.95
N_EXPOSED = 10
#: members (and as many non-members) the shadow-model attack scores: each costs nothing extra,
#: but the result's intervals are wide with few targets
SHADOW_TARGETS = 100
#: wall time the shadow fits may take, in seconds
SHADOW_BUDGET_S = 300.0
#: shadow model pairs fitted at most (when the budget allows more)
MAX_SHADOW_PAIRS = 8
DEFAULT_ATTACKS = ("density_ratio", "distance")
#: density estimators of :class:`DensityRatioAttack`
ESTIMATORS = ("knn", "kde")
#: distances below this count as this in :func:`log_knn_density` (an exact copy is at 0)
MIN_DISTANCE = 1e-6


@runtime_checkable
class Attack(Protocol):
    """A fitted membership attack: higher scores mean "more likely a training record"."""

    name: str

    def scores(self, targets: pd.DataFrame) -> np.ndarray:
        """One float per row of ``targets`` (shape ``(len(targets),)``)."""
        ...


# -- densities ---------------------------------------------------------------------------------


def scott_bandwidth(points: np.ndarray, n_columns: int) -> float:
    """Scott's rule ``h = s * n ** (-1 / (d + 4))`` for an isotropic Gaussian kernel on ``points``.

    ``d`` is the number of table columns, not the number of coordinates (the one-hot
    coordinates of a category are one degree of freedom), and ``s`` is the spread per column,
    ``sqrt(total variance of the points / d)``. A table without spread gets ``h = 1``.
    """
    d = max(int(n_columns), 1)
    total = float(np.var(points.astype(np.float64), axis=0).sum()) if len(points) > 1 else 0.0
    if not np.isfinite(total) or total <= 0:
        return 1.0
    return float(np.sqrt(total / d) * len(points) ** (-1.0 / (d + 4)))


def log_kde(queries: np.ndarray, points: np.ndarray, bandwidth: float, device: str = "cpu") -> np.ndarray:
    """Log density of a Gaussian kernel density estimate on ``points`` at every query point.

    ``log (1/n) sum_j N(q; p_j, h^2 I)`` in float64, shape ``(len(queries),)``; the same value as
    ``sklearn.neighbors.KernelDensity(bandwidth=h).score_samples`` (tested; at small bandwidths
    sklearn's tree search loses the far tails, this does not), computed in blocks
    of at most ``MAX_BLOCK`` distances with matrix products (several times faster on CPU).
    """
    assert len(points) >= 1 and bandwidth > 0
    dev = _device(device)
    width = points.shape[1]
    ref = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float64)).to(dev)
    ref_norms = (ref**2).sum(1)
    chunk = max(1, MAX_BLOCK // len(points))
    out = np.empty(len(queries), dtype=np.float64)
    with torch.inference_mode():
        for s in range(0, len(queries), chunk):
            q = torch.from_numpy(np.ascontiguousarray(queries[s : s + chunk], dtype=np.float64)).to(dev)
            d2 = torch.addmm(ref_norms, q, ref.T, beta=1.0, alpha=-2.0) + (q**2).sum(1, keepdim=True)
            d2.clamp_(min=0.0)
            out[s : s + len(q)] = torch.logsumexp(-d2 / (2 * bandwidth**2), dim=1).cpu().numpy()
    return out - np.log(len(points)) - 0.5 * width * np.log(2 * np.pi * bandwidth**2)


def log_knn_density(
    queries: np.ndarray, points: np.ndarray, n_columns: int, device: str = "cpu"
) -> np.ndarray:
    """Log of the nearest-neighbour density estimate ``1 / (n * r(x) ** d)`` at every query point.

    ``r(x)`` is the distance to the nearest of the ``n`` points (at least :data:`MIN_DISTANCE`,
    so an exact copy is finite) and ``d`` the number of table columns (see
    :func:`scott_bandwidth`). The volume of the unit ball is left out: it cancels in a ratio of
    two such densities (D. Loftsgaarden, C. Quesenberry, "A nonparametric estimate of a
    multivariate density function", Ann. Math. Statist. 1965, with k = 1). Shape ``(len(queries),)``.
    """
    r = nearest(queries, points, 1, device=device)[0][:, 0]
    return -np.log(len(points)) - max(int(n_columns), 1) * np.log(np.maximum(r, MIN_DISTANCE))


# -- the attacks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DensityRatioAttack:
    """DOMIAS-style score ``log p_syn(x) - log p_ref(x)`` (see the module docstring).

    ``estimator`` is ``"knn"`` (default: :func:`log_knn_density`, up to ``10 * MAX_ROWS``
    synthetic rows) or ``"kde"`` (:func:`log_kde` with the :func:`scott_bandwidth` of the
    reference points, at most :data:`MAX_DENSITY_ROWS` rows of each table). The KDE is kept for
    comparison only: with one global bandwidth its ratio is dominated by how sparse a region
    is, so on a verbatim copy of a 2,000-row Gaussian table it reached AUC 0.69 and TPR 0.08 at
    1% FPR, where the nearest-neighbour ratio reached 1.0 and 1.0 (any bandwidth from 1 to
    0.05 times Scott's gave AUC <= 0.79; a balloon KDE with bandwidth 0.3 times the distance to
    the nearest reference row 0.99 and 0.79).
    """

    name: ClassVar[str] = "density_ratio"
    space: MixedSpace
    synthetic: np.ndarray = field(repr=False)  # points of (a seeded sample of) the synthetic rows
    reference: np.ndarray = field(repr=False)  # points of the reference rows (never targets)
    estimator: str = "knn"
    bandwidth: float | None = None  # the KDE's; None for "knn"
    device: str = "cpu"

    @classmethod
    def fit(
        cls,
        space: MixedSpace,
        synthetic: pd.DataFrame,
        reference: pd.DataFrame,
        *,
        estimator: str = "knn",
        seed: int = 0,
        device: str = "cpu",
    ) -> "DensityRatioAttack":
        if estimator not in ESTIMATORS:
            raise ConfigError(f"DensityRatioAttack: estimator must be one of {list(ESTIMATORS)}, got {estimator!r}")
        rng = np.random.default_rng(seed)
        max_rows = MAX_DENSITY_ROWS if estimator == "kde" else ATTACK_ROWS_FACTOR * MAX_ROWS
        syn, ref = _embed_sample(space, synthetic, max_rows, rng), _embed_sample(space, reference, max_rows, rng)
        bandwidth = scott_bandwidth(ref, len(space.columns)) if estimator == "kde" else None
        return cls(space, syn, ref, estimator, bandwidth, device)

    def scores(self, targets: pd.DataFrame) -> np.ndarray:
        x = embed_rows(self.space, targets)
        if self.estimator == "kde":
            h = self.bandwidth
            return log_kde(x, self.synthetic, h, self.device) - log_kde(x, self.reference, h, self.device)
        d = len(self.space.columns)
        return log_knn_density(x, self.synthetic, d, self.device) - log_knn_density(x, self.reference, d, self.device)


def _embed_sample(space: MixedSpace, rows: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Points of a seeded sample of at most ``max_rows`` of ``rows``."""
    return embed_rows(space, rows.iloc[sample_positions(len(rows), max_rows, rng)])


@dataclass(frozen=True)
class DistanceAttack:
    """Minus the distance from a record to its closest synthetic record."""

    name: ClassVar[str] = "distance"
    space: MixedSpace
    synthetic: np.ndarray = field(repr=False)
    device: str = "cpu"

    @classmethod
    def fit(
        cls,
        space: MixedSpace,
        synthetic: pd.DataFrame,
        *,
        max_rows: int = ATTACK_ROWS_FACTOR * MAX_ROWS,
        seed: int = 0,
        device: str = "cpu",
    ) -> "DistanceAttack":
        rng = np.random.default_rng(seed)
        return cls(space, _embed_sample(space, synthetic, max_rows, rng), device)

    def scores(self, targets: pd.DataFrame) -> np.ndarray:
        return -nearest(embed_rows(self.space, targets), self.synthetic, 1, device=self.device)[0][:, 0]


def _log_nearest(points: np.ndarray, synthetic: np.ndarray, device: str) -> np.ndarray:
    """log of the distance to the nearest synthetic point (at least :data:`MIN_DISTANCE`)."""
    return np.log(np.maximum(nearest(points, synthetic, 1, device=device)[0][:, 0], MIN_DISTANCE))


def _point_hashes(points: np.ndarray) -> np.ndarray:
    """One uint64 hash per embedded row: rows match whatever form (text dates, categories) they came in."""
    return pd.util.hash_pandas_object(pd.DataFrame(points), index=False).to_numpy(dtype=np.uint64)


@dataclass(frozen=True)
class ShadowModelAttack:
    """Shadow-model membership attack: the released table against shadow fits with and without each target.

    Fitted by :meth:`fit` for a fixed set of target rows: pairs of shadow models are trained on
    the reference rows plus one half of the targets (a fresh random split per pair; the other
    model of the pair gets the other half), so every target is "in" one model and "out" of the
    other, and each shadow model samples as many rows as the released table holds. The
    statistic at a target is ``-log`` of its distance to the nearest synthetic row (the density
    of the synthetic rows at it). Per target, ``mu_in`` and ``mu_out`` are the statistic's means
    over the shadow models that held / did not hold it; the score of the released table's
    statistic ``s`` is the log likelihood ratio of two Gaussians of one pooled spread,
    ``(mu_in - mu_out) * (s - (mu_in + mu_out) / 2) / sd**2`` (LiRA with a global variance; the
    spread does not change the ranking). Only the fitted targets can be scored (matched by
    their values); another row raises :class:`DataError`.
    """

    name: ClassVar[str] = "shadow"
    space: MixedSpace
    synthetic: np.ndarray = field(repr=False)
    hashes: np.ndarray = field(repr=False)  # sorted row hashes of the fitted targets
    mu_in: np.ndarray = field(repr=False)  # per hash
    mu_out: np.ndarray = field(repr=False)
    sd: float = 1.0
    n_shadow: int = 0
    seconds_per_fit: float = 0.0
    device: str = "cpu"

    @classmethod
    def fit(
        cls,
        space: MixedSpace,
        model,
        synthetic: pd.DataFrame,
        reference: pd.DataFrame,
        targets: pd.DataFrame,
        *,
        n_train: int,
        budget_s: float,
        metadata=None,
        seed: int = 0,
        device: str = "cpu",
    ) -> "ShadowModelAttack | str":
        """The fitted attack, or a sentence saying why no shadow pair fitted in ``budget_s`` seconds.

        ``model`` is a fitted synthesizer (``get_params()``, ``fit(df, metadata, target=...)``,
        ``sample(n)``); each shadow model is ``type(model)(**params)`` with progress off. Shadow
        training sets hold ``n_train`` rows where the reference allows (reference rows plus half
        of the targets). The budget is checked before each fit from the mean time of the fits so
        far, so it is overrun by at most one fit; one pair at least is needed.
        """
        rng = np.random.default_rng(seed)
        n_rows = min(len(synthetic), ATTACK_ROWS_FACTOR * MAX_ROWS)
        released = _embed_sample(space, synthetic, n_rows, rng)
        points = embed_rows(space, targets)
        half = len(targets) // 2
        n_reference = max(1, min(len(reference), n_train - half))
        params = dict(model.get_params())
        for name, value in (("verbose", False), ("log_dir", None), ("checkpoint_dir", None)):
            if name in params:
                params[name] = value
        target = getattr(model, "target_", None)
        stats_in = [[] for _ in range(len(targets))]
        stats_out = [[] for _ in range(len(targets))]
        times = []
        start = time.perf_counter()
        for _ in range(MAX_SHADOW_PAIRS):
            order = rng.permutation(len(targets))
            for held in (order[:half], order[half:]):
                elapsed = time.perf_counter() - start
                if times and elapsed + float(np.mean(times)) > budget_s:
                    break
                began = time.perf_counter()
                rows = pd.concat([reference.iloc[sample_positions(len(reference), n_reference, rng)], targets.iloc[held]])
                if "seed" in params and params["seed"] is not None:
                    params["seed"] = int(rng.integers(2**31))
                shadow = type(model)(**params)
                with warnings.catch_warnings():  # the user saw the model's warnings at their own fit
                    warnings.simplefilter("ignore")
                    shadow.fit(rows, metadata, **({"target": target} if target is not None else {}))
                stat = -_log_nearest(points, embed_rows(space, shadow.sample(n_rows)), device)
                inside = np.zeros(len(targets), dtype=bool)
                inside[held] = True
                for i in range(len(targets)):
                    (stats_in if inside[i] else stats_out)[i].append(stat[i])
                times.append(time.perf_counter() - began)
            else:
                continue
            break
        n_shadow = len(times)
        if any(not a or not b for a, b in zip(stats_in, stats_out)):
            return (
                f"The shadow-model attack was skipped: one shadow fit took {times[0]:.3g} s and the budget of "
                f"{budget_s:.3g} s (shadow_budget_s) does not allow a pair (each target in one fit, out of the other)."
            )
        mu_in = np.array([np.mean(v) for v in stats_in])
        mu_out = np.array([np.mean(v) for v in stats_out])
        residuals = [x - m for v, m in ((stats_in[i], mu_in[i]) for i in range(len(targets))) for x in v]
        residuals += [x - m for v, m in ((stats_out[i], mu_out[i]) for i in range(len(targets))) for x in v]
        spread = float(np.sqrt(np.mean(np.square(residuals)))) if n_shadow > 2 else 0.0
        hashes = _point_hashes(points)
        order = np.argsort(hashes, kind="stable")
        return cls(
            space, released, hashes[order], mu_in[order], mu_out[order], spread if spread > 0 else 1.0,
            n_shadow, float(np.mean(times)), device,
        )

    def scores(self, targets: pd.DataFrame) -> np.ndarray:
        points = embed_rows(self.space, targets)
        hashes = _point_hashes(points)
        at = np.clip(np.searchsorted(self.hashes, hashes), 0, len(self.hashes) - 1)
        if len(hashes) and (self.hashes[at] != hashes).any():
            raise DataError(
                "ShadowModelAttack.scores: a target row was not among the rows the shadow models were fitted "
                "for; score only those (shadow_attack picks them)"
            )
        s = -_log_nearest(points, self.synthetic, self.device)
        mu_in, mu_out = self.mu_in[at], self.mu_out[at]
        return (mu_in - mu_out) * (s - (mu_in + mu_out) / 2) / self.sd**2


# -- judging an attack -------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A figure and its confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class AttackResult:
    """How well one attack tells members from non-members.

    ``tpr_at_fpr`` maps each false positive rate of :data:`FPR_LEVELS` to the true positive rate
    at it. With fewer than ``1 / fpr`` non-members no false positive is allowed, so the figure
    is the share of members scored above every non-member. ``most_exposed`` holds the row
    labels of ``train`` (its positions when its index has duplicate labels, see
    ``exposed_by``) of the highest-scoring members, highest first, and ``exposed_p_values``
    the share of non-members scoring at least as high as each (0: the attacker is sure).
    """

    attack: str
    auc: Estimate
    tpr_at_fpr: dict  # {fpr: Estimate}
    n_members: int
    n_non_members: int
    most_exposed: tuple
    exposed_p_values: tuple
    confidence: float
    seconds: float = 0.0
    exposed_by: str = "label"  # "label" or "position"

    @property
    def tpr_at_1pct(self) -> Estimate:
        return self.tpr_at_fpr[0.01]

    @property
    def tpr_at_01pct(self) -> Estimate:
        return self.tpr_at_fpr[0.001]

    def to_dict(self) -> dict:
        return {
            "attack": self.attack,
            "auc": self.auc.to_dict(),
            "tpr_at_fpr": {str(k): v.to_dict() for k, v in self.tpr_at_fpr.items()},
            "n_members": self.n_members,
            "n_non_members": self.n_non_members,
            "most_exposed": list(self.most_exposed),
            "exposed_p_values": list(self.exposed_p_values),
            "exposed_by": self.exposed_by,
            "confidence": self.confidence,
            "seconds": self.seconds,
        }


def tpr_at_fpr(member_scores: np.ndarray, non_member_scores: np.ndarray, fpr: float) -> float:
    """The highest true positive rate of a threshold whose false positive rate is at most ``fpr``.

    A record is called a member when its score is strictly above the threshold; the best
    threshold is the ``(k+1)``-th highest non-member score, ``k = floor(fpr * n_non_members)``.
    """
    k = int(np.floor(fpr * len(non_member_scores) + 1e-9))
    if k >= len(non_member_scores):
        return 1.0
    threshold = -np.partition(-non_member_scores, k)[k]  # the (k+1)-th highest
    return float(np.mean(member_scores > threshold))


def _auc(member_scores: np.ndarray, non_member_scores: np.ndarray) -> float:
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(non_member_scores))]
    return float(roc_auc_score(labels, np.r_[member_scores, non_member_scores]))


def attack_result(
    name: str,
    member_scores: np.ndarray,
    non_member_scores: np.ndarray,
    member_labels: Sequence | None = None,
    *,
    n_exposed: int = N_EXPOSED,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    seconds: float = 0.0,
    exposed_by: str = "label",
) -> AttackResult:
    """Judge scores of members and non-members (1-d float arrays; higher = "member").

    ``member_labels`` names each member in ``most_exposed`` (default: its position). The
    intervals are percentile intervals of ``n_bootstrap`` stratified bootstrap resamples
    (``numpy.random.default_rng(seed)``); with ``n_bootstrap=0`` they collapse to the estimate.
    Raises :class:`DataError` when either group is empty or a score is NaN.
    """
    members = np.asarray(member_scores, dtype=np.float64)
    non_members = np.asarray(non_member_scores, dtype=np.float64)
    if len(members) == 0 or len(non_members) == 0:
        raise DataError(f"attack {name!r}: needs at least one member and one non-member score")
    if np.isnan(members).any() or np.isnan(non_members).any():
        raise DataError(f"attack {name!r} produced NaN scores; this is a bug, please report it")
    labels = list(range(len(members))) if member_labels is None else list(member_labels)
    assert len(labels) == len(members)

    def figures(m: np.ndarray, n: np.ndarray) -> list[float]:
        return [_auc(m, n), *(tpr_at_fpr(m, n, f) for f in FPR_LEVELS)]

    point = figures(members, non_members)
    rng = np.random.default_rng(seed)
    boot = np.array(
        [
            figures(members[rng.integers(0, len(members), len(members))],
                    non_members[rng.integers(0, len(non_members), len(non_members))])
            for _ in range(n_bootstrap)
        ]
    ).reshape(n_bootstrap, len(point))
    alpha = (1 - confidence) / 2
    if n_bootstrap:
        low, high = np.quantile(boot, alpha, axis=0), np.quantile(boot, 1 - alpha, axis=0)
    else:
        low, high = point, point
    estimates = [Estimate(float(v), float(min(lo, v)), float(max(hi, v))) for v, lo, hi in zip(point, low, high)]

    order = np.lexsort((np.arange(len(members)), -members))[:n_exposed]  # highest first, ties by position
    sorted_non = np.sort(non_members)
    at_least = len(non_members) - np.searchsorted(sorted_non, members[order], side="left")
    return AttackResult(
        attack=name,
        auc=estimates[0],
        tpr_at_fpr=dict(zip(FPR_LEVELS, estimates[1:])),
        n_members=len(members),
        n_non_members=len(non_members),
        most_exposed=tuple(_plain(labels[i]) for i in order),
        exposed_p_values=tuple(float(c) / len(non_members) for c in at_least),
        confidence=confidence,
        seconds=seconds,
        exposed_by=exposed_by,
    )


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


# -- running the attacks -----------------------------------------------------------------------


def _check_options(attacks, max_targets, reference_share, n_bootstrap, confidence, n_exposed) -> None:
    def bad(name, allowed, given):
        raise ConfigError(f"membership_attacks: {name} must be {allowed}, got {given!r}")

    for a in attacks:
        if isinstance(a, str):
            if a not in DEFAULT_ATTACKS:
                bad("each entry of attacks", f"one of {list(DEFAULT_ATTACKS)} or an Attack object", a)
        elif not isinstance(a, Attack):
            bad("each entry of attacks", "an attack name or an object with .name and .scores(targets)", a)
    if len(attacks) == 0:
        bad("attacks", "a non-empty list", attacks)
    if isinstance(max_targets, bool) or not isinstance(max_targets, (int, np.integer)) or max_targets < 1:
        bad("max_targets", "an integer >= 1", max_targets)
    if not isinstance(reference_share, (int, float)) or not 0 < reference_share < 1:
        bad("reference_share", "a number strictly between 0 and 1", reference_share)
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        bad("n_bootstrap", "an integer >= 0", n_bootstrap)
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        bad("confidence", "a number strictly between 0 and 1", confidence)
    if isinstance(n_exposed, bool) or not isinstance(n_exposed, (int, np.integer)) or n_exposed < 0:
        bad("n_exposed", "an integer >= 0", n_exposed)


def membership_attacks(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
    attacks: Sequence = DEFAULT_ATTACKS,
    schema: Schema | None = None,
    metadata=None,
    seed: int = 0,
    max_targets: int = MAX_TARGETS,
    reference_share: float = 0.5,
    n_exposed: int = N_EXPOSED,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    density_estimator: str = "knn",
    device: str = "cpu",
) -> dict[str, AttackResult]:
    """Run membership attacks against ``synthetic`` and judge them; ``{attack name: AttackResult}``.

    Targets: at most ``max_targets`` training rows (members) and at most ``max_targets``
    holdout rows (non-members), seeded samples. The density ratio needs reference rows the
    generator never saw that are not targets: ``reference`` when given, otherwise a random
    ``reference_share`` of ``holdout`` (the rest are the non-member targets). AUC and the
    rates are per-class figures, so the two groups need not be the same size.

    ``attacks`` holds names (:data:`DEFAULT_ATTACKS`) or fitted :class:`Attack` objects;
    ``density_estimator`` (:data:`ESTIMATORS`) is the density ratio attack's estimator.
    ``schema`` or ``metadata`` sets the column kinds (identifier columns are left out).

    Raises :class:`DataError` for an empty table or a holdout of fewer than
    :data:`MIN_HOLDOUT` rows, :class:`~synthgan.errors.SchemaError` when a table's columns
    differ from ``train``'s, :class:`ConfigError` for a bad option.
    """
    attacks = list(attacks) if not isinstance(attacks, str) else [attacks]
    _check_options(attacks, max_targets, reference_share, n_bootstrap, confidence, n_exposed)
    if density_estimator not in ESTIMATORS:
        raise ConfigError(
            f"membership_attacks: density_estimator must be one of {list(ESTIMATORS)}, got {density_estimator!r}"
        )
    tables = [("train", train), ("synthetic", synthetic), ("holdout", holdout)]
    for name, df in tables + ([("reference", reference)] if reference is not None else []):
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise DataError(f"membership attacks: the {name} table is empty (0 rows) or not a DataFrame")
    schema = schema if schema is not None else detect_schema(train, metadata)
    for name, df in (("synthetic", synthetic), ("holdout", holdout), ("reference", reference)):
        if df is not None:
            check_columns(schema, df, name)
    if reference is None and len(holdout) < MIN_HOLDOUT:
        raise DataError(
            f"membership attacks: the holdout has {len(holdout)} rows; at least {MIN_HOLDOUT} are needed "
            "(half become reference rows for the density model, half non-member targets). Pass a larger holdout."
        )
    train, synthetic, holdout = (schema.canonical(df) for df in (train, synthetic, holdout))
    rng = np.random.default_rng(seed)
    if reference is None:
        order = rng.permutation(len(holdout))
        n_ref = int(round(reference_share * len(holdout)))
        reference, holdout = holdout.iloc[np.sort(order[:n_ref])], holdout.iloc[np.sort(order[n_ref:])]
    else:
        reference = schema.canonical(reference)
    positions = sample_positions(len(train), max_targets, rng)
    members = train.iloc[positions]
    non_members = holdout.iloc[sample_positions(len(holdout), max_targets, rng)]
    unique = train.index.is_unique
    labels = members.index.tolist() if unique else positions.tolist()
    space = MixedSpace.fit(train, schema)

    results = {}
    for attack in attacks:
        start = time.perf_counter()
        if attack == "density_ratio":
            attack = DensityRatioAttack.fit(
                space, synthetic, reference, estimator=density_estimator, seed=seed, device=device
            )
        elif attack == "distance":
            attack = DistanceAttack.fit(space, synthetic, seed=seed, device=device)
        member_scores, non_member_scores = attack.scores(members), attack.scores(non_members)
        results[attack.name] = attack_result(
            attack.name,
            member_scores,
            non_member_scores,
            labels,
            n_exposed=n_exposed,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            seed=seed,
            seconds=time.perf_counter() - start,
            exposed_by="label" if unique else "position",
        )
    return results


def shadow_attack(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    model,
    *,
    schema: Schema | None = None,
    metadata=None,
    n_targets: int = SHADOW_TARGETS,
    budget_s: float = SHADOW_BUDGET_S,
    seed: int = 0,
    n_exposed: int = N_EXPOSED,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    device: str = "cpu",
) -> "AttackResult | str":
    """Run and judge :class:`ShadowModelAttack` against ``synthetic``; a sentence instead when it cannot run.

    Targets: ``n_targets`` training rows and as many holdout rows (seeded samples; fewer when
    a table is smaller, the holdout keeping at least half its rows as reference). The other
    holdout rows are the shadow models' reference data; ``model`` is the fitted synthesizer
    that made ``synthetic``. The result's ``seconds`` include the shadow fits.
    """
    if isinstance(n_targets, bool) or not isinstance(n_targets, (int, np.integer)) or n_targets < 1:
        raise ConfigError(f"shadow_attack: n_targets must be an integer >= 1, got {n_targets!r}")
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not budget_s > 0:
        raise ConfigError(f"shadow_attack: budget_s must be a number of seconds > 0, got {budget_s!r}")
    for name in ("get_params", "fit", "sample"):
        if not callable(getattr(model, name, None)):
            raise ConfigError(
                f"shadow_attack: model={type(model).__name__} has no {name}(); pass the fitted synthesizer "
                "that made the synthetic rows"
            )
    for name, df in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise DataError(f"shadow attack: the {name} table is empty (0 rows) or not a DataFrame")
    if len(holdout) < MIN_HOLDOUT:
        raise DataError(
            f"shadow attack: the holdout has {len(holdout)} rows; at least {MIN_HOLDOUT} are needed "
            "(half become reference rows for the shadow models, half non-member targets). Pass a larger holdout."
        )
    schema = schema if schema is not None else detect_schema(train, metadata)
    check_columns(schema, synthetic, "synthetic")
    check_columns(schema, holdout, "holdout")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(holdout))
    n_non = min(n_targets, len(holdout) // 2)
    non_members = holdout.iloc[np.sort(order[:n_non])]
    reference = holdout.iloc[np.sort(order[n_non:])]
    positions = sample_positions(len(train), n_targets, rng)
    members = train.iloc[positions]
    unique = train.index.is_unique
    space = MixedSpace.fit(schema.canonical(train), schema)
    start = time.perf_counter()
    attack = ShadowModelAttack.fit(  # shadow models get the rows in the form the model was fitted on
        space, model, synthetic, reference, pd.concat([members, non_members]),
        n_train=len(train), budget_s=float(budget_s), metadata=metadata, seed=seed, device=device,
    )
    if isinstance(attack, str):
        return attack
    member_scores, non_member_scores = attack.scores(members), attack.scores(non_members)
    return attack_result(
        attack.name,
        member_scores,
        non_member_scores,
        members.index.tolist() if unique else positions.tolist(),
        n_exposed=n_exposed,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        seconds=time.perf_counter() - start,
        exposed_by="label" if unique else "position",
    )


# -- anonymeter (optional) ---------------------------------------------------------------------

#: why anonymeter is an optional extra (checked 2026-11-30: anonymeter 1.1.0 is the newest release)
ANONYMETER_NOTE = (
    "anonymeter is not installed, so singling out and linkability were not measured. anonymeter 1.1.0 "
    "(the newest release) requires numpy < 1.27 and pyarrow < 22, which conflict with synthgan's stack; "
    "install it in a separate environment to run its evaluators."
)


@dataclass(frozen=True)
class AnonymeterResult:
    """anonymeter's risks (``{evaluator: Estimate}``: value and confidence interval), or why there are none."""

    installed: bool
    risks: dict
    note: str = ""

    def to_dict(self) -> dict:
        return {"installed": self.installed, "risks": {k: v.to_dict() for k, v in self.risks.items()}, "note": self.note}


def anonymeter_risks(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    sensitive: Sequence = (),
    known: Sequence | None = None,
    n_attacks: int = 500,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> AnonymeterResult:
    """Singling out, linkability and (per ``sensitive`` column) inference risk from anonymeter.

    M. Giomi et al., "A Unified Framework for Quantifying Privacy Risk in Synthetic Data",
    PoPETs 2023. ``holdout`` is anonymeter's control set; linkability splits ``known`` (default:
    every column but the sensitive ones) into two halves. When anonymeter is not installed the
    result has ``installed=False`` and :data:`ANONYMETER_NOTE`; it never raises for that.
    anonymeter draws its own random numbers (only singling out takes a seed).
    """
    try:
        from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
    except ImportError:
        return AnonymeterResult(installed=False, risks={}, note=ANONYMETER_NOTE)
    sensitive = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    for name in sensitive:
        if name not in train.columns:
            raise ConfigError(f"anonymeter_risks: sensitive column {name!r} is not in the training table")
    known = [c for c in train.columns if c not in sensitive] if known is None else list(known)
    if len(known) < 2:
        raise ConfigError("anonymeter_risks: at least 2 known columns are needed (linkability splits them in two)")

    def estimate(evaluator) -> Estimate:
        risk = evaluator.evaluate().risk(confidence_level=confidence)
        return Estimate(float(risk.value), float(risk.ci[0]), float(risk.ci[1]))

    common = dict(ori=train, syn=synthetic, control=holdout, n_attacks=n_attacks)
    half = len(known) // 2
    risks = {
        "singling_out": estimate(SinglingOutEvaluator(**common, seed=seed)),
        "linkability": estimate(LinkabilityEvaluator(**common, aux_cols=(known[:half], known[half:]))),
    }
    for name in sensitive:
        risks[f"inference:{name}"] = estimate(InferenceEvaluator(
            **common, aux_cols=known, secret=name, regression=bool(pd.api.types.is_float_dtype(train[name]))
        ))
    return AnonymeterResult(installed=True, risks=risks)
