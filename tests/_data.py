"""Real tables for tests: ../shared/datasets (or $SYNTHGAN_DATASETS), skipped when absent."""

import os
from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(os.environ.get("SYNTHGAN_DATASETS", Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"))


def load_adult(nrows: int | None = None) -> pd.DataFrame:
    path = DATASETS / "adult.csv"
    if not path.exists():
        pytest.skip(f"Adult table not found at {path} (set SYNTHGAN_DATASETS)")
    df = pd.read_csv(path, skipinitialspace=True, na_values="?", nrows=nrows)
    df.columns = [c.strip() for c in df.columns]
    return df
