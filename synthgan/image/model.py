"""The image GAN's training step (hinge loss, DiffAugment, EMA generator) and generation."""

from __future__ import annotations

import copy
import hashlib
import json

import torch
from torch.nn.functional import cross_entropy

from synthgan.config import ImageConfig
from synthgan.image.augment import diff_augment
from synthgan.image.networks import ImageDiscriminator, ImageGenerator, padded_size
from synthgan.training import Precision


class ImageGANModel:
    """Networks, optimisers and one step; implements ``training.Trainable``."""

    def __init__(
        self, config: ImageConfig, precision: Precision, n_classes: int, shape: tuple[int, int, int], seed
    ):
        self.config, self.precision, self.device = config, precision, precision.device
        self.height, self.width, self.channels = shape
        self.size = padded_size(self.height, self.width)
        self.n_classes = n_classes
        self.net_g = ImageGenerator(config.noise_dim, n_classes, self.channels, self.size, config.channels)
        self.class_weight = config.class_loss if n_classes > 1 else 0.0
        self.net_d = ImageDiscriminator(
            n_classes, self.channels, self.size, config.channels, classify=self.class_weight > 0
        )
        self.ema = copy.deepcopy(self.net_g).requires_grad_(False)
        for net in (self.net_g, self.net_d, self.ema):  # channels-last: faster convolutions on
            net.to(self.device, memory_format=torch.channels_last)  # GPUs, and 17% on this CPU
        self.generator = torch.Generator(self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)

    # -- geometry: generate at a power of two, return the training size ---------------------
    def _crop(self, x: torch.Tensor) -> torch.Tensor:
        top, left = (self.size - self.height) // 2, (self.size - self.width) // 2
        return x[:, :, top : top + self.height, left : left + self.width]

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Replicate-pad training-size images to the network size (a border carries no signal)."""
        top, left = (self.size - self.height) // 2, (self.size - self.width) // 2
        padding = (left, self.size - self.width - left, top, self.size - self.height - top)
        return torch.nn.functional.pad(x, padding, mode="replicate") if any(padding) else x

    # -- training -------------------------------------------------------------------------
    def prepare(self, images: torch.Tensor, labels: torch.Tensor, augment: bool, fingerprint_of: dict) -> None:
        cfg = self.config
        self.images, self.labels, self.augment = images, labels, augment
        self.batch_size = min(cfg.batch_size, len(images))
        self.steps_per_epoch = max(1, len(images) // self.batch_size)
        self.opt_g = torch.optim.Adam(self.net_g.parameters(), lr=cfg.generator_lr, betas=(0.0, 0.99))
        self.opt_d = torch.optim.Adam(self.net_d.parameters(), lr=cfg.discriminator_lr, betas=(0.0, 0.99))
        self.step_count = 0
        self._fingerprint = hashlib.sha256(json.dumps(fingerprint_of, sort_keys=True, default=str).encode()).hexdigest()

    def fingerprint(self) -> str:
        return self._fingerprint

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.net_g, "discriminator": self.net_d, "ema": self.ema}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        x = diff_augment(x, self.generator) if self.augment else x
        return x.contiguous(memory_format=torch.channels_last)

    def _fake(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Fakes at training size, re-padded, with labels drawn like the real ones."""
        pick = torch.randint(len(self.labels), (n,), device=self.device, generator=self.generator)
        y = self.labels[pick]
        z = torch.randn((n, self.config.noise_dim), device=self.device, generator=self.generator)
        return self.pad(self._crop(self.net_g(z, y))), y

    def _critic_step(self) -> torch.Tensor:
        prec, n = self.precision, self.batch_size
        pick = torch.randint(len(self.images), (n,), device=self.device, generator=self.generator)
        real, y_real = self.images[pick], self.labels[pick]
        with prec.autocast():
            with torch.no_grad():
                fake, y_fake = self._fake(n)
            score_real, logits_real = self.net_d(self._view(real), y_real)
            score_fake, _ = self.net_d(self._view(fake), y_fake)
            loss_d = torch.relu(1 - score_real.float()).mean() + torch.relu(1 + score_fake.float()).mean()
            if logits_real is not None:  # the class head learns from real images only
                loss_d = loss_d + self.class_weight * cross_entropy(logits_real.float(), y_real)
        self.opt_d.zero_grad(set_to_none=True)
        prec.backward(loss_d)
        prec.step(self.opt_d)
        return loss_d.detach()

    def _generator_loss(self, n: int) -> torch.Tensor:
        """Hinge generator loss, plus the class head's cross-entropy on the fakes' own labels."""
        with self.precision.autocast():
            fake, y_fake = self._fake(n)
            score_fake, logits_fake = self.net_d(self._view(fake), y_fake)
            loss_g = -score_fake.float().mean()
            if logits_fake is not None:
                loss_g = loss_g + self.class_weight * cross_entropy(logits_fake.float(), y_fake)
        return loss_g

    def train_step(self) -> dict[str, torch.Tensor]:
        prec, n = self.precision, self.batch_size
        loss_d = sum(self._critic_step() for _ in range(self.config.d_steps)) / self.config.d_steps
        loss_g = self._generator_loss(n)
        self.opt_g.zero_grad(set_to_none=True)
        prec.backward(loss_g)
        prec.step(self.opt_g)
        self._update_ema()
        return {"generator": loss_g.detach(), "discriminator": loss_d}

    @torch.no_grad()
    def _update_ema(self) -> None:
        """EMA with a half-life in images (StyleGAN2-ADA): ``ema_images``, ramped up as
        ``ema_rampup`` x images seen, so short runs are not averaged with their first steps."""
        self.step_count += 1
        seen = self.step_count * self.batch_size
        half_life = self.config.ema_images
        if self.config.ema_rampup > 0:
            half_life = min(half_life, seen * self.config.ema_rampup)
        decay = 0.5 ** (self.batch_size / max(half_life, 1e-8))
        for ema, live in zip(self.ema.parameters(), self.net_g.parameters()):
            ema.lerp_(live, 1 - decay)

    # -- generation -----------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, labels: torch.Tensor, generator: torch.Generator, chunk: int = 1024) -> torch.Tensor:
        """uint8 images (N, H, W, C) from the EMA generator, one per label."""
        was_training = self.ema.training
        self.ema.eval()
        out = []
        try:
            for start in range(0, len(labels), chunk):
                y = labels[start : start + chunk]
                z = torch.randn((len(y), self.config.noise_dim), device=self.device, generator=generator)
                with self.precision.autocast():
                    x = self._crop(self.ema(z, y)).float()
                out.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu())
        finally:
            self.ema.train(was_training)
        if not out:
            return torch.zeros((0, self.height, self.width, self.channels), dtype=torch.uint8)
        return torch.cat(out)
