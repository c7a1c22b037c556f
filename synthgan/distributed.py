"""Data-parallel training with ``torch.distributed``: the process group, shards, shared state.

``torchrun --nproc_per_node=N -m synthgan fit data.parquet -o model.synth`` starts N
processes; each finds its rank in the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). :func:`setup` joins the process group
(NCCL for GPUs, gloo on CPU), each rank reads rows ``rank::world`` of the table
(:func:`read_shard`), rank 0 fits the transformer and :meth:`DistContext.broadcast_json`
hands its JSON state to the others, and the networks train under
``DistributedDataParallel``, which averages gradients over the ranks at every step.

This module depends on torch and :mod:`synthgan.io` only; the tabular fit uses it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from synthgan import errors
from synthgan.errors import ConfigError, InputFileError, SynthGANError
from synthgan.io import read_table

#: values the ``distributed`` option of ``TabularSynthesizer`` accepts
OPTIONS = ("auto", True, False)


def env_world_size() -> int:
    """Processes in the job as a launcher (torchrun) announced them; 1 outside one."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def requested(option, owner: str = "TabularSynthesizer") -> bool:
    """Whether ``distributed=option`` means data-parallel training in this process.

    ``"auto"``: yes when launched by torchrun with more than one process (or inside an
    initialised process group of several). ``True``: yes, and it is an error outside one.
    ``False``: never (each process then trains alone on all of its data).
    """
    if isinstance(option, str) and option == "auto":
        pass
    elif option is not True and option is not False:
        raise ConfigError(f"{owner}: distributed={option!r}: expected 'auto', True or False")
    if option is False:
        return False
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else env_world_size()
    if option is True and world < 2 and not (dist.is_available() and dist.is_initialized()):
        raise ConfigError(
            f"{owner}: distributed=True needs several processes: launch with "
            "`torchrun --nproc_per_node=N ...` (it sets RANK, WORLD_SIZE, MASTER_ADDR), or call "
            "torch.distributed.init_process_group first"
        )
    return world > 1 or option is True


@dataclass
class DistContext:
    """This process's place in the job, and the few collectives the fit needs."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool  # True when setup() created the group, so close() destroys it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _on_device(self, tensor: torch.Tensor) -> torch.Tensor:
        # NCCL only moves GPU tensors; gloo moves CPU ones
        return tensor.to(self.device) if dist.get_backend() == "nccl" else tensor.cpu()

    def broadcast_bytes(self, payload: bytes | None) -> bytes:
        """Rank 0's bytes on every rank (a length, then a uint8 tensor: no pickle)."""
        size = torch.tensor([len(payload) if self.is_main else 0], dtype=torch.int64)
        size = self._on_device(size)
        dist.broadcast(size, 0)
        buffer = torch.zeros(int(size.item()), dtype=torch.uint8)
        if self.is_main:
            buffer = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
        buffer = self._on_device(buffer)
        dist.broadcast(buffer, 0)
        return buffer.cpu().numpy().tobytes()

    def broadcast_json(self, value=None):
        """Rank 0's JSON-able ``value`` on every rank."""
        text = json.dumps(value, allow_nan=True) if self.is_main else None
        return json.loads(self.broadcast_bytes(None if text is None else text.encode()))

    def broadcast_outcome(self, fn):
        """Run ``fn()`` on rank 0 and give its JSON-able result to every rank; a synthgan
        error raised there is raised on every rank (the others would otherwise wait forever)."""
        outcome, failure = None, None
        if self.is_main:
            try:
                outcome = {"value": fn()}
            except SynthGANError as exc:
                failure = exc
                outcome = {"error": type(exc).__name__, "message": str(exc), "problems": getattr(exc, "problems", None)}
        outcome = self.broadcast_json(outcome)
        if failure is not None:
            raise failure
        if "error" in outcome:
            cls = getattr(errors, outcome["error"], None)
            if cls is errors.SchemaError:
                raise cls(outcome["problems"])
            if not (isinstance(cls, type) and issubclass(cls, SynthGANError)):
                cls = SynthGANError
            raise cls(outcome["message"])
        return outcome["value"]

    def broadcast_array(self, array: np.ndarray | None, dtype) -> np.ndarray:
        data = self.broadcast_bytes(None if array is None else np.ascontiguousarray(array, dtype=dtype).tobytes())
        return np.frombuffer(data, dtype=dtype).copy()

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Rank 0's buffers (batch-norm statistics) everywhere, so every rank holds one model."""
        self._broadcast_tensors(module.buffers())

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers everywhere (a module every rank fitted on its rows)."""
        self._broadcast_tensors([*module.parameters(), *module.buffers()])

    def _broadcast_tensors(self, tensors) -> None:
        with torch.no_grad():
            for tensor in tensors:
                moved = self._on_device(tensor.detach().clone())
                dist.broadcast(moved, 0)
                tensor.copy_(moved.to(tensor.device))

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        values = self._on_device(values.detach().clone().float())
        dist.all_reduce(values)
        return values / self.world_size

    def min_int(self, value: int) -> int:
        tensor = self._on_device(torch.tensor([value], dtype=torch.int64))
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
        return int(tensor.item())

    def gather_bytes(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's uint8 ``tensor`` (same size everywhere), in rank order, on the CPU."""
        local = self._on_device(tensor.contiguous())
        out = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(out, local)
        return [t.cpu() for t in out]

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def barrier(self) -> None:
        dist.barrier()

    def close(self, failed: bool = False) -> None:
        """Leave the group, if :func:`setup` created it. After success, once every rank got
        here (rank 0 hosts the rendezvous store and must not tear it down while another
        still uses it); after a failure at once (the launcher stops the other ranks)."""
        if self.owns_group and dist.is_initialized():
            if not failed:
                dist.barrier()
            dist.destroy_process_group()


def setup(device_name: str) -> DistContext:
    """Join (or create, from torchrun's environment) the default process group.

    ``device_name`` ``"auto"`` or ``"cuda"`` becomes ``cuda:LOCAL_RANK`` where CUDA is
    available, so each process drives its own GPU; NCCL is used for GPUs, gloo on CPU.
    """
    if not dist.is_available():
        raise ConfigError("distributed training needs a torch build with torch.distributed")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    name = device_name
    if name in ("auto", "cuda"):
        name = f"cuda:{local_rank}" if torch.cuda.is_available() else ("cpu" if name == "auto" else name)
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device={device_name!r} is not a torch device ({exc})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={device_name!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise ConfigError(
                f"distributed training: environment variable(s) {missing} are not set; launch with "
                "`torchrun --nproc_per_node=N ...` or initialise torch.distributed yourself"
            )
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns = True
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, device, owns)


def shard(frame: pd.DataFrame, rank: int, world_size: int) -> pd.DataFrame:
    """Rows ``rank, rank + world_size, ...``: strided, so a table sorted by some column
    still gives every rank the same mix of rows."""
    return frame.iloc[rank::world_size].reset_index(drop=True)


def read_shard(path: str | os.PathLike, rank: int, world_size: int) -> pd.DataFrame:
    """This rank's rows of the table at ``path``: the same rows as ``shard(read_table(path))``.

    A Parquet file is read one row group at a time, keeping only this rank's rows, so no
    rank but 0 (which fits the transformer on every row) holds the whole table. CSV and
    JSON lines are read whole and then sharded: their column types are inferred from
    every row, and must come out the same on every rank.
    """
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return shard(read_table(path), rank, world_size)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        pieces, seen = [], 0
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group)
            first = (rank - seen) % world_size
            pieces.append(table.take(np.arange(first, table.num_rows, world_size)))
            seen += table.num_rows
        table = pa.concat_tables(pieces) if pieces else parquet.schema_arrow.empty_table()
        return table.to_pandas().reset_index(drop=True)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputFileError(f"cannot read {str(path)!r} as parquet: {exc}") from None
