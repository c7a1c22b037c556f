"""The ``synthgan`` command, run in-process through ``synthgan.cli.main`` (and once as a process).

Failures must exit with code 2, say what is wrong on stderr, and leave nothing under the
output name: no file, no half-written file, no temp file beside it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan import TabularSynthesizer
from synthgan.cli import main
from synthgan.demo import load_breast_cancer_frame
from synthgan.io import read_table
from synthgan.schema import ColumnKind

CITIES = ["Paris", "Lyon", "Nice"]


def leftovers(folder: Path) -> list[str]:
    """Temp files an atomic write would leave behind if it failed to clean up."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(1)
    n = 200
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "score": rng.normal(size=n).round(3),
            "city": rng.choice(CITIES, n),
            "flag": rng.integers(0, 2, n),
            "joined": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )
    path = tmp_path_factory.mktemp("data") / "people.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(table_csv, tmp_path_factory) -> Path:
    """``synthgan fit`` once per module (tiny), checked by test_fit_writes_a_loadable_model."""
    path = tmp_path_factory.mktemp("model") / "people.synth"
    code = main(["fit", str(table_csv), "-o", str(path), "--epochs", "1", "--batch-size", "100", "--seed", "0", "-q"])
    assert code == 0
    return path


def test_help_as_a_process():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "synthgan", "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("fit", "sample", "demo"):
        assert command in proc.stdout


def test_fit_writes_a_loadable_model(model_file, table_csv):
    synth = TabularSynthesizer.load(model_file)
    assert synth.columns == list(pd.read_csv(table_csv).columns)
    schema = synth.transformer_.schema
    assert schema["joined"].kind is ColumnKind.DATETIME  # ISO dates in the CSV are read as dates
    assert schema["flag"].kind is ColumnKind.CATEGORICAL
    assert schema["age"].kind is ColumnKind.INTEGER
    assert leftovers(model_file.parent) == []


def test_fit_reports_where_the_model_went(table_csv, tmp_path, capsys):
    out_path = tmp_path / "m.synth"
    code, out, err = run(capsys, "fit", table_csv, "-o", out_path, "--epochs", "1", "--batch-size", "100", "-q")
    assert code == 0, err
    assert str(out_path) in out
    assert out_path.is_file()


def test_fit_with_a_metadata_file(table_csv, tmp_path, capsys):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"flag": "integer", "city": "categorical"}))
    out_path = tmp_path / "m.synth"
    code, _, err = run(
        capsys, "fit", table_csv, "-o", out_path, "--metadata", meta, "--epochs", "1", "--batch-size", "100", "-q"
    )
    assert code == 0, err
    assert TabularSynthesizer.load(out_path).transformer_.schema["flag"].kind is ColumnKind.INTEGER


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_sample_to_each_format(model_file, table_csv, tmp_path, capsys, suffix):
    out_path = tmp_path / f"rows{suffix}"
    code, out, err = run(capsys, "sample", model_file, "-n", 37, "-o", out_path, "--seed", 3)
    assert code == 0, err
    assert f"37 rows written to {out_path}" in out
    rows = read_table(out_path)
    assert len(rows) == 37
    assert list(rows.columns) == list(pd.read_csv(table_csv).columns)
    assert set(rows["city"]) <= set(CITIES)
    assert pd.api.types.is_integer_dtype(rows["age"])
    assert leftovers(tmp_path) == []


def test_sample_is_repeatable_with_a_seed(model_file, tmp_path, capsys):
    for name in ("a.csv", "b.csv"):
        assert run(capsys, "sample", model_file, "-n", 25, "-o", tmp_path / name, "--seed", 11)[0] == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_sample_with_conditions(model_file, tmp_path, capsys, suffix):
    out_path = tmp_path / f"paris{suffix}"
    code, _, err = run(
        capsys, "sample", model_file, "-n", 40, "-o", out_path,
        "--condition", "city=Paris", "--condition", "age=30..45", "--condition", "score=-0.5..0.75",
    )  # fmt: skip
    assert code == 0, err
    rows = read_table(out_path)
    assert len(rows) == 40
    assert (rows["city"] == "Paris").all()
    assert rows["age"].between(30, 45).all()
    assert rows["score"].between(-0.5, 0.75).all()


def test_sample_with_an_integer_category_and_an_open_range(model_file, tmp_path, capsys):
    out_path = tmp_path / "flagged.csv"
    code, _, err = run(
        capsys, "sample", model_file, "-n", 30, "-o", out_path, "--condition", "flag=1", "--condition", "age=60.."
    )
    assert code == 0, err
    rows = pd.read_csv(out_path)
    assert (rows["flag"] == 1).all()
    assert (rows["age"] >= 60).all()


# -- failures: exit code 2, a message on stderr, nothing written --------------------------


def test_fit_on_a_missing_input_file(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "fit", tmp_path / "nowhere.csv", "-o", out_dir / "m.synth", "--epochs", "1")
    assert code == 2
    assert "nowhere.csv" in err and "does not exist" in err
    assert "Traceback" not in err
    assert not (out_dir / "m.synth").exists()
    assert leftovers(out_dir) == []


def test_fit_with_an_invalid_option(table_csv, tmp_path, capsys):
    code, _, err = run(capsys, "fit", table_csv, "-o", tmp_path / "m.synth", "--epochs", "0")
    assert code == 2
    assert "epochs=0" in err
    assert not (tmp_path / "m.synth").exists()


def test_sample_with_an_unknown_condition_column(model_file, tmp_path, capsys):
    out_path = tmp_path / "out" / "rows.csv"
    code, out, err = run(capsys, "sample", model_file, "-n", 10, "-o", out_path, "--condition", "salary=3")
    assert code == 2
    assert "'salary'" in err
    assert out == ""
    assert not out_path.exists()
    assert leftovers(out_path.parent) == []


def test_sample_with_a_malformed_condition(model_file, tmp_path, capsys):
    out_path = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model_file, "-n", 10, "-o", out_path, "--condition", "city")
    assert code == 2
    assert "'city'" in err and "COLUMN=VALUE" in err
    assert not out_path.exists()


def test_sample_from_a_corrupted_model_file(model_file, tmp_path, capsys):
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "broken.synth"
    broken.write_bytes(bytes(data))
    out_path = tmp_path / "out" / "rows.parquet"
    code, _, err = run(capsys, "sample", broken, "-n", 10, "-o", out_path)
    assert code == 2
    assert "broken.synth" in err and "checksum" in err
    assert not out_path.exists()
    assert leftovers(out_path.parent) == []


def test_failed_sample_leaves_an_existing_output_untouched(model_file, tmp_path, capsys):
    out_path = tmp_path / "rows.csv"
    out_path.write_text("previous,result\n1,2\n")
    code, _, _ = run(capsys, "sample", model_file, "-n", 10, "-o", out_path, "--condition", "city=Tokyo")
    assert code == 2
    assert out_path.read_text() == "previous,result\n1,2\n"
    assert leftovers(tmp_path) == []


def test_unknown_output_format(model_file, tmp_path, capsys):
    code, _, err = run(capsys, "sample", model_file, "-n", 5, "-o", tmp_path / "rows.xlsx")
    assert code == 2
    assert ".xlsx" in err
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_nothing(model_file, tmp_path, capsys, monkeypatch):
    """Ctrl-C half way through writing: exit 130 and no (partial) file under the final name."""
    real_to_csv = pd.DataFrame.to_csv

    def half_then_interrupt(self, path, *args, **kwargs):
        real_to_csv(self.iloc[: len(self) // 2], path, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_interrupt)
    out_path = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model_file, "-n", 50, "-o", out_path)
    assert code == 130
    assert "nothing was written" in err
    assert not out_path.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("content", [None, "{not json", '{"flag": "bogus"}'], ids=["missing", "bad-json", "bad-kind"])
def test_fit_with_a_bad_metadata_file(table_csv, tmp_path, capsys, content):
    meta = tmp_path / "meta.json"
    if content is not None:
        meta.write_text(content)
    out_path = tmp_path / "m.synth"
    try:
        code, _, err = run(capsys, "fit", table_csv, "-o", out_path, "--metadata", meta, "--epochs", "1", "-q")
    except Exception as exc:  # an escaped exception is the bug; report it as a plain failure
        pytest.fail(f"{type(exc).__name__} escaped main(): {exc}")
    assert code == 2
    assert "meta.json" in err or "bogus" in err
    assert not out_path.exists()


def test_sample_with_a_text_range_on_a_number_column(model_file, tmp_path, capsys):
    out_path = tmp_path / "rows.csv"
    try:
        code, _, err = run(capsys, "sample", model_file, "-n", 5, "-o", out_path, "--condition", "age=young..old")
    except Exception as exc:
        pytest.fail(f"{type(exc).__name__} escaped main(): {exc}")
    assert code == 2
    assert "'age'" in err
    assert not out_path.exists()


@pytest.mark.filterwarnings("ignore:.*mixed time zones:FutureWarning")
def test_fit_on_a_csv_with_offset_datetimes(mixed_df, tmp_path, capsys):
    csv = tmp_path / "mixed.csv"
    mixed_df.to_csv(csv, index=False)  # signup is Europe/Paris: +01:00 and +02:00 offsets
    out_path = tmp_path / "m.synth"
    code, _, err = run(capsys, "fit", csv, "-o", out_path, "--epochs", "1", "--batch-size", "100", "-q")
    assert code == 0, err
    assert TabularSynthesizer.load(out_path).transformer_.schema["signup"].kind is ColumnKind.DATETIME


def test_outputs_get_ordinary_file_permissions(model_file, tmp_path, capsys):
    umask = os.umask(0o022)
    try:
        out_path = tmp_path / "rows.csv"
        assert run(capsys, "sample", model_file, "-n", 5, "-o", out_path)[0] == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o644


# -- demo ----------------------------------------------------------------------------------


def test_demo(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--epochs", 2, "--image-epochs", 1, "--out", out_dir, "-q")
    assert code == 0, err
    real = load_breast_cancer_frame()

    summary = (out_dir / "summary.md").read_text()
    assert summary.strip() in out  # the summary is also printed
    assert "2 of 2 planned epochs" in summary
    for column in real.columns:
        assert f"| {column} |" in summary

    synthetic = pd.read_csv(out_dir / "synthetic.csv")
    assert list(synthetic.columns) == list(real.columns)
    assert len(synthetic) == len(real)
    assert set(synthetic["diagnosis"]) <= {"malignant", "benign"}

    malignant = pd.read_csv(out_dir / "synthetic_malignant.csv")
    assert len(malignant) > 0
    assert list(malignant.columns) == list(real.columns)
    assert (malignant["diagnosis"] == "malignant").all()

    model = TabularSynthesizer.load(out_dir / "model.synth")
    assert model.columns == list(real.columns)
    rows = model.sample(10, conditions={"diagnosis": "benign"}, seed=0)
    assert (rows["diagnosis"] == "benign").all()
    assert (out_dir / "report.html").read_text().count("<svg") > 3
    assert json.loads((out_dir / "report.json").read_text())["sections"]
    from synthgan import ImageSynthesizer

    digits = ImageSynthesizer.load(out_dir / "digits.synth")
    assert digits.classes_ == list(range(10)) and digits.sample(3, labels=[7, 7, 7]).shape == (3, 8, 8)
    assert (out_dir / "digits_grid.png").stat().st_size > 0
    fairness = (out_dir / "fairness_report.html").read_text()
    assert "Bias (sensitive groups)" in fairness and "sex" in fairness
    assert "- bias: diabetes table" in summary
    assert leftovers(out_dir) == []



def test_fit_images_and_sample_images(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(tmp_path / "imgs" / label / f"{i}.png")
    model = tmp_path / "img.synth"
    code, _, err = run(capsys, "fit-images", tmp_path / "imgs", "-o", model, "--epochs", 1, "--batch-size", 8,
                       "--channels", 8, "--seed", 0, "--lr", 5e-4, "--class-loss", 0.5, "-q")
    assert code == 0, err
    from synthgan import ImageSynthesizer

    fitted = ImageSynthesizer.load(model)
    assert (fitted.generator_lr, fitted.discriminator_lr, fitted.class_loss) == (5e-4, 5e-4, 0.5)
    code, _, err = run(capsys, "sample-images", model, "-n", 5, "-o", tmp_path / "out", "--label", "dog",
                       "--grid", tmp_path / "grid.png", "--seed", 1)
    assert code == 0, err
    assert len(list((tmp_path / "out" / "dog").glob("*.png"))) == 5 and not (tmp_path / "out" / "cat").exists()
    assert Image.open(tmp_path / "grid.png").size[0] > 0
    code, _, err = run(capsys, "sample-images", model, "-n", 2, "-o", tmp_path / "bad", "--label", "bird")
    assert code == 2 and "bird" in err and not (tmp_path / "bad").exists()
    code, _, err = run(capsys, "fit-images", tmp_path / "nowhere", "-o", tmp_path / "x.synth")
    assert code == 2 and "nowhere" in err and not (tmp_path / "x.synth").exists()


def test_sample_writes_a_sqlite_table_and_replaces_it_only_when_asked(model_file, tmp_path, capsys):
    import sqlite3

    db = tmp_path / "fixtures.sqlite"
    code, out, err = run(capsys, "sample", model_file, "-n", 30, "--seed", 7, "-o", db, "--table", "customers")
    assert code == 0, err
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from customers").fetchone()[0] == 30
    code, _, err = run(capsys, "sample", model_file, "-n", 5, "-o", db, "--table", "customers")
    assert code == 2 and "customers" in err  # an existing table is not silently overwritten
    code, _, err = run(capsys, "sample", model_file, "-n", 5, "-o", db, "--table", "customers", "--replace")
    assert code == 0, err
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from customers").fetchone()[0] == 5
    code, _, err = run(capsys, "sample", model_file, "-n", 5, "-o", tmp_path / "x.csv", "--table", "t")
    assert code == 2 and "SQLite" in err


def test_fit_with_a_target_stores_it(table_csv, tmp_path, capsys):
    out_path = tmp_path / "m.synth"
    code, out, err = run(
        capsys, "fit", table_csv, "-o", out_path, "--epochs", "1", "--batch-size", "100", "--target", "city",
        "--target-balance", "-q",
    )
    assert code == 0, err
    synth = TabularSynthesizer.load(out_path)
    assert synth.target_ == "city" and synth.get_params()["target_balance"] is True
    assert synth.label_model_ is not None  # a class target gets its label model by default
    code, _, err = run(
        capsys, "fit", table_csv, "-o", tmp_path / "plain.synth", "--epochs", "1", "--batch-size", "100",
        "--target", "city", "--no-label-model", "-q",
    )
    assert code == 0, err
    assert TabularSynthesizer.load(tmp_path / "plain.synth").label_model_ is None
    code, _, err = run(capsys, "fit", table_csv, "-o", tmp_path / "x.synth", "--epochs", "1", "--target", "nope")
    assert code == 2 and "'nope'" in err


def test_fit_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--validation", "--patience", "--target", "--fairness",
                   "--continuous-encoding", "--log-dir", "--checkpoint-dir"):
        assert option in text
    assert "(default: 0.1)" in text and "(default: 8)" in text and "size-aware" in text
