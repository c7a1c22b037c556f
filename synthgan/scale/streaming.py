"""Streaming generation on one machine: ``n`` rows written chunk by chunk.

Memory is bounded by the chunk (plus one block), not by ``n``. The rows are the first
``n`` of the block stream (:mod:`synthgan.scale.blocks`), so a seed gives the same rows
whatever the chunk size, in a folder of Parquet parts or in one CSV, JSON-lines or
Parquet file. A folder is resumable (:mod:`synthgan.scale.manifest`); a single file is
written to a temporary name and renamed when complete, so it is all or nothing.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from synthgan.errors import ConfigError
from synthgan.io import atomic_path
from synthgan.scale.blocks import BLOCK_ROWS, BlockPlan, check_count, check_yield, draw_block, fresh_seed, make_plan
from synthgan.scale.manifest import Manifest, Part, open_folder, part_name, read_manifest

if TYPE_CHECKING:
    import pyarrow as pa

    from synthgan.tabular.synthesizer import TabularSynthesizer

#: rows a chunk (a part, or a write to a single file) holds by default
CHUNK_ROWS = 1_000_000
#: single-file outputs written chunk by chunk
STREAM_SUFFIXES = (".csv", ".jsonl", ".parquet", ".pq")


@dataclass(frozen=True)
class StreamResult:
    """What a streaming call wrote."""

    path: Path
    rows: int  # rows the output holds (== n)
    files: int  # Parquet parts in the folder, or 1 for a single file
    seed: int  # the stream's seed (drawn from entropy when none was given)
    drawn: int  # candidate rows this call drew (more than it kept when rows were filtered)
    seconds: float
    resumed_rows: int = 0  # rows already written when this call started

    @property
    def rows_per_second(self) -> float:
        return (self.rows - self.resumed_rows) / self.seconds if self.seconds > 0 else math.nan


class RowStream:
    """The stream's passed rows from a position ``[block, rows of that block already used]``."""

    def __init__(self, synth: "TabularSynthesizer", plan: BlockPlan, wanted: int, start=(0, 0)):
        self.synth, self.plan, self.wanted = synth, plan, wanted
        self.block, self.offset = int(start[0]), int(start[1])
        self.rows: pd.DataFrame | None = None
        self.drawn = self.matched = self.passed = 0

    @property
    def position(self) -> list[int]:
        return [self.block, self.offset]

    def _load(self) -> None:
        block = draw_block(self.synth, self.plan, self.block)
        self.rows = block.rows
        self.drawn += block.drawn
        self.matched += block.matched
        self.passed += len(block.rows)
        check_yield(self.plan, self.drawn, self.matched, self.passed, self.wanted)

    def take(self, k: int, bar=None) -> pd.DataFrame:
        """The next ``k`` rows, as one frame with index 0..k-1."""
        pieces, need = [], k
        while need:
            if self.rows is None:
                self._load()
            if self.offset >= len(self.rows):
                self.block, self.offset, self.rows = self.block + 1, 0, None
                continue
            piece = self.rows.iloc[self.offset : self.offset + need]
            self.offset += len(piece)
            need -= len(piece)
            pieces.append(piece)
            if bar is not None:
                bar.update(len(piece))
        if not pieces:
            return self.synth._no_rows(np.random.default_rng(0))
        return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0].reset_index(drop=True)


def _start(synth, n, chunk_rows, seed, conditions, privacy, block_rows) -> tuple[int, int, BlockPlan]:
    synth._check_fitted()
    n = check_count("n", n)
    chunk_rows = check_count("chunk_rows", chunk_rows)
    plan = make_plan(synth, fresh_seed() if seed is None else seed, block_rows, conditions, privacy)
    return n, chunk_rows, plan


def _bar(total: int, initial: int, verbose: bool, desc: str):
    return tqdm(total=total, initial=initial, unit="row", unit_scale=True, desc=desc, disable=not verbose, smoothing=0.1)


def sample_to_parquet(
    synth: "TabularSynthesizer",
    folder: str | os.PathLike,
    n: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    seed: int | None = None,
    conditions: dict | None = None,
    privacy="exact",
    resume: bool = False,
    block_rows: int = BLOCK_ROWS,
    verbose: bool = True,
) -> StreamResult:
    """Write ``n`` rows to ``folder`` as Parquet parts of ``chunk_rows`` rows (the last may be
    shorter), with a manifest; see :meth:`TabularSynthesizer.sample_to_parquet`."""
    folder = Path(folder)
    existing = read_manifest(folder) if folder.is_dir() else None
    if seed is None and resume and existing is not None:
        seed = existing.signature.get("seed")  # resuming a run that drew its own seed
    n, chunk_rows, plan = _start(synth, n, chunk_rows, seed, conditions, privacy, block_rows)
    manifest = open_folder(folder, Manifest(plan.signature, n, "chunks", chunk_rows), existing, resume)
    started, done_before = time.perf_counter(), manifest.rows
    stream = RowStream(synth, plan, n - done_before, manifest.parts[-1].end if manifest.parts else (0, 0))
    schema = _part_schema(folder / manifest.parts[0].file) if manifest.parts else None
    with _bar(n, done_before, verbose, f"sampling {n:,} rows to {Path(folder).name}/") as bar:
        while manifest.rows < n:
            start = stream.position
            chunk = stream.take(min(chunk_rows, n - manifest.rows), bar)
            index = len(manifest.parts)
            schema = _write_part(folder / part_name(index), chunk, schema, synth)
            manifest.parts.append(Part(index, part_name(index), len(chunk), start, stream.position))
            manifest.complete = manifest.rows == n
            manifest.save(folder)
            del chunk
    if not manifest.complete:  # resumed a folder that only lacked its final flag
        manifest.complete = True
        manifest.save(folder)
    return StreamResult(
        folder, n, len(manifest.parts), plan.seed, stream.drawn, time.perf_counter() - started, done_before
    )


def sample_to_file(
    synth: "TabularSynthesizer",
    path: str | os.PathLike,
    n: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    seed: int | None = None,
    conditions: dict | None = None,
    privacy="exact",
    block_rows: int = BLOCK_ROWS,
    verbose: bool = True,
) -> StreamResult:
    """Write ``n`` rows to one ``.csv``, ``.jsonl`` or ``.parquet`` file, ``chunk_rows`` at a time.

    The file appears under its name only when complete. The rows are those
    :func:`sample_to_parquet` writes for the same seed and ``block_rows``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in STREAM_SUFFIXES:
        raise ConfigError(
            f"{str(path)!r}: unknown output format {suffix!r}; stream to one of {', '.join(STREAM_SUFFIXES)}, "
            "or to a folder of Parquet parts"
        )
    if path.is_dir():
        raise ConfigError(f"output {str(path)!r} is a folder; use sample_to_parquet for a folder of parts")
    n, chunk_rows, plan = _start(synth, n, chunk_rows, seed, conditions, privacy, block_rows)
    started = time.perf_counter()
    stream = RowStream(synth, plan, n)
    with atomic_path(path) as tmp, _bar(n, 0, verbose, f"sampling {n:,} rows to {Path(path).name}") as bar:
        if suffix in (".parquet", ".pq"):
            _stream_parquet(tmp, stream, n, chunk_rows, bar, synth)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                for first in range(0, n, chunk_rows):
                    chunk = stream.take(min(chunk_rows, n - first), bar)
                    if suffix == ".csv":
                        chunk.to_csv(handle, header=first == 0, index=False)
                    else:
                        text = chunk.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
                        handle.write(text if text.endswith("\n") else text + "\n")
    return StreamResult(path, n, 1, plan.seed, stream.drawn, time.perf_counter() - started)


def stream_rows(
    synth: "TabularSynthesizer",
    n: int,
    *,
    seed: int | None = None,
    conditions: dict | None = None,
    privacy="exact",
    block_rows: int = BLOCK_ROWS,
) -> pd.DataFrame:
    """The first ``n`` rows of the stream, in memory (what the streaming writers write)."""
    n, _, plan = _start(synth, n, 1, seed, conditions, privacy, block_rows)
    return RowStream(synth, plan, n).take(n)


# -- Parquet -------------------------------------------------------------------------------
def _stream_parquet(tmp: Path, stream: RowStream, n: int, chunk_rows: int, bar, synth) -> None:
    import pyarrow.parquet as pq

    writer, schema = None, None
    try:
        for first in range(0, n, chunk_rows):
            table, schema = _arrow(stream.take(min(chunk_rows, n - first), bar), schema, synth)
            if writer is None:
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _write_part(path: Path, chunk: pd.DataFrame, schema, synth) -> "pa.Schema":
    import pyarrow.parquet as pq

    table, schema = _arrow(chunk, schema, synth)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return schema


def _part_schema(path: Path) -> "pa.Schema":
    import pyarrow.parquet as pq

    return pq.read_schema(path)


def _arrow(chunk: pd.DataFrame, schema, synth) -> tuple["pa.Table", "pa.Schema"]:
    """``chunk`` as an Arrow table of the output's one schema (fixed by the first chunk)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(chunk, preserve_index=False)
    if schema is None:
        schema = _settle(table.schema, synth)
    if not table.schema.equals(schema, check_metadata=True):
        table = table.cast(schema)
    return table, schema


def _settle(schema: "pa.Schema", synth) -> "pa.Schema":
    """Give columns that were all missing in the first chunk (Arrow type null) the type of
    their training values, so later chunks with values fit the same schema."""
    import pyarrow as pa

    for i, field in enumerate(schema):
        if not pa.types.is_null(field.type):
            continue
        encoder = synth.transformer_.encoders.get(field.name)
        values = [v for v in getattr(encoder, "categories", []) if v is not None and v == v]
        try:
            kind = pa.infer_type(values) if values else pa.string()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            kind = pa.string()
        schema = schema.set(i, field.with_type(kind if not pa.types.is_null(kind) else pa.string()))
    return schema
