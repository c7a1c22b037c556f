"""Shared fixtures: one small mixed-type table, one model fitted on it, the shared datasets.

Every fit here is tiny (one epoch, 300 rows) so the whole suite runs on a 2-core CPU.
Run with ``OMP_NUM_THREADS=1``: torch thread contention makes it far slower otherwise.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

N_ROWS = 300
TIMEZONE = "Europe/Paris"
DATASETS_ENV = "SYNTHGAN_DATASETS"
#: the project root's sibling folder, as described in ../shared/datasets/README.md
DEFAULT_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def make_mixed_frame(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """One column of every kind synthgan detects, with missing values where they make sense."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.5, n)
    income[rng.random(n) < 0.1] = np.nan
    city = rng.choice(["Paris", "Lyon", "Marseille", "Lille"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    city[rng.random(n) < 0.08] = None
    start = pd.Timestamp("2023-01-01", tz=TIMEZONE)
    signup = start + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n), unit="s")
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),  # int64, many values -> integer
            "income": income,  # float with ~10% NaN -> continuous
            "city": city,  # text with missing values -> categorical
            "member": rng.random(n) < 0.3,  # bool -> boolean
            "signup": signup,  # tz-aware datetime -> datetime
            # pandas category with a declared category that never occurs
            "tier": pd.Categorical(
                rng.choice(["bronze", "silver", "gold"], n), categories=["bronze", "silver", "gold", "platinum"]
            ),
            "churn": rng.integers(0, 2, n),  # low-cardinality int target -> categorical
            "customer_id": [f"CUST-{i:05d}" for i in rng.permutation(n) + 1],  # text id -> id
        }
    )


@pytest.fixture
def mixed_df() -> pd.DataFrame:
    """A fresh copy for every test, so a test may modify it."""
    return make_mixed_frame()


@pytest.fixture(scope="session")
def fitted_run():
    """(synthesizer, the frame it was fitted on, a deep copy of that frame taken before fit)."""
    from synthgan import TabularSynthesizer

    df = make_mixed_frame()
    before = copy.deepcopy(df)
    synth = TabularSynthesizer(epochs=1, batch_size=100, seed=0, verbose=False).fit(df)
    return synth, df, before


@pytest.fixture(scope="session")
def fitted(fitted_run):
    """A TabularSynthesizer fitted once per session on :func:`make_mixed_frame`. Do not refit it."""
    return fitted_run[0]


@pytest.fixture(scope="session")
def fitted_model_file(fitted, tmp_path_factory) -> Path:
    """The session model saved once; copy it before damaging it."""
    path = tmp_path_factory.mktemp("model") / "mixed.synth"
    fitted.save(path)
    return path


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The shared development datasets (``$SYNTHGAN_DATASETS`` or ``../shared/datasets``)."""
    folder = Path(os.environ.get(DATASETS_ENV, DEFAULT_DATASETS))
    if not folder.is_dir():
        pytest.skip(
            f"shared datasets folder {str(folder)!r} not found; set {DATASETS_ENV} to the folder "
            "holding adult.csv and fraud_oracle.csv"
        )
    return folder

