"""synthgan: synthetic tabular and image data, with evidence.

>>> from synthgan import TabularSynthesizer
"""

from synthgan.errors import SynthGANError
from synthgan.schema import ColumnKind, Metadata
from synthgan.tabular import TabularSynthesizer

__version__ = "0.1.0"
__all__ = ["TabularSynthesizer", "Metadata", "ColumnKind", "SynthGANError", "__version__"]
