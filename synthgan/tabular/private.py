"""Differentially private fitting of the tabular model (``TabularSynthesizer(dp=DPConfig(...))``).

Two parts of a fit see real rows, and both are made private, or the guarantee is false:

1. The transformer's statistics. Every modelled column releases one histogram with Laplace
   noise (a row adds one count to each, so the C histograms together have L1 sensitivity
   C and each gets scale C / epsilon_stats):
   - categorical and boolean columns: noisy category counts. Without a public category list
     only categories whose noisy count clears ``1 + b ln(1 / 2 delta_c)`` are released (the
     standard thresholded histogram over an unknown domain, (epsilon, delta)-DP); rows of an
     unreleased category are trained as the most frequent released one.
   - numeric and datetime columns: noisy counts over public power-of-two bins (sign x 2^k)
     plus a missing bin; the private bounds are the outermost bins whose noisy count clears
     the same threshold, unless the user gives public bounds. The Gaussian mixture of the
     non-private model (fitted on raw values) is replaced by one mode scaled to the bounds.
   - identifier columns learn nothing: fresh integers from 0, or 16 hex characters.
2. Training. Only the discriminator reads real rows. It is trained with DP-SGD through
   Opacus (per-row clipping to ``max_grad_norm``, Gaussian noise, RDP accounting) on rows
   drawn by Poisson sampling, which is what the accountant assumes, instead of CTGAN's
   training-by-sampling. WGAN-GP's gradient penalty needs a second backward pass, which
   per-sample gradients do not support, so the critic uses the standard (non-saturating)
   GAN loss with one row per critic input (no PacGAN), as DP-CTGAN does.

The generator never reads real rows; its updates are post-processing.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import torch

from synthgan.config import DPConfig, TabularConfig
from synthgan.errors import ConfigError, DataError, MissingDependencyError, TrainingError
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema
from synthgan.tabular.encoders import SPREAD, CategoricalEncoder, ContinuousEncoder, IdentifierGenerator
from synthgan.tabular.model import TAU, CTGANModel
from synthgan.tabular.transformer import NUMERIC, TableTransformer, column_floats

#: public bins of numeric columns: 0 and +-2^k for k in this range
EXPONENTS = np.arange(-20, 64)
#: RDP orders: Opacus' defaults plus larger ones, which are tighter for short, noisy runs
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + list(range(64, 512, 8))


def require_opacus():
    try:
        importlib.import_module("opacus")
    except ImportError:
        raise MissingDependencyError(
            "dp=DPConfig(...) trains with Opacus, which is not installed: pip install 'synthgan[dp]'"
        ) from None


# -- budget --------------------------------------------------------------------------------
def split_budget(dp: DPConfig) -> tuple[tuple[float, float], tuple[float, float]]:
    """((epsilon, delta) for statistics, (epsilon, delta) for DP-SGD); they add up (basic composition)."""
    eps_stats = dp.epsilon * dp.stats_share
    return (eps_stats, dp.delta / 2), (dp.epsilon - eps_stats, dp.delta / 2)


def threshold(scale: float, delta: float) -> float:
    """Noisy count a key of an unknown domain needs before it is released."""
    return 1 + scale * math.log(1 / (2 * delta))


# -- private transformer -------------------------------------------------------------------
def fit_private_transformer(
    df: pd.DataFrame, schema: Schema, config: TabularConfig, rng: np.random.Generator
) -> tuple[TableTransformer, pd.DataFrame]:
    """A transformer built from noisy statistics, and the table as training will see it
    (unreleased categories remapped, numbers clipped to the private bounds)."""
    dp = config.dp
    _check_names(dp, schema)
    (eps, delta), _ = split_budget(dp)
    modelled = [c for c in schema.columns if c.kind is not ColumnKind.ID]
    scale = len(modelled) / eps
    delta_c = delta / max(len(modelled), 1)
    cut = threshold(scale, delta_c)
    tt = TableTransformer(1, 1, config.enforce_bounds, "mixture")
    # no decimals: how a column was recorded is a statistic of the data, not released under DP
    # no exact integer bounds under DP: they would release the true min and max
    tt.schema, tt.encoders, tt.decimals, tt.steps, tt.int_bounds = schema, {}, {}, {}, {}
    df = df.copy()
    for col in schema.columns:
        values = df[col.name]
        if col.kind is ColumnKind.ID:
            tt.encoders[col.name] = _blank_ids(values)
        elif col.kind in DISCRETE_KINDS:
            public = dp.categories.get(col.name)
            if public is None and col.kind is ColumnKind.BOOLEAN:
                public = [False, True]
            if public is None and isinstance(values.dtype, pd.CategoricalDtype):
                public = list(values.dtype.categories)
            enc, df[col.name] = _private_categories(col.name, values, public, scale, cut, rng)
            tt.encoders[col.name] = enc
        else:
            floats = column_floats(values, col.kind)
            enc, floats = _private_numeric(col.name, values, floats, dp.bounds.get(col.name), scale, cut, rng)
            tt.encoders[col.name] = enc
            df[col.name] = _back(floats, values, col.kind)
    tt.layout = tt._build_layout()
    return tt, df


def _check_names(dp: DPConfig, schema: Schema) -> None:
    kinds = {c.name: c.kind for c in schema.columns}
    for option, allowed in (("bounds", NUMERIC), ("categories", DISCRETE_KINDS)):
        for name in getattr(dp, option):
            if name not in kinds:
                raise ConfigError(f"DPConfig.{option}: {name!r} is not a column of the table")
            if kinds[name] not in allowed:
                raise ConfigError(f"DPConfig.{option}: column {name!r} is {kinds[name].value}, not {option[:-1]}-able")
    for name, (low, high) in dp.bounds.items():
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"DPConfig.bounds[{name!r}] = ({low}, {high}): need finite low < high")


def _laplace(counts: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    return counts + rng.laplace(0.0, scale, size=len(counts))


def _can_be_missing(values: pd.Series) -> bool:
    """Whether the column's dtype (public) can hold a missing value at all."""
    return not (pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype))


def _noisy_missing(values, scale, cut, rng) -> float:
    """The noisy count of missing values, or 0 when it does not clear ``cut`` (missingness is
    released like any other key of an unknown domain)."""
    if not _can_be_missing(values):
        return 0.0
    noisy = _laplace(np.array([pd.isna(values).sum()], float), scale, rng)[0]
    return noisy if noisy >= cut else 0.0


def _private_categories(name, values: pd.Series, public, scale, cut, rng):
    observed = values.dropna()
    missing = _noisy_missing(values, scale, cut, rng)
    if public is not None:
        keys = list(public)
        extra = set(pd.unique(observed)) - set(keys)
        if extra:
            raise DataError(
                f"column {name!r} holds values outside its public category list: {sorted(map(str, extra))[:5]}"
            )
        noisy = _laplace(observed.value_counts().reindex(keys, fill_value=0).to_numpy(float), scale, rng)
        released = np.ones(len(keys), dtype=bool)
    else:
        counts = observed.value_counts()
        keys = list(counts.index)
        noisy = _laplace(counts.to_numpy(float), scale, rng)
        released = noisy >= cut
    if not released.any():
        raise DataError(
            f"column {name!r}: no category has enough rows to be released under this privacy budget; "
            f"give its categories with DPConfig(categories={{{name!r}: [...]}}), raise epsilon, or drop the column"
        )
    kept = [k for k, r in zip(keys, released) if r]
    freq = np.maximum(noisy[released], 0.0) + 1.0  # every released category stays drawable
    try:
        order = np.argsort(np.array(kept, dtype=object))
        kept, freq = [kept[i] for i in order], freq[order]
    except TypeError:
        pass
    enc = CategoricalEncoder()
    enc.categories = [v.item() if isinstance(v, np.generic) else v for v in kept]
    enc.has_missing = bool(missing > 0)
    enc.frequencies = freq.tolist() + ([max(missing, 1.0)] if enc.has_missing else [])
    # rows of unreleased categories (and missing values, when missingness is not released)
    # train as the most frequent released category: a per-row map, so the guarantee holds
    top = enc.categories[int(np.argmax(freq))]
    known = values.isin(enc.categories) | (values.isna() & enc.has_missing)
    mapped = values.astype(object).where(known, top)
    if isinstance(values.dtype, pd.CategoricalDtype):
        mapped = pd.Categorical(mapped, categories=values.dtype.categories)
    return enc, mapped


def _private_numeric(name, values: pd.Series, floats: np.ndarray, public, scale, cut, rng):
    """One-mode encoder on public or private bounds; ``cut`` decides if missingness is released."""
    missing = np.isnan(floats)
    noisy_missing = _noisy_missing(values, scale, cut, rng)
    if public is not None:
        low, high = map(float, public)
    else:
        edges = np.concatenate([-(2.0 ** EXPONENTS[::-1]), [0.0], 2.0 ** EXPONENTS])
        observed = floats[~missing]
        if len(observed) and np.abs(observed).max() > edges[-1]:
            raise DataError(f"column {name!r}: values beyond +-2^{EXPONENTS[-1]}; give DPConfig(bounds=...)")
        counts = np.bincount(np.searchsorted(edges, observed), minlength=len(edges) + 1).astype(float)
        noisy = _laplace(counts, scale, rng)
        # the bins are public, so any cut is safe; this one lets a pure-noise bin through
        # with probability about 0.1 over all bins (the unknown-domain cut is twice as high)
        clear = np.flatnonzero(noisy >= scale * math.log(len(noisy) / 0.1))
        if len(clear) == 0:
            raise DataError(
                f"column {name!r}: too few rows to estimate its range privately; give DPConfig(bounds={{{name!r}: (low, high)}})"
            )
        # bin i holds values in (edges[i-1], edges[i]]
        low = edges[max(clear[0] - 1, 0)]
        high = edges[min(clear[-1], len(edges) - 1)]
        if low == high:
            high = low + 1.0
    enc = ContinuousEncoder(1, 1)
    enc.has_missing = bool(noisy_missing > 0)
    enc.low, enc.high = low, high
    enc.center, enc.scale = (low + high) / 2, (high - low) / (2 * SPREAD)
    enc.means, enc.stds, enc.log_weights = np.zeros(1), np.ones(1), np.zeros(1)
    clipped = np.clip(floats, low, high)
    if not enc.has_missing:  # missingness not released: such rows train at the centre
        clipped = np.where(missing, enc.center, clipped)
    return enc, clipped


def _back(floats: np.ndarray, values: pd.Series, kind: ColumnKind) -> pd.Series:
    """Clipped floats back into the column's own type, for the transformer to read again."""
    if kind is ColumnKind.DATETIME:
        ints = np.where(np.isnan(floats), 0, np.round(floats)).astype("int64")
        out = pd.Series(pd.to_datetime(ints, unit="ns"), index=values.index)
        out[np.isnan(floats)] = pd.NaT
        return out
    return pd.Series(floats, index=values.index)


def _blank_ids(values: pd.Series) -> IdentifierGenerator:
    gen = IdentifierGenerator()
    gen.integer = bool(pd.api.types.is_integer_dtype(values))
    gen.start, gen.alphabets = 0, ([] if gen.integer else ["0123456789abcdef"] * 16)
    return gen


# -- DP-SGD model --------------------------------------------------------------------------
class DPCTGANModel(CTGANModel):
    """CTGAN with a DP-SGD discriminator (see the module docstring)."""

    def prepare(self, data: torch.Tensor, fingerprint_of: dict) -> None:
        require_opacus()
        from opacus import GradSampleModule
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.optimizers import DPOptimizer

        super().prepare(data, fingerprint_of)
        cfg, dp = self.config, self.config.dp
        _, (self.eps_budget, self.delta_budget) = split_budget(dp)
        n_rows = len(data)
        self.sample_rate = min(1.0, self.batch_size / n_rows)
        self.planned_steps = cfg.epochs * self.steps_per_epoch * cfg.discriminator_steps
        if dp.noise_multiplier is None:
            self.noise_multiplier = get_noise_multiplier(
                target_epsilon=self.eps_budget, target_delta=self.delta_budget,
                sample_rate=self.sample_rate, steps=self.planned_steps, epsilon_tolerance=0.005, alphas=ALPHAS,
            )
        else:
            self.noise_multiplier = dp.noise_multiplier
        self.accountant = RDPAccountant()
        projected = _epsilon(self.noise_multiplier, self.sample_rate, self.planned_steps, self.delta_budget)
        if projected > self.eps_budget * 1.001:
            fits = _steps_within(self.noise_multiplier, self.sample_rate, self.delta_budget, self.eps_budget)
            raise ConfigError(
                f"dp: {cfg.epochs} epochs at noise_multiplier={self.noise_multiplier} spend epsilon "
                f"{projected:.2f}, over the training budget {self.eps_budget:.2f}; at most "
                f"{fits // (self.steps_per_epoch * cfg.discriminator_steps)} epochs fit (or leave noise_multiplier=None)"
            )
        self.private_d = GradSampleModule(self.net_d, loss_reduction="sum")
        self.opt_d = DPOptimizer(
            torch.optim.Adam(self.net_d.parameters(), lr=cfg.discriminator_lr, betas=(0.5, 0.9),
                             weight_decay=cfg.discriminator_decay),
            noise_multiplier=self.noise_multiplier, max_grad_norm=dp.max_grad_norm,
            expected_batch_size=self.batch_size, loss_reduction="sum", generator=self.generator,
        )
        self.dp_steps = 0

    def _poisson_rows(self) -> torch.Tensor:
        n = len(self.data)
        keep = torch.rand(n, device=self.device, generator=self.generator) < self.sample_rate
        return keep.nonzero().squeeze(1)

    def _own_condition(self, rows: torch.Tensor) -> torch.Tensor:
        """Each real row's conditional vector: its own category in a randomly chosen discrete
        column (a function of that row alone, so per-row clipping still bounds its influence)."""
        sampler = self.sampler
        if sampler.n_columns == 0:
            return torch.zeros((len(rows), 0), device=self.device)
        column = torch.randint(sampler.n_columns, (len(rows),), device=self.device, generator=self.generator)
        blocks = self.data[rows]
        local = torch.stack([blocks[:, s.start : s.end].argmax(dim=1) for s in sampler.spans], dim=1)
        category = sampler.offsets[column] + local.gather(1, column[:, None]).squeeze(1)
        return sampler.one_hot(category)

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg = self.config
        bce = torch.nn.functional.softplus
        for _ in range(cfg.discriminator_steps):
            if self.dp_steps >= self.planned_steps:
                raise TrainingError(
                    f"dp: the privacy budget (epsilon {self.eps_budget:.2f} for training) is spent "
                    f"after {self.planned_steps} critic steps; refusing to train further"
                )
            rows = self._poisson_rows()
            real = torch.cat([self.data[rows], self._own_condition(rows)], dim=1)
            with torch.no_grad():
                cond = self.sampler.sample_original(self.batch_size, self.generator)
                fake = torch.cat([self._fake(cond)[1].float(), cond], dim=1)
            # fake rows hold no private data (the generator only ever saw the DP critic), so
            # their gradient is taken without per-row machinery and added after clipping + noise
            self.opt_d.zero_grad(set_to_none=True)
            with warnings.catch_warnings():  # Opacus' hooks on a critic whose inputs need no grad
                warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
                self.private_d.disable_hooks()
                try:
                    loss_fake = bce(self.private_d(fake).squeeze(1)).sum()
                    fake_grads = torch.autograd.grad(loss_fake, list(self.net_d.parameters()))
                finally:
                    self.private_d.enable_hooks()
                loss_real = bce(-self.private_d(real).squeeze(1)).sum()
                loss_real.backward()
            if self.opt_d.pre_step():  # per-row clipping of the real rows, then Gaussian noise
                for param, grad in zip(self.net_d.parameters(), fake_grads):
                    param.grad.add_(grad)
                self.opt_d.original_optimizer.step()
            loss_d = (loss_real + loss_fake).detach()
            self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
            self.dp_steps += 1

        cond = self.sampler.sample_original(self.batch_size, self.generator)
        self.private_d.disable_hooks()
        try:
            raw = self.net_g(torch.cat([self._noise(len(cond)), cond], dim=1))
            fake = self.ops.activate(raw, TAU, self.generator)
            critic = self.private_d(torch.cat([fake, cond], dim=1)).squeeze(1)
            loss_g = bce(-critic).mean() + self.ops.condition_loss(raw, cond)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
        finally:
            self.private_d.enable_hooks()
        n_real = max(len(self.data) * self.sample_rate, 1.0)
        return {"generator": loss_g.detach(), "discriminator": loss_d / (n_real + self.batch_size)}

    def epsilon_spent(self) -> float:
        return float(self.accountant.get_epsilon(self.delta_budget, alphas=ALPHAS)) if self.dp_steps else 0.0


def _epsilon(noise: float, rate: float, steps: int, delta: float) -> float:
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(noise, rate, steps)]
    return float(acc.get_epsilon(delta, alphas=ALPHAS))


def _steps_within(noise: float, rate: float, delta: float, budget: float) -> int:
    low, high = 0, 1
    while _epsilon(noise, rate, high, delta) <= budget and high < 10**8:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if _epsilon(noise, rate, mid, delta) <= budget else (low, mid)
    return low
