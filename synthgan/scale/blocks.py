"""The row stream behind every large-scale sampler: fixed-size blocks with their own seeds.

For a model, a seed, a block size, conditions and a privacy check, the stream of synthetic
rows is the concatenation of blocks 0, 1, 2, ...: block ``b`` draws ``block_rows`` candidate
rows with RNGs derived from ``(seed, b)`` by :class:`numpy.random.SeedSequence`, and keeps,
in order, those that satisfy every condition and pass the privacy check. Output ``n`` rows
means the first ``n`` rows of that stream, so how they are cut into chunks, files or
Dask tasks changes nothing: a block can be drawn anywhere, in any order, from its number
alone.

Integer identifier columns get ``start + b * block_rows + i`` for candidate ``i`` of block
``b``: unique over the whole stream without any block knowing another's count. Text
identifiers are drawn per block and are unique within it (across blocks, only as unlikely
to collide as their format allows).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from synthgan.errors import ConditionError, ConfigError, PrivacyFilterError
from synthgan.schema import ColumnKind
from synthgan.tabular.conditions import Condition

if TYPE_CHECKING:
    from synthgan.tabular.synthesizer import TabularSynthesizer

#: candidate rows per block; part of what defines a stream (changing it changes the rows).
#: 16k rows measured fastest per row on a 2-core CPU (the decode stays in cache).
BLOCK_ROWS = 16_384
#: rejection sampling gives up when fewer than 1 in this many candidates pass
MAX_DRAW_FACTOR = 200
#: ... but not before this many candidates were drawn
MIN_DRAWN = 10_000
#: version of the stream's definition, recorded in manifests
STREAM_VERSION = 2  # 2: a target condition is met on the label model's draws


def check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def fresh_seed() -> int:
    """A seed from OS entropy, for a run that was given none (it is recorded in the manifest)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def block_seeds(seed: int, block: int) -> tuple[int, int]:
    """(torch seed, numpy seed) of block ``block``: child ``block`` of ``SeedSequence(seed)``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(block,))
    torch_seed, numpy_seed = sequence.generate_state(2, dtype=np.uint64)
    return int(torch_seed) & (2**63 - 1), int(numpy_seed)


@dataclass(frozen=True)
class BlockPlan:
    """Everything that fixes the stream, validated once before any row is drawn."""

    seed: int
    block_rows: int
    conditions: tuple[Condition, ...]
    native: tuple[str, int] | None  # the discrete condition fed to the generator
    release: Callable[[pd.DataFrame], pd.DataFrame] | None  # the privacy check
    integer_ids: tuple[tuple[str, int], ...]  # (column, first id) of integer identifier columns
    signature: dict  # JSON identity of the stream, compared when a run resumes
    relabel: bool = True  # the label model draws the target (no condition fixes it)
    draw_factor: float = MAX_DRAW_FACTOR  # give up below 1 passing row in this many draws


@dataclass
class Block:
    index: int
    rows: pd.DataFrame  # the rows that passed, in candidate order, index 0..len-1
    drawn: int  # candidates drawn
    matched: int  # candidates that satisfied the conditions


def make_plan(
    synth: "TabularSynthesizer", seed: int, block_rows: int, conditions: dict | None, privacy
) -> BlockPlan:
    """Validate conditions and ``privacy`` (as ``sample`` does) and fix the stream."""
    synth._check_fitted()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer (or None for a fresh one), got {seed!r}")
    block_rows = check_count("block_rows", block_rows)
    release = synth._release_check(privacy)
    parsed = tuple(synth._parse_conditions(conditions)) if conditions else ()
    native = synth._native(list(parsed))
    ids = tuple(
        (col.name, int(synth.transformer_.encoders[col.name].start))
        for col in synth.transformer_.schema.columns
        if col.kind is ColumnKind.ID and synth.transformer_.encoders[col.name].integer
    )
    signature = {
        "stream_version": STREAM_VERSION,
        "model": model_fingerprint(synth),
        "device": synth.model_.device.type,
        "seed": int(seed),
        "block_rows": block_rows,
        "conditions": _json_conditions(conditions),
        "privacy": describe_privacy(privacy),
    }
    return BlockPlan(int(seed), block_rows, parsed, native, release, ids, signature, synth._relabels(parsed),
                     MAX_DRAW_FACTOR * synth._target_draws_per_row(list(parsed)))


def draw_block(synth: "TabularSynthesizer", plan: BlockPlan, index: int) -> Block:
    """Block ``index`` of the stream: its candidates, filtered."""
    torch_seed, numpy_seed = block_seeds(plan.seed, index)
    gen = synth._new_generator(torch_seed)
    rows = synth._draw(plan.block_rows, plan.native, gen, np.random.default_rng(numpy_seed), plan.relabel)
    for name, start in plan.integer_ids:
        first = start + index * plan.block_rows
        rows[name] = np.arange(first, first + len(rows), dtype=np.int64).astype(rows[name].dtype)
    if plan.conditions:
        mask = np.ones(len(rows), dtype=bool)
        for cond in plan.conditions:
            mask &= cond.mask(rows)
        rows = rows[mask]
    matched = len(rows)
    if plan.release is not None and len(rows):
        rows = plan.release(rows)
    return Block(index, rows.reset_index(drop=True), plan.block_rows, matched)


def check_yield(plan: BlockPlan, drawn: int, matched: int, passed: int, n: int) -> None:
    """Give up, as ``sample`` does, once fewer than 1 in :data:`MAX_DRAW_FACTOR` candidates
    pass (after :data:`MIN_DRAWN`): the conditions, or else the privacy filter, are to blame."""
    if passed >= n or drawn < MIN_DRAWN + plan.draw_factor * passed:
        return
    if plan.conditions and matched * plan.draw_factor <= drawn - MIN_DRAWN:
        raise ConditionError(
            f"conditions {plan.signature['conditions']} are too rare for the model: {matched} of {drawn} drawn "
            f"rows ({matched / drawn:.4%}) satisfied them; loosen them or ask for fewer rows"
        )
    if plan.signature["privacy"].get("check") == "exact":
        raise PrivacyFilterError(
            f"the exact-match check (on by default: no released row copies a training row) passed {passed} of "
            f"{drawn} drawn rows ({passed / drawn:.4%}), fewer than 1 in {MAX_DRAW_FACTOR}: this model mostly "
            "reproduces training rows. Pass privacy=False (CLI: --allow-training-rows) if releasing copies of "
            "training rows is acceptable"
        )
    raise PrivacyFilterError(
        f"the privacy filter passed {passed} of {drawn} drawn rows ({passed / drawn:.4%}), fewer than 1 in "
        f"{MAX_DRAW_FACTOR}; loosen the filter (lower dcr_quantile or k) or ask for fewer rows"
    )


def model_fingerprint(synth: "TabularSynthesizer") -> str:
    """SHA-256 of what generation reads: transformer state, generator weights, counts, hashes,
    and with a target its class counts per condition and its label model."""
    digest = hashlib.sha256(json.dumps(synth.transformer_.state(), sort_keys=True, default=str).encode())
    for key, value in sorted(synth.model_.net_g.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    digest.update(synth.model_.sampler.counts.cpu().numpy().tobytes())
    target = synth.model_.target
    if target is not None and target.joint is not None:
        digest.update(target.joint.cpu().numpy().tobytes())
    label_model = getattr(synth, "label_model_", None)
    if label_model is not None:
        for key, value in sorted(label_model.tensors().items()):
            digest.update(key.encode())
            digest.update(value.numpy().tobytes())
    if synth.exact_index_ is not None:
        digest.update(synth.exact_index_.keys.tobytes())
    return digest.hexdigest()


def describe_privacy(privacy) -> dict:
    """JSON identity of a ``privacy`` argument (already validated by ``_release_check``)."""
    if privacy is False:
        return {"check": "none"}
    if isinstance(privacy, str):
        return {"check": privacy}
    options = privacy.options_.model_dump(mode="json")
    options.pop("verbose", None)
    return {"check": "filter", "options": options, "threshold": getattr(privacy, "threshold_", None)}


def _json_conditions(conditions: dict | None):
    if not conditions:
        return None
    return json.loads(json.dumps({str(k): v for k, v in conditions.items()}, sort_keys=True, default=str))
