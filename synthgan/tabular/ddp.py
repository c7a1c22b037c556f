"""The tabular fit's data-parallel pieces: one transformer for all ranks, per-rank seeds and counts.

:meth:`synthgan.TabularSynthesizer.fit` uses these under ``torchrun`` (see
:mod:`synthgan.distributed` for the process group and the shards).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
import torch

from synthgan.config import TabularConfig
from synthgan.errors import DataError
from synthgan.io import read_table
from synthgan.distributed import DistContext, read_shard, shard
from synthgan.schema import Schema
from synthgan.tabular.transformer import Layout, TableTransformer

if TYPE_CHECKING:
    from synthgan.privacy.exact import ExactMatchIndex


def shared_transformer(
    ctx: DistContext, data, schema_of: Callable[[pd.DataFrame], Schema], config: TabularConfig,
    rng: np.random.Generator,
) -> tuple[TableTransformer, "ExactMatchIndex", pd.DataFrame]:
    """(transformer, exact-match index, this rank's rows) under data-parallel training.

    Rank 0 reads every row, fits the transformer (category lists, bounds and mixtures need
    the whole table; the mixtures see at most ``gmm_subsample`` rows) and hashes the rows
    for the exact-match check; the other ranks get both as JSON and bytes, then read their
    own rows only. Every rank rebuilds the transformer from the same state.
    """
    from synthgan.privacy.exact import ExactMatchIndex  # the release check, as in the one-process fit

    path = data if isinstance(data, (str, os.PathLike)) else None
    full, index = None, None

    def fit_on_main() -> dict:
        nonlocal full, index
        full = read_table(path) if path is not None else data
        schema = schema_of(full)
        full = schema.canonical(full)
        transformer = TableTransformer(
            config.max_modes, config.gmm_subsample, config.enforce_bounds, config.continuous_encoding
        )
        transformer.fit(full, schema, rng)
        index = ExactMatchIndex.build(full, schema)
        return {"transformer": transformer.state(), "exact": index.state()}

    shared = ctx.broadcast_outcome(fit_on_main)
    transformer = TableTransformer.from_state(shared["transformer"])
    keys = ctx.broadcast_array(None if index is None else index.keys, np.uint64)
    exact_index = ExactMatchIndex.from_state(shared["exact"], keys)
    if full is not None:
        local = shard(full, ctx.rank, ctx.world_size)
    elif path is not None:
        local = read_shard(path, ctx.rank, ctx.world_size)
    else:
        local = shard(data, ctx.rank, ctx.world_size)
    if len(local) == 0:
        raise DataError(f"rank {ctx.rank} got no rows: the table has fewer rows than processes ({ctx.world_size})")
    return transformer, exact_index, local


def rank_seed(seed: int | None, rank: int) -> int | None:
    """Rank 0 keeps the seed; the others derive their own, so their noise differs."""
    if seed is None or rank == 0:
        return seed
    return int(np.random.SeedSequence(seed % 2**63, spawn_key=(rank,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def local_counts(matrix: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Category counts of the rows in ``matrix``, in conditional-vector order."""
    counts = [
        torch.bincount(matrix[:, s.start : s.end].argmax(dim=1), minlength=s.end - s.start)
        for s in layout.condition_spans
    ]
    return torch.cat(counts).double() if counts else torch.zeros(0, dtype=torch.float64)
