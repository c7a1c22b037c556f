"""synthgan: synthetic tabular and image data, with evidence.

>>> from synthgan import TabularSynthesizer, ImageSynthesizer, evaluate
"""

from synthgan.config import DPConfig
from synthgan.errors import SynthGANError
from synthgan.schema import ColumnKind, Metadata

__version__ = "0.1.0"
__all__ = [
    "TabularSynthesizer", "PrivateSynthesizer", "ImageSynthesizer", "PrivacyFilter", "DPConfig", "evaluate", "Report",
    "Metadata", "ColumnKind", "SynthGANError", "__version__",
]

#: public names imported on first use, so `import synthgan` (and the pytest plugin) stays
#: light: the models pull in torch, evaluation pulls in sdmetrics
_LAZY = {
    "TabularSynthesizer": "synthgan.tabular",
    "PrivateSynthesizer": "synthgan.tabular.private_synthesizer",
    "ImageSynthesizer": "synthgan.image",
    "evaluate": "synthgan.evaluation",
    "Report": "synthgan.report",
    "PrivacyFilter": "synthgan.privacy",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
