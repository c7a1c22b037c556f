"""The tabular GAN: encoders, transformer, sampler, networks, model, synthesizer."""

from synthgan.tabular.synthesizer import TabularSynthesizer

__all__ = ["TabularSynthesizer"]
