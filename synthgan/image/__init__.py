"""The image GAN: inputs, networks, augmentation, model, synthesizer."""

from synthgan.image.synthesizer import ImageSynthesizer

__all__ = ["ImageSynthesizer"]
