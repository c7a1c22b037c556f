"""The label model of a discrete target: a classifier of the real rows that draws the target
of synthetic rows from the features the generator made.

Sequential synthesis (Reiter, 2005, "Using CART to generate partially synthetic public use
microdata"; synthpop, Nowok, Raab & Dibben, 2016) draws each column from a model of it given
the columns drawn before it. Here the generator draws the features and this classifier, fitted
on the real training rows, draws the target given them, so that a model trained on the
synthetic rows learns the real rows' relation between features and target (train on
synthetic, test on real). The GAN alone learns the target's marginals per condition, not what
separates its classes: on the fraud table a model trained on rows with its own labels scored
ROC AUC 0.635 on real rows, with these 0.776-0.802 over four fits (real rows: 0.84; benchmarks/RESULTS.md, bench_augment).

The classifier is a one-hidden-layer network on the model's own encoding of a row (the
transformer's scalars and a one-hot of every span choice but the target's), early-stopped on
held-out real rows. Two versions are fitted and the one with the lower validation log loss is
kept: on the scalars alone, and with a piecewise-linear encoding of each scalar over its
training quantiles added (Gorishniy, Rubachev & Babenko, 2022, "On Embeddings for Numerical
Features in Tabular Deep Learning"), which lets the network place thresholds as trees do
(Adult: ROC AUC 0.906 -> 0.915 on held-out rows, and it is the version kept; on the mostly
categorical fraud table it did worse on one split, 0.849 -> 0.804, and the two validation
losses are close: 0.191 / 0.203 on one split, 0.1868 / 0.1862 on another, so either may be
kept there). Four more networks of the kept encoding, with other seeds, are
fitted on the same rows, and the class probabilities of the five are averaged (an ensemble):
a single network's ranking moved with its seed alone (fraud, one split of bench_augment: PR AUC
0.18-0.26 on held-out real rows over six seeds, where boosted trees reach 0.27; the five
averaged: 0.25, ROC AUC 0.842 against the trees' 0.845). Model files from before hold one
network and load as it. The target's share among unconditioned synthetic rows is kept at its share among the
training rows by an exponential tilt of the rows (rejection sampling with probability
``exp(p(x) . tilt - max(tilt))``, the I-projection of the generator's distribution onto that
constraint; Csiszar, 1975), which leaves the classifier's ``p(y | x)`` as fitted; what the tilt
cannot reach, per-class offsets of the log-probabilities close (the prior adjustment of Saerens,
Latinne & Decaestecker, 2002). With ``fairness`` columns the offsets are per combination of their
values, so the target's share *within each sensitive group* is the real one (what
``fit(fairness=...)`` promises) while the classifier decides which rows of a group carry which
class. Weights, tilt and offsets are tensors: the model file stays
pickle-free.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from synthgan.errors import DataError
from synthgan.tabular.transformer import Layout

#: width of the hidden layer
HIDDEN = 128
#: training: most epochs, epochs without a better validation loss before stopping, batch size
MAX_EPOCHS, PATIENCE, BATCH = 200, 10, 256
#: share of the training rows held out to early-stop on when the fit has no validation rows
HOLDOUT = 0.1
#: most rounds of the prior adjustment, and the largest gap between mean probability and
#: share at which it stops
PRIOR_ROUNDS, PRIOR_TOLERANCE = 1_000, 1e-4


#: the exponential tilt's reach: no class weight sits more than this below the largest, so a
#: row is accepted with probability at least exp(-TILT_RANGE); what the tilt cannot reach
#: within it, the prior offsets close
TILT_RANGE = 1.0
#: Newton steps of the tilt's (convex) dual problem
TILT_ROUNDS = 100

#: most combinations of fairness values that get their own prior offsets
MAX_GROUPS = 10_000
#: quantile bins of the piecewise-linear encoding of each scalar
PLE_BINS = 32
#: networks in the ensemble (different seeds, the encoding the first pair chose), their class
#: probabilities averaged: one network's ranking varies with its seed (fraud table, one split:
#: PR AUC 0.18-0.26 on held-out real rows over six seeds; five averaged: 0.26, boosted trees 0.27)
ENSEMBLE = 5


def _member(in_dim: int, classes: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, classes))


class LabelNet(nn.Module):
    """``(batch, features)`` -> class logits ``(batch, classes)``, plus the prior offsets
    ``(groups, classes)`` (one row without fairness columns).

    ``net`` is the first network; ``others`` the rest of the ensemble (empty in model files
    from before it, whose logits are then ``net``'s, as they were). With others, the logits are
    the log of the members' mean class probabilities."""

    def __init__(
        self, in_dim: int, classes: int, groups: int = 1, hidden: int = HIDDEN, edges: torch.Tensor | None = None,
        members: int = 1,
    ):
        super().__init__()
        self.net = _member(in_dim, classes, hidden)
        self.others = nn.ModuleList(_member(in_dim, classes, hidden) for _ in range(members - 1))
        self.register_buffer("offsets", torch.zeros(groups, classes))
        # the exponential tilt's class weights (classes,): rows are accepted with probability
        # exp(p(x) . tilt - max(tilt)); all zeros: every row
        self.register_buffer("tilt", torch.zeros(classes))
        # the tilt's mean acceptance on the rows it was set on (sizes the draws; 1: no tilt)
        self.register_buffer("acceptance", torch.ones(()))
        # (scalars, bins + 1) quantile edges of the piecewise-linear encoding; (0, 0): none
        self.register_buffer("edges", torch.zeros(0, 0) if edges is None else edges.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not len(self.others):
            return self.net(x)
        logp = torch.stack([torch.log_softmax(m(x).float(), dim=1) for m in (self.net, *self.others)])
        return torch.logsumexp(logp, dim=0) - math.log(len(logp))

    def log_proba(self, x: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
        """Log class probabilities with each row's group offsets applied."""
        return torch.log_softmax(self(x).float() + self.offsets[group], dim=1)


class LabelModel:
    """Draws a discrete target's class for decoded rows ``(scalars, choices)``.

    ``layout``: the transformer's layout; ``column``: the target; ``fairness``: discrete
    sensitive columns whose value combinations get their own prior offsets. The target's class
    is its choice in the span of role ``"category"`` (the index into ``choices`` is ``segment``).
    Raises ``DataError`` for more than ``MAX_GROUPS`` combinations of fairness values.
    """

    def __init__(
        self, layout: Layout, column: str, device: torch.device | str = "cpu", fairness: tuple[str, ...] = ()
    ):
        softmax = layout.softmax_spans
        names = [(s.column, s.role) for s in softmax]
        self.column = column
        self.segment = names.index((column, "category"))
        self.classes = softmax[self.segment].end - softmax[self.segment].start
        self.widths = [s.end - s.start for s in softmax]
        self.group_segments = [names.index((name, "category")) for name in fairness]
        self.groups = int(np.prod([self.widths[i] for i in self.group_segments])) if fairness else 1
        if self.groups > MAX_GROUPS:
            raise DataError(
                f"label model: the fairness columns {list(fairness)} have {self.groups:,} value combinations "
                f"(at most {MAX_GROUPS:,}); name fewer columns or bin them"
            )
        self.n_scalars = len(layout.scalar_index)
        in_dim = self.n_scalars + sum(w for i, w in enumerate(self.widths) if i != self.segment)
        self.device = torch.device(device)
        self.net = LabelNet(in_dim, self.classes, self.groups).to(self.device)
        self.summary: dict = {}

    def group(self, choices: torch.Tensor) -> torch.Tensor:
        """``(n,)`` index of each row's combination of fairness values (0 without fairness)."""
        index = torch.zeros(len(choices), dtype=torch.long)
        for i in self.group_segments:
            index = index * self.widths[i] + choices[:, i].long().cpu()
        return index.to(self.device)

    # -- features ---------------------------------------------------------------------------
    def features(self, scalars: torch.Tensor, choices: torch.Tensor, edges: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, scalars)`` floats and ``(n, spans)`` choices -> ``(n, in_dim)`` float32
        (``edges``: the piecewise-linear encoding's, default the fitted network's)."""
        edges = self.net.edges if edges is None else edges
        parts = [scalars.float().to(self.device)]
        for i, width in enumerate(self.widths):
            if i != self.segment:
                parts.append(nn.functional.one_hot(choices[:, i].long(), width).float().to(self.device))
        if edges.numel():
            x = parts[0][:, :, None]
            low, high = edges[None, :, :-1], edges[None, :, 1:]
            parts.append(((x - low) / (high - low).clamp_min(1e-6)).clamp(0, 1).flatten(1))
        return torch.cat(parts, dim=1)

    def labels(self, choices: torch.Tensor) -> torch.Tensor:
        return choices[:, self.segment].long().to(self.device)

    # -- fitting ----------------------------------------------------------------------------
    def fit(
        self, train: tuple[np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray] | None, seed: int | None
    ) -> "LabelModel":
        """Fit on decoded real rows ``(scalars, choices)``; early-stop on ``valid`` (or on a
        held-out tenth of ``train`` when ``valid`` is None or empty); of the plain and the
        piecewise-linear version, keep the one with the lower validation log loss."""
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        if valid is None or len(valid[0]) == 0:
            order = torch.randperm(len(train[0]), generator=gen).numpy()
            n_val = max(1, int(round(HOLDOUT * len(order))))
            valid = (train[0][order[:n_val]], train[1][order[:n_val]])
            train = (train[0][order[n_val:]], train[1][order[n_val:]])
        candidates = [None]
        if self.n_scalars:
            quantiles = np.quantile(np.asarray(train[0], dtype=np.float64), np.linspace(0, 1, PLE_BINS + 1), axis=0)
            candidates.append(torch.as_tensor(quantiles.T.copy(), dtype=torch.float32, device=self.device))
        results = []
        for edges in candidates:
            self._fit_one(train, valid, seed, edges)
            results.append((self.summary["validation_log_loss"], self.net, dict(self.summary)))
        chosen = min(range(len(results)), key=lambda i: results[i][0])
        loss, first, summary = results[chosen]
        losses, others = [loss], []
        for i in range(1, ENSEMBLE):
            self._fit_one(train, valid, (0 if seed is None else int(seed)) + 7919 * i, candidates[chosen])
            losses.append(self.summary["validation_log_loss"])
            others.append(self.net.net)
        first.others.extend(others)
        self.net = first
        self.summary = summary
        self.summary["encoding"] = "piecewise_linear" if chosen == 1 else "plain"
        self.summary["validation_log_loss_by_encoding"] = {
            name: round(r[0], 5) for name, r in zip(("plain", "piecewise_linear"), results)
        }
        x_val = self.features(torch.as_tensor(valid[0]), torch.as_tensor(valid[1]))
        self.summary["members"] = ENSEMBLE
        self.summary["validation_log_loss_of_members"] = [round(v, 5) for v in losses]
        self.summary["validation_log_loss"] = self._loss(x_val, self.labels(torch.as_tensor(valid[1])))
        return self

    def _fit_one(self, train, valid, seed: int | None, edges: torch.Tensor | None) -> None:
        edges = torch.zeros(0, 0, device=self.device) if edges is None else edges
        x, y = self.features(torch.as_tensor(train[0]), torch.as_tensor(train[1]), edges), self.labels(
            torch.as_tensor(train[1]))
        x_val = self.features(torch.as_tensor(valid[0]), torch.as_tensor(valid[1]), edges)
        y_val = self.labels(torch.as_tensor(valid[1]))
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if seed is None else int(seed))
            self.net = LabelNet(x.shape[1], self.classes, self.groups, edges=edges).to(self.device)
        opt = torch.optim.AdamW(self.net.net.parameters(), lr=1e-3, weight_decay=1e-3)
        best, best_state, best_epoch, waited = math.inf, copy.deepcopy(self.net.state_dict()), 0, 0
        epoch = 0
        for epoch in range(1, MAX_EPOCHS + 1):
            self.net.train()
            dropout_gen = torch.Generator(self.device).manual_seed(int(torch.randint(2**31, (1,), generator=gen)))
            for idx in torch.randperm(len(x), generator=gen).split(BATCH):
                idx = idx.to(self.device)
                logits = self._forward_train(x[idx], dropout_gen)
                loss = nn.functional.cross_entropy(logits, y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            loss_val = self._loss(x_val, y_val)
            if loss_val < best - 1e-5:
                best, best_state, best_epoch, waited = loss_val, copy.deepcopy(self.net.state_dict()), epoch, 0
            else:
                waited += 1
                if waited >= PATIENCE:
                    break
        self.net.load_state_dict(best_state)
        self.net.eval()
        self.summary = {
            "epochs_run": epoch, "best_epoch": best_epoch, "validation_log_loss": best,
            "training_rows": len(x), "validation_rows": len(x_val),
        }

    def _forward_train(self, x: torch.Tensor, dropout_gen: torch.Generator) -> torch.Tensor:
        """Forward in training mode with dropout masks from ``dropout_gen`` (repeatable)."""
        first, relu, dropout, last = self.net.net
        hidden = relu(first(x))
        keep = (torch.rand(hidden.shape, generator=dropout_gen, device=hidden.device) >= dropout.p).float()
        return last(hidden * keep / (1 - dropout.p))

    @torch.no_grad()
    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.net.eval()
        return float(nn.functional.cross_entropy(self.net(x).float(), y))

    # -- the target's share -----------------------------------------------------------------
    @torch.no_grad()
    def adjust_priors(self, scalars: torch.Tensor, choices: torch.Tensor, counts: np.ndarray) -> None:
        """Make the target's share among these (unconditioned synthetic) rows the training share.

        Without fairness columns, first by an exponential tilt of the rows (:meth:`accept`):
        the rows are re-weighted by ``exp(p(x) . tilt)``, the smallest change of the generator's
        distribution (in KL divergence, the I-projection; Csiszar, 1975) under which the mean
        class probability equals the training shares, so that the classifier's probabilities
        ``p(y | x)`` stay as fitted on real rows. What the tilt cannot reach within
        :data:`TILT_RANGE` (a class of share 0, a share the rows' probabilities do not span),
        per-class offsets of the log-probabilities close (the prior adjustment of Saerens et
        al., 2002). Measured on Adult (one fit, three draws each): offsets alone inflated
        ``p(>50K | x)`` (mean 0.31 on real held-out rows against a share of 0.24) and a model
        trained on the rows had equalised-odds difference 0.166 +- 0.018 across sex, with the
        tilt 0.095 +- 0.019 (real rows: 0.064), the share the same (benchmarks/RESULTS.md).

        With fairness columns only offsets, one set per combination of their values, so that the
        share *within each group* is the training one (a group the rows do not reach takes the
        offsets of all rows together).

        ``counts``: training rows per class ``(classes,)``, or per group and class
        ``(groups, classes)``; a class with no rows (in a group) is never drawn (there).
        """
        self.net.eval()
        self.net.offsets.zero_()
        self.net.tilt.zero_()
        logits = self.net(self.features(scalars, choices)).float()
        counts = torch.as_tensor(np.asarray(counts, dtype=np.float64), dtype=torch.float32, device=self.device)
        counts = counts.reshape(-1, self.classes)
        everyone = torch.zeros(len(logits), dtype=torch.long, device=self.device)
        weight = None
        if self.groups == 1:
            self.net.tilt.copy_(self._solve_tilt(torch.softmax(logits, dim=1), counts[0]))
            weight = self._weight(logits)
            self.net.acceptance.fill_(float(weight.mean()))
            self.record_tilt()
        overall = self._solve(logits, counts.sum(dim=0, keepdim=True), everyone, weight)
        offsets = overall.expand(self.groups, -1).clone()
        if self.groups > 1:
            group = self.group(choices)
            reached = torch.bincount(group, minlength=self.groups) > 0
            solved = self._solve(logits, counts, group)
            usable = reached & (counts.sum(dim=1) > 0)
            offsets[usable] = solved[usable]
        self.net.offsets.copy_(offsets)
        self.summary["prior_offsets"] = [round(v, 4) if math.isfinite(v) else None for v in overall[0].tolist()]
        if self.groups > 1:
            self.summary["groups"] = self.groups

    def _solve_tilt(self, proba: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """``(classes,)`` tilt with ``E_w[p] = shares`` under ``w = exp(p . tilt)``: Newton's
        method on the convex dual ``log mean exp(p . tilt) - tilt . shares``, then kept within
        :data:`TILT_RANGE` of its largest entry."""
        p = proba.double()
        p = p / p.sum(dim=1, keepdim=True)
        target = counts.double() / counts.double().sum().clamp_min(1e-12)
        tilt = torch.zeros(self.classes, dtype=torch.float64, device=p.device)

        def dual(t: torch.Tensor) -> float:
            return float(torch.logsumexp(p @ t, dim=0) - t @ target)

        for _ in range(TILT_ROUNDS):
            w = torch.softmax(p @ tilt, dim=0)
            mean = w @ p
            gap = mean - target
            if float(gap.abs().max()) < PRIOR_TOLERANCE:
                break
            centred = p - mean
            hessian = (centred * w[:, None]).T @ centred + 1e-9 * torch.eye(self.classes, dtype=p.dtype, device=p.device)
            step = torch.linalg.lstsq(hessian, gap[:, None]).solution[:, 0]
            # a shift of every class weight by one constant changes nothing (the rows' class
            # probabilities sum to 1): keep the step off that direction, where the Hessian is 0
            step = step - step.mean()
            here, size = dual(tilt), 1.0
            while size > 1e-4 and dual((tilt - size * step).clamp(-4 * TILT_RANGE, 4 * TILT_RANGE)) > here:
                size /= 2  # backtracking: the dual never rises
            if size <= 1e-4:
                break
            tilt = (tilt - size * step).clamp(-4 * TILT_RANGE, 4 * TILT_RANGE)
        tilt = tilt - tilt.max()
        return tilt.clamp_min(-TILT_RANGE).float()

    def _weight(self, logits: torch.Tensor) -> torch.Tensor:
        """``(n,)`` acceptance probability of each row under the tilt, in (0, 1]."""
        tilt = self.net.tilt.to(logits.device)
        return torch.exp(torch.softmax(logits.float(), dim=1) @ tilt - tilt.max())

    def _solve(
        self, logits: torch.Tensor, counts: torch.Tensor, group: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(groups, classes)`` offsets: per group, the (``weight``-weighted) mean of
        softmax(logits + offsets) = shares."""
        groups = len(counts)
        target = counts / counts.sum(dim=1, keepdim=True).clamp_min(1e-12)
        present = target > 0
        offsets = torch.where(present, torch.zeros_like(target), torch.full_like(target, -math.inf))
        weight = torch.ones(len(logits), device=logits.device) if weight is None else weight
        size = torch.zeros(groups, device=logits.device).index_add_(0, group, weight).clamp_min(1e-12)[:, None]
        for _ in range(PRIOR_ROUNDS):
            proba = torch.softmax(logits + offsets[group], dim=1)
            mean = torch.zeros_like(target).index_add_(0, group, proba * weight[:, None]) / size
            gap = torch.where(present, (mean - target).abs(), 0.0)
            if float(gap.max()) < PRIOR_TOLERANCE:
                break
            step = torch.where(present, torch.log(target.clamp_min(1e-12)) - torch.log(mean.clamp_min(1e-12)), 0.0)
            offsets = offsets + step
            top = torch.where(present, offsets, -math.inf).max(dim=1, keepdim=True).values
            offsets = offsets - torch.where(torch.isfinite(top), top, 0.0)  # keep them bounded
        return offsets

    # -- drawing ----------------------------------------------------------------------------
    @torch.no_grad()
    def proba(self, scalars: torch.Tensor, choices: torch.Tensor) -> torch.Tensor:
        """``(n, classes)`` class probabilities (offsets applied)."""
        self.net.eval()
        return self.net.log_proba(self.features(scalars, choices), self.group(choices)).exp()

    def record_tilt(self) -> None:
        """Copy the tilt and its acceptance rate into :attr:`summary` (after they change)."""
        self.summary["tilt"] = [round(v, 4) for v in self.net.tilt.tolist()]
        self.summary["acceptance"] = round(float(self.net.acceptance), 4)

    @property
    def tilted(self) -> bool:
        """Whether :meth:`accept` can turn rows away (a fitted tilt that is not all zeros)."""
        return bool(self.net.tilt.abs().max() > 0)

    @torch.no_grad()
    def accept(self, scalars: torch.Tensor, choices: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(n,)`` bool: which generated rows to keep under the exponential tilt (rejection
        sampling with probability ``exp(p(x) . tilt - max(tilt))``, at least
        ``exp(-TILT_RANGE)``); draws one uniform per row from ``generator``."""
        return self._accept(self._logits(scalars, choices), generator)

    @torch.no_grad()
    def draw(self, scalars: torch.Tensor, choices: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One class index per row, drawn from :meth:`proba` with ``generator``."""
        return self._draw(self._logits(scalars, choices), choices, generator)

    @torch.no_grad()
    def relabel(
        self, scalars: torch.Tensor, choices: torch.Tensor, generator: torch.Generator, limit: int
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """:meth:`accept` then :meth:`draw` on one forward pass of the network: the rows kept
        (``(n,)`` bool, ``None`` without a tilt; at most the first ``limit`` of them count) and
        a class for each row that counts. The same draws from ``generator`` as the two calls."""
        logits = self._logits(scalars, choices)
        keep = None
        if self.tilted:
            keep = self._accept(logits, generator)
            keep &= torch.cumsum(keep, dim=0) <= limit
            logits, choices = logits[keep], choices[keep.to(choices.device)]
        return keep, self._draw(logits, choices, generator)

    def _logits(self, scalars: torch.Tensor, choices: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net(self.features(scalars, choices)).float()

    def _accept(self, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        weight = self._weight(logits)
        u = torch.rand(len(weight), generator=generator, device=generator.device).to(weight.device)
        return u < weight

    def _draw(self, logits: torch.Tensor, choices: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        p = torch.log_softmax(logits + self.net.offsets[self.group(choices)], dim=1).exp()
        cdf = torch.cumsum(p, dim=1)
        u = torch.rand((len(p), 1), generator=generator, device=generator.device).to(p.device) * cdf[:, -1:]
        return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=self.classes - 1)

    # -- saving -----------------------------------------------------------------------------
    def tensors(self, prefix: str = "label_model.") -> dict[str, torch.Tensor]:
        return {prefix + k: v.detach().cpu() for k, v in self.net.state_dict().items()}

    def load_tensors(self, tensors: dict[str, torch.Tensor], prefix: str = "label_model.") -> "LabelModel":
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        state.setdefault("tilt", torch.zeros(self.classes))  # files from before the tilt: none
        state.setdefault("acceptance", torch.ones(()))
        first = state["net.0.weight"]
        members = 1 + len({k.split(".")[1] for k in state if k.startswith("others.")})
        self.net = LabelNet(
            first.shape[1], self.classes, self.groups, first.shape[0], state.get("edges"), members
        ).to(self.device)
        self.net.load_state_dict(state)
        self.net.eval()
        return self
