"""The CTGAN training step (WGAN-GP, PacGAN, conditional loss) and raw generation."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Callable

import torch

from synthgan.config import TabularConfig
from synthgan.tabular.networks import Discriminator, Generator, SpanOps
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.transformer import Layout
from synthgan.training import Precision

#: Gumbel-softmax temperature of the generator's one-hot outputs (CTGAN's value)
TAU = 0.2


class CTGANModel:
    """Networks, optimisers and one training step; implements ``training.Trainable``.

    ``net_g`` and ``net_d`` are the plain networks (saved, checkpointed, sampled from);
    ``train_g`` and ``train_d`` are what the training step calls: the same networks, or
    their DistributedDataParallel wrappers after :meth:`distribute`.
    """

    def __init__(
        self,
        layout: Layout,
        counts: torch.Tensor,
        config: TabularConfig,
        precision: Precision,
        seed: int | None,
    ):
        self.config = config
        self.precision = precision
        self.device = precision.device
        self.layout = layout
        self.ops = SpanOps(layout, self.device)
        self.sampler = ConditionSampler(layout, counts.to(self.device))
        cond = layout.condition_width
        self.batch_size = math.ceil(config.batch_size / config.pac) * config.pac
        self.net_g = Generator(config.embedding_dim + cond, config.generator_dim, layout.width).to(self.device)
        self.net_d = Discriminator(layout.width + cond, config.discriminator_dim, config.pac).to(self.device)
        self.train_g, self.train_d = self.net_g, self.net_d
        self.net_g_ema = None  # an exponential moving average of the generator (prepare)
        self.generator = torch.Generator(self.device)
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def distribute(self, wrap: Callable[[torch.nn.Module], torch.nn.Module]) -> None:
        """Train through ``wrap(net)`` (DistributedDataParallel): gradients are averaged
        over the ranks at every backward, and the wrapper broadcasts rank 0's weights."""
        self.train_g, self.train_d = wrap(self.net_g), wrap(self.net_d)

    def undistribute(self) -> None:
        self.train_g, self.train_d = self.net_g, self.net_d

    # -- training -------------------------------------------------------------------------
    def prepare(self, data: torch.Tensor, fingerprint_of: dict) -> None:
        cfg = self.config
        self.data = data
        self.sampler.attach_rows(data)
        self.steps_per_epoch = max(1, len(data) // self.batch_size)
        # fused Adam: one kernel per step instead of a dozen elementwise passes per tensor
        fused = self.device.type in ("cpu", "cuda")
        self.opt_g = torch.optim.Adam(
            self.net_g.parameters(), lr=cfg.generator_lr, betas=(0.5, 0.9),
            weight_decay=cfg.generator_decay, fused=fused,
        )
        self.opt_d = torch.optim.Adam(
            self.net_d.parameters(), lr=cfg.discriminator_lr, betas=(0.5, 0.9),
            weight_decay=cfg.discriminator_decay, fused=fused,
        )
        self._critic_steps = 0
        if cfg.generator_ema > 0:
            self.net_g_ema = copy.deepcopy(self.net_g).eval().requires_grad_(False)
        self._fingerprint = hashlib.sha256(
            json.dumps(fingerprint_of, sort_keys=True, default=str).encode()
        ).hexdigest()

    def fingerprint(self) -> str:
        return self._fingerprint

    def modules(self) -> dict[str, torch.nn.Module]:
        out = {"generator": self.net_g, "discriminator": self.net_d}
        if self.net_g_ema is not None:
            out["generator_ema"] = self.net_g_ema
        return out

    @property
    def sampling_net(self) -> Generator:
        """The generator rows are drawn from: the moving average when there is one."""
        return self.net_g if self.net_g_ema is None else self.net_g_ema

    def finish(self) -> None:
        """After training: the averaged weights become the generator (saved, sampled)."""
        if self.net_g_ema is not None:
            self.net_g.load_state_dict(self.net_g_ema.state_dict())
            self.net_g_ema = None
        self.net_g.eval()

    @torch.no_grad()
    def _update_ema(self) -> None:
        """One step of the average; its decay warms up as ``(1 + t) / (10 + t)`` (as in
        TensorFlow's ``ExponentialMovingAverage(num_updates=t)``), so a short run is not
        dominated by the initial weights."""
        # the generator's step count, from its optimiser (so a resumed run continues it)
        t = float(self.opt_g.state[next(self.net_g.parameters())]["step"])
        decay = min(self.config.generator_ema, (1 + t) / (10 + t))
        ema, net = self.net_g_ema, self.net_g
        torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1 - decay)
        for target, source in zip(ema.buffers(), net.buffers()):  # batch-norm statistics: the live ones
            target.copy_(source)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, self.config.embedding_dim), device=self.device, generator=self.generator)

    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.precision.autocast():
            raw = self.train_g(torch.cat([self._noise(len(cond)), cond], dim=1))
        return raw, self.ops.activate(raw, TAU, self.generator)

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg, prec, n = self.config, self.precision, self.batch_size
        for _ in range(cfg.discriminator_steps):
            cond, rows = self.sampler.sample_train(n, self.generator)
            real = torch.cat([self.data[rows], cond], dim=1)
            with torch.no_grad():  # the critic step needs no generator gradients
                fake = torch.cat([self._fake(cond)[1], cond], dim=1)
            self._critic_steps += 1
            penalise = cfg.gp_weight > 0 and self._critic_steps % cfg.gp_every == 0
            with prec.autocast():  # one region: weights are cast to bf16 once per step
                scores = self.train_d(torch.cat([fake, real])).float()
                n_fake = len(fake) // cfg.pac
                loss_d = scores[:n_fake].mean() - scores[n_fake:].mean()
                loss_total = loss_d
                if penalise:
                    loss_total = loss_d + self._gradient_penalty(real, fake) * cfg.gp_every
            self.opt_d.zero_grad(set_to_none=True)
            prec.backward(loss_total)
            prec.step(self.opt_d)

        cond, _ = self.sampler.sample_train(n, self.generator)
        with prec.autocast():
            raw, fake = self._fake(cond)
            # the plain critic: its gradients here are never used, so DDP need not average them
            critic = self.net_d(torch.cat([fake, cond], dim=1)).float()
            loss_g = -critic.mean() + self.ops.condition_loss(raw, cond)
        self.opt_g.zero_grad(set_to_none=True)
        prec.backward(loss_g)
        prec.step(self.opt_g)
        if self.net_g_ema is not None:
            self._update_ema()
        return {"generator": loss_g.detach(), "discriminator": loss_total.detach()}

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """WGAN-GP on pac-groups; the norm and penalty are computed in fp32.

        The penalty's forward goes through the plain critic: DDP cannot differentiate twice
        through its wrapper, and the critic's one backward (this graph plus the wrapped
        forward's) still averages every gradient over the ranks once.
        """
        pac, width = self.config.pac, real.shape[1]
        alpha = torch.rand((len(real) // pac, 1, 1), device=self.device, generator=self.generator)
        alpha = alpha.expand(-1, pac, width).reshape(-1, width)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        score = self.net_d(mixed)
        grad = self.precision.input_grad(score, mixed)
        norm = grad.reshape(-1, pac * width).norm(2, dim=1)
        return ((norm - 1) ** 2).mean() * self.config.gp_weight

    # -- generation -----------------------------------------------------------------------
    @torch.inference_mode()
    def generate(
        self, cond: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded (tanh scalars, span choices) for one conditional vector per row."""
        net = self.sampling_net
        was_training = net.training
        net.eval()
        try:
            noise = torch.randn((len(cond), self.config.embedding_dim), device=self.device, generator=generator)
            dtype = self.precision.dtype or torch.float32
            raw = net.infer(torch.cat([noise, cond], dim=1), dtype)
            return self.ops.decode(raw, generator)
        finally:
            net.train(was_training)
