"""Zero-concentrated differential privacy (zCDP): the accountant of the marginal-based synthesizers.

A mechanism is rho-zCDP when the Renyi divergence of order alpha between its outputs on
neighbouring tables is at most ``rho * alpha`` for every alpha > 1 (Bun & Steinke, 2016).
zCDP composes by adding rho, which is why AIM and MST (McKenna et al., 2021, 2022) account
in it:

- the Gaussian mechanism with L2 sensitivity ``s`` and noise ``sigma`` is ``s^2 / (2 sigma^2)``-zCDP;
- the exponential mechanism with parameter ``epsilon`` (an ``epsilon``-DP selection) is
  ``epsilon^2 / 8``-zCDP (Cesar & Rogers, 2021, bounded-range mechanisms).

A rho-zCDP mechanism is (epsilon, delta)-DP for every delta > 0, with the conversion of
Canonne, Kamath & Steinke (2020, Proposition 12 / Corollary 13):

    delta = inf_{alpha > 1}  exp((alpha - 1)(alpha rho - epsilon)) / (alpha - 1) * (1 - 1/alpha)^alpha

which is tighter than the classic ``epsilon = rho + 2 sqrt(rho ln(1/delta))``.
:func:`rho_for` inverts it (the largest rho whose conversion meets a target
(epsilon, delta)); :class:`Ledger` records every spend and refuses one that would overspend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from synthgan.errors import ConfigError


def delta_for(rho: float, epsilon: float) -> float:
    """The smallest delta for which a ``rho``-zCDP mechanism is (``epsilon``, delta)-DP.

    Canonne, Kamath & Steinke (2020), Corollary 13; the optimal alpha is found by bisection
    on the derivative of the exponent, which is increasing in alpha.
    """
    if rho < 0 or epsilon < 0:
        raise ValueError("rho and epsilon must be >= 0")
    if rho == 0:
        return 0.0
    low, high = 1.0 + 1e-9, max((epsilon + 1) / (2 * rho) + 2, 2.0)
    for _ in range(200):
        alpha = (low + high) / 2
        derivative = (2 * alpha - 1) * rho - epsilon + math.log1p(-1 / alpha)
        if derivative < 0:
            low = alpha
        else:
            high = alpha
    alpha = (low + high) / 2
    exponent = (alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1 / alpha)
    return min(1.0, math.exp(exponent) / (alpha - 1))


def epsilon_for(rho: float, delta: float) -> float:
    """The smallest epsilon for which a ``rho``-zCDP mechanism is (epsilon, ``delta``)-DP."""
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    if rho == 0:
        return 0.0
    low, high = 0.0, rho + 2 * math.sqrt(rho * math.log(1 / delta))  # the classic bound is an upper end
    for _ in range(200):
        mid = (low + high) / 2
        if delta_for(rho, mid) > delta:
            low = mid
        else:
            high = mid
    return high


def rho_for(epsilon: float, delta: float) -> float:
    """The largest rho whose zCDP guarantee implies (``epsilon``, ``delta``)-DP."""
    if epsilon <= 0 or not 0 < delta < 1:
        raise ValueError("need epsilon > 0 and 0 < delta < 1")
    low, high = 0.0, max(epsilon + 1.0, 1.0)
    for _ in range(200):
        mid = (low + high) / 2
        if delta_for(mid, epsilon) <= delta:
            low = mid
        else:
            high = mid
    return low


def gaussian_rho(sigma: float, sensitivity: float = 1.0) -> float:
    """zCDP cost of the Gaussian mechanism: ``sensitivity^2 / (2 sigma^2)``."""
    return sensitivity**2 / (2 * sigma**2)


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Noise of a Gaussian mechanism that costs exactly ``rho``."""
    return sensitivity / math.sqrt(2 * rho)


def exponential_rho(epsilon: float) -> float:
    """zCDP cost of the exponential mechanism with parameter ``epsilon``: ``epsilon^2 / 8``."""
    return epsilon**2 / 8


@dataclass
class Ledger:
    """A rho budget and every spend against it, in order.

    :meth:`spend` raises ``ConfigError`` before a spend that would take the total past the
    budget (a relative slack of 1e-9 absorbs floating-point rounding), so the sum of what is
    recorded never exceeds ``budget``.
    """

    budget: float
    spends: list[tuple[str, float]] = field(default_factory=list)

    @property
    def spent(self) -> float:
        return math.fsum(r for _, r in self.spends)

    @property
    def remaining(self) -> float:
        return max(self.budget - self.spent, 0.0)

    def can_spend(self, rho: float) -> bool:
        return self.spent + rho <= self.budget * (1 + 1e-9)

    def spend(self, what: str, rho: float) -> None:
        if rho < 0:
            raise ValueError("a spend is never negative")
        if not self.can_spend(rho):
            raise ConfigError(
                f"privacy budget: {what} would spend rho {rho:.4g} with {self.remaining:.4g} of "
                f"{self.budget:.4g} left; refused"
            )
        self.spends.append((what, float(rho)))
