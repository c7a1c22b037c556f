"""Class-conditional generator and projection discriminator for small images.

Generator: a 4x4 seed upsampled by nearest-neighbour + 3x3 convolutions to the padded size
(the next power of two), each block normalised by GroupNorm whose scale and shift come from
the class embedding (conditional normalisation, as in BigGAN, without batch statistics so
sampling does not depend on the batch). Discriminator: spectral-normalised convolutions,
global sum pooling, and a projection term ``<embed(y), h>`` (Miyato & Koyama, 2018). With
``classify=True`` it also has an auxiliary class head on the same features (AC-GAN, Odena et
al., 2017), trained on real images only, whose verdict on fakes the generator is asked to
satisfy: a second, explicit push towards images whose class can be told.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm


def padded_size(height: int, width: int) -> int:
    return max(8, 2 ** math.ceil(math.log2(max(height, width))))


class ConditionalNorm(nn.Module):
    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.norm = nn.GroupNorm(min(8, channels), channels, affine=False)
        self.scale = nn.Embedding(n_classes, channels)
        self.shift = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(y)[:, :, None, None] + self.shift(y)[:, :, None, None]


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, n_classes: int):
        super().__init__()
        self.norm = ConditionalNorm(c_in, n_classes)
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(x, y))
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


def _widths(size: int, base: int) -> list[int]:
    """Channel widths from 4x4 up to ``size``: wide at low resolution, narrowing by halves."""
    steps = int(math.log2(size // 4))
    return [max(base // 2, base * 4 // 2**i) for i in range(steps + 1)]


class ImageGenerator(nn.Module):
    def __init__(self, noise_dim: int, n_classes: int, channels_out: int, size: int, base: int):
        super().__init__()
        widths = _widths(size, base)
        self.seed = nn.Linear(noise_dim, widths[0] * 16)
        self.blocks = nn.ModuleList(UpBlock(a, b, n_classes) for a, b in zip(widths, widths[1:]))
        self.out_norm = ConditionalNorm(widths[-1], n_classes)
        self.out = nn.Conv2d(widths[-1], channels_out, 3, padding=1)
        self.first_width = widths[0]

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = self.seed(z).view(len(z), self.first_width, 4, 4)
        for block in self.blocks:
            x = block(x, y)
        return torch.tanh(self.out(torch.relu(self.out_norm(x, y))))


class ImageDiscriminator(nn.Module):
    def __init__(self, n_classes: int, channels_in: int, size: int, base: int, classify: bool = False):
        super().__init__()
        widths = list(reversed(_widths(size, base)))
        layers = [spectral_norm(nn.Conv2d(channels_in, widths[0], 3, padding=1)), nn.LeakyReLU(0.2)]
        for a, b in zip(widths, widths[1:]):
            layers += [
                spectral_norm(nn.Conv2d(a, b, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(b, b, 3, padding=1)),
                nn.LeakyReLU(0.2),
            ]
        self.features = nn.Sequential(*layers)
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, widths[-1]))
        self.classifier = spectral_norm(nn.Linear(widths[-1], n_classes)) if classify else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Realness score per image and, with the auxiliary head, class logits (else None)."""
        h = self.features(x).sum(dim=(2, 3))
        score = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
        return score, None if self.classifier is None else self.classifier(h)
