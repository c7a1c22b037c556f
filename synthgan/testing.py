"""Privacy-filtered, deterministic test fixtures sampled from a committed model file.

A team fits a model once on real data, commits the small model file (safetensors + JSON:
loading it runs no code), and gets realistic rows in its tests without committing a real
record::

    # tests/conftest.py
    from synthgan.testing import synthetic_table

    customers = synthetic_table("tests/models/customers.synth", n=200, seed=7)

    # tests/test_billing.py
    def test_every_customer_is_billed(customers):
        assert len(bill(customers)) == 200

- Same model file, ``n``, ``seed`` and ``conditions``: the same rows on every run and every
  machine (the model is loaded on the CPU, whatever GPU the machine has).
- Rows equal to a training row are never returned (``sample``'s exact-match filter, which
  cannot be turned off here); a fitted :class:`~synthgan.PrivacyFilter` may be given for
  stricter checks.
- Each model file is loaded once per test session, and each table sampled once; every test
  gets its own copy, so a test that modifies its table does not affect the next.

Relative model paths are resolved against pytest's rootdir (where ``pytest.ini`` or
``pyproject.toml`` is). Installed with synthgan, the pytest plugin (entry point
``synthgan``; disable with ``-p no:synthgan``) also provides the :func:`synthgan_table`
fixture, a factory for tables decided inside a test.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

from synthgan.errors import ConfigError, ModelFileError

if TYPE_CHECKING:  # pytest imports this plugin at every start: keep the import light
    import pandas as pd

#: fixtures sample on the CPU, so the rows do not depend on a machine's GPU
DEVICE = "cpu"
SCOPES = ("function", "class", "module", "package", "session")


class ModelCache:
    """Loaded models and sampled tables of one test session, keyed by file and arguments.

    A model file rewritten during the session (new size or modification time) is loaded again.
    """

    def __init__(self):
        self._models: dict = {}
        self._tables: dict = {}
        self._filters: list = []  # kept alive, so the id() in a table key is never reused

    def _key(self, path: Path) -> tuple:
        if not path.is_file():
            raise ModelFileError(
                f"fixture model file {str(path)!r} does not exist: fit a TabularSynthesizer on the real table, "
                "save it there with synth.save(path) (or `synthgan fit data.csv -o PATH`) and commit it"
            )
        stat = path.stat()
        return str(path), stat.st_mtime_ns, stat.st_size

    def model(self, path: Path):
        """The :class:`~synthgan.TabularSynthesizer` saved at ``path``, loaded once."""
        key = self._key(path)
        if key not in self._models:
            from synthgan.tabular import TabularSynthesizer

            self._models[key] = TabularSynthesizer.load(path, device=DEVICE)
        return self._models[key]

    def table(self, path: Path, n: int, seed: int, conditions: dict | None, privacy) -> pd.DataFrame:
        """``n`` rows sampled once per argument set; each call returns a fresh copy."""
        filter_key = privacy if isinstance(privacy, str) else id(privacy)
        key = (self._key(path), n, seed, _conditions_key(conditions), filter_key)
        if key not in self._tables:
            if not isinstance(privacy, str):
                self._filters.append(privacy)
            self._tables[key] = self.model(path).sample(n, conditions=conditions, seed=seed, privacy=privacy)
        return self._tables[key].copy(deep=True)


_CACHE = pytest.StashKey[ModelCache]()


def model_cache(config: pytest.Config) -> ModelCache:
    """The session's :class:`ModelCache` (kept on the pytest config, so it needs no plugin)."""
    return config.stash.setdefault(_CACHE, ModelCache())


def resolve_model_path(config: pytest.Config, model: str | os.PathLike) -> Path:
    path = Path(model)
    return path if path.is_absolute() else Path(config.rootpath) / path


def check_fixture_args(n, seed, conditions, privacy) -> None:
    """Fail when the conftest is imported, not in the middle of a test run."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ConfigError(f"synthetic_table: n must be a positive integer number of rows, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(
            f"synthetic_table: seed must be a non-negative integer (fixtures must be reproducible), got {seed!r}"
        )
    if conditions is not None and not isinstance(conditions, dict):
        raise ConfigError(f"synthetic_table: conditions must be a dict like {{'column': value}}, got {conditions!r}")
    if isinstance(privacy, str) and privacy == "exact":
        return
    if privacy is False or privacy is None:
        raise ConfigError(
            "synthetic_table: fixtures are committed and shared, so the privacy filter stays on; "
            "privacy may be 'exact' (the default) or a fitted PrivacyFilter"
        )
    if not (hasattr(privacy, "filter") and hasattr(privacy, "check_rows")):
        raise ConfigError(f"synthetic_table: privacy={privacy!r}: expected 'exact' or a fitted PrivacyFilter")


def synthetic_table(
    model: str | os.PathLike,
    n: int,
    seed: int = 0,
    *,
    conditions: dict | None = None,
    privacy="exact",
    scope: str = "function",
    name: str | None = None,
) -> Callable:
    """A pytest fixture holding ``n`` synthetic rows sampled from the model file ``model``.

    Parameters
    ----------
    model : model file written by ``TabularSynthesizer.save``; relative to pytest's rootdir.
    n : rows in the table.
    seed : sampling seed; same file, ``n``, ``seed`` and ``conditions``, same rows.
    conditions : as for ``TabularSynthesizer.sample``, e.g. ``{"country": "France", "age": (18, 30)}``.
    privacy : ``"exact"`` (drop copies of training rows) or a fitted ``PrivacyFilter``.
    scope : the fixture's pytest scope. Each use gets a fresh copy of the table, so a wider
        scope only shares that copy between the tests of the scope.
    name : the fixture's name; by default the name it is assigned to in the conftest.

    Examples
    --------
    >>> customers = synthetic_table("tests/models/customers.synth", n=200, seed=7)  # in conftest.py
    >>> adults = synthetic_table("tests/models/customers.synth", n=50, conditions={"age": (18, None)})
    """
    check_fixture_args(n, seed, conditions, privacy)
    if scope not in SCOPES:
        raise ConfigError(f"synthetic_table: scope={scope!r}: expected one of {', '.join(SCOPES)}")

    def fixture(request: pytest.FixtureRequest) -> pd.DataFrame:
        path = resolve_model_path(request.config, model)
        return model_cache(request.config).table(path, int(n), int(seed), conditions, privacy)

    fixture.__name__ = name or "synthetic_table"
    fixture.__doc__ = f"{n} synthetic rows of {model} (seed {seed}, conditions {conditions})."
    return pytest.fixture(fixture, scope=scope, name=name)


@pytest.fixture
def synthgan_table(request: pytest.FixtureRequest) -> Callable[..., pd.DataFrame]:
    """Factory: ``synthgan_table(model, n, seed=0, conditions=None, privacy="exact")`` -> DataFrame.

    For tables decided inside a test; cached and copied like :func:`synthetic_table`.
    """

    def make(model: str | os.PathLike, n: int, seed: int = 0, *, conditions=None, privacy="exact") -> pd.DataFrame:
        check_fixture_args(n, seed, conditions, privacy)
        path = resolve_model_path(request.config, model)
        return model_cache(request.config).table(path, int(n), int(seed), conditions, privacy)

    return make


def _conditions_key(conditions: dict | None) -> str:
    """A hashable, order-independent key; ``repr`` keeps lists (sets of values) apart from tuples (ranges)."""
    return repr(sorted((repr(k), repr(v)) for k, v in (conditions or {}).items()))
