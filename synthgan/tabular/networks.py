"""CTGAN's networks (Xu et al., 2019): residual generator, PacGAN critic, and the span ops.

:class:`SpanOps` holds the layout's index tensors on the training device, so activations,
the conditional loss and sampling are a few whole-tensor ops whatever the number of
columns (CTGAN loops over spans in Python on every step).
"""

from __future__ import annotations

import torch
from torch import nn

from synthgan.tabular.transformer import Layout


class Residual(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int):
        super().__init__()
        layers, dim = [], in_dim
        for width in hidden:
            layers.append(Residual(dim, width))
            dim += width
        layers.append(nn.Linear(dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def infer(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Eval-mode forward for sampling: batch norm folded into the linear layers and the
        residual concatenations written in place into one buffer (``[h_k, ..., h_1, x]``,
        the order ``forward`` builds), computed in ``dtype``. Same function as ``forward``.
        """
        *blocks, head = self.net
        total = x.shape[1] + sum(block.fc.out_features for block in blocks)
        buf = torch.empty((x.shape[0], total), dtype=dtype, device=x.device)
        pos = total - x.shape[1]
        buf[:, pos:] = x
        for block in blocks:
            bn = block.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            weight = (block.fc.weight * scale[:, None]).to(dtype)
            bias = ((block.fc.bias - bn.running_mean) * scale + bn.bias).to(dtype)
            width = block.fc.out_features
            torch.relu_(torch.addmm(bias, buf[:, pos:], weight.t(), out=buf[:, pos - width : pos]))
            pos -= width
        return torch.addmm(head.bias.to(dtype), buf, head.weight.to(dtype).t())


class Discriminator(nn.Module):
    """Judges ``pac`` rows at once (PacGAN), which penalises mode collapse."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int):
        super().__init__()
        self.pac = pac
        layers, dim = [], in_dim * pac
        for width in hidden:
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            dim = width
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, self.pac * x.shape[1]))


class AuxiliaryHead(nn.Module):
    """Predicts the target from the other columns (CTAB-GAN+, Zhao et al., 2022).

    Trained on real rows only; the generator is then asked to make rows whose features this
    head assigns to the class they were conditioned on (or, for a numeric target, whose
    features predict their own target value), so synthetic features carry the target's signal.
    Input: the model matrix less the target's own positions, ``(batch, in_dim)``; output:
    class logits ``(batch, classes)`` or one number for a numeric target.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        layers, dim = [], in_dim
        for width in hidden:
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Dropout(0.2)]
            dim = width
        layers.append(nn.Linear(dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SpanOps:
    """Segmented softmax machinery over the layout's softmax spans."""

    def __init__(self, layout: Layout, device: torch.device):
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.long, device=device)  # noqa: E731
        self.width = layout.width
        self.tanh_index = as_tensor(layout.tanh_index)
        self.scalar_index = as_tensor(layout.scalar_index)
        self.scalar_is_tanh = torch.as_tensor(layout.scalar_is_tanh, device=device)
        self.soft_index = as_tensor(layout.softmax_index)
        self.soft_segment = as_tensor(layout.softmax_segment)
        self.n_segments = len(layout.softmax_spans)
        self.spans = [(s.start, s.end) for s in layout.softmax_spans]
        cond_spans = layout.condition_spans
        self.cond_index = as_tensor(layout.condition_index)
        self.cond_segment = torch.cat(
            [torch.full((s.end - s.start,), i, dtype=torch.long) for i, s in enumerate(cond_spans)]
            or [torch.empty(0, dtype=torch.long)]
        ).to(device)
        self.n_cond_segments = len(cond_spans)

    @staticmethod
    def _segment_log_softmax(x: torch.Tensor, segment: torch.Tensor, n: int) -> torch.Tensor:
        seg = segment.expand(x.shape[0], -1)
        peak = torch.full((x.shape[0], n), -torch.inf, device=x.device, dtype=x.dtype)
        peak = peak.scatter_reduce(1, seg, x, reduce="amax", include_self=True)
        shifted = x - peak.gather(1, seg)
        sums = torch.zeros((x.shape[0], n), device=x.device, dtype=x.dtype)
        sums = sums.scatter_add(1, seg, shifted.exp())
        return shifted - sums.log().gather(1, seg)

    def activate(self, raw: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
        """tanh on bounded scalars, Gumbel-softmax on every one-hot span (CTGAN's
        ``_apply_activate``); ``linear`` scalars (normal scores) pass through."""
        raw = raw.float()
        logits = raw.index_select(1, self.soft_index)
        soft = self._segment_log_softmax((logits + _gumbel(logits, generator)) / tau, self.soft_segment, self.n_segments).exp()
        out = raw.clone()
        out[:, self.tanh_index] = torch.tanh(raw.index_select(1, self.tanh_index))
        out[:, self.soft_index] = soft
        return out

    def condition_loss(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the generator's logits on the spans its condition fixed."""
        if self.n_cond_segments == 0:
            return raw.new_zeros(())
        logits = raw.float().index_select(1, self.cond_index)
        log_p = self._segment_log_softmax(logits, self.cond_segment, self.n_cond_segments)
        return -(log_p * cond).sum(dim=1).mean()

    def decode(self, raw: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampling: scalars (tanh where bounded) and one categorical draw per span (inverse CDF of its softmax)."""
        scalars = raw.index_select(1, self.scalar_index).float()
        scalars = torch.where(self.scalar_is_tanh, torch.tanh(scalars), scalars)
        choices = torch.empty((raw.shape[0], self.n_segments), dtype=torch.long, device=raw.device)
        uniform = torch.rand((raw.shape[0], self.n_segments), device=raw.device, generator=generator)
        for i, (start, end) in enumerate(self.spans):
            logits = raw[:, start:end].float()
            cdf = torch.cumsum(torch.exp(logits - logits.amax(dim=1, keepdim=True)), dim=1)
            below = cdf < uniform[:, i : i + 1] * cdf[:, -1:]
            choices[:, i] = below.sum(dim=1).clamp_max(end - start - 1)
        return scalars, choices


def _gumbel(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise shaped like ``like``, from the model's own generator."""
    uniform = torch.rand(like.shape, device=like.device, generator=generator)
    return uniform.clamp_min_(1e-20).log_().neg_().clamp_min_(1e-20).log_().neg_()
