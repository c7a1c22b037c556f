"""Training-by-sampling (CTGAN): conditional vectors and matching real rows, on the device.

Each step picks a discrete column uniformly, a category of it by log-frequency (so rare
categories are seen), and a real row holding that category. Everything is a tensor op over
the whole batch; the rows of each category are precomputed once as a sorted index.
"""

from __future__ import annotations

import torch

from synthgan.tabular.transformer import Layout


class ConditionSampler:
    """Conditional vectors from category counts; ``attach_rows`` adds real-row lookup.

    With a ``target`` (a discrete column, ``fit(df, target=...)``) every conditional vector
    also holds a class of the target, and of each ``fairness`` column (``fit(df,
    fairness=[...])``): together the *group* columns. In training they are the values of the
    real row drawn; in sampling a combination of them (a row of ``combos``, ``(C, groups)``
    local category indices) is drawn from ``joint`` (how often each combination occurs among
    the rows of each category, ``(condition_width, C)``) given the one condition the vector
    holds, so the target and the sensitive groups go together, and with the other condition,
    as in the real table. ``balance=True`` draws the target's classes uniformly when the
    target is the column picked, instead of by log-frequency.
    """

    def __init__(
        self, layout: Layout, counts: torch.Tensor, target: str | None = None,
        joint: torch.Tensor | None = None, balance: bool = False,
        fairness: tuple[str, ...] = (), combos: torch.Tensor | None = None,
    ):
        device = counts.device
        spans = layout.condition_spans
        self.width = layout.condition_width
        self.n_columns = len(spans)
        self.spans = spans
        self.counts = counts.long()
        self.target = target
        if self.n_columns == 0:
            return
        widths = torch.tensor([s.end - s.start for s in spans], device=device)
        self.offsets = torch.cumsum(widths, 0) - widths
        # padded (column x category) probability tables
        slots = torch.arange(int(widths.max()), device=device)
        valid = slots < widths[:, None]
        position = torch.where(valid, self.offsets[:, None] + slots, torch.zeros_like(slots))
        freq = torch.where(valid, counts[position].double(), torch.zeros((), device=device, dtype=torch.double))
        self.log_probs = _normalise(torch.log1p(freq)).float()
        self.probs = _normalise(freq).float()
        if target is not None:
            names = [s.column for s in spans]
            self.target_column = names.index(target)
            self.target_start = int(self.offsets[self.target_column])
            self.target_width = int(widths[self.target_column])
            self.joint = joint.to(device).double()
            self.group_columns = [self.target_column] + [names.index(c) for c in fairness]
            self.group_spans = [spans[i] for i in self.group_columns]
            self.group_offsets = self.offsets[self.group_columns]
            self.combos = (
                combos.to(device).long() if combos is not None
                else torch.arange(self.target_width, device=device)[:, None]
            )
            if balance:
                uniform = valid[self.target_column].double()
                self.log_probs[self.target_column] = (uniform / uniform.sum()).float()
        # cumulative tables for inverse-CDF draws (searchsorted beats multinomial per row)
        self.log_cdf = _cdf(self.log_probs, valid)
        self.cdf = _cdf(self.probs, valid)

    def attach_rows(self, data: torch.Tensor) -> "ConditionSampler":
        """Index the real rows by category: rows_sorted[start[c]: start[c] + count[c]] hold c."""
        self.n_rows = data.shape[0]
        if self.n_columns == 0:
            return self
        category_of_row = torch.stack(
            [data[:, s.start : s.end].argmax(dim=1) + self.offsets[i] for i, s in enumerate(self.spans)]
        )
        order = torch.argsort(category_of_row.reshape(-1), stable=True)
        self.rows_sorted = order % self.n_rows
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        return self

    def one_hot(self, category: torch.Tensor) -> torch.Tensor:
        cond = torch.zeros((len(category), self.width), device=category.device)
        cond[torch.arange(len(category), device=category.device), category] = 1.0
        return cond

    def sample_train(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(conditional vectors, indices of real rows that satisfy them)."""
        device = self.counts.device
        if self.n_columns == 0:
            rows = torch.randint(self.n_rows, (batch,), device=device, generator=generator)
            return torch.zeros((batch, 0), device=device), rows
        column = torch.randint(self.n_columns, (batch,), device=device, generator=generator)
        local = _draw(self.log_cdf[column], generator)
        category = self.offsets[column] + local
        pick = torch.rand(batch, device=device, generator=generator)
        count = self.counts[category]
        within = torch.minimum((pick * count).long(), count - 1)
        rows = self.rows_sorted[self.starts[category] + within]
        return self.one_hot(category), rows

    def target_slice(self) -> slice:
        """Positions of the target's classes in the conditional vector."""
        return slice(self.target_start, self.target_start + self.target_width)

    def set_groups(self, cond: torch.Tensor, rows_matrix: torch.Tensor) -> torch.Tensor:
        """Training: set every group column of ``cond`` to the real rows' values (in place)."""
        for span, offset in zip(self.group_spans, self.group_offsets.tolist()):
            cond[:, offset : offset + span.end - span.start] = rows_matrix[:, span.start : span.end]
        return cond

    def fill_target(self, cond: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Sampling: give the group columns a combination drawn from ``joint`` given the one
        condition each row holds (rows with none draw from the marginal); columns a row
        already holds are kept."""
        if self.target is None:
            return cond
        anchored = cond.sum(dim=1) > 0
        marginal = self.joint[self.target_start : self.target_start + self.target_width].sum(dim=0)
        weights = torch.where(anchored[:, None], self.joint[cond.argmax(dim=1)], marginal.expand(len(cond), -1))
        weights = torch.where(weights.sum(dim=1, keepdim=True) > 0, weights, marginal.expand(len(cond), -1))
        cdf = torch.cumsum(weights, dim=1)
        cdf = (cdf / cdf[:, -1:]).float()
        u = torch.rand((len(cond), 1), device=cond.device, generator=generator)
        last = torch.tensor(cdf.shape[1] - 1, device=cond.device)
        combo = self.combos[torch.minimum(torch.searchsorted(cdf, u, right=True).squeeze(1), last)]
        out = cond.clone()
        rows = torch.arange(len(cond), device=cond.device)
        for g, (span, offset) in enumerate(zip(self.group_spans, self.group_offsets.tolist())):
            width = span.end - span.start
            unset = out[:, offset : offset + width].sum(dim=1) == 0
            out[rows[unset], offset + combo[unset, g]] = 1.0
        return out

    def sample_original(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Conditional vectors at the real category frequencies (unconditional sampling)."""
        device = self.counts.device
        if self.n_columns == 0:
            return torch.zeros((batch, 0), device=device)
        column = torch.randint(self.n_columns, (batch,), device=device, generator=generator)
        local = _draw(self.cdf[column], generator)
        return self.one_hot(self.offsets[column] + local)


def _normalise(weights: torch.Tensor) -> torch.Tensor:
    return weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)


def _cdf(probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-row CDF; padding slots are set past 1 so they are never drawn."""
    cdf = torch.cumsum(probs.double(), dim=1)
    cdf = cdf / cdf.gather(1, valid.sum(1, keepdim=True) - 1)
    return torch.where(valid, cdf, torch.full_like(cdf, 2.0)).float()


def _draw(cdf_rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One category index per row of ``cdf_rows`` by inverse CDF."""
    u = torch.rand((len(cdf_rows), 1), device=cdf_rows.device, generator=generator)
    last = (cdf_rows <= 1.0).sum(dim=1) - 1
    return torch.minimum(torch.searchsorted(cdf_rows, u, right=True).squeeze(1), last)
