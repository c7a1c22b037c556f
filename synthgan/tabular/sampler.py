"""Training-by-sampling (CTGAN): conditional vectors and matching real rows, on the device.

Each step picks a discrete column uniformly, a category of it by log-frequency (so rare
categories are seen), and a real row holding that category. Everything is a tensor op over
the whole batch; the rows of each category are precomputed once as a sorted index.
"""

from __future__ import annotations

import torch

from synthgan.tabular.transformer import Layout


class ConditionSampler:
    """Conditional vectors from category counts; ``attach_rows`` adds real-row lookup."""

    def __init__(self, layout: Layout, counts: torch.Tensor):
        device = counts.device
        spans = layout.condition_spans
        self.width = layout.condition_width
        self.n_columns = len(spans)
        self.spans = spans
        self.counts = counts.long()
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
