"""The shared training loop: device, mixed precision, seeds, progress, NaN guard, checkpoints.

A model plugs in by implementing :class:`Trainable` (its modules, optimisers and one
``train_step``); the loop owns everything around the step, so the tabular and the image
GAN get the same AMP, checkpoint and resume behaviour.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

import torch
from pydantic import BaseModel
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from synthgan.config import TrainingConfig
from synthgan.errors import ConfigError, ModelFileError, TrainingError
from synthgan.io import atomic_path

if TYPE_CHECKING:
    from synthgan.distributed import DistContext

CHECKPOINT_NAME = "checkpoint.safetensors"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device={name!r} is not a torch device ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
    return device


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> str:
    """/proc/cpuinfo's text ("" where there is none), read once per process."""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with AMX tiles, the only ones where bf16 matmuls clearly beat fp32.

    On AVX-512-BF16 without AMX (the 2-core Xeon this project benchmarks on), oneDNN's bf16
    matmuls measured 1.6x slower than fp32 at the tabular GAN's shapes.
    """
    return "amx_bf16" in _cpuinfo()


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 matrix instructions (AVX-512-BF16 or AMX). Without them bf16 is
    emulated and slower than fp32; with them it may still be (see :func:`cpu_bf16_matmul_speedup`).
    """
    flags = _cpuinfo()
    return "avx512_bf16" in flags or "amx_bf16" in flags


#: bf16 sampling is chosen by "auto" only when it measured at least this much faster than fp32
BF16_MIN_SPEEDUP = 1.3


@functools.lru_cache(maxsize=1)
def cpu_bf16_matmul_speedup() -> float:
    """fp32 seconds / bf16 seconds of an (8192 x 512) @ (512 x 256) product on this CPU, the best
    of 5 runs each, measured once per process (~0.1 s) at the torch thread count of that moment.

    Why measured, not read off the CPU flags: on an AMD EPYC with AVX-512-BF16 bf16 ran 2.5x
    faster than fp32 at the generator's sampling shapes; on the Intel Xeon with AVX-512-BF16
    this project benchmarked on earlier, bf16 products ran at about half the fp32 rate.
    """
    a, b = torch.randn(8192, 512), torch.randn(512, 256)
    best = {}
    with torch.inference_mode():
        for dtype in (torch.float32, torch.bfloat16):
            x, w = a.to(dtype), b.to(dtype)
            x @ w  # warm-up: oneDNN picks and caches its kernel on the first call
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                x @ w
                runs.append(time.perf_counter() - start)
            best[dtype] = min(runs)
    return best[torch.float32] / max(best[torch.bfloat16], 1e-9)


def sampling_dtype(device: torch.device, option: str, training: torch.dtype | None) -> torch.dtype:
    """The dtype of the generator's matmuls when sampling (``sample_precision``).

    ``"fp32"`` / ``"bf16"``: as named. ``"auto"``: the training autocast dtype when ``amp``
    was on; else bf16 on CUDA devices with bf16, and on CPUs with bf16 matrix instructions
    (AVX-512-BF16 or AMX) where a bf16 product measured at least ``BF16_MIN_SPEEDUP`` times
    faster than fp32 (:func:`cpu_bf16_matmul_speedup`, once per process); fp32 elsewhere.
    bf16 rounds the weights and activations to 8 mantissa bits; accumulation stays fp32, and
    the decoding after the last layer is fp32. Raises ``ConfigError`` for another option.
    """
    if option not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"sample_precision must be 'auto', 'fp32' or 'bf16', got {option!r}")
    if option == "fp32":
        return torch.float32
    if option == "bf16":
        return torch.bfloat16
    if training is not None:
        return training
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if cpu_has_native_bf16() and cpu_bf16_matmul_speedup() >= BF16_MIN_SPEEDUP:
        return torch.bfloat16
    return torch.float32


class Precision:
    """Autocast policy: bf16 where the device has it, else fp16 with a gradient scaler.

    ``amp="auto"`` turns it on where it pays: CUDA, and CPUs with AMX.
    """

    def __init__(self, device: torch.device, amp: bool | str):
        self.device = device
        self.dtype = None
        enabled = amp is True or (amp == "auto" and (device.type == "cuda" or cpu_has_fast_bf16()))
        if enabled and device.type == "cuda":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        elif enabled and device.type == "cpu":
            self.dtype = torch.bfloat16
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype is torch.float16)

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        self.scaler.step(optimizer)
        self.scaler.update()

    def input_grad(self, output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """d output / d inputs with a graph (gradient penalties), unscaled and in fp32."""
        scaled = self.scaler.scale(output.float().sum())
        (grad,) = torch.autograd.grad(scaled, inputs, create_graph=True)
        if self.scaler.is_enabled():
            grad = grad / self.scaler.get_scale()
        return grad.float()


@dataclass
class EpochRecord:
    epoch: int
    seconds: float
    losses: dict[str, float]
    validation: float | None = None  # the selection score after this epoch, when it was scored


@dataclass
class TrainingHistory:
    """Per-epoch losses and validation scores, and what best-epoch selection chose.

    ``best_epoch``: the epoch whose generator the model keeps (None without selection: the
    last); ``stopped_early``: training ended before ``planned_epochs`` because the validation
    score stopped improving; ``budget``: how the epochs and batch size were chosen.
    """

    records: list[EpochRecord] = field(default_factory=list)
    precision: str = "fp32"
    device: str = "cpu"
    best_epoch: int | None = None
    stopped_early: bool = False
    planned_epochs: int | None = None
    budget: dict | None = None
    selection: dict | None = None  # what was scored, on how many rows, how often, patience
    calibration: dict | None = None  # per column: missing rate real, generated before and after calibration

    @property
    def epoch_seconds(self) -> list[float]:
        return [r.seconds for r in self.records]

    def losses(self, name: str) -> list[float]:
        return [r.losses[name] for r in self.records]

    @property
    def validation(self) -> list[tuple[int, float]]:
        """(epoch, score) for every scored epoch."""
        return [(r.epoch, r.validation) for r in self.records if r.validation is not None]

    def to_json(self) -> dict:
        return {
            "precision": self.precision, "device": self.device, "records": [asdict(r) for r in self.records],
            "best_epoch": self.best_epoch, "stopped_early": self.stopped_early,
            "planned_epochs": self.planned_epochs, "budget": self.budget, "selection": self.selection,
            "calibration": self.calibration,
        }

    @classmethod
    def from_json(cls, data: dict) -> "TrainingHistory":
        return cls(
            [EpochRecord(**r) for r in data["records"]], data["precision"], data["device"],
            data.get("best_epoch"), data.get("stopped_early", False), data.get("planned_epochs"),
            data.get("budget"), data.get("selection"), data.get("calibration"),
        )


class EpochRecordState(BaseModel):
    """One :class:`EpochRecord` as a model file stores it."""

    epoch: int
    seconds: float
    losses: dict[str, float]
    validation: float | None = None


class HistoryState(BaseModel):
    """A :class:`TrainingHistory` as a model file stores it (see :meth:`TrainingHistory.to_json`)."""

    records: list[EpochRecordState]
    precision: str
    device: str
    best_epoch: int | None = None
    stopped_early: bool = False
    planned_epochs: int | None = None
    budget: dict | None = None
    selection: dict | None = None
    calibration: dict | None = None


@dataclass
class Selection:
    """Best-epoch selection and early stopping for :func:`train`.

    ``score()`` (higher is better) runs after every ``every``-th epoch and after the last;
    the best scoring state (``snapshot()``) is kept and handed back to ``restore`` when
    training ends; training stops once ``patience`` scores in a row have not beaten the best
    by more than ``min_delta`` (``patience=0``: never stops early), but not before epoch
    ``min_epochs``. ``info`` is recorded in
    the history (what is scored, on how many rows).
    """

    score: Callable[[], float]
    snapshot: Callable[[], dict]
    restore: Callable[[dict], None]
    every: int = 1
    patience: int = 0
    min_delta: float = 0.0
    min_epochs: int = 0  # no early stop before this epoch (a plateau can precede a climb)
    info: dict = field(default_factory=dict)


class Trainable(Protocol):
    steps_per_epoch: int
    generator: torch.Generator  # the model's own RNG for noise and sampling

    def modules(self) -> dict[str, torch.nn.Module]: ...

    def optimizers(self) -> dict[str, torch.optim.Optimizer]: ...

    def train_step(self) -> dict[str, torch.Tensor]: ...

    def fingerprint(self) -> str:
        """Identifies the data and options, so a checkpoint resumes only the same run."""
        ...


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG (layer init, dropout) inside a fork that restores it after.

    Noise and sampling use the model's own ``torch.Generator``; the global state the user
    sees is the same before and after a fit.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def train(
    model: Trainable,
    config: TrainingConfig,
    precision: Precision,
    on_epoch_end: Callable[[int], None] | None = None,
    desc: str = "training",
    dist: "DistContext | None" = None,
    selection: Selection | None = None,
    epochs: int | None = None,
) -> TrainingHistory:
    """Run ``epochs`` (default ``config.epochs``) epochs of ``model.train_step``.

    With ``selection`` (see :class:`Selection`) the generator is scored every few epochs,
    the best state is restored at the end and training may stop early. With a ``log_dir``
    in ``config``, losses and scores are written as TensorBoard scalars
    (``torch.utils.tensorboard``; a ``ConfigError`` when tensorboard is not installed).

    Under data-parallel training (``dist``, see :mod:`synthgan.distributed`) every rank
    runs this loop in step: losses are averaged over the ranks (so all of them see the same
    NaN and stop together), only rank 0 shows progress and writes checkpoints (with every
    rank's RNG state), and each rank resumes its own RNG from the shared checkpoint.
    """
    epochs = config.epochs if epochs is None else epochs
    history = TrainingHistory(precision=precision.name, device=str(precision.device), planned_epochs=epochs)
    first = 1
    ckpt = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    rank = 0 if dist is None else dist.rank
    if config.resume:
        if ckpt is None:
            raise ConfigError("resume=True needs checkpoint_dir")
        if ckpt.exists():
            history = _load_checkpoint(ckpt, model, rank)
            first = len(history.records) + 1
    for module in model.modules().values():
        module.train()
    quiet = not config.verbose or rank != 0
    writer = _tensorboard(getattr(config, "log_dir", None)) if rank == 0 else None
    best, best_state, since_best = -math.inf, None, 0
    if selection is not None:
        history.selection = dict(
            selection.info, every=selection.every, patience=selection.patience, min_epochs=selection.min_epochs
        )
    bar = tqdm(range(first, epochs + 1), desc=desc, disable=quiet, unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        totals: dict[str, torch.Tensor] = {}
        for _ in range(model.steps_per_epoch):
            for name, value in model.train_step().items():
                totals[name] = totals.get(name, 0) + value.detach()
        if dist is not None:
            names = sorted(totals)
            averaged = dist.mean(torch.stack([totals[k].float() for k in names]))
            totals = dict(zip(names, averaged.unbind()))
        losses = {k: float(v) / model.steps_per_epoch for k, v in totals.items()}  # one sync an epoch
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise TrainingError(
                f"{desc}: loss {', '.join(bad)} became {losses[bad[0]]} at epoch {epoch}; "
                "try a lower learning rate, amp=False, or resume from a checkpoint"
            )
        record = EpochRecord(epoch, time.perf_counter() - start, losses)
        history.records.append(record)
        postfix = {k: f"{v:.3f}" for k, v in losses.items()}
        stop = False
        if selection is not None and (epoch % selection.every == 0 or epoch == epochs):
            record.validation = float(selection.score())
            if record.validation > best + selection.min_delta:
                best, best_state, since_best = record.validation, selection.snapshot(), 0
                history.best_epoch = epoch
            else:
                since_best += 1
                stop = (
                    selection.patience > 0 and since_best >= selection.patience
                    and selection.min_epochs <= epoch < epochs
                )
            postfix["val"] = f"{record.validation:.3f}"
            postfix["best"] = f"{best:.3f}@{history.best_epoch}"
        bar.set_postfix(postfix)
        if writer is not None:
            for name, value in losses.items():
                writer.add_scalar(f"loss/{name}", value, epoch)
            if record.validation is not None:
                writer.add_scalar("validation/quality", record.validation, epoch)
        if ckpt is not None and (
            epoch == epochs or stop or (config.checkpoint_every and epoch % config.checkpoint_every == 0)
        ):
            rngs = _rng_states(model, dist)
            if rank == 0:
                _save_checkpoint(ckpt, model, history, rngs)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        if stop:
            history.stopped_early = True
            break
    bar.close()
    if writer is not None:
        writer.close()
    if best_state is not None:
        selection.restore(best_state)
    for module in model.modules().values():
        module.eval()
    return history


def _tensorboard(log_dir: str | None):
    """A ``SummaryWriter`` for ``log_dir``, or None when no folder was asked for."""
    if log_dir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            f"log_dir={log_dir!r} writes TensorBoard scalars, which needs the tensorboard package: "
            "pip install tensorboard (or leave log_dir unset)"
        ) from None
    return SummaryWriter(log_dir=str(log_dir))


def _rng_states(model: Trainable, dist) -> dict[str, torch.Tensor]:
    """The RNG states a checkpoint keeps: this process's, or every rank's under DDP."""
    states = {"rng.model": model.generator.get_state(), "rng.global": torch.get_rng_state()}
    if dist is None:
        return states
    out = dict(states)
    for key, value in states.items():
        for rank, gathered in enumerate(dist.gather_bytes(value)):
            out[f"{key}.{rank}"] = gathered
    return out


def _save_checkpoint(
    path: Path, model: Trainable, history: TrainingHistory, rngs: dict[str, torch.Tensor]
) -> None:
    tensors, groups = {}, {}
    for name, module in model.modules().items():
        for key, value in module.state_dict().items():
            tensors[f"module.{name}.{key}"] = value.detach().contiguous()
    for name, opt in model.optimizers().items():
        state = opt.state_dict()
        groups[name] = state["param_groups"]
        for index, values in state["state"].items():
            for key, value in values.items():
                tensors[f"optim.{name}.{index}.{key}"] = torch.as_tensor(value).contiguous()
    tensors.update(rngs)
    meta = {
        "history": json.dumps(history.to_json()),
        "param_groups": json.dumps(groups),
        "fingerprint": model.fingerprint(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file({k: v.cpu() for k, v in tensors.items()}, str(tmp), metadata=meta)


def _load_checkpoint(path: Path, model: Trainable, rank: int = 0) -> TrainingHistory:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"checkpoint {path} cannot be read ({exc}); delete it to start afresh") from None
    if meta.get("fingerprint") != model.fingerprint():
        raise ModelFileError(
            f"checkpoint {path} was written for different data or options; "
            "use another checkpoint_dir or delete it to start afresh"
        )
    for name, module in model.modules().items():
        prefix = f"module.{name}."
        module.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    groups = json.loads(meta["param_groups"])
    for name, opt in model.optimizers().items():
        prefix = f"optim.{name}."
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, field_name = key[len(prefix) :].split(".", 1)
                state.setdefault(int(index), {})[field_name] = value
        opt.load_state_dict({"state": state, "param_groups": groups[name]})
    model.generator.set_state(tensors.get(f"rng.model.{rank}", tensors["rng.model"]))
    torch.set_rng_state(tensors.get(f"rng.global.{rank}", tensors["rng.global"]))
    return TrainingHistory.from_json(json.loads(meta["history"]))
