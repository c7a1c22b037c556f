"""What every synthesizer shares: scikit-learn-style parameters, the fitted check, sampling RNGs."""

from __future__ import annotations

import inspect

import torch

from synthgan.errors import NotFittedError


class Synthesizer:
    """Base of ``TabularSynthesizer`` and ``ImageSynthesizer``.

    Constructors only store their keyword arguments (``get_params`` reads them back from the
    signature); fitted state lives in attributes ending in ``_``.
    """

    def get_params(self) -> dict:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epochs={self.epochs}, batch_size={self.batch_size}, seed={self.seed})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit first, or load a saved model"
            )

    def _new_generator(self, seed: int | None) -> torch.Generator:
        """A sampling RNG on the model's device: seeded, or fresh entropy when ``seed`` is None."""
        gen = torch.Generator(self.model_.device)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        return gen
