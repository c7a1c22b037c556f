"""``synthgan.testing``: fixtures from a committed model file are reproducible, filtered and cached."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import PrivacyFilter, TabularSynthesizer
from synthgan.errors import ConditionError, ConfigError, ModelFileError
from synthgan.testing import ModelCache, synthetic_table


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


def _rows(df: pd.DataFrame) -> set:
    return set(map(tuple, df.astype(str).to_numpy()))


@pytest.fixture(scope="module")
def sparse_run(tmp_path_factory):
    """(model file, training table): 14 of 27 possible rows occur, so an unfiltered model copies often."""
    combos = [c for c in itertools.product("xyz", "pqr", [1, 2, 3]) if sum(map(ord, c[:2])) % 2 == c[2] % 2]
    rng = np.random.default_rng(0)
    train = pd.DataFrame([combos[i] for i in rng.integers(0, len(combos), 600)], columns=["a", "b", "c"])
    synth = TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(train)
    return synth.save(tmp_path_factory.mktemp("sparse") / "sparse.synth"), train


def test_fixture_rows_are_the_same_in_another_process(fitted_model_file, tmp_path):
    """A pytest run in a subprocess (plugin from the entry point, path relative to its rootdir)
    samples the same rows, byte for byte, as this process."""
    project = tmp_path / "project"
    (project / "tests" / "models").mkdir(parents=True)
    shutil.copy(fitted_model_file, project / "tests" / "models" / "customers.synth")
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "tests" / "conftest.py").write_text(textwrap.dedent("""
        from synthgan.testing import synthetic_table

        customers = synthetic_table("tests/models/customers.synth", n=120, seed=7)
        parisians = synthetic_table("tests/models/customers.synth", n=30, seed=7, conditions={"city": "Paris"})
    """))
    (project / "tests" / "test_inner.py").write_text(textwrap.dedent("""
        import hashlib, pathlib

        def test_digest(customers, parisians, synthgan_table):
            text = customers.to_csv(index=False)
            pathlib.Path("digest.txt").write_text(hashlib.sha256(text.encode()).hexdigest())
            assert len(customers) == 120 and (parisians["city"] == "Paris").all()
            assert synthgan_table("tests/models/customers.synth", 120, seed=7).equals(customers)

        def test_each_test_gets_a_fresh_copy(customers):
            assert len(customers) == 120
            customers.drop(customers.index, inplace=True)  # must not leak into other tests
    """))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project / "tests",  # not the rootdir: relative model paths follow the rootdir
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    here = TabularSynthesizer.load(fitted_model_file, device="cpu").sample(120, seed=7)
    assert (project / "tests" / "digest.txt").read_text() == _digest(here)


def test_same_arguments_same_rows_other_seed_other_rows(fitted_model_file):
    first, second = ModelCache(), ModelCache()  # two sessions: nothing shared
    a = first.table(fitted_model_file, 80, 7, None, "exact")
    threads = torch.get_num_threads()
    torch.set_num_threads(2 if threads == 1 else 1)  # another core count: same rows
    try:
        b = second.table(fitted_model_file, 80, 7, None, "exact")
    finally:
        torch.set_num_threads(threads)
    c = second.table(fitted_model_file, 80, 8, None, "exact")
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_fixture_never_returns_a_training_row(sparse_run):
    path, train = sparse_run
    raw = TabularSynthesizer.load(path).sample(300, seed=3, privacy=False)
    assert len(_rows(raw) & _rows(train)) > 0  # the model does copy: the filter has work to do
    rows = ModelCache().table(path, 300, 3, None, "exact")
    assert len(rows) == 300
    assert not _rows(rows) & _rows(train)


def test_a_fitted_privacy_filter_is_applied(sparse_run):
    path, train = sparse_run
    filt = PrivacyFilter(dcr_quantile=None, quasi_identifiers=["a", "b"], k=80, verbose=False).fit(train)
    raw = TabularSynthesizer.load(path).sample(300, seed=4, privacy=False)
    assert filt.filter(raw).counts["rare_combination"] > 0  # some rows would fail it
    rows = ModelCache().table(path, 200, 4, None, filt)
    again = filt.filter(rows)
    assert len(rows) == 200 and again.counts == {k: 0 for k in again.counts}


def test_conditions_constrain_every_row(fitted_model_file):
    cache = ModelCache()
    rows = cache.table(fitted_model_file, 60, 1, {"city": "Lyon", "age": (30, 50)}, "exact")
    assert (rows["city"] == "Lyon").all() and rows["age"].between(30, 50).all()
    free = cache.table(fitted_model_file, 60, 1, None, "exact")
    assert not (free["city"] == "Lyon").all()
    with pytest.raises(ConditionError):
        cache.table(fitted_model_file, 10, 1, {"no_such_column": 1}, "exact")


def test_model_is_loaded_once_per_file_and_tables_are_copies(fitted_model_file, tmp_path):
    path = tmp_path / "m.synth"
    shutil.copy(fitted_model_file, path)
    cache = ModelCache()
    assert cache.model(path) is cache.model(path)
    first = cache.table(path, 40, 0, None, "exact")
    first.loc[:, "age"] = -1
    assert (cache.table(path, 40, 0, None, "exact")["age"] != -1).all()
    before = cache.model(path)
    os.utime(path, ns=(0, 0))  # the file changed on disk: loaded again
    assert cache.model(path) is not before


def test_missing_model_file_is_a_named_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist.*synth.save"):
        ModelCache().table(tmp_path / "nope.synth", 10, 0, None, "exact")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 10, "seed": None}, "seed must be a non-negative integer"),
        ({"n": 10, "privacy": False}, "privacy filter stays on"),
        ({"n": 10, "privacy": "dcr"}, "expected 'exact' or a fitted PrivacyFilter"),
        ({"n": 10, "conditions": ["city", "Paris"]}, "conditions must be a dict"),
        ({"n": 10, "scope": "forever"}, "scope='forever'"),
    ],
)
def test_bad_fixture_arguments_fail_when_the_conftest_loads(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        synthetic_table("tests/models/customers.synth", **kwargs)
