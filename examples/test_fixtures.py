# %% [markdown]
# # Privacy-preserving test fixtures
#
# Tests want realistic data; real customer rows must not end up in a repository. The
# pattern: fit a model once on the real table, commit the small model file (safetensors +
# JSON: loading it runs no code, and it holds no rows, only weights and hashes of the
# training rows), and let tests sample deterministic rows from it:
#
# ```python
# # tests/conftest.py
# from synthgan.testing import synthetic_table
# customers = synthetic_table("tests/models/customers.synth", n=200, seed=7)   # a pytest fixture
# ```
#
# This example builds such a project: it fits a model on the Adult census table (a stand-in
# for a customer table; scikit-learn's breast cancer table when Adult is not available),
# writes the model file and measures its size and load time, writes a `conftest.py` and a
# test that use the fixture, runs pytest on them, and writes the same rows to a SQLite
# database for tests that read SQL. The default is a small run (40 epochs of batch 500 on
# 5,000 rows, well under a minute on 2 CPU cores); `--full` fits on the whole table with the
# library's defaults (a training budget sized to the table, the best epoch kept).

# %%
import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from synthgan import TabularSynthesizer
from synthgan.datasets import load
from synthgan.errors import InputFileError
from synthgan.io import read_table, write_table

HERE = Path(globals().get("__file__", "test_fixtures.py")).resolve().parent
OUTPUT = Path(os.environ.get("SYNTHGAN_EXAMPLES_OUT", HERE / "output"))
parser = argparse.ArgumentParser(description="Fit a model, commit it, and sample test fixtures from it.")
parser.add_argument("--full", action="store_true", help="the whole table, library defaults (the real run)")
parser.add_argument("--out", type=Path, default=OUTPUT / "test_fixtures", help="folder for the outputs")
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()  # parse_known_args: a notebook kernel passes arguments of its own
EPOCHS = None if args.full else 40  # None: the library's size-aware budget
project = args.out / "project"
(project / "tests" / "models").mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Fit once, on the real table
#
# This happens on a machine allowed to read the real data, once (and again when the data
# changes). The CLI does the same: `synthgan fit adult.csv -o tests/models/customers.synth`.

# %%
try:
    real = load("adult", download=False)
    TABLE, CONDITION, LOW = "customers", "age", 65
except InputFileError as exc:
    print(f"The Adult table is not available ({exc}).\nUsing scikit-learn's breast cancer table instead.")
    real = load("breast_cancer")
    TABLE, CONDITION, LOW = "patients", "mean radius", 15.0
if not args.full and len(real) > 5000:
    real = real.sample(5000, random_state=args.seed)
start = time.perf_counter()
BATCH = None if args.full else (500 if len(real) > 2000 else 100)
synth = TabularSynthesizer(epochs=EPOCHS, batch_size=BATCH, seed=args.seed, verbose=False)
synth.fit(real)
fit_s = time.perf_counter() - start
model_path = synth.save(project / "tests" / "models" / f"{TABLE}.synth")
print(f"fitted {len(synth.history_.records)} epochs on {len(real)} rows in {fit_s:.1f} s")

# %% [markdown]
# ## Small enough to commit, fast enough to load in every test session
#
# The size is the generator's weights (fixed by the columns, not the rows) plus 8 bytes per
# training row (hashes, so `sample` can refuse exact copies).

# %%
model_bytes = model_path.stat().st_size
loads = []
for _ in range(5):
    start = time.perf_counter()
    TabularSynthesizer.load(model_path, device="cpu")
    loads.append(time.perf_counter() - start)
load_s = sorted(loads)[len(loads) // 2]
print(f"{model_path.name}: {model_bytes / 1e6:.2f} MB; loads in {load_s * 1000:.0f} ms (median of 5)")

# %% [markdown]
# ## The test project
#
# `synthetic_table` makes a pytest fixture; the plugin (installed with synthgan) adds the
# `synthgan_table` factory for tables decided inside a test. Relative model paths are
# resolved against pytest's rootdir. Same file, `n`, `seed` and `conditions`: same rows on
# every machine. Rows equal to a training row are never returned.

# %%
(project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
(project / "tests" / "conftest.py").write_text(textwrap.dedent(f"""\
    from synthgan.testing import synthetic_table

    {TABLE} = synthetic_table("tests/models/{TABLE}.synth", n=200, seed=7)
    seniors = synthetic_table("tests/models/{TABLE}.synth", n=50, seed=7, conditions={{{CONDITION!r}: ({LOW!r}, None)}})
"""))
(project / "tests" / f"test_{TABLE}.py").write_text(textwrap.dedent(f"""\
    import sqlite3


    def test_the_fixture_has_every_column_and_row({TABLE}):
        assert len({TABLE}) == 200
        assert list({TABLE}.columns) == {list(real.columns)!r}


    def test_conditions_hold_on_every_row(seniors):
        assert (seniors[{CONDITION!r}] >= {LOW!r}).all()


    def test_a_factory_for_tables_decided_in_the_test(synthgan_table, {TABLE}):
        again = synthgan_table("tests/models/{TABLE}.synth", n=200, seed=7)
        assert again.equals({TABLE})  # deterministic: same arguments, same rows


    def test_the_sqlite_copy_holds_the_same_rows({TABLE}):
        with sqlite3.connect("tests/fixtures.sqlite") as con:
            (count,) = con.execute("SELECT count(*) FROM {TABLE}").fetchone()
        assert count == len({TABLE})
"""))
print((project / "tests" / "conftest.py").read_text())

# %% [markdown]
# ## The same rows as a SQLite table
#
# For code under test that reads SQL. `write_table` writes atomically and refuses to
# replace an existing table unless told to (`if_exists="replace"`). From the command line:
# `synthgan sample tests/models/customers.synth -n 200 --seed 7 -o tests/fixtures.sqlite --table customers`
# (deterministic too, though its streaming sampler draws other rows than `sample(200, seed=7)`).

# %%
rows = TabularSynthesizer.load(model_path, device="cpu").sample(200, seed=7)
database = write_table(rows, project / "tests" / "fixtures.sqlite", table=TABLE, if_exists="replace")
print(read_table(database, table=TABLE).head())

# %% [markdown]
# ## Run the project's tests
#
# In a fresh process, as CI would (run from the project root; `OMP_NUM_THREADS=1` keeps torch
# from competing for cores).

# %%
run = subprocess.run(
    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
    cwd=project, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
)
print(run.stdout[-2000:], run.stderr[-2000:])

# %%
summary = {
    "table": TABLE,
    "rows": len(real),
    "epochs": len(synth.history_.records),
    "fit_seconds": round(fit_s, 1),
    "model_bytes": model_bytes,
    "load_seconds": round(load_s, 4),
    "pytest_returncode": run.returncode,
    "pytest_summary": run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "",
    "sqlite_rows": len(read_table(database, table=TABLE)),
}
(args.out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
