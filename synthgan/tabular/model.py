"""The CTGAN training step (WGAN-GP, PacGAN, conditional loss) and raw generation."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Callable

import torch

from synthgan.config import TabularConfig
from synthgan.tabular.networks import AuxiliaryHead, Discriminator, Generator, SpanOps
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.transformer import Layout
from synthgan.training import Precision

#: Gumbel-softmax temperature of the generator's one-hot outputs (CTGAN's value)
TAU = 0.2


class Target:
    """The column ``fit(df, target=...)`` names, as the model sees it.

    ``discrete``: a class column (always in the conditional vector, an auxiliary classifier)
    or a number (an auxiliary regressor on its scalar); ``joint``: for a class column, the
    counts of each class among the rows of each conditional category ``(condition_width,
    classes)``; ``span``: where the target sits in the model matrix.
    """

    def __init__(
        self, column: str, layout: Layout, joint: torch.Tensor | None,
        fairness: tuple[str, ...] = (), combos: torch.Tensor | None = None,
    ):
        self.column = column
        self.fairness = tuple(fairness)
        self.combos = combos
        spans = [s for s in layout.spans if s.column == column]
        value = [s for s in spans if s.role in ("category", "value")][0]
        self.discrete = value.role == "category"
        self.span = (value.start, value.end)
        self.joint = joint
        # the features the auxiliary head reads: every position but the target's own spans
        own = {i for s in spans for i in range(s.start, s.end)}
        self.features = torch.tensor([i for i in range(layout.width) if i not in own], dtype=torch.long)


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
        target: Target | None = None,
    ):
        self.config = config
        self.target = target
        self.precision = precision
        self.device = precision.device
        self.layout = layout
        self.ops = SpanOps(layout, self.device)
        discrete_target = target is not None and target.discrete
        self.sampler = ConditionSampler(
            layout, counts.to(self.device), target.column if discrete_target else None,
            target.joint if discrete_target else None, config.target_balance,
            target.fairness if discrete_target else (), target.combos if discrete_target else None,
        )
        cond = layout.condition_width
        self.batch_size = math.ceil(config.batch_size / config.pac) * config.pac
        self.net_g = Generator(config.embedding_dim + cond, config.generator_dim, layout.width).to(self.device)
        self.net_d = Discriminator(layout.width + cond, config.discriminator_dim, config.pac).to(self.device)
        self.train_g, self.train_d = self.net_g, self.net_d
        # (conditional-vector offset, width, decoded softmax segment) of each target / fairness column
        self._group_segments = []
        if self.sampler.target is not None:
            softmax = [(s.column, s.role) for s in layout.softmax_spans]
            self._group_segments = [
                (offset, span.end - span.start, softmax.index((span.column, "category")))
                for span, offset in zip(self.sampler.group_spans, self.sampler.group_offsets.tolist())
            ]
        self.net_c = None  # the auxiliary classifier / regressor of a target (prepare)
        if target is not None and config.target_loss > 0:
            out = target.span[1] - target.span[0] if target.discrete else 1
            self.net_c = AuxiliaryHead(len(target.features), out).to(self.device)
            self.features = target.features.to(self.device)
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
        if self.net_g_ema is not None:  # wrapping gave every rank rank 0's weights: the average starts there
            self.net_g_ema.load_state_dict(self.net_g.state_dict())

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
        if self.net_c is not None:
            self.opt_c = torch.optim.Adam(self.net_c.parameters(), lr=cfg.generator_lr, betas=(0.5, 0.9), fused=fused)
        if cfg.generator_ema > 0:
            self.net_g_ema = copy.deepcopy(self.net_g).eval().requires_grad_(False)
        self._fingerprint = hashlib.sha256(
            json.dumps(fingerprint_of, sort_keys=True, default=str).encode()
        ).hexdigest()

    def fingerprint(self) -> str:
        return self._fingerprint

    def modules(self) -> dict[str, torch.nn.Module]:
        out = {"generator": self.net_g, "discriminator": self.net_d}
        if self.net_c is not None:
            out["classifier"] = self.net_c
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
        out = {"generator": self.opt_g, "discriminator": self.opt_d}
        if self.net_c is not None:
            out["classifier"] = self.opt_c
        return out

    def _conditions(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Training-by-sampling, plus the drawn real row's target class when there is a target."""
        cond, rows = self.sampler.sample_train(n, self.generator)
        if self.sampler.target is not None:
            self.sampler.set_groups(cond, self.data[rows])
        return cond, rows

    def _auxiliary_labels(self, rows_matrix: torch.Tensor) -> torch.Tensor:
        start, end = self.target.span
        if self.target.discrete:
            return rows_matrix[:, start:end].argmax(dim=1)
        return rows_matrix[:, start]

    def _auxiliary_loss(self, rows_matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out = self.net_c(rows_matrix.index_select(1, self.features)).float()
        if self.target.discrete:
            return torch.nn.functional.cross_entropy(out, labels)
        return torch.nn.functional.mse_loss(out[:, 0], labels.float())

    def _train_auxiliary(self, real_rows: torch.Tensor) -> torch.Tensor:
        """One step of the auxiliary head on real rows only."""
        with self.precision.autocast():
            loss = self._auxiliary_loss(real_rows, self._auxiliary_labels(real_rows))
        self.opt_c.zero_grad(set_to_none=True)
        self.precision.backward(loss)
        self.precision.step(self.opt_c)
        return loss.detach()

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, self.config.embedding_dim), device=self.device, generator=self.generator)

    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.precision.autocast():
            raw = self.train_g(torch.cat([self._noise(len(cond)), cond], dim=1))
        return raw, self.ops.activate(raw, TAU, self.generator)

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg, prec, n = self.config, self.precision, self.batch_size
        for _ in range(cfg.discriminator_steps):
            cond, rows = self._conditions(n)
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

        losses = {}
        if self.net_c is not None:
            losses["classifier"] = self._train_auxiliary(self.data[rows])
        cond, _ = self._conditions(n)
        with prec.autocast():
            raw, fake = self._fake(cond)
            # the plain critic: its gradients here are never used, so DDP need not average them
            critic = self.net_d(torch.cat([fake, cond], dim=1)).float()
            loss_g = -critic.mean() + self.ops.condition_loss(raw, cond)
            if self.net_c is not None:
                # conditioned class (discrete target) or the row's own target value (numeric)
                labels = cond[:, self.sampler.target_slice()].argmax(dim=1) if self.target.discrete \
                    else fake[:, self.target.span[0]].detach()
                loss_g = loss_g + cfg.target_loss * self._auxiliary_loss(fake, labels)
        self.opt_g.zero_grad(set_to_none=True)
        prec.backward(loss_g)
        prec.step(self.opt_g)
        if self.net_g_ema is not None:
            self._update_ema()
        return {"generator": loss_g.detach(), "discriminator": loss_total.detach(), **losses}

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
        self, cond: torch.Tensor, generator: torch.Generator, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded (scalars, span choices) for one conditional vector per row; the generator's
        matmuls run in ``dtype`` (see ``synthgan.training.sampling_dtype``).

        With a discrete target, the target and fairness columns come back as the conditional
        vector set them (the generator made the row's other columns for those values), so
        their joint shares are the real table's, not the generator's approximation of them.
        """
        net = self.sampling_net
        was_training = net.training
        net.eval()
        try:
            noise = torch.randn((len(cond), self.config.embedding_dim), device=self.device, generator=generator)
            raw = net.infer(torch.cat([noise, cond], dim=1), dtype)
            scalars, choices = self.ops.decode(raw, generator)
            for offset, width, segment in self._group_segments:
                part = cond[:, offset : offset + width]
                held = part.sum(dim=1) > 0
                choices[:, segment] = torch.where(held, part.argmax(dim=1), choices[:, segment])
            return scalars, choices
        finally:
            net.train(was_training)
