"""Data-parallel training: two real processes on gloo under torchrun, not a mock.

A 2,000-row table; two ranks with 1,000 rows and half the batch each (so the global batch
and the steps per epoch match one process) must learn the category shares about as well as
one process, end with identical models on both ranks, write one model file and one
checkpoint (rank 0), and resume that checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open

from synthgan import DPConfig, TabularSynthesizer
from synthgan.errors import ConfigError
from synthgan.io import read_table
from synthgan.scale.distributed import read_shard, shard
from synthgan.serialization import load_model

EPOCHS = 30  # 300 steps: enough for the quantile encoding's normal scores to spread out
BATCH = 200  # one process; each of the two ranks uses BATCH // 2
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def torchrun(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    proc = subprocess.run([*TORCHRUN, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    n = 2_000
    df = pd.DataFrame(
        {
            "age": np.clip(rng.normal(40, 12, n), 18, 90).round().astype(int),
            "income": rng.lognormal(10, 0.4, n).round(2),
            "segment": rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1]),
            "flag": rng.random(n) < 0.2,
        }
    )
    path = tmp_path_factory.mktemp("data") / "table.parquet"
    df.to_parquet(path, index=False, row_group_size=300)  # several row groups to shard
    return path


@pytest.fixture(scope="module")
def ddp_run(table, tmp_path_factory):
    """``torchrun --nproc_per_node=2 -m synthgan fit`` once: (model file, checkpoint folder, stdout)."""
    work = tmp_path_factory.mktemp("ddp")
    proc = torchrun(
        "-m", "synthgan", "fit", table, "-o", work / "model.synth", "--epochs", EPOCHS,
        "--batch-size", BATCH // 2, "--seed", 0, "--checkpoint-dir", work / "ckpt", "-q", cwd=work,
    )
    return work / "model.synth", work / "ckpt", proc.stdout


def category_error(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Mean total-variation distance of the discrete columns' shares (0: identical)."""
    tvd = []
    for col in ("segment", "flag"):
        p, q = real[col].value_counts(normalize=True), synthetic[col].value_counts(normalize=True)
        tvd.append(0.5 * p.subtract(q, fill_value=0).abs().sum())
    return float(np.mean(tvd))


def test_torchrun_fit_writes_one_model_that_loads_and_samples(ddp_run, table):
    model_file, ckpt, stdout = ddp_run
    assert stdout.count("model written to") == 1 and "on 2 processes" in stdout  # rank 0 only
    synth = TabularSynthesizer.load(model_file)
    rows = synth.sample(300, seed=1)
    real = read_table(table)
    assert len(rows) == 300 and list(rows.columns) == list(real.columns)
    assert dict(rows.dtypes) == dict(real.dtypes)
    assert len(synth.history_.records) == EPOCHS
    state, _ = load_model(model_file, "tabular")
    assert state["training"] == {"world_size": 2, "global_batch_size": BATCH}
    # every category of the whole table is known, whichever rank's rows held it
    assert set(rows["segment"]) <= {"A", "B", "C"}
    with safe_open(str(ckpt / "checkpoint.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert {"rng.model.0", "rng.model.1", "rng.global.0", "rng.global.1"} <= keys
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint.safetensors"]


def test_two_processes_learn_as_well_as_one(ddp_run, table):
    real = read_table(table)
    untrained = TabularSynthesizer(epochs=1, batch_size=BATCH, seed=0, generator_lr=1e-12, discriminator_lr=1e-12,
                                   verbose=False).fit(table)
    single = TabularSynthesizer(epochs=EPOCHS, batch_size=BATCH, seed=0, verbose=False).fit(table)
    ddp = TabularSynthesizer.load(ddp_run[0])
    errors = {
        name: category_error(real, synth.sample(4_000, seed=0, privacy=False))
        for name, synth in [("untrained", untrained), ("single", single), ("ddp", ddp)]
    }
    assert errors["untrained"] > 0.15, errors  # the measure can tell training from none
    assert errors["ddp"] < 0.12, errors
    assert errors["ddp"] <= errors["single"] + 0.05, errors
    for col in ("age", "income"):
        values = ddp.sample(4_000, seed=0, privacy=False)[col]
        assert abs(values.mean() - real[col].mean()) < real[col].std(), col


RANK_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, os, sys
    import pandas as pd
    from synthgan import TabularSynthesizer

    table, ckpt, out = sys.argv[1:4]
    rank = int(os.environ["RANK"])
    df = pd.read_parquet(table)
    synth = TabularSynthesizer(epochs=int(sys.argv[4]), batch_size=int(sys.argv[5]), seed=0, verbose=False,
                               checkpoint_dir=ckpt, resume=True).fit(df)
    synth.save(os.path.join(out, f"model_rank{rank}.synth"))

    def digest(module):
        h = hashlib.sha256()
        for key, value in sorted(module.state_dict().items()):
            h.update(key.encode()); h.update(value.numpy().tobytes())
        return h.hexdigest()

    report = {
        "generator": digest(synth.model_.net_g), "critic": digest(synth.model_.net_d),
        "epochs": [r.epoch for r in synth.history_.records],
        "sample": synth.sample(20, seed=1).to_json(), "rank": synth.rank_, "world": synth.world_size_,
    }
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)
    """
)


def test_python_api_resumes_and_every_rank_holds_the_same_model(ddp_run, table, tmp_path):
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(ddp_run[1], ckpt)
    script = tmp_path / "fit_rank.py"
    script.write_text(RANK_SCRIPT)
    torchrun(script, table, ckpt, tmp_path, EPOCHS + 2, BATCH // 2, cwd=tmp_path)
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in reports] == [0, 1] and {r["world"] for r in reports} == {2}
    assert reports[0]["epochs"] == list(range(1, EPOCHS + 3))  # 10 from the checkpoint, 2 more
    assert reports[0]["generator"] == reports[1]["generator"]
    assert reports[0]["critic"] == reports[1]["critic"]
    assert reports[0]["sample"] == reports[1]["sample"]
    assert (tmp_path / "model_rank0.synth").exists() and not (tmp_path / "model_rank1.synth").exists()


def test_read_shard_gives_strided_rows(table):
    full = read_table(table)
    for world in (2, 3):
        shards = [read_shard(table, rank, world) for rank in range(world)]
        for rank, rows in enumerate(shards):
            pd.testing.assert_frame_equal(rows, shard(full, rank, world))
        assert sum(len(s) for s in shards) == len(full)


def test_dp_with_distributed_is_refused(table):
    with pytest.raises(ConfigError, match="dp: differentially private training does not run data-parallel"):
        TabularSynthesizer(epochs=1, dp=DPConfig(epsilon=1.0), distributed=True, verbose=False).fit(table)


def test_distributed_outside_a_job_is_named(table, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="torchrun --nproc_per_node"):
        TabularSynthesizer(epochs=1, distributed=True, verbose=False).fit(table)
    with pytest.raises(ConfigError, match="distributed='yes': expected 'auto', True or False"):
        TabularSynthesizer(epochs=1, distributed="yes", verbose=False).fit(table)


def test_a_distributed_model_file_loads_like_any_other(ddp_run, tmp_path):
    synth = TabularSynthesizer.load(ddp_run[0])
    again = TabularSynthesizer.load(synth.save(tmp_path / "copy.synth"))
    pd.testing.assert_frame_equal(synth.sample(50, seed=2), again.sample(50, seed=2))
    assert load_model(tmp_path / "copy.synth", "tabular")[0]["training"]["world_size"] == 2


TARGET_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, os, sys
    import pandas as pd
    from synthgan import TabularSynthesizer

    table, out = sys.argv[1:3]
    rank = int(os.environ["RANK"])
    synth = TabularSynthesizer(epochs=3, batch_size=100, seed=0, verbose=False).fit(
        pd.read_parquet(table), target="segment")
    h = hashlib.sha256()
    for key, value in sorted(synth.label_model_.net.state_dict().items()):
        h.update(key.encode()); h.update(value.numpy().tobytes())
    g = hashlib.sha256()
    for key, value in sorted(synth.model_.net_g.state_dict().items()):
        g.update(key.encode()); g.update(value.numpy().tobytes())
    report = {"label_model": h.hexdigest(), "generator": g.hexdigest(), "sample": synth.sample(200, seed=1).to_json()}
    with open(os.path.join(out, f"target{rank}.json"), "w") as f:
        json.dump(report, f)
    """
)


def test_every_rank_holds_rank_0s_label_model(table, tmp_path):
    # each rank fits the target's label model on its own rows; rank 0's is broadcast, so the
    # ranks sample the same rows (targets included). A short run without resume also checks
    # that the generator average starts from rank 0's weights on every rank (it used to start
    # from each rank's own initialisation, so the ranks' generators differed)
    script = tmp_path / "fit_target.py"
    script.write_text(TARGET_SCRIPT)
    torchrun(script, table, tmp_path, cwd=tmp_path)
    reports = [json.loads((tmp_path / f"target{r}.json").read_text()) for r in (0, 1)]
    assert reports[0]["label_model"] == reports[1]["label_model"]
    assert reports[0]["generator"] == reports[1]["generator"]
    assert reports[0]["sample"] == reports[1]["sample"]
