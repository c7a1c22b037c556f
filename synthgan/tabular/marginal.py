"""The select-measure-generate mechanisms AIM and MST, on a table of integer codes.

Both measure noisy marginals of the real table (the only step that reads it) and fit a
graphical model to the measurements with Private-PGM's estimator (the ``mbi`` package,
McKenna, Sheldon & Miklau, 2019); records are generated from that model (post-processing).
Accounting is in zCDP (:mod:`synthgan.tabular.zcdp`); every spend goes through a
:class:`~synthgan.tabular.zcdp.Ledger`, which refuses to exceed the budget.

- **AIM** (McKenna, Mullins, Sheldon & Miklau, 2022, "AIM: An Adaptive and Iterative
  Mechanism for Differentially Private Synthetic Data", Algorithm 2): all one-way marginals
  are measured first; then, round after round, the exponential mechanism picks the workload
  marginal (or a subset of one) that the current model answers worst, with a penalty for
  the noise its measurement would carry, among the candidates whose junction tree stays
  under a size cap that grows with the budget spent; the pick is measured with Gaussian
  noise and the model re-estimated. When a round's measurement barely moved the model, the
  noise is halved (and the selection sharpened) for the rounds left. The last round spends
  exactly what remains.
- **MST** (McKenna, Miklau & Sheldon, 2021, "Winning the NIST Contest"): a third of the
  budget measures every one-way marginal, a third picks a maximum spanning tree of pairs by
  the exponential mechanism (edges the one-way model explains worst), a third measures
  those pairs. Fast, and good on tables whose dependencies are mostly pairwise.

The data here is ``{column: int codes}`` over a ``{column: size}`` domain; discretisation
and decoding live in :mod:`synthgan.tabular.discretise`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synthgan.tabular.zcdp import Ledger, exponential_rho, gaussian_rho

#: AIM's rounds per column (the paper's T = 16 d) and share of each round spent measuring
AIM_ROUNDS_PER_COLUMN, AIM_MEASURE_SHARE = 16, 0.9


@dataclass
class Measured:
    """One noisy marginal: the clique, its noisy counts (flattened) and the noise's std."""

    clique: tuple[str, ...]
    noisy: np.ndarray
    sigma: float


def require_mbi():
    """Import ``mbi`` (Private-PGM's estimator) or raise a ``MissingDependencyError``."""
    from synthgan.errors import MissingDependencyError

    try:
        import jax

        jax.config.update("jax_enable_x64", True)  # float32 stalls estimation on large tables (mbi's own advice)
        jax.config.update("jax_enable_compilation_cache", False)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            import mbi
    except ImportError:
        raise MissingDependencyError(
            "PrivateSynthesizer(method='aim' or 'mst') estimates its model with Private-PGM's mbi package "
            "(needs jax), which is not installed: pip install 'synthgan[dp]'"
        ) from None
    return mbi


def marginal(codes: dict[str, np.ndarray], sizes: dict[str, int], clique: tuple[str, ...]) -> np.ndarray:
    """Exact counts of ``clique`` in the real codes, flattened in C order of the clique's axes."""
    shape = [sizes[c] for c in clique]
    flat = np.ravel_multi_index([codes[c] for c in clique], shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).astype(np.float64)


def workload_candidates(workload: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """AIM's candidates: every non-empty subset of a workload marginal, weighted by how much of
    the workload it covers (``w_r = sum_q c_q |r & q|`` over workload marginals ``q`` containing ``r``)."""
    out: dict[tuple[str, ...], float] = {}
    for q, c in workload.items():
        for k in range(1, len(q) + 1):
            for r in itertools.combinations(q, k):
                out[r] = 0.0
    for r in out:
        out[r] = sum(c * len(set(r) & set(q)) for q, c in workload.items() if set(r) <= set(q))
    return out


class _Estimator:
    """Private-PGM estimation over the measurements so far (warm-started), and the model's
    answers to candidate marginals.

    Answers are computed in numpy from the junction tree's clique marginals (one message
    passing per estimate): a set inside a tree clique is a projection, a pair across cliques
    is carried along the tree path between them (exact for a junction tree). This avoids
    one compiled variable-elimination program per candidate and round.
    """

    def __init__(self, sizes: dict[str, int], iters: int, round_iters: int):
        self.mbi = require_mbi()
        self.sizes = sizes
        self.domain = self.mbi.Domain(list(sizes), list(sizes.values()))
        self.iters, self.round_iters = iters, round_iters
        self.model = None
        self.fits = 0
        self._sizes_cache: dict = {}

    def fit(self, measured: list[Measured]):
        import jax

        mbi = self.mbi
        loss = [mbi.LinearMeasurement(m.noisy, m.clique, stddev=m.sigma) for m in measured]
        iters = self.iters if self.model is None else self.round_iters
        self.model = mbi.estimation.MirrorDescent().estimate(self.domain, loss, iters=iters, warm_start=self.model)
        self._refresh()
        self.fits += 1
        if self.fits % 10 == 0:  # each round compiles for a new clique structure: free old programs now and then
            jax.clear_caches()
        return self.model

    def _refresh(self) -> None:
        """The model's marginals over its junction tree's cliques, by sum-product message
        passing in numpy (log space) from the estimated potentials: no compiled program per
        round, whose structure changes every round."""
        from mbi import junction_tree

        tree, _ = junction_tree.make_junction_tree(self.domain, list(self.model.cliques))
        cliques = [tuple(cl) for cl in junction_tree.maximal_cliques(tree)]
        logs = {cl: np.zeros([self.sizes[a] for a in cl]) for cl in cliques}
        for cl in self.model.potentials.cliques:
            home = next(c for c in cliques if set(cl) <= set(c))
            factor = self.model.potentials.tables[tuple(cl)]
            names = tuple(factor.domain.attributes)
            logs[home] = logs[home] + _expand(np.asarray(factor.values, dtype=np.float64), names, home)
        beliefs = _sum_product(tree, cliques, logs, float(self.model.total))
        self.tree = tree
        self.tables = {cl: (cl, beliefs[cl]) for cl in cliques}
        self._sizes_cache = {}

    def _table(self, attrs: tuple[str, ...]) -> np.ndarray:
        """The model's marginal over ``attrs`` (inside one tree clique), axes in ``attrs`` order."""
        for names, values in self.tables.values():
            if set(attrs) <= set(names):
                drop = tuple(i for i, a in enumerate(names) if a not in attrs)
                kept = [a for a in names if a in attrs]
                out = values.sum(axis=drop) if drop else values
                return np.transpose(out, [kept.index(a) for a in attrs])
        raise KeyError(attrs)

    def _pair(self, a: str, b: str) -> np.ndarray:
        """P(a, b) for two columns in different tree cliques, along the shortest tree path
        between a clique holding ``a`` and one holding ``b`` (by the running-intersection
        property no separator on it holds ``a`` or ``b``); independent across components."""
        import networkx as nx

        best = None
        for ca in (cl for cl in self.tables if a in cl):
            for cb in (cl for cl in self.tables if b in cl):
                try:
                    path = nx.shortest_path(self.tree, ca, cb)
                except nx.NetworkXNoPath:
                    continue
                if best is None or len(path) < len(best):
                    best = path
        if best is None:  # different components of the forest: independent under the model
            pa, pb = self._table((a,)), self._table((b,))
            return np.outer(pa, pb) / max(pa.sum(), 1e-300)
        path = best
        sep = tuple(set(path[0]) & set(path[1]))
        joint = self._table((a, *sep))
        for here, nxt in zip(path[1:-1], path[2:]):
            new_sep = tuple(set(here) & set(nxt))
            axes = tuple(dict.fromkeys(sep + new_sep))
            joint = _carry(joint, sep, self._table(axes), axes, new_sep)
            sep = new_sep
        axes = tuple(dict.fromkeys(sep + (b,)))
        return _carry(joint, sep, self._table(axes), axes, (b,))

    def answer(self, clique: tuple[str, ...]) -> np.ndarray:
        """The model's counts over ``clique``, flattened in the clique's order (as :func:`marginal`)."""
        try:
            return self._table(clique).reshape(-1)
        except KeyError:
            pass
        if len(clique) == 2:
            return self._pair(*clique).reshape(-1)
        return np.asarray(self.model.project(clique).datavector(flatten=True), dtype=np.float64)

    def size_with(self, clique: tuple[str, ...]) -> float:
        """Megabytes of the junction tree if ``clique`` joined the model."""
        from mbi.junction_tree import hypothetical_model_size

        if any(set(clique) <= set(cl) for cl in self.tables):
            clique = ()  # inside the current tree: the model's own size
        if clique not in self._sizes_cache:
            extra = [clique] if clique else []
            self._sizes_cache[clique] = hypothetical_model_size(self.domain, list(self.model.cliques) + extra)
        return self._sizes_cache[clique]


def _expand(values: np.ndarray, names: tuple, target: tuple) -> np.ndarray:
    """``values`` over ``names`` as an array broadcastable over ``target`` (axes in its order)."""
    order = [names.index(a) for a in target if a in names]
    out = np.transpose(values, order)
    return out.reshape([values.shape[names.index(a)] if a in names else 1 for a in target])


def _logsumexp(values: np.ndarray, axes: tuple) -> np.ndarray:
    if not axes:
        return values
    top = values.max(axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (np.log(np.exp(values - top).sum(axis=axes, keepdims=True)) + top).squeeze(axis=axes)


def _sum_product(tree, cliques: list, logs: dict, total: float) -> dict:
    """Marginals (counts summing to ``total``) of every clique of a junction tree (a forest:
    each component normalised on its own) from log-potentials per clique, by two passes of
    messages per component (collect to a root, then distribute)."""
    import networkx as nx

    messages: dict = {}

    def send(src, dst):
        sep = tuple(a for a in src if a in dst)
        inbound = sum((messages[(k, src)] for k in tree.neighbors(src) if k != dst), np.zeros(()))
        summed = _logsumexp(logs[src] + inbound, tuple(i for i, a in enumerate(src) if a not in sep))
        kept = tuple(a for a in src if a in sep)
        messages[(src, dst)] = _expand(summed, kept, dst)

    out = {}
    for component in nx.connected_components(tree):
        nodes = [c for c in cliques if c in component]
        root = nodes[0]
        order = list(nx.dfs_postorder_nodes(tree, root))
        parent = {child: par for par, child in nx.dfs_edges(tree, root)}
        for node in order:  # collect: children before parents
            if node in parent:
                send(node, parent[node])
        for node in reversed(order):  # distribute: parents before children
            if node in parent:
                send(parent[node], node)
        for node in nodes:
            belief = logs[node] + sum((messages[(k, node)] for k in tree.neighbors(node)), np.zeros(()))
            belief = np.exp(belief - belief.max())
            out[node] = belief * (total / belief.sum())
    return out


def _carry(joint: np.ndarray, sep: tuple, table: np.ndarray, table_axes: tuple, out: tuple) -> np.ndarray:
    """``sum_{sep - out} joint[x, sep] * P(table_axes - sep | sep)``, the conditional taken from
    ``table`` (counts over ``table_axes``, which hold ``sep`` and ``out``); ``joint``'s axes are
    one free axis then ``sep``; the result's are the free axis then ``out``."""
    nonsep = tuple(i for i, n in enumerate(table_axes) if n not in sep)
    denom = table.sum(axis=nonsep, keepdims=True)
    conditional = np.divide(table, denom, out=np.zeros_like(table), where=denom > 0)
    letters = {name: chr(ord("b") + i) for i, name in enumerate(table_axes)}
    word = lambda names: "".join(letters[n] for n in names)  # noqa: E731
    return np.einsum(f"a{word(sep)},{word(table_axes)}->a{word(out)}", joint, conditional)


def _measure(codes, sizes, clique, sigma, rng, ledger: Ledger, what: str) -> Measured:
    ledger.spend(f"{what} {clique}", gaussian_rho(sigma))
    counts = marginal(codes, sizes, clique)
    return Measured(clique, counts + rng.normal(0.0, sigma, size=counts.shape), sigma)


def _exponential(scores: np.ndarray, epsilon: float, sensitivity: float, rng) -> int:
    """Index drawn with probability proportional to ``exp(epsilon * score / (2 sensitivity))``
    (the Gumbel-max trick, exact)."""
    logits = epsilon * scores / (2 * sensitivity)
    return int(np.argmax(logits + rng.gumbel(size=len(scores))))


def aim(
    codes: dict[str, np.ndarray],
    sizes: dict[str, int],
    workload: dict[tuple[str, ...], float],
    ledger: Ledger,
    rng: np.random.Generator,
    *,
    max_model_size: float = 80.0,
    iters: int = 1000,
    round_iters: int = 100,
    initial: list[tuple[str, ...]] = (),
    on_round: Callable[[dict], None] | None = None,
):
    """Run AIM on the whole remaining budget of ``ledger``; returns (mbi model, measurements, log).

    ``max_model_size`` (MB) caps the junction tree; ``iters`` / ``round_iters`` are the
    mirror-descent iterations of the first and of every later (warm-started) estimation.
    ``initial``: marginals measured in the first step beside the one-way ones (a target's
    pairs: see :class:`~synthgan.tabular.private_synthesizer.PrivateSynthesizer`), at the
    first rounds' noise. ``on_round`` is called after each round with a dict (round, clique,
    sigma, rho spent).
    """
    rho, spent_start = ledger.remaining, ledger.spent
    columns = list(sizes)
    rounds = AIM_ROUNDS_PER_COLUMN * len(columns)
    sigma = math.sqrt(rounds / (2 * AIM_MEASURE_SHARE * rho))
    epsilon = math.sqrt(8 * (1 - AIM_MEASURE_SHARE) * rho / rounds)
    candidates = workload_candidates(workload)
    answers = {r: marginal(codes, sizes, r) for r in candidates}
    measured = [_measure(codes, sizes, (c,), sigma, rng, ledger, "one-way") for c in columns]
    measured += [_measure(codes, sizes, tuple(q), sigma, rng, ledger, "initial") for q in initial]
    estimator = _Estimator(sizes, iters, round_iters)
    model = estimator.fit(measured)
    log = []
    budget_end = ledger.budget
    final = False
    while not final:
        left = budget_end - ledger.spent
        round_cost = gaussian_rho(sigma) + exponential_rho(epsilon)
        if left < 2 * round_cost:  # the last round spends exactly what is left
            sigma = math.sqrt(1 / (2 * AIM_MEASURE_SHARE * left))
            epsilon = math.sqrt(8 * (1 - AIM_MEASURE_SHARE) * left)
            final = True
        used_after = ledger.spent + gaussian_rho(sigma) + exponential_rho(epsilon) - spent_start
        size_limit = max_model_size * used_after / max(budget_end - spent_start, 1e-300)
        small = [r for r in candidates if estimator.size_with(r) <= size_limit]
        if not small:  # nothing fits yet: the smallest candidates are always allowed
            small = [r for r in candidates if len(r) == 1]
        weights = np.array([candidates[r] for r in small])
        scores = np.array(
            [
                w * (np.abs(answers[r] - estimator.answer(r)).sum() - math.sqrt(2 / math.pi) * sigma * len(answers[r]))
                for r, w in zip(small, weights)
            ]
        )
        ledger.spend("select (exponential mechanism)", exponential_rho(epsilon))
        pick = small[_exponential(scores, epsilon, float(weights.max()), rng)]
        measured.append(_measure(codes, sizes, pick, sigma, rng, ledger, "marginal"))
        before = estimator.answer(pick)
        model = estimator.fit(measured)
        after = estimator.answer(pick)
        entry = {"round": len(log) + 1, "clique": list(pick), "sigma": sigma, "rho_spent": ledger.spent}
        if np.abs(after - before).sum() <= math.sqrt(2 / math.pi) * sigma * len(after) and not final:
            sigma, epsilon = sigma / 2, epsilon * 2  # the model barely moved: measure more precisely
            entry["annealed"] = True
        log.append(entry)
        if on_round is not None:
            on_round(entry)
    _free_compiled()
    return model, measured, log


def mst(
    codes: dict[str, np.ndarray],
    sizes: dict[str, int],
    ledger: Ledger,
    rng: np.random.Generator,
    *,
    iters: int = 1000,
    on_round: Callable[[dict], None] | None = None,
):
    """Run MST on the whole remaining budget of ``ledger``; returns (mbi model, measurements, log)."""
    rho = ledger.remaining
    columns = list(sizes)
    d = len(columns)
    third = rho / 3
    sigma1 = math.sqrt(d / (2 * third))
    measured = [_measure(codes, sizes, (c,), sigma1, rng, ledger, "one-way") for c in columns]
    estimator = _Estimator(sizes, iters, iters)
    estimator.fit(measured)
    log = []
    edges: list[tuple[str, str]] = []
    if d > 1:
        epsilon = math.sqrt(8 * third / (d - 1))
        pairs = list(itertools.combinations(columns, 2))
        errors = np.array([np.abs(marginal(codes, sizes, p) - estimator.answer(p)).sum() for p in pairs])
        component = {c: c for c in columns}

        def root(c):
            while component[c] != c:
                c = component[c]
            return c

        for _ in range(d - 1):
            open_pairs = [i for i, (a, b) in enumerate(pairs) if root(a) != root(b)]
            ledger.spend("select tree edge (exponential mechanism)", exponential_rho(epsilon))
            pick = open_pairs[_exponential(errors[open_pairs], epsilon, 1.0, rng)]
            a, b = pairs[pick]
            component[root(a)] = root(b)
            edges.append((a, b))
        sigma2 = math.sqrt((d - 1) / (2 * ledger.remaining))
        for edge in edges:
            measured.append(_measure(codes, sizes, edge, sigma2, rng, ledger, "tree marginal"))
            log.append({"round": len(log) + 1, "clique": list(edge), "sigma": sigma2, "rho_spent": ledger.spent})
            if on_round is not None:
                on_round(log[-1])
    model = estimator.fit(measured)
    _free_compiled()
    return model, measured, log


def _free_compiled() -> None:
    """Drop jax's compiled programs at the end of a fit. Every round compiles programs for a
    new clique structure; kept across fits they pile up, and a process that had fitted a few
    models ran out of memory mappings ("LLVM compilation error: Cannot allocate memory", then a
    segmentation fault) in the benchmark."""
    import jax

    jax.clear_caches()
