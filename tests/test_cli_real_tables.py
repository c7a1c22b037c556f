"""Real tables through the ``synthgan`` command (issue 15, the CLI and file-reading parts).

Codes with leading zeros stay text; CSVs separated by ``;``, tabs or ``|`` are read as
tables; ``--condition`` mistakes are named in the command's own syntax; no command writes
over an existing output without ``--overwrite``; ``sample --allow-training-rows`` opts out
of the exact-match filter; every option's help states its default; the demo picks its
threads and announces its stages.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan import TabularSynthesizer
from synthgan.cli import _DefaultsHelp, build_parser, listing, main
from synthgan.io import read_table
from synthgan.schema import ColumnKind

ZIPS = ["02139", "01002", "10001", "94110", "00501"]
ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fit(capsys, data: Path, model: Path, *extra) -> None:
    code, _, err = run(capsys, "fit", data, "-o", model, "--epochs", 2, "--seed", 0, "-q", *extra)
    assert code == 0, err


def people(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "zip": rng.choice(ZIPS, n),
            "alcohol": rng.normal(13, 1, n).round(2),
            "age": rng.integers(18, 80, n),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "joined": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "people.csv"
    people().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model(people_csv, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "people.synth"
    assert main(["fit", str(people_csv), "-o", str(path), "--epochs", "2", "--seed", "0", "-q"]) == 0
    return path


# -- item 2: a column whose text has leading zeros is text, not a number ------------------


def test_zip_codes_keep_their_leading_zeros_through_fit_sample_and_write(people_csv, model, tmp_path, capsys):
    assert "02139" in people_csv.read_text()  # the file holds the codes as written
    assert TabularSynthesizer.load(model).transformer_.schema["zip"].kind is ColumnKind.CATEGORICAL
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model, "-n", 80, "-o", out, "--seed", 0, "-q")
    assert code == 0, err
    written = pd.read_csv(out, dtype=str)["zip"]
    assert written.str.len().eq(5).all()  # '02139', never '2139'
    assert set(written) <= set(ZIPS)
    assert written.str.startswith("0").any()  # the categories with a leading zero come back with it
    assert read_table(out)["zip"].dtype == object


def test_sampling_a_zip_code_condition_matches_its_text(model, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model, "-n", 20, "-o", out, "--condition", "zip=02139", "-q")
    assert code == 0, err
    assert (pd.read_csv(out, dtype=str)["zip"] == "02139").all()


@pytest.mark.parametrize(
    "values, expected",
    [
        (["02139", "10001", "94110"], ["02139", "10001", "94110"]),  # zip codes
        (["007", "123", "042"], ["007", "123", "042"]),  # account numbers
        (["0612345678", "0798765432", "0611111111"], ["0612345678", "0798765432", "0611111111"]),  # phones
        (["-007", "5", "12"], ["-007", "5", "12"]),  # a signed code
        (["0012.50", "3.25", "4.00"], ["0012.50", "3.25", "4.00"]),  # a float code
        (["02139", "", "10001"], ["02139", np.nan, "10001"]),  # with a missing value
    ],
    ids=["zip", "account", "phone", "signed", "float", "missing"],
)
def test_read_table_keeps_codes_with_leading_zeros_as_text(tmp_path, values, expected):
    path = tmp_path / "codes.csv"
    path.write_text("code,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    df = read_table(path)
    assert df["code"].dtype == object
    pd.testing.assert_series_equal(df["code"], pd.Series(expected, dtype=object, name="code"))
    assert df["n"].dtype == np.int64  # the other columns are read as before


def test_read_table_reads_ordinary_numbers_as_numbers(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("a,b,c\n0,0.5,-0.25\n1,10.0,0\n0,0.05,3\n")
    df = read_table(path)
    assert df["a"].tolist() == [0, 1, 0] and df["a"].dtype == np.int64
    assert df["b"].tolist() == [0.5, 10.0, 0.05]
    assert df["c"].tolist() == [-0.25, 0.0, 3.0]


def test_jsonl_keeps_quoted_codes_as_text(tmp_path, capsys):
    data = people(120)
    path = tmp_path / "people.jsonl"
    data.to_json(path, orient="records", lines=True)
    assert '"zip":"0' in path.read_text()  # quoted, as JSON writes text
    back = read_table(path)
    assert back["zip"].tolist() == data["zip"].tolist()
    assert back["age"].tolist() == data["age"].tolist()
    model = tmp_path / "m.synth"
    fit(capsys, path, model)
    out = tmp_path / "rows.jsonl"
    assert run(capsys, "sample", model, "-n", 40, "-o", out, "-q")[0] == 0
    assert set(read_table(out)["zip"]) <= set(ZIPS)


# -- item 8: CSVs that are not comma-separated ---------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_a_csv_separated_otherwise_is_read_as_its_columns(tmp_path, capsys, sep):
    data = people(150)
    path = tmp_path / "people.csv"
    data.to_csv(path, index=False, sep=sep)
    df = read_table(path)
    assert list(df.columns) == list(data.columns)
    assert df["age"].tolist() == data["age"].tolist() and df["zip"].tolist() == data["zip"].tolist()
    model = tmp_path / "m.synth"
    fit(capsys, path, model)
    schema = TabularSynthesizer.load(model).transformer_.schema
    assert schema.names == list(data.columns)
    assert schema["alcohol"].kind is ColumnKind.CONTINUOUS and schema["joined"].kind is ColumnKind.DATETIME


def test_decimal_commas_in_a_semicolon_csv_are_numbers(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("price;qty;code;name\n13,5;1;007;x y\n1.234,25;2;12;a,b\n-0,25;3;0;c\n")
    df = read_table(path)
    assert df["price"].tolist() == [13.5, 1234.25, -0.25]
    assert df["code"].tolist() == ["007", "12", "0"]  # a code stays text
    assert df["name"].tolist() == ["x y", "a,b", "c"]


def test_a_csv_whose_delimiter_cannot_be_told_is_refused_by_name(tmp_path, capsys):
    path = tmp_path / "ragged.csv"
    path.write_text("a;b;c\n1;2\n1;2;3;4\n5;6;7\n")
    out = tmp_path / "m.synth"
    code, _, err = run(capsys, "fit", path, "-o", out, "--epochs", 1, "-q")
    assert code == 2
    assert "ragged.csv" in err and "';'" in err and "comma-separated" in err
    assert not out.exists()


def test_a_true_one_column_csv_is_still_one_column(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("color\nred\nblue\n")
    assert read_table(path)["color"].tolist() == ["red", "blue"]


# -- item 8: --condition messages in the command's syntax -----------------------------------


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("alcohol=13.5", "alcohol=LOW..HIGH"),  # one value on a continuous column
        ("alcohol=1", "alcohol=LOW..HIGH"),  # an integer-looking one too: no "range 1"
        ("joined=2024-02-01", "joined=LOW..HIGH"),  # one date
        ("age=1", "the model saw 'age' from 18 to 79"),  # a whole number outside what was seen
        ("age=200..300", "the model saw 'age' from 18 to 79"),
        ("alcohol=30..", "the model saw 'alcohol' from"),
        ("joined=2030-01-01..", "the model saw 'joined' from 2024-01-01 to 2024-07-18"),
        ("age=3.5", "'age' holds whole numbers"),
        ("age=young..old", "'young' is not a number"),
        ("joined=soon..later", "'soon' is not a date"),
        ("age=40..30", "LOW (40) is above HIGH (30)"),
        ("age=..", "give LOW, HIGH or both"),
        ("city=Paris..Rome", "city=VALUE (seen: Lyon, Nice, Paris)"),
        ("city=Tokyo", "--condition city=Tokyo: value 'Tokyo' was never seen"),
        ("salary=3", "the model has no column 'salary'; its columns: zip, alcohol, age, city, joined"),
    ],
)
def test_condition_mistakes_are_named_in_cli_syntax(model, tmp_path, capsys, condition, expected):
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", out, "--condition", condition)
    assert code == 2
    assert expected in err
    assert f"--condition {condition}" in err  # which option is wrong
    for python in ("(low, high)", "range 1", "range (", "['", "Timestamp("):
        assert python not in err
    assert not out.exists()


def test_conditions_in_cli_syntax_still_sample(model, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    code, _, err = run(
        capsys, "sample", model, "-n", 30, "-o", out, "-q", "--condition", "city=Nice", "--condition", "age=30..",
        "--condition", "joined=2024-02-01..2024-04-30",
    )
    assert code == 0, err
    rows = read_table(out)
    assert (rows["city"] == "Nice").all() and (rows["age"] >= 30).all()
    # ISO dates in a CSV stay text on reading (synthgan.forms models them as dates, same layout back)
    assert pd.to_datetime(rows["joined"]).between(pd.Timestamp("2024-02-01"), pd.Timestamp("2024-04-30")).all()


def test_column_lists_say_how_many_more(tmp_path, capsys):
    assert listing([f"c{i}" for i in range(20)]) == ", ".join(f"c{i}" for i in range(12)) + " ... and 8 more"
    assert listing(["a", "b"]) == "a, b"
    wide = pd.DataFrame({f"col{i:02d}": np.arange(60) % (i + 3) * 1.5 for i in range(20)})
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    model = tmp_path / "wide.synth"
    fit(capsys, path, model)
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", tmp_path / "r.csv", "--condition", "nope=1")
    assert code == 2
    assert "col11 ... and 8 more" in err and "col12" not in err


# -- item 5: an explicit opt-out of the exact-match filter ---------------------------------


def test_allow_training_rows_samples_a_table_whose_rows_are_all_training_rows(tmp_path, capsys):
    path = tmp_path / "colors.csv"
    pd.DataFrame({"color": np.random.default_rng(0).choice(["red", "green", "blue"], 150)}).to_csv(path, index=False)
    model = tmp_path / "colors.synth"
    fit(capsys, path, model)
    out = tmp_path / "rows.csv"
    code, _, err = run(capsys, "sample", model, "-n", 10, "-o", out, "--seed", 0, "-q")
    assert code == 2
    assert "--allow-training-rows" in err
    assert not out.exists()
    code, out_text, err = run(capsys, "sample", model, "-n", 10, "-o", out, "--seed", 0, "-q", "--allow-training-rows")
    assert code == 0, err
    rows = pd.read_csv(out)
    assert len(rows) == 10 and set(rows["color"]) <= {"red", "green", "blue"}


def test_allow_training_rows_is_documented_as_a_release(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--allow-training-rows" in text and "equal a training row" in text


# -- item 9: no command writes over an existing output without --overwrite --------------------


@pytest.fixture(scope="module")
def image_model(tmp_path_factory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / "imgs" / label).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / "imgs" / label / f"{i}.png")
    path = root / "img.synth"
    assert main(["fit-images", str(root / "imgs"), "-o", str(path), "--epochs", "1", "--batch-size", "8",
                 "--channels", "8", "--seed", "0", "-q"]) == 0
    return path


def _commands(people_csv: Path, model: Path, image_model: Path, folder: Path) -> dict[str, tuple[list, Path]]:
    """Each command that writes files, with the output it would write."""
    images = image_model.parent / "imgs"
    return {
        "fit": (["fit", people_csv, "-o", folder / "m.synth", "--epochs", 1, "-q"], folder / "m.synth"),
        "sample-csv": (["sample", model, "-n", 5, "-o", folder / "train.csv", "-q"], folder / "train.csv"),
        "sample-jsonl": (["sample", model, "-n", 5, "-o", folder / "r.jsonl", "-q"], folder / "r.jsonl"),
        "sample-parquet": (["sample", model, "-n", 5, "-o", folder / "r.parquet", "-q"], folder / "r.parquet"),
        "evaluate-html": (["evaluate", people_csv, people_csv, "-o", folder / "r.html", "-q"], folder / "r.html"),
        "evaluate-json": (["evaluate", people_csv, people_csv, "--json", folder / "r.json", "-q"], folder / "r.json"),
        "fit-images": (["fit-images", images, "-o", folder / "i.synth", "--epochs", 1, "-q"], folder / "i.synth"),
        "sample-images-grid": (
            ["sample-images", image_model, "-n", 2, "-o", folder / "new", "--grid", folder / "g.png"], folder / "g.png"
        ),
        "sample-images-folder": (["sample-images", image_model, "-n", 2, "-o", folder], folder / "keep.png"),
        "demo": (["demo", "--out", folder, "--epochs", 1, "--image-epochs", 0, "-q"], folder / "summary.md"),
    }


@pytest.mark.parametrize(
    "command", ["fit", "sample-csv", "sample-jsonl", "sample-parquet", "evaluate-html", "evaluate-json",
                "fit-images", "sample-images-grid", "sample-images-folder", "demo"],
)
def test_every_command_refuses_an_existing_output(people_csv, model, image_model, tmp_path, capsys, command):
    argv, existing = _commands(people_csv, model, image_model, tmp_path)[command]
    existing.write_bytes(b"the user's own file\x00\x01")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "--overwrite" in err
    assert existing.read_bytes() == b"the user's own file\x00\x01"  # unchanged, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing.name]  # and nothing else written
    assert out == ""


def test_overwrite_replaces_a_sample_and_a_model(people_csv, model, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    out.write_text("old\n")
    code, _, err = run(capsys, "sample", model, "-n", 7, "-o", out, "--overwrite", "-q")
    assert code == 0, err
    assert len(pd.read_csv(out)) == 7
    target = tmp_path / "m.synth"
    target.write_text("old")
    fit(capsys, people_csv, target, "--overwrite")
    assert TabularSynthesizer.load(target).columns == list(people().columns)


def test_a_folder_is_not_a_file_output_even_with_overwrite(people_csv, tmp_path, capsys):
    (tmp_path / "m.synth").mkdir()
    (tmp_path / "m.synth" / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "fit", people_csv, "-o", tmp_path / "m.synth", "--overwrite", "--epochs", 1, "-q")
    assert code == 2 and "is a folder" in err
    assert (tmp_path / "m.synth" / "keep.txt").read_text() == "mine"


def test_a_failed_overwrite_leaves_the_old_output(model, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    out.write_bytes(b"previous,result\n1,2\n")
    code, _, err = run(capsys, "sample", model, "-n", 10, "-o", out, "--overwrite", "--condition", "city=Tokyo")
    assert code == 2 and "Tokyo" in err
    assert out.read_bytes() == b"previous,result\n1,2\n"


def test_an_input_is_never_an_output(people_csv, model, tmp_path, capsys):
    before = people_csv.read_bytes()
    code, _, err = run(capsys, "fit", people_csv, "-o", people_csv, "--overwrite", "--epochs", 1)
    assert code == 2 and "also an input" in err
    assert people_csv.read_bytes() == before
    code, _, err = run(capsys, "evaluate", people_csv, people_csv, "--json", people_csv.with_suffix(".json"), "-q",
                       "--model", model, "--overwrite", "-o", model)
    assert code == 2 and model.is_file()


def test_a_parts_folder_is_replaced_only_with_overwrite(model, tmp_path, capsys):
    folder = tmp_path / "parts"
    assert run(capsys, "sample", model, "-n", 30, "-o", f"{folder}/", "--chunk-rows", 10, "-q")[0] == 0
    assert len(list(folder.glob("part-*.parquet"))) == 3
    code, _, err = run(capsys, "sample", model, "-n", 12, "-o", f"{folder}/", "-q")
    assert code == 2 and "--overwrite" in err
    assert len(pd.read_parquet(folder)) == 30
    code, _, err = run(capsys, "sample", model, "-n", 12, "-o", f"{folder}/", "--overwrite", "-q")
    assert code == 0, err
    assert len(pd.read_parquet(folder)) == 12 and len(list(folder.glob("part-*.parquet"))) == 1
    (folder / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "sample", model, "-n", 12, "-o", f"{folder}/", "--overwrite", "-q")
    assert code == 2 and "notes.txt" in err
    assert (folder / "notes.txt").read_text() == "mine" and len(pd.read_parquet(folder / "part-000000.parquet")) == 12


def test_sqlite_overwrite_replaces_the_table_and_keeps_the_others(model, tmp_path, capsys):
    db = tmp_path / "fixtures.sqlite"
    for table, n in (("customers", 9), ("orders", 4)):
        assert run(capsys, "sample", model, "-n", n, "-o", db, "--table", table, "-q")[0] == 0
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", db, "--table", "customers", "-q")
    assert code == 2 and "--replace" in err
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", db, "--table", "customers", "--overwrite", "-q")
    assert code == 0, err
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from customers").fetchone()[0] == 5
        assert con.execute("select count(*) from orders").fetchone()[0] == 4


def test_sample_images_replaces_its_own_folder_only(image_model, tmp_path, capsys):
    out = tmp_path / "fake"
    assert run(capsys, "sample-images", image_model, "-n", 12, "-o", out, "--seed", 0)[0] == 0
    assert sum(1 for _ in out.rglob("*.png")) == 12
    code, _, err = run(capsys, "sample-images", image_model, "-n", 3, "-o", out)
    assert code == 2 and "--overwrite" in err
    assert sum(1 for _ in out.rglob("*.png")) == 12
    code, _, err = run(capsys, "sample-images", image_model, "-n", 3, "-o", out, "--overwrite")
    assert code == 0, err
    assert sum(1 for _ in out.rglob("*.png")) == 3  # no image of the earlier run is left mixed in
    (out / "cat" / "my_scan.png").write_bytes(b"x")
    code, _, err = run(capsys, "sample-images", image_model, "-n", 3, "-o", out, "--overwrite")
    assert code == 2 and "my_scan.png" in err and (out / "cat" / "my_scan.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


# -- item 9: help and version -------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_has_help_and_a_default():
    commands = _subcommands()
    assert set(commands) == {"fit", "sample", "evaluate", "fit-images", "sample-images", "demo"}
    for name, sub in commands.items():
        assert sub.formatter_class is _DefaultsHelp, name
        formatter = sub._get_formatter()
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}: no help"
            if action.option_strings and not action.required:
                assert "default" in formatter._get_help_string(action), f"{name} {action.option_strings}: no default"


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 1000000)" in text and "(default: auto)" in text and "(default: off)" in text
    with pytest.raises(SystemExit):
        main(["fit-images", "--help"])
    assert "(default: train)" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"synthgan {importlib.metadata.version('synthgan')}"


# -- item 11: the demo's threads, stages and estimates; the docs' images script -----------


def _machine(monkeypatch, cpus: int, load: float, physical: int | None = None) -> None:
    import synthgan.demo as demo

    for name in demo.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(demo.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(demo.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(demo.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(demo, "_physical_cores", lambda: physical)


@pytest.mark.parametrize(
    "cpus, load, physical, threads",
    [(2, 0.1, 2, 2), (2, 1.2, 2, 1), (2, 3.0, 2, 1), (8, 3.0, 8, 5), (8, 0.0, 4, 4), (4, 0.0, None, 4)],
    ids=["quiet-2", "busy-2", "overloaded-2", "busy-8", "hyperthreads", "no-psutil"],
)
def test_demo_threads_follow_free_physical_cores(monkeypatch, cpus, load, physical, threads):
    from synthgan.demo import choose_threads

    _machine(monkeypatch, cpus, load, physical)
    assert choose_threads()[0] == threads


def test_demo_threads_respect_the_users_setting(monkeypatch):
    import torch

    from synthgan.demo import choose_threads
    from synthgan.errors import ConfigError

    _machine(monkeypatch, 8, 0.0, 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    count, why = choose_threads()
    assert count == torch.get_num_threads() and "OMP_NUM_THREADS=3" in why
    assert choose_threads(2) == (2, "as asked")
    with pytest.raises(ConfigError, match="threads=0"):
        choose_threads(0)


def test_demo_estimates_follow_the_work():
    from synthgan.demo import BREAST_STEP_S, DIGITS_EPOCH_S, estimate_seconds

    full = estimate_seconds(426, 442, None, 40)
    short = estimate_seconds(426, 442, 2, 0)
    assert len(full) == 4 and all(s > 0 for s in full)
    assert full[0] == pytest.approx(4_000 * BREAST_STEP_S, rel=0.05)  # the size-aware budget's 4,000 steps
    assert full[2] == 40 * DIGITS_EPOCH_S and short[2] == 0
    assert short[0] < full[0] / 100


def test_demo_prints_its_stages_and_keeps_the_process_threads(tmp_path, capsys):
    import torch

    from synthgan.demo import run_demo

    before = torch.get_num_threads()
    run_demo(tmp_path / "demo", epochs=1, image_epochs=0, threads=1, verbose=True)
    err = capsys.readouterr().err
    assert torch.get_num_threads() == before
    assert "1 torch thread(s) (as asked)" in err
    for stage in (1, 2, 4):
        assert f"[{stage}/4]" in err and err.count(f"[{stage}/4]") == 2  # its start and its end
    assert err.count("done in") == 3 and "about" in err
    assert "- ran in" in (tmp_path / "demo" / "summary.md").read_text()


def test_doc_images_script_says_when_no_browser_is_found(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("make_doc_images", ROOT / "scripts" / "make_doc_images.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.delenv(script.BROWSER_VARIABLE, raising=False)
    monkeypatch.setattr(script.shutil, "which", lambda name: None)
    ran = []
    monkeypatch.setattr(script, "run_demo", lambda *a: ran.append(a))
    assert script.main([]) == 2
    err = capsys.readouterr().err
    assert "no headless browser found" in err and "chromium" in err and "--browser" in err
    assert ran == []  # the demo does not run for minutes before the browser is known
    assert script.main(["--browser", "/no/such/chrome"]) == 2
    assert "/no/such/chrome" in capsys.readouterr().err
