"""A small CNN classifier for image evaluation: TSTR/TRTR, and a domain feature space.

ImageNet features say little about ultrasound or X-ray images; a classifier trained on the
real labelled images knows what separates the classes of *this* dataset. Its penultimate
layer is the feature space of domain FID, and its predictions on synthetic images say
whether a sample of class c looks like class c.

Training is deterministic: one seed makes a local ``torch.Generator`` for the weights and the
batch order (global RNG state is never touched), and it runs on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: side length images are resized to before the network (small: CPU, and the features are coarse)
SIDE = 32
FEATURE_DIM = 64


@dataclass(frozen=True)
class ClassifierConfig:
    epochs: int = 15  # passes over the training images
    batch_size: int = 64  # images per step
    lr: float = 2e-3  # Adam learning rate
    side: int = SIDE  # images are resized to side x side


class SmallCNN(nn.Module):
    """Three conv blocks -> global average pool -> ``FEATURE_DIM`` features -> logits."""

    def __init__(self, channels: int, n_classes: int, generator: torch.Generator):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, FEATURE_DIM, 3, padding=1), nn.BatchNorm2d(FEATURE_DIM), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURE_DIM, n_classes)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    bound = 1.0 / np.sqrt(module.weight[0].numel())
                    module.weight.uniform_(-bound, bound, generator=generator)
                    module.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def to_tensor(images: np.ndarray, side: int = SIDE) -> torch.Tensor:
    """uint8 (N,H,W,C) -> float (N,C,side,side) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().permute(0, 3, 1, 2) / 127.5 - 1.0
    if x.shape[-2:] != (side, side):
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
    return x


@dataclass
class ImageClassifier:
    """A trained :class:`SmallCNN` and how to read it: probabilities and features."""

    net: SmallCNN
    n_classes: int
    side: int

    def _run(self, images: np.ndarray, what: str, batch_size: int = 256) -> np.ndarray:
        was_training = self.net.training
        self.net.eval()
        out = []
        try:
            with torch.inference_mode():
                for start in range(0, len(images), batch_size):
                    x = to_tensor(images[start : start + batch_size], self.side)
                    feats = self.net.body(x)
                    out.append((feats if what == "features" else self.net.head(feats).softmax(1)).double().numpy())
        finally:
            self.net.train(was_training)
        width = FEATURE_DIM if what == "features" else self.n_classes
        return np.concatenate(out) if out else np.zeros((0, width))

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self._run(images, "proba")

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, FEATURE_DIM) penultimate-layer features: the domain feature space."""
        return self._run(images, "features")


def train_classifier(
    images: np.ndarray, labels: np.ndarray, n_classes: int, seed: int, config: ClassifierConfig = ClassifierConfig()
) -> ImageClassifier:
    """Train a :class:`SmallCNN` on uint8 (N,H,W,C) images and int labels in [0, n_classes)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG first
        net = SmallCNN(images.shape[-1], n_classes, generator)
    x, y = to_tensor(images, config.side), torch.from_numpy(np.asarray(labels, dtype=np.int64))
    # class-balanced loss: a rare class (the malignant one) is what the classifier must not ignore
    counts = torch.bincount(y, minlength=n_classes).double()
    weight = torch.where(counts > 0, counts.sum() / (n_classes * counts.clamp(min=1)), 0.0).float()
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr)
    net.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            if len(batch) < 2:  # BatchNorm needs two images
                continue
            # no flips or crops: in many domains (digits, left/right anatomy) they change the class
            loss = F.cross_entropy(net(x[batch]), y[batch], weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    net.eval()
    return ImageClassifier(net, n_classes, config.side)
