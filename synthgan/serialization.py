"""Model files: safetensors weights + JSON state in the header, versioned and checksummed.

Loading never runs code (no pickle). A file whose format version is unknown, whose header
is damaged, or whose content no longer matches its checksum is refused with a
:class:`~synthgan.errors.ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from pydantic import BaseModel, ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from synthgan.errors import ModelFileError
from synthgan.io import atomic_path

FORMAT = "synthgan"
FORMAT_VERSION = 1


def _checksum(payload: str, tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256(payload.encode())
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_model(path: str | os.PathLike, kind: str, state: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Write ``tensors`` and the JSON-able ``state`` of a ``kind`` model to ``path``."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    payload = json.dumps(state, allow_nan=True)
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "state": payload,
        "sha256": _checksum(payload, tensors),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def load_model(
    path: str | os.PathLike, kind: str, state_model: "type[BaseModel] | None" = None
) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a model file written by :func:`save_model`; check format, kind and checksum, and the
    JSON state against ``state_model`` (a pydantic schema) when given."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable synthgan model file (corrupted or not a model): {exc}"
        ) from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is a safetensors file but not a synthgan model")
    version = meta.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ModelFileError(
            f"{str(path)!r} has model format version {version}; this synthgan reads version "
            f"{FORMAT_VERSION}: use the synthgan release that wrote it, or refit"
        )
    if meta.get("kind") != kind:
        raise ModelFileError(f"{str(path)!r} holds a {meta.get('kind')!r} model, not a {kind!r} one")
    payload = meta.get("state", "")
    if _checksum(payload, tensors) != meta.get("sha256"):
        raise ModelFileError(f"{str(path)!r} failed its checksum: the file was modified or damaged")
    try:
        state = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{str(path)!r} has a damaged state header: {exc}") from None
    if state_model is not None:
        check_state(state, state_model, path)
    return state, tensors


def read_kind(path: str | os.PathLike) -> str | None:
    """The ``kind`` a model file declares (None when it declares none); a
    ``ModelFileError`` when it is missing or not a safetensors file. Nothing else is checked:
    :func:`load_model` does that."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("kind")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{str(path)!r} is not a readable synthgan model file: {exc}") from None


def check_state(state, state_model: type[BaseModel], path) -> None:
    """Validate a model file's JSON state against its pydantic schema; one ``ModelFileError``
    names every missing or mistyped entry (``history.records.3.epoch: Field required``)."""
    try:
        state_model.model_validate(state)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(state)'}: {e['msg']}" for e in exc.errors()[:10]]
        more = f"; and {len(exc.errors()) - 10} more" if len(exc.errors()) > 10 else ""
        raise ModelFileError(
            f"{str(path)!r} has an invalid model state ({'; '.join(problems)}{more}): the file was not "
            "written by this synthgan release or was edited; refit the model"
        ) from None
