"""The examples run end to end on their small default and produce what they promise.

Each script runs in a subprocess (``OMP_NUM_THREADS=1``) writing into a temporary folder;
the checks read its ``summary.json`` and outputs. The image and fraud examples take about a
minute each on 2 cores and are marked ``slow`` (CI runs them with ``-m slow``), as is the
notebook run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthgan import ImageSynthesizer, TabularSynthesizer
from synthgan.io import read_table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _run(name: str, out: Path) -> dict:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out)],
        env=ENV, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", EXAMPLES / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_are_generated_from_the_scripts():
    pytest.importorskip("nbformat")
    builder = _builder()
    for name in builder.EXAMPLES:
        notebook = (EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8")
        assert notebook == builder.render(EXAMPLES / f"{name}.py"), f"run python examples/build_notebooks.py ({name})"
        assert '"outputs": []' in notebook and '"execution_count": null' in notebook  # committed without outputs


def test_percent_cells_are_split_into_code_and_markdown():
    builder = _builder()
    script = "# %% [markdown]\n# # Title\n#\n# Text.\n\n# %%\nx = 1\n\n\n# %%\n\n# %%\ny = 2\n"
    assert builder.cells(script) == [("markdown", "# Title\n\nText."), ("code", "x = 1"), ("code", "y = 2")]


def test_test_fixtures_example(tmp_path):
    summary = _run("test_fixtures", tmp_path)
    assert summary["pytest_returncode"] == 0 and summary["pytest_summary"].startswith("4 passed")
    assert summary["model_bytes"] < 3_000_000  # small enough to commit
    assert summary["sqlite_rows"] == 200
    project = tmp_path / "project" / "tests"
    table = summary["table"]
    model = TabularSynthesizer.load(project / "models" / f"{table}.synth", device="cpu")
    stored = read_table(project / "fixtures.sqlite", table=table)
    expected = model.sample(200, seed=7)  # the fixture's rows; SQLite stores categories as text
    expected = expected.astype({c: object for c in expected.select_dtypes("category").columns})
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)
    assert "synthetic_table(" in (project / "conftest.py").read_text()


@pytest.mark.slow
def test_fraud_augmentation_example(tmp_path):
    summary = _run("fraud_augmentation", tmp_path)
    fraud_label = 1 if summary["source"].startswith("fraud") else "malignant"
    rows = read_table(tmp_path / "synthetic_fraud.csv")
    target = "FraudFound_P" if fraud_label == 1 else "diagnosis"
    assert len(rows) == summary["synthetic_fraud_rows"] > 0 and (rows[target] == fraud_label).all()
    for arm in summary["classifier"].values():
        assert 0 <= arm["PR AUC"] <= 1 and 0 <= arm["recall"] <= 1
    assert -1 <= summary["augmentation_lift"] <= 1
    assert summary["augmentation_verdict"] in ("helped", "no clear change", "hurt")
    assert summary["privacy"]["exact_match_rate"] == 0  # sample() never releases a training row
    assert 0 <= summary["privacy"]["mia_auc"] <= 1
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Augmentation lift" in html and "Privacy" in html
    assert TabularSynthesizer.load(tmp_path / "fraud.synth").sample(5, seed=0).shape[1] == rows.shape[1]


@pytest.mark.slow
def test_medical_images_example(tmp_path):
    summary = _run("medical_images", tmp_path)
    arms = summary["classifier"]
    assert set(arms) == {"real only (TRTR)", "synthetic only (TSTR)", "real + synthetic"}
    for scores in arms.values():
        assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["ROC AUC"] <= 1
    assert summary["synthetic_images"] == summary["train_images"] and summary["domain_fid"] >= 0
    from PIL import Image

    grid = Image.open(tmp_path / "grid.png")
    assert grid.height > grid.width / 3  # two rows (real, synthetic) per class
    gen = ImageSynthesizer.load(tmp_path / "images.synth")
    assert gen.sample(3, seed=0).dtype.name == "uint8"
    assert "Image utility" in (tmp_path / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["test_fixtures", "fraud_augmentation", "medical_images"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHGAN_EXAMPLES_OUT", str(tmp_path))  # the kernel inherits it
    notebook = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    summary = json.loads((tmp_path / name / "summary.json").read_text())
    assert summary["epochs"] > 0
    frame = pd.DataFrame([summary])
    assert not frame.isna().any().any()
