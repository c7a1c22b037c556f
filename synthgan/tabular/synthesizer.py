"""``TabularSynthesizer``: the public fit / sample / save / load API of the tabular GAN."""

from __future__ import annotations

import math

import os
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from synthgan.base import Synthesizer
from synthgan.config import TabularConfig, validate
from synthgan.errors import ConditionError, ConfigError, DataError, ModelFileError, PrivacyFilterError, listing
from synthgan.io import read_table
from synthgan.distributed import DistContext
from synthgan.distributed import requested as requested_distributed
from synthgan.distributed import setup as setup_distributed
from synthgan.schema import ColumnKind, Metadata, Schema, detect_schema
from synthgan.serialization import load_model, save_model
from synthgan.tabular.budget import training_budget
from synthgan.tabular.conditions import Condition, category_index, native_condition, parse_conditions
from synthgan.tabular.ddp import local_counts, rank_seed, shared_transformer
from synthgan.tabular.encoders import CategoricalEncoder
from synthgan.tabular.label_model import LabelModel
from synthgan.tabular.model import CTGANModel, Target
from synthgan.tabular.model_state import TabularModelState
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import quick_quality
from synthgan.training import Precision, Selection, TrainingHistory, resolve_device, sampling_dtype, seeded, train

MODEL_KIND = "tabular"
#: rows generated per forward pass when sampling
SAMPLE_CHUNK = 65_536
#: rejection sampling gives up after drawing this many times the requested rows
MAX_DRAW_FACTOR = 200
#: tables with fewer rows are never split for validation (the score would be noise)
MIN_VALIDATION_ROWS = 100
#: most rows held out for validation, and most synthetic rows drawn to score them against
MAX_VALIDATION_ROWS = 5_000
#: the generator is scored about this many times over the planned run
SCORES_PER_RUN = 40
#: rows drawn per round, and rounds, when the missing-value indicators are calibrated
CALIBRATION_ROWS, CALIBRATION_ROUNDS = 20_000, 3
_DP_AND_DDP = (
    "dp: differentially private training does not run data-parallel (the DP-SGD accountant "
    "assumes one process); train it in one process, or pass distributed=False"
)


class TabularSynthesizer(Synthesizer):
    """CTGAN-style conditional GAN for tables (Xu et al., 2019), fast on CPU and GPU.

    Parameters mirror :class:`synthgan.config.TabularConfig`, where each is documented;
    they are validated when ``fit`` starts. One more, ``distributed``, says how ``fit`` runs
    (it does not change the model): ``"auto"`` (the default) trains data-parallel when
    launched by ``torchrun`` with several processes, ``True`` requires that, ``False``
    never does it (see :meth:`fit`).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> df = load_wine(as_frame=True).frame
    >>> synth = TabularSynthesizer(epochs=2, seed=0, verbose=False).fit(df)
    >>> rows = synth.sample(100)
    >>> list(rows.columns) == list(df.columns)
    True
    """

    def __init__(
        self,
        epochs: int | None = None,
        batch_size: int | None = None,
        *,
        device: str = "auto",
        amp: bool | str = "auto",
        seed: int | None = None,
        verbose: bool = True,
        embedding_dim: int = 128,
        generator_dim: tuple[int, ...] = (256, 256),
        discriminator_dim: tuple[int, ...] = (256, 256),
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        generator_decay: float = 1e-6,
        discriminator_decay: float = 1e-6,
        discriminator_steps: int = 1,
        pac: int = 10,
        gp_weight: float = 10.0,
        gp_every: int = 1,
        max_modes: int = 10,
        gmm_subsample: int = 5_000,
        enforce_bounds: bool = True,
        id_columns: str = "generate",
        continuous_encoding: str = "quantile",
        sample_precision: str = "auto",
        validation: float = 0.1,
        patience: int = 8,
        log_dir: str | None = None,
        target_balance: bool = False,
        target_loss: float = 1.0,
        label_model: bool = True,
        generator_ema: float = 0.999,
        dp=None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 0,
        resume: bool = False,
        distributed: bool | str = "auto",
        constraints=None,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.seed = seed
        self.verbose = verbose
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.generator_decay = generator_decay
        self.discriminator_decay = discriminator_decay
        self.discriminator_steps = discriminator_steps
        self.pac = pac
        self.gp_weight = gp_weight
        self.gp_every = gp_every
        self.max_modes = max_modes
        self.gmm_subsample = gmm_subsample
        self.enforce_bounds = enforce_bounds
        self.id_columns = id_columns
        self.continuous_encoding = continuous_encoding
        self.sample_precision = sample_precision
        self.validation = validation
        self.patience = patience
        self.log_dir = log_dir
        self.target_balance = target_balance
        self.target_loss = target_loss
        self.label_model = label_model
        self.generator_ema = generator_ema
        self.dp = dp
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.distributed = distributed
        self.constraints = constraints

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame | str | os.PathLike,
        metadata: Metadata | dict | None = None,
        on_epoch_end: Callable[[int, "TabularSynthesizer"], None] | None = None,
        *,
        target: str | None = None,
        fairness: list[str] | tuple[str, ...] | None = None,
        constraints=None,
    ) -> "TabularSynthesizer":
        """Learn the table ``data`` (a DataFrame, or a CSV/Parquet path). ``data`` is not modified.

        ``metadata`` overrides detected column kinds (``{"zip": "categorical"}``).
        ``on_epoch_end(epoch, self)`` runs after every epoch (e.g. to track quality).

        ``target`` names the column a downstream model will predict (target-aware training):
        a class column is part of every conditional vector (in training, the class of the
        real row drawn; in sampling, drawn given the other condition as in the real table;
        ``target_balance=True`` conditions on its classes uniformly), the validation slice is
        stratified on it, and an auxiliary head (CTAB-GAN+, Zhao et al., 2022) learns to
        predict it from the other columns of real rows while the generator is asked to make
        rows whose features that head assigns to their conditioned class (a numeric target:
        to their own value), with weight ``target_loss``. Stored in the model file as
        ``target_`` and used by :meth:`augment`. Not available with ``dp`` (a ``ConfigError``).
        With a discrete target and ``label_model=True`` (the default), a classifier of the real
        training rows (:mod:`synthgan.tabular.label_model`) is fitted after the generator and
        draws the target of every sampled row whose target no condition fixes, given the
        features the generator made (sequential synthesis, as synthpop does): synthetic rows
        then predict the target as real rows do. Rows of a conditioned class
        (``sample(conditions={target: c})``, :meth:`augment`, the imbalanced-learn resampler)
        are the model's own rows of that class: drawn as unconditioned rows are, the label
        model's class kept only where it is ``c`` (rejection; a class of share ``s`` takes
        about ``1/s`` draws). The target's share among unconditioned rows is kept at the real one by an
        exponential tilt of the rows (a share of rows is turned away, 17% on Adult, so
        sampling draws that many more), offsets closing what the tilt cannot (per group with
        ``fairness``). ``label_model_`` holds it (``None`` when not used); its ``summary``
        records the early stopping, the tilt, its acceptance rate and the offsets.

        ``fairness`` (with ``target``) names discrete sensitive columns (``["sex", "race"]``)
        that are conditioned on jointly with the target: every training condition carries the
        real row's target class and groups, and every sampled row draws its (target, groups)
        combination from the real table's, given its other condition. So the positive rate per
        group follows the real one instead of drifting with the generator (an amplified
        income gap across sex, say). A numeric sensitive column raises a ``DataError``: bin it
        into a categorical column first.

        Data-parallel training (``distributed``, on by default under ``torchrun`` with
        several processes): each rank trains on rows ``rank::world_size`` of the table
        (from a Parquet path, each reads only its rows); rank 0 fits the transformer on every
        row and broadcasts its state; ``DistributedDataParallel`` averages gradients over the
        ranks (NCCL on GPUs, gloo on CPU). ``batch_size`` is per rank, so a step sees
        ``world_size * batch_size`` rows and an epoch (one pass over the whole table) has
        ``world_size`` times fewer steps; learning rates are used as given. To match a
        single-process run step for step, divide ``batch_size`` by the number of processes.
        Every rank ends with the same model; only rank 0 writes checkpoints and :meth:`save`
        (``checkpoint_dir`` must be on storage every rank sees); ``on_epoch_end`` runs on
        every rank. ``dp`` cannot be combined with it (a ``ConfigError``).

        ``constraints`` (here or in the constructor; here wins): rules between columns from
        :mod:`synthgan.constraints` (``Inequality("admitted", "discharged")``, ``FixedCombinations``,
        ``OneHot``, ``Sum``...) or custom objects with ``is_valid``. The real table must obey
        every one (a ``ConstraintError`` lists the offending rows; nothing is fixed silently);
        each transformable rule reparameterises its columns before the model sees them (so
        sampled rows obey it by construction), the others are checked on every sampled row
        (rejection; ``constraint_acceptance_`` records the rate). Not available with ``dp`` or
        data-parallel training yet (a ``ConfigError``).
        """
        config = self._validated_config()
        self._constraint_list = constraints if constraints is not None else self.constraints
        if self._constraint_list and (config.dp is not None or self.distributed is True):
            raise ConfigError("fit: constraints are not available with dp or data-parallel training yet")
        if target is not None and config.dp is not None:
            raise ConfigError(
                "fit: target= is not available with dp yet (the auxiliary head and the joint class counts "
                "would use the real rows outside the privacy budget); fit without target"
            )
        self._target_name = target
        self._fairness = tuple(fairness or ())
        if self._fairness and target is None:
            raise ConfigError("fit: fairness= conditions the sensitive columns jointly with a target; pass target= too")
        if config.dp is not None and self.distributed is True:
            raise ConfigError(_DP_AND_DDP)
        ctx = None
        if requested_distributed(self.distributed, type(self).__name__):
            if config.dp is not None:
                raise ConfigError(_DP_AND_DDP)
            ctx = setup_distributed(config.device)
        try:
            self._fit(config, data, metadata, on_epoch_end, ctx)
        except BaseException:
            if ctx is not None:
                ctx.close(failed=True)
            raise
        if ctx is not None:
            ctx.close()
        return self

    def _fit(self, config: TabularConfig, data, metadata, on_epoch_end, ctx: DistContext | None) -> None:
        timings = {}
        self.label_model_ = None  # a refit must not sample through the last fit's label model
        rng = np.random.default_rng(config.seed)
        model_class, train_config, model_seed = CTGANModel, config, config.seed
        start = time.perf_counter()
        if ctx is None:
            device = resolve_device(config.device)
            if isinstance(data, (str, os.PathLike)):
                data = read_table(data)
            constraint_set, user_schema, user_full = None, None, None
            if self._constraint_list:
                constraint_set, user_schema, user_full, data, metadata = _apply_constraints(
                    self._constraint_list, data, metadata, config
                )
            schema = _model_schema(data, metadata, config)
            data = schema.canonical(data)  # dates as text or objects, Decimals...: see synthgan.forms
            _check_target(self._target_name, schema, self._fairness)
            timings["schema_s"] = time.perf_counter() - start
            start = time.perf_counter()
            full = data
            data, validation_rows = _validation_split(data, config, rng, self._target_name, schema)
            if config.dp is None:
                transformer = TableTransformer(
                    config.max_modes, config.gmm_subsample, config.enforce_bounds, config.continuous_encoding
                )
                transformer.fit(data, schema, rng)
            else:
                train_config = _dp_training_config(config)
                from synthgan.tabular.private import DPCTGANModel, fit_private_transformer

                model_class = DPCTGANModel
                transformer, data = fit_private_transformer(data, schema, train_config, rng)
            transform_rng = rng
        else:
            full, validation_rows = None, None
            device = ctx.device
            schema_of = lambda frame: _model_schema(frame, metadata, config)  # noqa: E731
            transformer, exact_index, data = shared_transformer(ctx, data, schema_of, config, rng)
            model_seed = rank_seed(config.seed, ctx.rank)
            transform_rng = rng if ctx.is_main else np.random.default_rng(model_seed)
        timings["transformer_fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        matrix = torch.from_numpy(transformer.transform(data, transform_rng)).to(device)
        timings["transform_s"] = time.perf_counter() - start

        budget = training_budget(
            len(matrix), train_config.batch_size, train_config.epochs, train_config.pac, type(self).__name__
        )
        train_config = train_config.model_copy(update={"batch_size": budget.batch_size, "epochs": budget.epochs})
        precision = Precision(device, train_config.amp)
        start = time.perf_counter()
        # under DDP the sampler draws this rank's rows, so it counts this rank's categories
        counts = _counts(transformer) if ctx is None else local_counts(matrix, transformer.layout)
        fingerprint_of = {
            "transformer": transformer.state(), "config": _fingerprint_options(config), "target": self._target_name,
        }
        if ctx is not None:
            fingerprint_of["world_size"] = ctx.world_size
        target = None
        if self._target_name is not None:
            _check_target(self._target_name, transformer.schema, self._fairness)
            joint, combos = _joint_counts(matrix, transformer.layout, (self._target_name, *self._fairness))
            if ctx is not None and joint is not None:
                # every rank counted its own rows: take rank 0's counts (what it saves), so the
                # ranks fill the target of unconditioned rows alike and sample the same rows
                shared = ctx.broadcast_json([joint.tolist(), combos.tolist()] if ctx.is_main else None)
                joint = torch.tensor(shared[0], dtype=joint.dtype)
                combos = torch.tensor(shared[1], dtype=combos.dtype)
            target = Target(self._target_name, transformer.layout, joint, self._fairness, combos)
        with seeded(model_seed, device):
            model = model_class(transformer.layout, counts, train_config, precision, model_seed, target)
            model.prepare(matrix, fingerprint_of)
            if ctx is not None:
                model.steps_per_epoch = ctx.min_int(model.steps_per_epoch)  # ranks step in lockstep
                model.distribute(ctx.wrap)
            self.transformer_, self.model_, self.config_ = transformer, model, config
            callback = None if on_epoch_end is None else (lambda epoch: on_epoch_end(epoch, self))
            selection = None if validation_rows is None else self._selection(validation_rows, budget, config)
            self.history_ = train(
                model, train_config, precision, callback, desc="TabularSynthesizer", dist=ctx, selection=selection
            )
            self.history_.budget = budget.to_json()
            model.finish()
        self.privacy_ = _privacy_spent(model, config)
        self.label_model_ = None
        if target is not None and target.discrete and config.label_model and config.dp is None:
            self.label_model_ = self._fit_label_model(matrix, validation_rows, config, ctx)
        if ctx is None and config.dp is None:
            self.history_.calibration = self._calibrate_missing(data, config)
        if ctx is None:
            self.constraints_, self.user_schema_ = constraint_set, user_schema
            self.constraint_acceptance_ = None
            # every row the user gave, validation rows included, is a row never to release
            if constraint_set is not None:  # compared as the user's columns, not the model's
                full, exact_schema = user_full, user_schema
            else:
                exact_schema = transformer.schema
            self.exact_index_ = _exact_index(full, exact_schema) if config.dp is None else None
        else:
            model.undistribute()
            ctx.broadcast_buffers(model.net_g)  # batch-norm statistics: rank 0's everywhere
            model.sampler = ConditionSampler(
                transformer.layout, _counts(transformer).to(device),
                model.sampler.target, None if target is None else target.joint, config.target_balance,
                () if target is None else target.fairness, None if target is None else target.combos,
            )
            self.exact_index_ = exact_index
            self.constraints_, self.user_schema_, self.constraint_acceptance_ = None, None, None
        self.target_ = self._target_name
        self.fairness_ = self._fairness
        self.world_size_, self.rank_ = (1, 0) if ctx is None else (ctx.world_size, ctx.rank)
        timings["train_s"] = time.perf_counter() - start
        model.data = None  # the training matrix is not kept
        self.timings_ = timings
        self._sample_generator = self._new_generator(config.seed)

    def _fit_label_model(self, matrix: torch.Tensor, validation_rows, config: TabularConfig, ctx) -> LabelModel:
        """The target's label model, fitted on the training rows (early-stopped on the
        validation rows when the fit holds some out), its tilt and offsets set on unconditioned draws.
        Under data-parallel training every rank fits on its rows, then takes rank 0's model."""
        transformer, model = self.transformer_, self.model_
        seed = 0 if config.seed is None else config.seed
        label_model = LabelModel(transformer.layout, self._target_name, model.device, self._fairness)
        valid = None
        if validation_rows is not None and len(validation_rows):
            valid = transformer.decode(transformer.transform(validation_rows, np.random.default_rng(seed + 3)))
        train_rows = transformer.decode(matrix.cpu().numpy())
        label_model.fit(train_rows, valid, seed + 3)  # seeded from its own generators
        group = label_model.group(torch.as_tensor(train_rows[1])).cpu().numpy()
        classes = train_rows[1][:, label_model.segment]
        counts = np.zeros((label_model.groups, label_model.classes))
        np.add.at(counts, (group, classes), 1)
        gen = self._new_generator(seed + 4)
        cond = model.sampler.fill_target(model.sampler.sample_original(CALIBRATION_ROWS, gen), gen)
        scalars, choices = model.generate(cond, gen)
        label_model.adjust_priors(scalars, choices, counts)
        if ctx is not None:
            ctx.broadcast_module(label_model.net)
            if label_model.tilted:
                label_model.record_tilt()  # rank 0's tilt, as every rank now holds
        return label_model

    def _selection(self, rows: pd.DataFrame, budget, config: TabularConfig) -> Selection:
        """Score the generator on held-out real rows (:func:`quick_quality`), keep the best."""
        n_draw = min(max(len(rows), 1_000), MAX_VALIDATION_ROWS)
        schema = self.transformer_.schema
        seed = 0 if config.seed is None else config.seed

        def score() -> float:
            gen = self._new_generator(seed + 1)  # the same noise every time: scores differ by the weights only
            synthetic = self._draw_model(n_draw, None, gen, np.random.default_rng(seed + 1))
            return quick_quality(rows, synthetic, schema).score

        net = self.model_.sampling_net
        return Selection(
            score=score,
            snapshot=lambda: {k: v.detach().clone() for k, v in net.state_dict().items()},
            restore=net.load_state_dict,
            every=max(1, round(budget.epochs / SCORES_PER_RUN)),
            patience=config.patience,
            # GANs on wide categorical tables plateau before they climb (the fraud table's
            # score sat at 0.79 from epoch 24 to 96 of 300, then rose to 0.86): no early stop
            # in the first half of the planned run
            min_epochs=budget.epochs // 2,
            info={"score": "quick_quality (sdmetrics-style shapes and pair trends)", "validation_rows": len(rows),
                  "synthetic_rows": n_draw},
        )

    @torch.no_grad()
    def _calibrate_missing(self, data: pd.DataFrame, config: TabularConfig) -> dict | None:
        """Bring each column's generated missing rate to its training rate.

        A GAN learns a missing-value indicator as one more softmax, and its rate drifts from
        one epoch to the next (a column 28% missing came out between 9% and 51%). After
        training, the generator's output bias for "missing" is shifted by the log-odds gap
        between the training rate and the rate in ``CALIBRATION_ROWS`` generated rows, for
        ``CALIBRATION_ROUNDS`` rounds (the shift is exact for a constant logit, close for a
        varying one). Not under DP (the training rates are not released) or data-parallel
        training. Returns, per column, the real rate and the generated rate before and after.
        """
        spans = [s for s in self.transformer_.layout.spans if s.role == "missing"]
        if not spans:
            return None
        head = self.model_.net_g.net[-1]
        seed = 0 if config.seed is None else config.seed
        real = {s.column: float(data[s.column].isna().mean()) for s in spans}
        out = {s.column: {"real": real[s.column]} for s in spans}
        floor = 0.5 / CALIBRATION_ROWS
        logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
        for round_ in range(CALIBRATION_ROUNDS + 1):
            rows = self._draw_model(CALIBRATION_ROWS, None, self._new_generator(seed + 2), np.random.default_rng(seed + 2))
            for s in spans:
                rate = float(rows[s.column].isna().mean())
                out[s.column]["before" if round_ == 0 else "after"] = rate
                if round_ < CALIBRATION_ROUNDS:
                    gap = logit(min(max(real[s.column], floor), 1 - floor)) - logit(min(max(rate, floor), 1 - floor))
                    head.bias[s.start + 1] += gap  # the span is (present, missing)
        return out

    def _sampling_dtype(self) -> torch.dtype:
        """The generator's matmul dtype for this draw, from ``sample_precision`` as set now
        (it may be changed on a fitted or loaded model)."""
        return sampling_dtype(self.model_.device, self.sample_precision, self.model_.precision.dtype)

    def _validated_config(self) -> TabularConfig:
        """The options as a TabularConfig; ``distributed`` is checked apart (it does not
        change the model, only how it is trained)."""
        params = self.get_params()
        params.pop("distributed")
        params.pop("constraints")  # rules between columns, not options of the model (saved on their own)
        return validate(TabularConfig, type(self).__name__, **params)

    @property
    def columns(self) -> list:
        self._check_fitted()
        schema = getattr(self, "user_schema_", None) or self.transformer_.schema
        return schema.names

    # -- sample ---------------------------------------------------------------------------
    def sample(
        self, n: int, conditions: dict | None = None, seed: int | None = None, privacy="exact"
    ) -> pd.DataFrame:
        """``n`` synthetic rows with the training columns and dtypes.

        ``conditions``: ``{"col": value}``, ``{"col": [v1, v2]}`` or ``{"num": (low, high)}``;
        every returned row satisfies all of them. ``seed`` makes the draw repeatable.

        ``privacy``: ``"exact"`` (the default) drops rows equal to a training row (compared
        after :class:`synthgan.privacy.RowNormaliser`); a fitted
        :class:`~synthgan.PrivacyFilter` applies all of its checks; ``False`` releases rows
        unfiltered (an explicit opt-out). Rows are drawn until ``n`` pass. A model trained
        with ``dp`` keeps no training-row hashes: its guarantee replaces the exact check.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ConfigError(f"sample: n must be an integer number of rows, got {n!r}")
        if n < 0:
            raise ConfigError(f"sample: n must be >= 0, got {n}")
        release = self._release_check(privacy)
        gen = self._sample_generator if seed is None else self._new_generator(seed)
        np_rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen, device=gen.device)))
        if n == 0:
            return self._no_rows(np_rng)
        cset = getattr(self, "constraints_", None)
        if not conditions and release is None and (cset is None or not cset.rejected):
            return self._draw(n, None, gen, np_rng)
        parsed = self._parse_conditions(conditions) if conditions else []
        native = self._native(parsed)
        relabel = self._relabels(parsed)
        kept, total, drawn, matched = [], 0, 0, 0
        batch = n
        budget = int(MAX_DRAW_FACTOR * self._target_draws_per_row(parsed) * n) + 10_000
        while total < n:
            if drawn >= budget or _hopeless(drawn, total, total, n, budget):
                rate = total / max(drawn, 1)
                short = matched < n if drawn >= budget else _hopeless(drawn, matched, matched, n, budget)
                if parsed and short:
                    raise ConditionError(
                        f"conditions {conditions!r} are too rare for the model: {matched} of {drawn} drawn "
                        f"rows ({matched / drawn:.4%}) satisfied them; at that rate {n} rows would take more than "
                        f"{budget:,} draws. Loosen them or ask for fewer rows"
                    )
                if isinstance(privacy, str) and privacy == "exact":
                    raise PrivacyFilterError(
                        f"sample: the exact-match check (on by default: no released row copies a training row) "
                        f"passed {total} of {drawn} drawn rows ({rate:.4%}): this model mostly reproduces training "
                        "rows (a table with few distinct rows). Ask for fewer rows, or pass privacy=False "
                        "(CLI: --allow-training-rows) if releasing copies of training rows is acceptable"
                    )
                raise PrivacyFilterError(
                    f"sample: the privacy filter passed {total} of {drawn} drawn rows ({rate:.4%}), short of {n}; "
                    "loosen the filter (lower dcr_quantile or k) or ask for fewer rows"
                )
            rows = self._draw(batch, native, gen, np_rng, relabel)
            drawn += batch
            mask = np.ones(len(rows), dtype=bool)
            for cond in parsed:
                mask &= cond.mask(rows)
            rows = rows[mask]
            matched += len(rows)
            if release is not None:
                rows = release(rows)
            kept.append(rows)
            total += len(rows)
            rate = max(total / drawn, 1 / (10 * n))
            # at most 10x what was drawn so far, so a rate estimated on few rows is checked
            # (by _hopeless) before a big draw, and never past the draw budget
            batch = int(min(max((n - total) / rate * 1.2, 1_000), 2_000_000, max(10 * drawn, 1_000)))
            batch = max(min(batch, budget - drawn), 1)
        out = pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)
        return out

    def augment(
        self,
        df: pd.DataFrame,
        target: str | None = None,
        strategy: str | dict | float = "balance",
        *,
        indicator: str | None = None,
        seed: int | None = None,
        privacy="exact",
    ) -> pd.DataFrame:
        """The real rows ``df`` plus synthetic rows of the classes of ``target`` that need them.

        ``target``: a discrete column (default: the model's ``target_``). ``strategy``:
        ``"balance"`` tops every class up to the largest class's count in ``df``; a dict
        ``{class: n}`` adds ``n`` rows of each class named; a float ``r`` in (0, 1] tops every
        class up to ``r`` times the largest (imbalanced-learn's ratio). Synthetic rows are
        drawn by conditional sampling (``sample(k, conditions={target: class})``), with the
        same ``privacy`` release check as :meth:`sample`; ``indicator`` names a boolean column
        added to the result, True on synthetic rows. Returns a new DataFrame: ``df``'s rows
        first (its index dropped), then the synthetic ones class by class. Raises
        ``ConfigError`` for a bad strategy, ``DataError`` when ``target`` is missing from
        ``df`` or is not a discrete column of the model, ``ConditionError`` for a class the
        model never saw.
        """
        self._check_fitted()
        target = target if target is not None else getattr(self, "target_", None)
        if target is None:
            raise ConfigError("augment: name the target column (augment(df, target=...)) or fit with target=")
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"augment: df must be a pandas DataFrame, got {type(df).__name__}")
        if target not in df.columns:
            raise DataError(f"augment: target column {target!r} is not in the table given")
        kind = self.transformer_.schema[target].kind if target in self.transformer_.schema.names else None
        if kind not in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            raise DataError(f"augment: target {target!r} must be a discrete column of the model (it is {kind})")
        if indicator is not None and indicator in df.columns:
            raise ConfigError(f"augment: indicator column {indicator!r} already exists in the table")
        needed = augment_counts(df[target], strategy)
        parts = []
        for offset, (label, count) in enumerate(needed.items()):
            if count <= 0:
                continue
            draw_seed = None if seed is None else seed + offset
            parts.append(self.sample(int(count), conditions={target: label}, seed=draw_seed, privacy=privacy))
        real = df.reset_index(drop=True)
        synthetic = pd.concat(parts, ignore_index=True) if parts else self._no_rows(np.random.default_rng(0))
        synthetic = synthetic[[c for c in real.columns if c in synthetic.columns]]
        if indicator is not None:
            real = real.assign(**{indicator: False})
            synthetic = synthetic.assign(**{indicator: True})
        return pd.concat([real, synthetic], ignore_index=True)

    def _no_rows(self, np_rng) -> pd.DataFrame:
        """An empty table with the training columns and dtypes."""
        layout = self.transformer_.layout
        rows = self.transformer_.inverse_transform(
            np.zeros((0, len(layout.scalar_index))), np.zeros((0, len(layout.softmax_spans)), dtype=np.int64), np_rng
        )
        cset = getattr(self, "constraints_", None)
        return rows if cset is None else self.user_schema_.restore_forms(cset.reverse_transform(rows))

    def _relabels(self, parsed) -> bool:
        """Whether the label model draws the target of rows drawn under ``parsed`` conditions:
        always, when there is one. A condition on the target is then met by rejection on its
        draws (:meth:`_native`), so the rows of class ``c`` are the model's own ``p(x | c)``:
        the rows of that class in an unconditioned sample."""
        return True

    def _target_draws_per_row(self, parsed) -> float:
        """About how many draws a condition on the target costs per row it keeps: ``1 / s`` for
        classes of share ``s`` among the training rows (the share the label model's tilt keeps)
        when the label model's draws meet it, else 1. The give-up budgets of rejection sampling
        are scaled by it, so a rare class (0.3% of rows, say) is drawn, not refused."""
        if getattr(self, "label_model_", None) is None:
            return 1.0
        share = 1.0
        for cond in parsed:
            if cond.column != self.target_ or cond.values is None:
                continue
            enc = self.transformer_.encoders[cond.column]
            freqs = np.asarray(enc.frequencies, dtype=np.float64)
            index = [category_index(enc, v) for v in cond.values]
            share = min(share, float(freqs[index].sum() / max(freqs.sum(), 1)))
        return 1.0 / max(share, 1e-6)

    def _native(self, parsed) -> tuple[str, int] | None:
        """The equality fed to the generator's conditional vector (the rarest), or None.

        With a label model, a condition on the target is never fed: the generator's own rows
        of a class were a caricature of it (the auxiliary head's pull, and few rows with only
        the class as their condition in training): on the fraud table 90% of its fraud rows
        had one claim month (real: 11% at most) and a classifier told them from real fraud
        rows with ROC AUC 0.998; drawn from the generator's rows and the label model's
        classes, 0.82 (benchmarks/RESULTS.md, bench_augment)."""
        if getattr(self, "label_model_", None) is not None:
            parsed = [c for c in parsed if c.column != self.target_]
        return native_condition(parsed, self.transformer_) if parsed else None

    def _parse_conditions(self, conditions: dict) -> list:
        """Conditions on the user's columns, checked on the rows :meth:`_draw` returns. With
        constraints, a column the model does not hold (one rebuilt from others, e.g. ``state``
        inside a ``FixedCombinations``) is met by rejection alone."""
        cset = getattr(self, "constraints_", None)
        if cset is None or not isinstance(conditions, dict):
            return parse_conditions(conditions, self.transformer_)
        model_columns = set(self.transformer_.schema.names)
        native = {k: v for k, v in conditions.items() if k in model_columns}
        parsed = parse_conditions(native, self.transformer_) if native else []
        # the rows carry the user's forms (dates as text...), not the model's
        parsed = [replace(c, form=self.user_schema_[c.column].form) for c in parsed]
        for name, wanted in conditions.items():
            if name in model_columns:
                continue
            if name not in self.user_schema_.names:
                raise ConditionError(f"condition on unknown column {name!r}; columns are {listing(self.user_schema_.names)}")
            col = self.user_schema_[name]
            if col.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
                values = tuple(wanted) if isinstance(wanted, (list, set, tuple)) else (wanted,)
                parsed.append(Condition(name, values=values, form=col.form))
            elif isinstance(wanted, (tuple, list)) and len(wanted) == 2:
                low, high = wanted
                if col.kind is ColumnKind.DATETIME:
                    low, high = (None if v is None else pd.Timestamp(v) for v in (low, high))
                parsed.append(Condition(name, low=low, high=high, form=col.form))
            else:
                raise ConditionError(f"condition on numeric column {name!r} must be a (low, high) range, got {wanted!r}")
        return parsed

    def _release_check(self, privacy):
        """``rows -> rows that may be released`` for the ``privacy`` argument of ``sample``, or None."""
        if privacy is False:
            return None
        if isinstance(privacy, str) and privacy == "exact":
            index = self.exact_index_
            if index is None:
                return None  # a DP model: no hashes of training rows are kept (see sample)
            self._check_rows_possible(index)
            return lambda rows: rows[~index.mask(rows)]
        if hasattr(privacy, "filter") and hasattr(privacy, "check_rows"):
            if not hasattr(privacy, "options_"):
                raise ConfigError("sample: the PrivacyFilter is not fitted; call filt.fit(train_df) first")
            privacy.check_rows(self._no_rows(np.random.default_rng(0)))  # wrong columns: fail before drawing
            return lambda rows: privacy.filter(rows).kept
        raise ConfigError(
            f"sample: privacy={privacy!r}: expected 'exact' (the default), a fitted PrivacyFilter, "
            "or False to release rows unfiltered"
        )

    def _check_rows_possible(self, index) -> None:
        """Refuse at once when every row the model can produce is a training row: all compared
        columns are discrete and the training rows hold every combination of their categories
        (e.g. a one-column table), so the exact-match check would reject every draw."""
        encoders = self.transformer_.encoders
        names = index.normaliser.columns
        if not names or any(not isinstance(encoders.get(c), CategoricalEncoder) for c in names):
            return
        space = 1
        for c in names:
            space *= len(encoders[c].categories) + int(encoders[c].has_missing)
        if space <= len(index):
            shown = ", ".join(repr(c) for c in names)
            raise PrivacyFilterError(
                f"sample: every row this model can produce is a training row: its columns ({shown}) are all "
                f"categorical and the training table holds all {space} combinations of their values, so the "
                "exact-match check (on by default: no released row copies a training row) rejects every row. "
                "If releasing copies of training rows is acceptable here, pass privacy=False "
                "(CLI: synthgan sample --allow-training-rows)"
            )

    def _draw(
        self, n: int, native: tuple[str, int] | None, gen: torch.Generator, np_rng, relabel: bool = True
    ) -> pd.DataFrame:
        """``n`` candidate rows in the user's columns: the model's rows with the constraints
        reversed; rows breaking a rejection-only constraint are dropped (so fewer than ``n``
        may come back; ``constraint_acceptance_`` counts them)."""
        rows = self._draw_model(n, native, gen, np_rng, relabel)
        cset = getattr(self, "constraints_", None)
        if cset is None:
            return rows
        rows = cset.reverse_transform(rows)
        if cset.rejected:
            valid = cset.is_valid(rows)
            drawn, kept = self.constraint_acceptance_ or (0, 0)
            self.constraint_acceptance_ = (drawn + len(rows), kept + int(valid.sum()))
            rows = rows[valid]
        return self.user_schema_.restore_forms(rows.reset_index(drop=True))

    def _draw_model(
        self, n: int, native: tuple[str, int] | None, gen: torch.Generator, np_rng, relabel: bool = True
    ) -> pd.DataFrame:
        """``n`` rows in the model's columns (what the transformer decodes); with ``relabel``
        and a label model, the target of each row is drawn from it."""
        model, layout = self.model_, self.transformer_.layout
        label_model = getattr(self, "label_model_", None) if relabel else None
        spans = layout.condition_spans
        dtype = self._sampling_dtype()
        tilted = label_model is not None and label_model.tilted
        # the label model's tilt turns rows away (rejection sampling): draw enough for its rate
        rate = max(float(label_model.net.acceptance), 0.01) if tilted else 1.0
        scalars, choices, have = [], [], 0
        while have < n:
            size = min(SAMPLE_CHUNK, n - have if not tilted else math.ceil((n - have) / rate * 1.05) + 16)
            if native is None:
                cond = model.sampler.sample_original(size, gen)
            else:
                column, index = native
                offset = sum(s.end - s.start for s in spans[: [s.column for s in spans].index(column)])
                category = torch.full((size,), offset + index, dtype=torch.long, device=model.device)
                cond = model.sampler.one_hot(category)
            cond = model.sampler.fill_target(cond, gen)
            s, c = model.generate(cond, gen, dtype)
            if label_model is not None:
                with torch.inference_mode():  # generate's tensors are inference tensors
                    keep, classes = label_model.relabel(s, c, gen, n - have)
                    if keep is not None:
                        keep = keep.to(s.device)
                        s, c = s[keep], c[keep]
                    c[:, label_model.segment] = classes.to(c.device, c.dtype)
            scalars.append(s.cpu().numpy())
            choices.append(c.to(torch.int32).cpu().numpy())
            have += len(s)
        return self.transformer_.inverse_transform(np.concatenate(scalars), np.concatenate(choices), np_rng)

    def sample_to_parquet(
        self,
        path: str | os.PathLike,
        n: int,
        *,
        chunk_rows: int = 1_000_000,
        seed: int | None = None,
        conditions: dict | None = None,
        privacy="exact",
        resume: bool = False,
        block_rows: int | None = None,
        verbose: bool | None = None,
    ):
        """Write ``n`` rows to the folder ``path`` as Parquet parts, ``chunk_rows`` at a time.

        For more rows than fit in memory: memory is bounded by ``chunk_rows``, not ``n``.
        The folder gets ``part-000000.parquet``, ... (each ``chunk_rows`` rows, the last
        fewer) and a manifest ``_synthgan.json``; ``pandas.read_parquet(path)`` reads the
        rows back in order. ``conditions`` and ``privacy`` work as in :meth:`sample`, and
        exactly ``n`` rows that satisfy and pass them are written.

        The rows are drawn in blocks of ``block_rows`` candidates (default
        :data:`synthgan.scale.BLOCK_ROWS`), each seeded from ``(seed, block number)``, so the
        same model, seed, ``block_rows``, conditions and privacy give the same rows whatever
        ``chunk_rows`` is (and the same as ``synthgan.scale.dask_sample_to_parquet``).
        ``seed=None`` draws a fresh seed, recorded in the manifest and the result.

        Parts are written to temporary names and renamed when complete; the manifest, also
        replaced atomically, lists the complete ones. An interrupted run leaves complete
        files only, and ``resume=True`` continues it (same model and settings, else a
        ``ConfigError`` says what differs). Without ``resume`` the folder must be new or
        empty. Returns a :class:`synthgan.scale.StreamResult`; ``verbose`` shows rows/s.
        """
        from synthgan.scale.blocks import BLOCK_ROWS
        from synthgan.scale.streaming import sample_to_parquet

        return sample_to_parquet(
            self, path, n, chunk_rows=chunk_rows, seed=seed, conditions=conditions, privacy=privacy,
            resume=resume, block_rows=BLOCK_ROWS if block_rows is None else block_rows,
            verbose=self.verbose if verbose is None else verbose,
        )

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write a single-file model: safetensors weights + JSON state, no pickle.

        After data-parallel training only rank 0 writes (every rank holds the same model);
        the other ranks return ``path`` without writing.
        """
        self._check_fitted()
        if getattr(self, "rank_", 0) != 0:
            return Path(path)
        state = {
            # `distributed` says how a fit ran, not what the model is: model files leave it out
            "params": {k: _json_param(v) for k, v in self.get_params().items() if k not in ("distributed", "constraints")},
            "privacy": self.privacy_,
            "transformer": self.transformer_.state(),
            "history": self.history_.to_json(),
            "target": getattr(self, "target_", None),
            "fairness": list(getattr(self, "fairness_", ())),
        }
        if getattr(self, "constraints_", None) is not None:
            state["constraints"] = self.constraints_.to_json()
            state["user_schema"] = self.user_schema_.to_json()
        if getattr(self, "world_size_", 1) > 1:
            state["training"] = {"world_size": self.world_size_, "global_batch_size": self.world_size_ * self.model_.batch_size}
        tensors = {f"generator.{k}": v for k, v in self.model_.net_g.state_dict().items()}
        tensors["condition_counts"] = self.model_.sampler.counts
        if self.model_.target is not None and self.model_.target.joint is not None:
            tensors["target_joint"] = self.model_.target.joint.cpu()
            tensors["target_combos"] = self.model_.target.combos.cpu()
        if getattr(self, "label_model_", None) is not None:
            state["label_model"] = self.label_model_.summary
            tensors.update(self.label_model_.tensors())
        if self.exact_index_ is not None:  # 8 bytes per training row: hashes, not rows
            state["exact_index"] = self.exact_index_.state()
            tensors["exact_keys"] = torch.from_numpy(self.exact_index_.keys.view(np.int64).copy())
        return save_model(path, MODEL_KIND, state, tensors)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", *, custom_constraints: dict | None = None
             ) -> "TabularSynthesizer":
        """Rebuild a model saved with :meth:`save`; ``device`` picks where it samples.

        Built-in constraints come back from the file (JSON); a custom constraint is saved by
        name only and must be passed again as ``custom_constraints={name: obj}`` (a
        ``ModelFileError`` names any that is missing).
        """
        state, tensors = load_model(path, MODEL_KIND, TabularModelState)
        try:
            params = dict(state["params"])
            for key in ("generator_dim", "discriminator_dim"):
                params[key] = tuple(params[key])
            params["device"] = device
            synth = cls(**params)
            config = synth._validated_config()
            budget = state["history"].get("budget") or {}
            config = config.model_copy(update={"batch_size": budget.get("batch_size", config.batch_size or 500)})
            transformer = TableTransformer.from_state(state["transformer"])
            dev = resolve_device(config.device)
            target_name = state.get("target")
            target = None
            if target_name is not None:
                target = Target(
                    target_name, transformer.layout, tensors.get("target_joint"), tuple(state.get("fairness") or ()),
                    tensors.get("target_combos"),
                )
            model = CTGANModel(
                transformer.layout, tensors["condition_counts"], config, Precision(dev, config.amp), config.seed,
                target,
            )
            model.net_g.load_state_dict(
                {k[len("generator.") :]: v for k, v in tensors.items() if k.startswith("generator.")}
            )
            label_model = None
            if state.get("label_model") is not None:
                label_model = LabelModel(
                    transformer.layout, target_name, dev, tuple(state.get("fairness") or ())
                ).load_tensors(tensors)
                label_model.summary = state["label_model"]
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ModelFileError(f"{str(path)!r}: model state is inconsistent ({exc})") from None
        model.net_g.eval()
        synth.transformer_, synth.model_, synth.config_ = transformer, model, config
        synth.history_ = TrainingHistory.from_json(state["history"])
        synth.privacy_ = state.get("privacy")
        synth.target_ = state.get("target")
        synth.label_model_ = label_model
        synth.fairness_ = tuple(state.get("fairness") or ())
        synth.world_size_, synth.rank_ = state.get("training", {}).get("world_size", 1), 0
        synth.exact_index_ = None
        synth.constraints_, synth.user_schema_, synth.constraint_acceptance_ = None, None, None
        if state.get("constraints") is not None:
            from synthgan.constraints import ConstraintSet

            synth.constraints_ = ConstraintSet.from_json(state["constraints"], custom=custom_constraints)
            synth.user_schema_ = Schema.from_json(state["user_schema"])
        if "exact_index" in state:
            from synthgan.privacy.exact import ExactMatchIndex

            keys = tensors["exact_keys"].numpy().view(np.uint64)
            synth.exact_index_ = ExactMatchIndex.from_state(state["exact_index"], keys)
        synth._sample_generator = synth._new_generator(config.seed)
        return synth


def augment_counts(labels: pd.Series, strategy) -> dict:
    """Synthetic rows to add per class for :meth:`TabularSynthesizer.augment`'s ``strategy``.

    ``"balance"``: up to the largest class; ``{class: n}``: ``n`` of each named class; a float
    ``r`` in (0, 1]: up to ``r`` times the largest class (classes already above get none).
    """
    counts = labels.value_counts(dropna=False)
    if isinstance(strategy, str):
        if strategy != "balance":
            raise ConfigError(f"augment: strategy={strategy!r}: expected 'balance', a dict {{class: rows}} or a ratio")
        return {label: int(counts.max() - n) for label, n in counts.items()}
    if isinstance(strategy, dict):
        out = {}
        for label, n in strategy.items():
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise ConfigError(f"augment: strategy[{label!r}]={n!r}: expected a number of rows >= 0")
            out[label] = int(n)
        return out
    if isinstance(strategy, (float, int)) and not isinstance(strategy, bool):
        if not 0 < strategy <= 1:
            raise ConfigError(f"augment: strategy={strategy!r}: a ratio must be in (0, 1]")
        goal = int(np.ceil(strategy * counts.max()))
        return {label: max(goal - int(n), 0) for label, n in counts.items()}
    raise ConfigError(f"augment: strategy={strategy!r}: expected 'balance', a dict {{class: rows}} or a ratio")


def _validation_split(
    data: pd.DataFrame, config: TabularConfig, rng: np.random.Generator, target: str | None = None,
    schema: Schema | None = None,
):
    """(training rows, validation rows or None): a seeded share ``config.validation`` held out,
    stratified on a discrete ``target`` (each class keeps its share, at least one row stays
    in training).

    No split under DP (choosing a generator by real rows would spend privacy the accountant
    does not count) or for tables under ``MIN_VALIDATION_ROWS`` rows.
    """
    n_val = min(int(round(len(data) * config.validation)), MAX_VALIDATION_ROWS)
    if config.dp is not None or n_val == 0 or len(data) < MIN_VALIDATION_ROWS:
        return data, None
    share = n_val / len(data)
    if target is not None and schema[target].kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        labels = data[target].astype(object).where(data[target].notna(), "__missing__").astype(str).to_numpy()
        held = []
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            take = min(int(round(len(rows) * share)), len(rows) - 1)
            held.append(rng.permutation(rows)[:take])
        held = np.sort(np.concatenate(held))
    else:
        held = np.sort(rng.permutation(len(data))[:n_val])
    if schema is not None:  # a category seen in few rows must stay one the model learns
        held = held[~_rare_category_rows(data, schema)[held]]
    kept = np.setdiff1d(np.arange(len(data)), held)
    return data.iloc[kept].reset_index(drop=True), data.iloc[held].reset_index(drop=True)


#: rows holding a category seen fewer times than this are never held out for validation
RARE_CATEGORY_ROWS = 5


def _rare_category_rows(data: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Rows holding a value of a discrete column that occurs fewer than RARE_CATEGORY_ROWS times."""
    rare = np.zeros(len(data), dtype=bool)
    for col in schema.columns:
        if col.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and col.name in data.columns:
            codes, uniques = pd.factorize(data[col.name].astype(object), use_na_sentinel=False)
            counts = np.bincount(codes, minlength=len(uniques))
            rare |= counts[codes] < RARE_CATEGORY_ROWS
    return rare


def _check_target(target: str | None, schema: Schema, fairness: tuple[str, ...] = ()) -> None:
    """A target must be a modelled column of the table; fairness columns discrete ones."""
    if target is None:
        return
    discrete = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
    for name in fairness:
        if name not in schema.names:
            raise DataError(f"fit: fairness column {name!r} is not a column of the table")
        if schema[name].kind not in discrete:
            raise DataError(
                f"fit: fairness column {name!r} is {schema[name].kind.value}; only discrete columns can be "
                "conditioned on: bin it into a categorical column first (e.g. pd.cut)"
            )
        if name == target:
            raise DataError(f"fit: {name!r} is the target; fairness names the sensitive columns beside it")
    if fairness and schema[target].kind not in discrete:
        raise DataError(f"fit: fairness= needs a discrete target; {target!r} is {schema[target].kind.value}")
    if target not in schema.names:
        raise DataError(f"fit: target={target!r} is not a column of the table (columns: {schema.names[:20]})")
    if schema[target].kind is ColumnKind.ID:
        raise DataError(
            f"fit: target={target!r} looks like an identifier and is not modelled; declare its kind with "
            f"metadata={{{target!r}: 'categorical'}} or pick another target"
        )


def _joint_counts(matrix: torch.Tensor, layout, group: tuple[str, ...]):
    """(joint, combos) for a discrete target and its fairness columns, or (None, None).

    ``combos``: every combination of the group columns' categories seen in the rows, ``(C,
    groups)`` local indices; ``joint``: how often each occurs among the rows of each
    conditional category, ``(condition_width, C)``.
    """
    spans = {s.column: s for s in layout.condition_spans}
    if group[0] not in spans:
        return None, None  # a numeric target: nothing to condition on
    codes = torch.stack([matrix[:, spans[c].start : spans[c].end].argmax(dim=1) for c in group], dim=1)
    combos, combo_of_row = torch.unique(codes, dim=0, return_inverse=True)
    index = torch.as_tensor(layout.condition_index, device=matrix.device)
    cond = matrix.index_select(1, index).double()
    onehot = torch.nn.functional.one_hot(combo_of_row, len(combos)).double()
    return (cond.T @ onehot).cpu(), combos.cpu()


def _hopeless(drawn: int, passed_all: int, passed: int, n: int, budget: int) -> bool:
    """Whether ``n`` passing rows cannot be reached within ``budget`` draws, judged from the
    draws so far: ``passed_all`` of ``drawn`` passed (``passed`` of them still count) and
    even the rate's upper bound, ``(passed_all + 3) / drawn`` (the rule of three, about 95%),
    would need more draws than are left. Lets ``sample`` fail in a second instead of
    drawing ``MAX_DRAW_FACTOR`` times ``n`` rows of a condition nothing meets."""
    if drawn == 0:
        return False
    upper = (passed_all + 3) / drawn
    return drawn + (n - passed) / upper > budget


def _exact_index(data: pd.DataFrame, schema: Schema):
    """Hashes of the training rows, so ``sample`` never releases a copy of one."""
    from synthgan.privacy.exact import ExactMatchIndex  # the release check, applied at sampling

    return ExactMatchIndex.build(data, schema)


def _apply_constraints(constraints, data: pd.DataFrame, metadata, config: TabularConfig):
    """(constraint set, the user's schema, the user's rows in canonical dtypes, the rows the model
    learns, metadata for the model's columns): the rules are checked on the real rows (a
    ``ConstraintError`` lists the offending ones), then reparameterise their columns."""
    from synthgan.constraints import ConstraintSet

    cset = constraints if isinstance(constraints, ConstraintSet) else ConstraintSet(list(constraints))
    user_schema = _model_schema(data, metadata, config)
    canonical = user_schema.canonical(data[user_schema.names])
    cset.fit(canonical)
    model_data = cset.transform(canonical)
    meta = Metadata.coerce(metadata)
    kinds = {name: {"kind": spec.kind} for name, spec in meta.columns.items() if name in model_data.columns}
    kinds |= {name: {"kind": kind} for name, kind in cset.output_kinds().items() if name in model_data.columns}
    return cset, user_schema, canonical, model_data, {"columns": kinds}


def _model_schema(data: pd.DataFrame, metadata, config: TabularConfig) -> Schema:
    """Detected column kinds, less identifier columns when ``id_columns="drop"``."""
    schema = detect_schema(data, metadata)
    if all(c.kind is ColumnKind.ID for c in schema.columns):
        raise DataError("every column is an identifier; there is nothing to model")
    if config.id_columns == "drop":
        dropped = [c.name for c in schema.columns if c.kind is ColumnKind.ID]
        if dropped:
            warnings.warn(f"identifier columns {dropped} are dropped from the synthetic data", stacklevel=4)
        schema = Schema(tuple(c for c in schema.columns if c.kind is not ColumnKind.ID))
    return schema


def _json_param(value):
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "model_dump"):  # DPConfig
        return value.model_dump(mode="json")
    return value


def _dp_training_config(config: TabularConfig) -> TabularConfig:
    """DP-SGD needs one row per critic input (no PacGAN), fp32, and no resumable state."""
    from synthgan.tabular.private import require_opacus

    require_opacus()
    if config.checkpoint_dir or config.resume:
        raise ConfigError("dp: checkpoints and resume are not supported with dp (the privacy accountant is not saved)")
    if config.amp is True:
        warnings.warn("dp: training runs in fp32; amp=True is ignored", stacklevel=3)
    # DP keeps CTGAN's 300 epochs of batch 500 unless told: its noise is set for the epochs asked,
    # and the size-aware budget's many small steps would cost more privacy
    update = {"pac": 1, "amp": False, "generator_ema": 0.0}  # the DP step keeps no average
    update["epochs"] = 300 if config.epochs is None else config.epochs
    update["batch_size"] = 500 if config.batch_size is None else config.batch_size
    return config.model_copy(update=update)


def _privacy_spent(model, config: TabularConfig) -> dict | None:
    """What the fit spent of its privacy budget (None without dp)."""
    if config.dp is None:
        return None
    from synthgan.tabular.private import split_budget

    (eps_stats, delta_stats), (_, delta_train) = split_budget(config.dp)
    eps_train = model.epsilon_spent()
    return {
        "epsilon": eps_stats + eps_train,
        "delta": delta_stats + delta_train,
        "epsilon_statistics": eps_stats,
        "epsilon_training": eps_train,
        "epsilon_budget": config.dp.epsilon,
        "noise_multiplier": model.noise_multiplier,
        "sample_rate": model.sample_rate,
        "critic_steps": model.dp_steps,
        "accountant": "RDP (Opacus)",
    }


def _counts(transformer: TableTransformer) -> torch.Tensor:
    """Category counts of the conditional columns, in conditional-vector order."""
    counts = [
        transformer.encoders[span.column].frequencies for span in transformer.layout.condition_spans
    ]
    return torch.tensor([c for block in counts for c in block], dtype=torch.float64)


def _fingerprint_options(config: TabularConfig) -> dict:
    """Options that change the trained model (a checkpoint may be resumed with more epochs)."""
    ignored = {"epochs", "resume", "verbose", "sample_precision", "label_model", "checkpoint_dir", "checkpoint_every", "device", "log_dir", "patience"}
    return {k: v for k, v in config.model_dump().items() if k not in ignored}
