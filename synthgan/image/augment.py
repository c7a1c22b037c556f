"""Differentiable augmentation (DiffAugment, Zhao et al., 2020) for data-efficient GANs.

The same random colour shift, translation and cutout are applied to real and fake images
before the discriminator sees them, so it cannot memorise a few hundred real images and
the generator still learns the un-augmented distribution. Randomness comes from the
model's own ``torch.Generator``.
"""

from __future__ import annotations

import torch


def _rand(shape, like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, device=like.device, generator=generator, dtype=like.dtype)


def colour(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = len(x)
    x = x + (_rand((n, 1, 1, 1), x, g) - 0.5)  # brightness
    if x.shape[1] == 3:  # saturation
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand((n, 1, 1, 1), x, g) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((n, 1, 1, 1), x, g) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device, generator=g)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device, generator=g)
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx + 1).clamp(0, w + 1)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device, generator=g)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device, generator=g)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = ((rows - cy).abs() <= ch // 2) & ((cols - cx).abs() <= cw // 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return cutout(translation(colour(x, g), g), g)
