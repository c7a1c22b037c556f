"""Scale: streaming generation to Parquet parts, data-parallel training, Dask generation.

- :func:`sample_to_parquet` / :func:`sample_to_file` (also ``TabularSynthesizer.sample_to_parquet``):
  rows written chunk by chunk, memory bounded by the chunk, resumable, the same rows for a
  seed whatever the chunk size (:mod:`synthgan.scale.blocks`).
- data-parallel training (``torchrun`` + DistributedDataParallel) is part of the fit, so it
  lives below the synthesizers: :mod:`synthgan.distributed` (process group, shards) and
  :mod:`synthgan.tabular.ddp`; ``synthgan.scale.distributed`` re-exports the former.
- :func:`dask_sample_to_parquet`: the same row stream generated across a Dask cluster
  (``pip install "synthgan[dask]"``).

Names are imported on first use. This package sits above the synthesizers: it uses them,
they never import it to fit.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "sample_to_parquet": "synthgan.scale.streaming",
    "sample_to_file": "synthgan.scale.streaming",
    "StreamResult": "synthgan.scale.streaming",
    "BLOCK_ROWS": "synthgan.scale.blocks",
    "read_manifest": "synthgan.scale.manifest",
    "dask_sample_to_parquet": "synthgan.scale.dask_generate",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgan.scale' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
