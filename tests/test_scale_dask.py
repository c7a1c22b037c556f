"""Distributed generation on a Dask LocalCluster (two workers, one thread each).

Tasks load the model file themselves; together their parts hold exactly n rows, and they
are the rows ``sample_to_parquet`` writes for the same model, seed and block size.
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthgan import PrivacyFilter, TabularSynthesizer
from synthgan.cli import main
from synthgan.errors import ConfigError, MissingDependencyError
from synthgan.scale import dask_generate, dask_sample_to_parquet, read_manifest

pytest.importorskip("distributed", reason="the synthgan[dask] extra is not installed")

BLOCK = 1_000


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def coarse(tmp_path_factory):
    """(model, its file, training rows): rows repeat, so the exact check drops many candidates."""
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {"a": rng.choice(["x", "y"], n), "b": rng.choice(["p", "q", "r"], n), "x": rng.normal(size=n).round(2)}
    )
    synth = TabularSynthesizer(epochs=2, batch_size=200, seed=0, verbose=False).fit(df)
    path = synth.save(tmp_path_factory.mktemp("coarse") / "coarse.synth")
    return synth, path, df


def files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def on_dask(model_file, folder, n=5_000, **kwargs):
    options = dict(chunk_rows=1_500, seed=3, block_rows=BLOCK, verbose=False)
    return dask_sample_to_parquet(model_file, folder, n, **{**options, **kwargs})


def streamed(synth, folder, n=5_000, **kwargs):
    options = dict(chunk_rows=700, seed=3, block_rows=BLOCK, verbose=False)
    synth.sample_to_parquet(folder, n, **{**options, **kwargs})
    return pd.read_parquet(folder)


def test_same_rows_as_streaming_and_exactly_n(fitted, fitted_model_file, client, tmp_path):
    result = on_dask(fitted_model_file, tmp_path / "dask", client=client)
    assert result.rows == 5_000 and result.seed == 3
    names = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert names == ["_synthgan.json", "part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    sizes = [pq.read_metadata(tmp_path / "dask" / name).num_rows for name in names[1:]]
    assert sizes == [2_000, 2_000, 1_000]  # 2 blocks a task; the last part cut to the row
    manifest = read_manifest(tmp_path / "dask")
    assert manifest.complete and manifest.layout == "tasks" and manifest.rows == 5_000
    assert manifest.parts[-1].end == [4, 1_000]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask"), streamed(fitted, tmp_path / "stream"))


def test_filtered_and_conditioned_rows_match_streaming(coarse, client, tmp_path):
    synth, path, _ = coarse
    conditions = {"a": "x"}
    result = on_dask(path, tmp_path / "dask", n=3_000, conditions=conditions, client=client)
    rows = pd.read_parquet(tmp_path / "dask")
    assert len(rows) == 3_000 and (rows["a"] == "x").all()
    assert not synth.exact_index_.mask(rows).any()
    assert result.drawn > 6_000  # fewer than half the candidates pass: more than one wave of tasks
    pd.testing.assert_frame_equal(rows, streamed(synth, tmp_path / "stream", n=3_000, conditions=conditions))


def test_a_privacy_filter_is_shipped_to_the_workers(coarse, client, tmp_path):
    synth, path, train = coarse
    filt = PrivacyFilter(dcr_quantile=0.2, verbose=False).fit(train)
    on_dask(path, tmp_path / "dask", n=2_000, privacy=filt, client=client)
    rows = pd.read_parquet(tmp_path / "dask")
    assert len(rows) == 2_000
    assert filt.filter(rows).counts == {k: 0 for k in filt.filter(rows).counts}
    pd.testing.assert_frame_equal(rows, streamed(synth, tmp_path / "stream", n=2_000, privacy=filt))


def test_failed_task_then_resume_gives_the_same_files(fitted_model_file, client, tmp_path, monkeypatch):
    on_dask(fitted_model_file, tmp_path / "whole", client=client)
    real = dask_generate.generate_part

    def failing(*args):
        if args[8] == 1:  # the task of part 1
            raise RuntimeError("worker lost")
        return real(*args)

    monkeypatch.setattr(dask_generate, "generate_part", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        on_dask(fitted_model_file, tmp_path / "cut", client=client)
    monkeypatch.undo()
    manifest = read_manifest(tmp_path / "cut")
    assert not manifest.complete and 1 not in [p.index for p in manifest.parts]
    assert not [p for p in (tmp_path / "cut").iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ConfigError, match="seed=3 \\(now 4\\)"):
        on_dask(fitted_model_file, tmp_path / "cut", client=client, seed=4, resume=True)
    result = on_dask(fitted_model_file, tmp_path / "cut", client=client, resume=True)
    assert result.rows == 5_000
    assert files(tmp_path / "cut") == files(tmp_path / "whole")


def test_errors_are_named(fitted, fitted_model_file, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="path of a saved model"):
        on_dask(fitted, tmp_path / "a")
    with pytest.raises(ConfigError, match="n must be >= 1"):
        on_dask(fitted_model_file, tmp_path / "a", n=0)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("x")
    with pytest.raises(ConfigError, match="holds no synthgan manifest"):
        on_dask(fitted_model_file, tmp_path / "foreign")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if synthgan[dask] were not installed
    with pytest.raises(MissingDependencyError, match="synthgan\\[dask\\]"):
        on_dask(fitted_model_file, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_on_a_local_cluster_of_processes(fitted, fitted_model_file, tmp_path, capsys):
    code = main([
        "sample", str(fitted_model_file), "-n", "3000", "-o", str(tmp_path / "out"), "--dask-workers", "2",
        "--chunk-rows", "1000", "--block-rows", str(BLOCK), "--seed", "3", "-q",
    ])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "3000 rows written" in out
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out"), streamed(fitted, tmp_path / "s", n=3_000))
