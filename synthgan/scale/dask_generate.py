"""Distributed generation: the row stream drawn across a Dask cluster into Parquet parts.

Each task gets the model file's *path* (never the object: no pickled model travels), loads
it once per worker thread, draws a run of whole blocks of the stream
(:mod:`synthgan.scale.blocks`) with their own seeds, applies the conditions and the
privacy check, and writes its part atomically. The driver lists finished parts in the
manifest as they arrive, launches more tasks while the parts so far hold fewer than ``n``
rows, then cuts the last part needed to the row and removes any part beyond it. The rows
are the first ``n`` of the stream: the same as ``sample_to_parquet`` writes for the same
model, seed and ``block_rows`` (only the part boundaries differ).

Workers must see the model file and the output folder at the same paths as the driver
(a local cluster, or a shared file system).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthgan.errors import ConfigError, MissingDependencyError, ModelFileError
from synthgan.io import atomic_path
from synthgan.scale.blocks import BLOCK_ROWS, MAX_DRAW_FACTOR, check_count, check_yield, draw_block, fresh_seed, make_plan
from synthgan.scale.manifest import Manifest, Part, open_folder, part_name, read_manifest
from synthgan.scale.streaming import CHUNK_ROWS, StreamResult, _arrow, _bar

_MODELS = threading.local()  # per worker thread: {(path, device, fingerprint): synthesizer}


def require_distributed():
    """``dask.distributed``, or a MissingDependencyError naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "distributed generation needs dask.distributed: pip install 'synthgan[dask]'"
        ) from None
    return distributed


def dask_sample_to_parquet(
    model: str | os.PathLike,
    folder: str | os.PathLike,
    n: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    seed: int | None = None,
    conditions: dict | None = None,
    privacy="exact",
    resume: bool = False,
    block_rows: int = BLOCK_ROWS,
    client=None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    device: str = "cpu",
    verbose: bool = True,
) -> StreamResult:
    """Write ``n`` rows of the model file ``model`` to ``folder`` as Parquet parts, on Dask.

    Parameters
    ----------
    model : path of a model saved with ``TabularSynthesizer.save``; every task loads it.
    folder : output folder (new or empty, or one to ``resume``), as for ``sample_to_parquet``.
    chunk_rows : candidate rows a task draws, rounded up to whole blocks; its part holds
        those that pass (fewer when conditions or the privacy check drop some).
    seed, conditions, privacy, resume, block_rows : as ``TabularSynthesizer.sample_to_parquet``.
        A fitted ``PrivacyFilter`` is scattered to the workers once.
    client : a ``distributed.Client`` to use (left open).
    scheduler : address of a running scheduler (``tcp://host:8786``) to connect to.
    n_workers, threads_per_worker, processes : the ``LocalCluster`` started when neither
        ``client`` nor ``scheduler`` is given (closed at the end).
    device : where workers run the generator (``"cpu"``, ``"cuda"``, ``"auto"``).
    """
    if not isinstance(model, (str, os.PathLike)):
        raise ConfigError(
            "dask_sample_to_parquet: model must be the path of a saved model (tasks load it themselves; "
            f"save it with synth.save(path)), got {type(model).__name__}"
        )
    distributed = require_distributed()
    from synthgan.tabular.synthesizer import TabularSynthesizer

    model_path, folder = Path(model).resolve(), Path(folder).resolve()
    n, chunk_rows = check_count("n", n), check_count("chunk_rows", chunk_rows)
    existing = read_manifest(folder) if folder.is_dir() else None
    if seed is None:
        seed = existing.signature.get("seed") if resume and existing is not None else fresh_seed()
    synth = TabularSynthesizer.load(model_path, device=device)
    plan = make_plan(synth, seed, block_rows, conditions, privacy)
    blocks_per_task = max(1, math.ceil(chunk_rows / plan.block_rows))
    manifest = open_folder(folder, Manifest(plan.signature, n, "tasks", chunk_rows), existing, resume)
    job = _Job(manifest, folder, n, blocks_per_task, plan)
    owned = []
    if client is None:
        if scheduler is not None:
            client = distributed.Client(scheduler)
        else:
            cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                dashboard_address=":0", silence_logs=logging.ERROR,
            )
            client = distributed.Client(cluster)
            owned.append(cluster)
        owned.insert(0, client)
    started, drawn = time.perf_counter(), 0
    try:
        shipped_privacy = client.scatter(privacy, broadcast=True) if hasattr(privacy, "filter") else privacy
        task_args = (str(model_path), plan.signature["model"], device, str(folder), plan.seed, plan.block_rows,
                     conditions, shipped_privacy)
        with _bar(n, min(job.prefix_rows(), n), verbose, "dask_sample_to_parquet") as bar:
            while (last := job.last_needed()) is None:
                indices = job.next_wave()
                futures = [
                    client.submit(generate_part, *task_args, index, index * blocks_per_task, blocks_per_task, n,
                                  pure=False)
                    for index in indices
                ]
                added = set()
                try:
                    for future in distributed.as_completed(futures):
                        result = future.result()
                        drawn += result["drawn"]
                        job.add(result)
                        added.add(future.key)
                        bar.update(max(0, min(job.prefix_rows(), n) - bar.n))
                except Exception:
                    # A task failed. Its wave's other tasks are let finish, not cancelled: a cancelled
                    # task keeps running in its worker thread and would write its part (or leave a
                    # temporary file) after this call has raised. What finished goes in the manifest.
                    distributed.wait(futures)
                    for future in futures:
                        if future.key not in added and future.status == "finished":
                            job.add(future.result())
                    raise
                except BaseException:  # interrupted: stop now; a resume sweeps what was cut short
                    client.cancel(futures)
                    raise
                job.check()
            job.finish(last, synth)
    finally:
        for resource in owned:
            resource.close()
    return StreamResult(folder, n, len(manifest.parts), plan.seed, drawn, time.perf_counter() - started,
                        job.resumed_rows)


class _Job:
    """The driver's bookkeeping: finished parts, the next wave of tasks, the final cut."""

    def __init__(self, manifest: Manifest, folder: Path, n: int, blocks_per_task: int, plan):
        self.manifest, self.folder, self.n, self.per_task, self.plan = manifest, folder, n, blocks_per_task, plan
        self.parts = {p.index: p for p in manifest.parts}
        self.resumed_rows = min(self.prefix_rows(), n)
        self.drawn = self.matched = self.passed = 0

    def prefix_rows(self) -> int:
        """Rows in the parts 0, 1, ... that are all finished (the usable front of the stream)."""
        total, index = 0, 0
        while index in self.parts:
            total += self.parts[index].rows
            index += 1
        return total

    def last_needed(self) -> int | None:
        """The index of the part that holds row ``n``, once it and every part before it are done."""
        total, index = 0, 0
        while index in self.parts:
            total += self.parts[index].rows
            if total >= self.n:
                return index
            index += 1
        return None

    def next_wave(self) -> list[int]:
        """Unfinished parts in front, then as many new ones as the pass rate says are needed."""
        frontier = max(self.parts, default=-1) + 1
        gaps = [i for i in range(frontier) if i not in self.parts]
        rate = self.passed / self.drawn if self.drawn else 1.0
        rows_per_task = self.per_task * self.plan.block_rows * max(rate, 1 / MAX_DRAW_FACTOR)
        missing = self.n - sum(p.rows for p in self.parts.values())
        expected_from_gaps = len(gaps) * rows_per_task
        new = max(0, math.ceil((missing - expected_from_gaps) / rows_per_task))
        return gaps + list(range(frontier, frontier + max(new, 0 if gaps else 1)))

    def add(self, result: dict) -> None:
        index, counts = result["index"], result["block_counts"]
        first = index * self.per_task
        self.drawn += result["drawn"]
        self.matched += result["matched"]
        self.passed += sum(counts)
        end = _position(first, counts, result["rows"])
        self.parts[index] = Part(index, part_name(index), result["rows"], [first, 0], end, counts)
        self.manifest.parts = list(self.parts.values())
        self.manifest.save(self.folder)

    def check(self) -> None:
        check_yield(self.plan, self.drawn, self.matched, self.passed, self.n)

    def finish(self, last: int, synth) -> None:
        """Cut part ``last`` to the rows still needed; remove the parts after it."""
        import pyarrow.parquet as pq

        before = sum(self.parts[i].rows for i in range(last))
        part = self.parts[last]
        keep = self.n - before
        if keep < part.rows:
            path = self.folder / part.file
            table = pq.read_table(path).slice(0, keep)
            with atomic_path(path) as tmp:
                pq.write_table(table, tmp)
            end = _position(part.start[0], part.block_counts, keep)
            self.parts[last] = Part(last, part.file, keep, part.start, end, part.block_counts)
        for index in [i for i in self.parts if i > last]:
            (self.folder / self.parts.pop(index).file).unlink(missing_ok=True)
        self.manifest.parts = [self.parts[i] for i in range(last + 1)]
        self.manifest.complete = True
        self.manifest.save(self.folder)


def _position(first_block: int, counts: list[int], rows: int) -> list[int]:
    """Stream position just after the first ``rows`` passed rows of blocks ``first_block, ...``."""
    for i, count in enumerate(counts):
        if rows <= count:
            return [first_block + i, rows]
        rows -= count
    return [first_block + len(counts), 0]


def generate_part(
    model_path: str, fingerprint: str, device: str, folder: str, seed: int, block_rows: int,
    conditions, privacy, index: int, first_block: int, blocks: int, limit: int,
) -> dict:
    """One Dask task: blocks ``first_block .. first_block + blocks - 1`` into part ``index``
    (at most ``limit`` rows: no part is ever needed beyond the n-th row)."""
    synth = _model(model_path, device, fingerprint)
    plan = make_plan(synth, seed, block_rows, conditions, privacy)
    pieces, counts, drawn, matched, rows = [], [], 0, 0, 0
    for block_index in range(first_block, first_block + blocks):
        block = draw_block(synth, plan, block_index)
        pieces.append(block.rows)
        counts.append(len(block.rows))
        drawn, matched, rows = drawn + block.drawn, matched + block.matched, rows + len(block.rows)
        if rows >= limit:
            break
    frame = pd.concat(pieces, ignore_index=True).iloc[:limit] if pieces else synth._no_rows(np.random.default_rng(0))
    table, _ = _arrow(frame.reset_index(drop=True), None, synth)
    import pyarrow.parquet as pq

    with atomic_path(Path(folder) / part_name(index)) as tmp:
        pq.write_table(table, tmp)
    return {"index": index, "rows": len(frame), "block_counts": counts, "drawn": drawn, "matched": matched}


def _model(path: str, device: str, fingerprint: str):
    """The model at ``path``, loaded once per worker thread and checked to be the driver's."""
    from synthgan.scale.blocks import model_fingerprint
    from synthgan.tabular.synthesizer import TabularSynthesizer

    cache = getattr(_MODELS, "cache", None)
    if cache is None:
        cache = _MODELS.cache = {}
    key = (path, device, fingerprint)
    if key not in cache:
        synth = TabularSynthesizer.load(path, device=device)
        if model_fingerprint(synth) != fingerprint:
            raise ModelFileError(f"model file {path!r} changed while rows were being generated from it")
        cache.clear()  # one model per thread is enough
        cache[key] = synth
    return cache[key]
