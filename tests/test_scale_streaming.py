"""Streaming generation: Parquet parts (and single files) written chunk by chunk from the block stream.

What must hold: exactly n rows; the same rows for a seed whatever the chunk size or output
format; only complete files after an interruption, and a resume that ends with the same
files as an uninterrupted run; named errors for bad input, before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgan import PrivacyFilter, TabularSynthesizer
from synthgan.cli import main
from synthgan.errors import ConditionError, ConfigError, PrivacyFilterError
from synthgan.scale import read_manifest, sample_to_file
from synthgan.scale.blocks import block_seeds
from synthgan.scale.manifest import MANIFEST_NAME
from synthgan.scale.streaming import stream_rows

BLOCK = 1_000  # small blocks, so a few thousand rows span several


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("part-"))


def stray(folder: Path) -> list[str]:
    """Anything but complete parts and the manifest: temp files, half-written parts."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


def write(synth, folder, n=5_000, **kwargs):
    options = dict(chunk_rows=700, seed=3, block_rows=BLOCK, verbose=False)
    return synth.sample_to_parquet(folder, n, **{**options, **kwargs})


@pytest.fixture(scope="module")
def coarse_model():
    """A table whose rows repeat, so the exact-match check drops a good share of candidates."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], n),
            "b": rng.choice(["p", "q", "r"], n),
            "x": rng.normal(size=n).round(2),
        }
    )
    return TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(df), df


def test_exact_rows_and_parts(fitted, tmp_path):
    result = write(fitted, tmp_path / "out")
    assert result.rows == 5_000 and result.files == 8 and result.seed == 3
    names = parts(tmp_path / "out")
    assert names == [f"part-{i:06d}.parquet" for i in range(8)]
    sizes = [pq.read_metadata(tmp_path / "out" / name).num_rows for name in names]
    assert sizes == [700] * 7 + [100]
    manifest = read_manifest(tmp_path / "out")
    assert manifest.complete and manifest.rows == 5_000 and [p.rows for p in manifest.parts] == sizes
    rows = pd.read_parquet(tmp_path / "out")  # the manifest and nothing else is skipped
    in_order = pd.concat([pd.read_parquet(tmp_path / "out" / name) for name in names], ignore_index=True)
    pd.testing.assert_frame_equal(rows, in_order)
    reference = fitted.sample(5, seed=0)
    assert list(rows.columns) == list(reference.columns)
    assert dict(rows.dtypes) == dict(reference.dtypes)
    assert stray(tmp_path / "out") == []


def test_same_rows_whatever_the_chunk_size(fitted, tmp_path):
    write(fitted, tmp_path / "small", chunk_rows=700)
    write(fitted, tmp_path / "large", chunk_rows=2_300)
    write(fitted, tmp_path / "one", chunk_rows=10_000)
    small = pd.read_parquet(tmp_path / "small")
    pd.testing.assert_frame_equal(small, pd.read_parquet(tmp_path / "large"))
    pd.testing.assert_frame_equal(small, pd.read_parquet(tmp_path / "one"))
    assert len(parts(tmp_path / "one")) == 1
    # a shorter run is a prefix of a longer one
    write(fitted, tmp_path / "short", n=1_234, chunk_rows=500)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "short"), small.iloc[:1_234])
    other = write(fitted, tmp_path / "other", seed=4)
    assert other.seed == 4
    assert not pd.read_parquet(tmp_path / "other")["income"].equals(small["income"])


def test_blocks_are_seeded_from_seed_and_index():
    assert block_seeds(3, 0) == block_seeds(3, 0)
    assert len({block_seeds(3, b) for b in range(100)} | {block_seeds(4, b) for b in range(100)}) == 200


def test_single_files_hold_the_same_rows(fitted, tmp_path):
    write(fitted, tmp_path / "folder", n=2_500)
    folder = pd.read_parquet(tmp_path / "folder")
    for name in ("rows.parquet", "rows.csv", "rows.jsonl"):
        result = sample_to_file(fitted, tmp_path / name, 2_500, chunk_rows=600, seed=3, block_rows=BLOCK, verbose=False)
        assert result.rows == 2_500
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "rows.parquet"), folder)
    assert pq.ParquetFile(tmp_path / "rows.parquet").metadata.num_row_groups == 5  # chunk by chunk
    csv = pd.read_csv(tmp_path / "rows.csv")
    jsonl = pd.read_json(tmp_path / "rows.jsonl", lines=True)
    for text in (csv, jsonl):
        assert len(text) == 2_500
        assert (text["age"].to_numpy() == folder["age"].to_numpy()).all()
        np.testing.assert_allclose(text["income"], folder["income"], rtol=1e-12)
    assert (tmp_path / "rows.csv").read_text().count("\n") == 2_501  # one header
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    in_memory = stream_rows(fitted, 2_500, seed=3, block_rows=BLOCK)
    pd.testing.assert_frame_equal(pa.Table.from_pandas(in_memory).to_pandas(), folder)  # NaN -> None as in files


def _interrupt_third_part(monkeypatch):
    """Half-write the third part, then Ctrl-C (a crash while a part is being written)."""
    real = pq.write_table
    calls = []

    def flaky(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 3:
            real(table.slice(0, len(table) // 2), where, *args, **kwargs)
            raise KeyboardInterrupt
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", flaky)


def test_interrupted_run_resumes_to_the_same_files(fitted, tmp_path, monkeypatch):
    write(fitted, tmp_path / "whole")
    _interrupt_third_part(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        write(fitted, tmp_path / "cut")
    monkeypatch.undo()
    cut = tmp_path / "cut"
    assert parts(cut) == ["part-000000.parquet", "part-000001.parquet"]
    assert stray(cut) == []
    manifest = read_manifest(cut)
    assert not manifest.complete and manifest.rows == 1_400
    for name in parts(cut):
        assert pq.read_metadata(cut / name).num_rows == 700  # complete, readable files only
    # what a harder stop can leave: a part renamed into place but not yet listed, a temp file
    (cut / "part-000002.parquet").write_bytes((cut / "part-000000.parquet").read_bytes())
    (cut / ".part-000003.parquet.abc123.tmp").write_bytes(b"half")
    with pytest.raises(ConfigError, match="resume=True"):
        write(fitted, cut)
    result = write(fitted, cut, resume=True)
    assert result.resumed_rows == 1_400 and result.rows == 5_000
    assert files(cut) == files(tmp_path / "whole")
    again = write(fitted, cut, resume=True)  # a complete folder: nothing left to do
    assert again.drawn == 0 and files(cut) == files(tmp_path / "whole")


def test_resume_keeps_a_seed_it_drew(fitted, tmp_path, monkeypatch):
    _interrupt_third_part(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        write(fitted, tmp_path / "cut", seed=None)
    monkeypatch.undo()
    drawn_seed = read_manifest(tmp_path / "cut").signature["seed"]
    assert isinstance(drawn_seed, int)
    result = write(fitted, tmp_path / "cut", seed=None, resume=True)
    assert result.seed == drawn_seed
    write(fitted, tmp_path / "whole", seed=drawn_seed)
    assert files(tmp_path / "cut") == files(tmp_path / "whole")


def test_resume_with_other_settings_is_refused(fitted, coarse_model, tmp_path, monkeypatch):
    _interrupt_third_part(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        write(fitted, tmp_path / "cut")
    monkeypatch.undo()
    before = files(tmp_path / "cut")
    for change, message in [
        (dict(seed=4), "seed=3 \\(now 4\\)"),
        (dict(n=6_000), "n=5000 \\(now 6000\\)"),
        (dict(chunk_rows=800), "chunk_rows=700 \\(now 800\\)"),
        (dict(block_rows=500), "block_rows=1000 \\(now 500\\)"),
        (dict(privacy=False), "privacy="),
        (dict(conditions={"city": "Paris"}), "conditions="),
    ]:
        with pytest.raises(ConfigError, match=message):
            write(fitted, tmp_path / "cut", resume=True, **change)
    with pytest.raises(ConfigError, match="a different model"):
        coarse_model[0].sample_to_parquet(tmp_path / "cut", 5_000, chunk_rows=700, seed=3, block_rows=BLOCK,
                                          resume=True, verbose=False)
    assert files(tmp_path / "cut") == before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must be >= 1, got 0"),
        (dict(n=-5), "n must be >= 1"),
        (dict(n=2.5), "n must be an integer"),
        (dict(chunk_rows=0), "chunk_rows must be >= 1"),
        (dict(block_rows=0), "block_rows must be >= 1"),
        (dict(seed=-1), "seed must be a non-negative integer"),
        (dict(privacy="dcr"), "privacy='dcr'"),
    ],
)
def test_bad_arguments_are_named_and_write_nothing(fitted, tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        write(fitted, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_unknown_condition_is_named_before_writing(fitted, tmp_path):
    with pytest.raises(ConditionError, match="'salary'"):
        write(fitted, tmp_path / "out", conditions={"salary": 3})
    assert not (tmp_path / "out").exists()


def test_output_folders_that_are_not_ours_are_refused(fitted, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and holds no synthgan manifest"):
        write(fitted, foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError, match="holds no synthgan manifest"):
        write(fitted, foreign, resume=True)  # resume does not adopt a foreign folder either
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        write(fitted, tmp_path / "file")
    done = tmp_path / "done"
    write(fitted, done, n=100)
    with pytest.raises(ConfigError, match="already holds synthgan parts \\(complete\\)"):
        write(fitted, done, n=100)
    (done / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ConfigError, match="not a manifest"):
        write(fitted, done, n=100, resume=True)
    (tmp_path / "empty").mkdir()
    assert write(fitted, tmp_path / "empty", n=10).rows == 10  # an empty folder is fine


def test_exact_check_and_conditions_keep_the_count_exact(coarse_model, tmp_path):
    synth, train = coarse_model
    unfiltered = synth.sample_to_parquet(tmp_path / "raw", 3_000, chunk_rows=1_000, seed=1, block_rows=BLOCK,
                                         privacy=False, verbose=False)
    assert unfiltered.drawn == 3_000
    raw = pd.read_parquet(tmp_path / "raw")
    assert synth.exact_index_.mask(raw).sum() > 300  # the check has work to do
    result = synth.sample_to_parquet(tmp_path / "safe", 3_000, chunk_rows=1_000, seed=1, block_rows=BLOCK,
                                     verbose=False)
    safe = pd.read_parquet(tmp_path / "safe")
    assert len(safe) == 3_000 and result.drawn > 3_000
    assert not synth.exact_index_.mask(safe).any()
    cond = synth.sample_to_parquet(tmp_path / "cond", 1_500, chunk_rows=400, seed=1, block_rows=BLOCK,
                                   conditions={"a": "x", "x": (-2.5, 2.5)}, verbose=False)
    rows = pd.read_parquet(tmp_path / "cond")
    assert cond.rows == len(rows) == 1_500
    assert (rows["a"] == "x").all() and rows["x"].between(-2.5, 2.5).all()
    assert not synth.exact_index_.mask(rows).any()


def test_privacy_filter_passes_exactly_n(coarse_model, tmp_path):
    synth, train = coarse_model
    filt = PrivacyFilter(dcr_quantile=0.2, verbose=False).fit(train)
    result = synth.sample_to_parquet(tmp_path / "out", 2_000, chunk_rows=900, seed=2, block_rows=BLOCK,
                                     privacy=filt, verbose=False)
    rows = pd.read_parquet(tmp_path / "out")
    assert len(rows) == result.rows == 2_000
    assert filt.filter(rows).counts == {k: 0 for k in filt.filter(rows).counts}
    assert read_manifest(tmp_path / "out").signature["privacy"]["check"] == "filter"


def test_hopeless_filter_is_named(coarse_model, tmp_path):
    synth, train = coarse_model
    # every (a, b) combination has about 100 training rows: all are "rare" for k=1000
    everything = PrivacyFilter(dcr_quantile=None, quasi_identifiers=["a", "b"], k=1_000, verbose=False).fit(train)
    with pytest.raises(PrivacyFilterError, match="fewer than 1 in 200"):
        synth.sample_to_parquet(tmp_path / "out", 50_000, chunk_rows=1_000, seed=0, block_rows=BLOCK,
                                privacy=everything, verbose=False)
    with pytest.raises(ConditionError, match="too rare"):
        synth.sample_to_parquet(tmp_path / "rare", 50_000, seed=0, block_rows=BLOCK, verbose=False,
                                conditions={"x": (0.01234, 0.01235)})


def test_integer_ids_stay_unique_across_blocks(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(1, 201), "v": rng.normal(size=200), "g": rng.choice(["a", "b"], 200)})
    synth = TabularSynthesizer(epochs=1, batch_size=100, seed=0, verbose=False).fit(df)
    synth.sample_to_parquet(tmp_path / "out", 3_500, chunk_rows=1_000, seed=0, block_rows=BLOCK, verbose=False)
    ids = pd.read_parquet(tmp_path / "out")["id"]
    assert ids.is_unique and ids.min() > 200


def test_progress_bar_shows_rows_per_second(fitted, tmp_path, capsys):
    fitted.sample_to_parquet(tmp_path / "out", 2_000, chunk_rows=500, seed=0, block_rows=BLOCK, verbose=True)
    assert "row/s" in capsys.readouterr().err


# -- the command line ----------------------------------------------------------------------


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_folder_and_files_give_the_same_rows(fitted_model_file, tmp_path, capsys):
    common = ("-n", 2_500, "--chunk-rows", 1_000, "--block-rows", BLOCK, "--seed", 5, "-q")
    code, out, err = run(capsys, "sample", fitted_model_file, "-o", f"{tmp_path / 'out'}/", *common)
    assert code == 0, err
    assert "2500 rows written" in out and "3 parquet parts" in out
    folder = pd.read_parquet(tmp_path / "out")
    assert len(folder) == 2_500
    code, out, err = run(capsys, "sample", fitted_model_file, "-o", tmp_path / "rows.parquet", *common)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "rows.parquet"), folder)
    code, _, err = run(capsys, "sample", fitted_model_file, "-o", tmp_path / "rows.csv", *common)
    assert code == 0, err
    assert (pd.read_csv(tmp_path / "rows.csv")["age"].to_numpy() == folder["age"].to_numpy()).all()


def test_cli_resume_after_ctrl_c(fitted_model_file, tmp_path, capsys, monkeypatch):
    args = ("sample", fitted_model_file, "-n", 3_000, "-o", tmp_path / "out", "--chunk-rows", 700,
            "--block-rows", BLOCK, "--seed", 1, "-q")
    _interrupt_third_part(monkeypatch)
    code, _, err = run(capsys, *args)
    monkeypatch.undo()
    assert code == 130
    assert "--resume" in err and "kept" in err
    assert len(parts(tmp_path / "out")) == 2 and stray(tmp_path / "out") == []
    code, _, err = run(capsys, *args)
    assert code == 2 and "--resume" in err
    code, out, err = run(capsys, *args, "--resume")
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "out")) == 3_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (("-n", 0, "-o", "out/"), "n must be >= 1"),
        (("-n", 10, "-o", "out/", "--chunk-rows", 0), "chunk_rows must be >= 1"),
        (("-n", 10, "-o", "rows.csv", "--resume"), "--resume writes a folder"),
        (("-n", 10, "-o", "rows.csv", "--dask-workers", 2), "--dask-workers/--scheduler writes a folder"),
        (("-n", 10, "-o", "rows.xlsx"), "'.xlsx'"),
    ],
)
def test_cli_bad_sample_arguments(fitted_model_file, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sample", fitted_model_file, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_manifest_is_plain_json(fitted, tmp_path):
    write(fitted, tmp_path / "out", n=1_500)
    data = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert data["format"] == "synthgan-parquet-parts" and data["format_version"] == 1
    assert data["signature"]["block_rows"] == BLOCK and data["n"] == 1_500
    assert [p["start"] for p in data["parts"]] == [[0, 0], [0, 700], [1, 400]]


def test_a_first_chunk_with_an_all_missing_column_keeps_its_type(fitted):
    from synthgan.scale.streaming import _arrow

    rows = stream_rows(fitted, 50, seed=0, block_rows=BLOCK)
    empty = rows.assign(city=pd.Series([None] * len(rows), dtype=object))
    table, schema = _arrow(empty, None, fitted)
    assert str(schema.field("city").type) == "string"
    later, _ = _arrow(rows, schema, fitted)  # a later chunk with values fits the same schema
    assert later.schema.equals(schema) and later.column("city").null_count < len(rows)
