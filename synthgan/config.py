"""Validated options for everything a user configures.

Estimators store their keyword arguments untouched (scikit-learn's contract) and build one
of these models when ``fit`` starts, so a bad option fails early with a message naming the
parameter, what is allowed and what was given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgan.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainingConfig(_Frozen):
    """Options of the shared training loop (tabular and image models)."""

    epochs: int = Field(300, ge=1, description="passes over the data")
    batch_size: int = Field(500, ge=2, description="rows per step; rounded to a multiple of pac")
    device: str = Field("auto", description='"auto" (cuda when available), "cpu", "cuda", "cuda:1"...')
    amp: bool | Literal["auto"] = Field(
        "auto",
        description='mixed precision: bf16 autocast (fp16 + scaler on GPUs without bf16). "auto": '
        "on for CUDA and for CPUs with AMX; off on other CPUs, where bf16 matmuls are slower than fp32",
    )
    seed: int | None = Field(None, description="same seed, same machine, same data: same model")
    verbose: bool = Field(True, description="progress bar with losses")
    checkpoint_dir: str | None = Field(None, description="folder for checkpoints; None disables them")
    checkpoint_every: int = Field(0, ge=0, description="epochs between checkpoints (0: only at the end)")
    resume: bool = Field(False, description="continue from the latest checkpoint in checkpoint_dir")


class DPConfig(_Frozen):
    """Differential privacy for :class:`~synthgan.TabularSynthesizer` (``dp=DPConfig(epsilon=3)``).

    The whole fit is (epsilon, delta)-DP with respect to adding or removing one row: a share
    ``stats_share`` of epsilon (and half of delta) pays for the transformer's statistics
    (noisy category counts, private bounds of numeric columns, missing-value rates), the rest
    for DP-SGD on the discriminator (Opacus: per-row clipping and Gaussian noise, RDP
    accounting). Column names, kinds and dtypes are treated as public.
    """

    epsilon: float = Field(..., gt=0, le=100, description="total privacy budget")
    delta: float = Field(1e-5, gt=0, lt=1, description="failure probability; well below 1/rows")
    max_grad_norm: float = Field(1.0, gt=0, description="per-row gradient clipping bound")
    stats_share: float = Field(0.1, gt=0, lt=1, description="share of epsilon for the transformer statistics")
    noise_multiplier: float | None = Field(
        None, gt=0, description="DP-SGD noise; None: the least noise that fits the budget for the epochs asked"
    )
    bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="public [low, high] of numeric columns; others are estimated privately"
    )
    categories: dict[str, list] = Field(
        default_factory=dict,
        description="public category lists; other columns release only categories with enough noisy rows",
    )


class TabularConfig(TrainingConfig):
    """CTGAN-style model options; defaults follow the CTGAN paper except where measured otherwise
    (numbers quantile-encoded, a size-aware training budget, best-epoch selection)."""

    epochs: int | None = Field(
        None, ge=1, description="passes over the data; None: a size-aware step budget (synthgan.tabular.budget)"
    )
    batch_size: int | None = Field(
        None, ge=2, description="rows per step, rounded to a multiple of pac; None: an eighth of the rows within [5, 50] pac-groups"
    )
    continuous_encoding: Literal["quantile", "mixture"] = Field(
        "quantile",
        description="numbers: a quantile transform to normal scores (TabDDPM), or CTGAN's mode-specific normalisation",
    )
    validation: float = Field(
        0.1, ge=0, lt=0.5,
        description="share of rows held out to score the generator every few epochs (best-epoch selection, "
        "early stopping); 0 turns both off. Tables under 100 rows are never split",
    )
    patience: int = Field(
        8, ge=0,
        description="validation scores without improvement before training stops (never in the first half "
        "of the planned epochs); 0 never stops early",
    )
    sample_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description='dtype of the generator\'s matmuls when sampling. "auto": the training autocast dtype '
        "when amp is on, else bf16 on CUDA and on CPUs with AVX-512-BF16 or AMX where a bf16 matmul measured "
        '>= 1.3x faster than fp32 (once per process; 2.5x on an AMD EPYC), fp32 elsewhere. "fp32" or "bf16" '
        "give the same rows for a seed in every process",
    )
    log_dir: str | None = Field(None, description="write TensorBoard scalars here (needs the tensorboard package)")
    target_balance: bool = Field(
        False, description="with fit(target=...): condition on the target's classes uniformly instead of by log-frequency"
    )
    target_loss: float = Field(
        1.0, ge=0, le=10,
        description="with fit(target=...): weight of the auxiliary classifier / regressor loss (CTAB-GAN+); 0: off",
    )
    label_model: bool = Field(
        True,
        description="with fit(target=...) and a discrete target: draw the target of every row whose target "
        "no condition fixes from a classifier of the real training rows given the generated features "
        "(sequential synthesis, see synthgan.tabular.label_model); False: the generator's own class",
    )
    generator_ema: float = Field(
        0.999, ge=0, lt=1,
        description="decay per generator step of an exponential moving average of its weights, which is "
        "what is scored, kept and sampled; 0 turns it off",
    )

    embedding_dim: int = Field(128, ge=1, description="noise dimension of the generator")
    generator_dim: tuple[int, ...] = Field((256, 256), description="residual layer widths")
    discriminator_dim: tuple[int, ...] = Field((256, 256), description="hidden layer widths")
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    generator_decay: float = Field(1e-6, ge=0)
    discriminator_decay: float = Field(1e-6, ge=0)
    discriminator_steps: int = Field(1, ge=1, description="critic updates per generator update")
    pac: int = Field(10, ge=1, description="PacGAN: rows the discriminator judges jointly")
    gp_weight: float = Field(10.0, ge=0, description="WGAN-GP gradient-penalty weight")
    gp_every: int = Field(
        1, ge=1, description="lazy gradient penalty: apply it every k critic steps, scaled by k"
    )
    max_modes: int = Field(10, ge=1, description="Gaussian-mixture modes per continuous column")
    gmm_subsample: int = Field(
        5_000, ge=10, description="rows the mixture of each continuous column is fitted on"
    )
    enforce_bounds: bool = Field(True, description="clip numbers to the observed min/max")
    id_columns: Literal["generate", "drop"] = Field(
        "generate", description="identifier-like columns: fresh unique values, or dropped"
    )
    dp: DPConfig | None = Field(None, description="train with differential privacy (needs synthgan[dp])")


def validate(model: type[BaseModel], owner: str, **values) -> BaseModel:
    """Build ``model`` from ``values`` or raise one ConfigError naming every bad parameter."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "?"
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise ConfigError(f"{owner}: invalid parameter(s): " + "; ".join(problems)) from None


class ImageConfig(TrainingConfig):
    """Class-conditional image GAN options; defaults suit a few hundred 28x28 to 64x64 images."""

    epochs: int = Field(300, ge=1, description="passes over the images")
    batch_size: int = Field(64, ge=2, description="images per step")
    noise_dim: int = Field(128, ge=1, description="latent dimension")
    channels: int = Field(32, ge=8, description="base width of both networks")
    generator_lr: float = Field(2e-4, gt=0, description="Adam(0, 0.99), as in StyleGAN2-ADA")
    discriminator_lr: float = Field(2e-4, gt=0)
    d_steps: int = Field(
        2, ge=1, le=10, description="discriminator updates per generator update; with 1 the critic collapses on small sets"
    )
    class_loss: float = Field(
        2.0, ge=0, le=10, description="weight of an auxiliary class head (AC-GAN, real images only); 0: off"
    )
    ema_images: int = Field(
        10_000, ge=1, description="half-life, in images, of the EMA of generator weights used for sampling"
    )
    ema_rampup: float = Field(
        0.05, ge=0, description="early on the half-life is at most this share of the images seen (0: off)"
    )
    augment: bool | Literal["auto"] = Field(
        "auto", description="DiffAugment (translation, cutout, colour); auto: on below 10,000 images"
    )
