"""Shared pieces of the benchmark scripts: data, metrics, machine facts, RESULTS.md.

Benchmarks are plain scripts; this module is what more than one of them needs. It
imports no synthgan code, so a benchmark measures synthgan without depending on it
(``versions`` only imports a package by name, to record which copy a run measured).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import resource
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS_ENV = "SYNTHGAN_DATASETS"
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_DIR = Path(__file__).resolve().parent / "results"  # the json of the resumable benchmarks
RESULTS_HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by one script in `benchmarks/` and overwritten when that "
    "script runs again. Ratios are peer / synthgan unless the section says otherwise.\n"
)


# ---------------------------------------------------------------- data

def dataset_path(filename: str, explicit: str | None = None) -> Path:
    """Find a development dataset: explicit path, then $SYNTHGAN_DATASETS, then ../shared/datasets."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get(DATASETS_ENV):
        path = Path(os.environ[DATASETS_ENV]) / filename
    else:
        path = REPO_ROOT.parent / "shared" / "datasets" / filename
    if not path.is_file():
        raise SystemExit(
            f"dataset {filename!r} not found at {path}; pass --data PATH or set {DATASETS_ENV}"
        )
    return path


def load_adult(path: Path) -> pd.DataFrame:
    """Adult as distributed: padded header names, leading spaces in values, '?' for missing."""
    df = pd.read_csv(path, skipinitialspace=True, na_values="?")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def load_fraud(path: Path) -> pd.DataFrame:
    """The vehicle insurance fraud table (fraud_oracle.csv): the file starts with a BOM."""
    df = pd.read_csv(path, encoding="utf-8-sig")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def split(df: pd.DataFrame, target: str, test_size: float, seed: int):
    """Stratified train / held-out test split, fixed by the seed."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(df, test_size=test_size, stratify=df[target], random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def numeric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool]


def categorical_columns(df: pd.DataFrame) -> list[str]:
    numeric = set(numeric_columns(df))
    return [c for c in df.columns if c not in numeric]


def resample_with_noise(df: pd.DataFrame, n_rows: int, seed: int, noise: float = 0.01) -> pd.DataFrame:
    """n_rows drawn with replacement; numeric columns get Gaussian noise of `noise` x their std,
    so a continuous encoder sees n_rows distinct values rather than copies of a few thousand."""
    rng = np.random.default_rng(seed)
    big = df.iloc[rng.integers(0, len(df), n_rows)].reset_index(drop=True)
    for col in numeric_columns(df):
        values = big[col].to_numpy(dtype=float)
        big[col] = values + rng.normal(0.0, noise * float(np.nanstd(values)) + 1e-12, n_rows)
    return big


# ---------------------------------------------------------------- metrics

def sdmetrics_metadata(df: pd.DataFrame) -> dict:
    """Single-table sdmetrics metadata from dtypes: numeric -> numerical, else categorical."""
    numeric = set(numeric_columns(df))
    return {
        "columns": {
            c: {"sdtype": "numerical" if c in numeric else "categorical"} for c in df.columns
        }
    }


def quality_score(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> float:
    """sdmetrics single-table QualityReport overall score (column shapes + pair trends)."""
    with warnings.catch_warnings():
        # sdmetrics 0.32 marks the single-table report deprecated in favour of the unified
        # one, whose scoring differs; the single-table one is the long-standing reference.
        warnings.simplefilter("ignore", FutureWarning)
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(real, synthetic[list(real.columns)], metadata, verbose=False)
    return float(report.get_score())


def _classifiers(features: pd.DataFrame, seed: int) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    cat, num = categorical_columns(features), numeric_columns(features)
    ordinal = ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                encoded_missing_value=np.nan), cat)],
        remainder="passthrough",
    )
    hgb = make_pipeline(
        ordinal,
        HistGradientBoostingClassifier(
            categorical_features=[True] * len(cat) + [False] * len(num), random_state=seed
        ),
    )
    one_hot = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="<missing>"),
                              OneHotEncoder(handle_unknown="ignore")), cat),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
    ])
    logreg = make_pipeline(one_hot, LogisticRegression(max_iter=2000))
    return {"hgb": hgb, "logreg": logreg}


def train_test_utility(train: pd.DataFrame, test: pd.DataFrame, target: str, positive,
                       seed: int) -> dict[str, dict[str, float]]:
    """Fit classifiers on `train` (real for TRTR, synthetic for TSTR), score on real `test`.

    Returns {model: {"macro_f1", "roc_auc"}}; NaN when `train` holds a single class.
    """
    from sklearn.metrics import f1_score, roc_auc_score

    features = [c for c in test.columns if c != target]
    x_train = train[features].copy()
    x_test = test[features].copy()
    for col in numeric_columns(test[features]):
        x_train[col] = pd.to_numeric(x_train[col], errors="coerce").astype(float)
        x_test[col] = x_test[col].astype(float)
    for col in categorical_columns(test[features]):
        x_train[col] = x_train[col].astype(object).where(x_train[col].notna(), np.nan)
    y_train = (train[target] == positive).to_numpy()
    y_test = (test[target] == positive).to_numpy()
    results = {}
    for name, model in _classifiers(test[features], seed).items():
        if y_train.all() or not y_train.any():
            results[name] = {"macro_f1": float("nan"), "roc_auc": float("nan")}
            continue
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_test)[:, 1]
        results[name] = {
            "macro_f1": float(f1_score(y_test, proba >= 0.5, average="macro")),
            "roc_auc": float(roc_auc_score(y_test, proba)),
        }
    return results


# ---------------------------------------------------------------- timing

class EpochClock:
    """Training seconds per epoch, with evaluation kept off the clock.

    ``stop`` runs at the end of every epoch: it books the time since ``start`` or since the
    previous ``stop`` returned (or ``seconds``, when the caller knows better) and, every
    ``every`` epochs and at the ``last``, scores the model with ``evaluate``, whose time is
    booked apart in ``eval_seconds``.
    """

    def __init__(self, evaluate, every: int, last: int):
        self.evaluate, self.every, self.last = evaluate, every, last
        self.epoch_seconds: list[float] = []
        self.scores: list[tuple[int, float]] = []  # (epoch, score)
        self.eval_seconds = 0.0
        self._start: float | None = None

    def start(self) -> None:
        self._start = time.perf_counter()

    def stop(self, epoch: int, model, seconds: float | None = None) -> None:
        now = time.perf_counter()
        self.epoch_seconds.append(now - self._start if seconds is None else seconds)
        if epoch % self.every == 0 or epoch == self.last:
            self.scores.append((epoch, self.evaluate(model, epoch)))
        self._start = time.perf_counter()
        self.eval_seconds += self._start - now

    def curve(self) -> list[tuple[int, float, float]]:
        """(epoch, training seconds up to its end, score) at every evaluated epoch."""
        cumulative = np.cumsum(self.epoch_seconds)
        return [(e, float(cumulative[e - 1]), score) for e, score in self.scores]


def time_to_reach(target: float, curve) -> tuple[int, float] | None:
    """(epoch, training seconds) of the first curve point scoring at least ``target``."""
    return next(((epoch, seconds) for epoch, seconds, score in curve if score >= target), None)


# ---------------------------------------------------------------- machine and process

def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """High-water mark of resident memory; ru_maxrss is KiB on Linux (bytes on macOS)."""
    scale = 1 / 2**20 if platform.system() == "Darwin" else 1 / 2**10
    return resource.getrusage(who).ru_maxrss * scale


def busy_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat;
    steal counts as busy: on a VM it is time the cores were not ours); NaN elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu_seconds()


class OtherCores:
    """How busy other processes kept the machine from construction to ``share()``: their CPU
    seconds (``busy_cpu_seconds`` less ours) per wall second; above about 0.1 timings are skewed."""

    def __init__(self):
        self.busy, self.ours, self.wall = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()

    def share(self) -> float:
        foreign = busy_cpu_seconds() - self.busy - (own_cpu_seconds() - self.ours)
        return max(foreign, 0.0) / (time.perf_counter() - self.wall)


def set_threads(requested: int | None) -> int:
    """torch, BLAS and OpenMP threads: ``requested`` or os.cpu_count(); returns the number set."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = requested or os.cpu_count()
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    return threads


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine() -> dict[str, str]:
    import torch

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(cpu_count()),
        "cpu": model,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


# ---------------------------------------------------------------- output

def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def fmt_value(value, digits: int = 3) -> str:
    """``fmt`` for a number, "n/a" for anything else (None, text)."""
    return fmt(float(value), digits) if isinstance(value, (int, float)) and value is not None else "n/a"


def ratio(a, b) -> float | None:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return None
    return a / b


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str, path: Path = RESULTS_MD) -> None:
    """Replace this benchmark's section of RESULTS.md (between markers), keeping the others."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else RESULTS_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- resumable runs: record, json, cells
# The scripts that write benchmarks/results/<name>.json: a state {"benchmark", "config", "runs",
# "tables", "cells", "not_run"} rewritten after every cell; --resume-from continues it.

def now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def versions(packages, traced: str = "synthgan") -> dict:
    """Installed versions of ``packages`` (None where absent), where ``traced`` was imported
    from, and Python's version."""
    out = {}
    for package in packages:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    module = importlib.import_module(traced)
    out[f"{traced}_path"] = str(Path(module.__file__).parent)
    out["python"] = sys.version.split()[0]
    return out


def run_record(script: str, args, threads: int, packages) -> dict:
    """This invocation: command line, start, load, machine, threads and ``versions(packages)``."""
    import torch

    m = machine()
    return {
        "command": f"python benchmarks/{script} " + shlex.join(sys.argv[1:]),
        "started": now(),
        "load_average_before": list(os.getloadavg()),
        "machine": {"cpu": m["cpu"], "os_cpu_count": os.cpu_count(), "usable_cpus": cpu_count(),
                    "cuda": torch.cuda.is_available(),
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "torch_threads": threads,
        "threads_from": "--threads" if args.threads else "os.cpu_count()",
        "versions": versions(packages),
    }


def plain(value):
    """A numpy scalar as its Python value; a non-finite float as None."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def write_json(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, default=json_default) + "\n")
    os.replace(tmp, path)


def load_resume(path: Path, config: dict, keys) -> dict:
    """The state in ``path``; exits when its config differs from ``config`` in any of ``keys``."""
    state = json.loads(path.read_text())
    theirs = state.get("config", {})
    clash = {k: (theirs.get(k), config[k]) for k in keys if theirs.get(k) != config[k]}
    if clash:
        raise SystemExit(f"--resume-from {path}: settings differ from this run (theirs, ours): {clash}")
    return state


def start_state(section: str, config: dict, record: dict, resume_from: Path | None, keys) -> dict:
    """A fresh state for this run, or the one in ``resume_from`` with this run's record added."""
    if resume_from:
        state = load_resume(resume_from, config, keys)
        state["runs"].append(record)
        return state
    return {"benchmark": section, "config": config, "runs": [record], "tables": {}, "cells": {}, "not_run": {}}


def warning_lines(caught) -> list[str]:
    """The distinct warnings of a ``catch_warnings(record=True)`` block, first line each, at most 12."""
    return sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}" for w in caught})[:12]


def failed_cell(section: str, key: str, exc: Exception, **fields) -> dict:
    """The cell of a failed measurement (call it in the ``except`` block), said on stderr."""
    cell = {**fields, "status": "error", "started": now(),
            "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}
    print(f"[{section}] {key}: {cell['error']}", file=sys.stderr, flush=True)
    return cell


def add_run_args(p: argparse.ArgumentParser, test_size: float) -> None:
    """--seed, --threads and the hidden --test-size."""
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch / BLAS / OpenMP threads (default: os.cpu_count())")
    p.add_argument("--test-size", type=float, default=test_size, help=argparse.SUPPRESS)


def add_output_args(p: argparse.ArgumentParser, default_json: Path, smoke_json: Path) -> None:
    """--json, --resume-from and --markdown."""
    p.add_argument("--json", type=Path, help=f"where to write all figures (default "
                   f"{default_json.relative_to(REPO_ROOT)}; smoke runs {smoke_json.name})")
    p.add_argument("--resume-from", type=Path, help="reuse the finished cells of this json (same settings)")
    p.add_argument("--markdown", type=Path,
                   help="write the markdown block here (a RESULTS.md: its section is replaced)")


def json_path(args, default_json: Path, smoke_json: Path) -> Path:
    """--json, else the --resume-from json (continued in place), else the default for the run kind."""
    return args.json or args.resume_from or (smoke_json if args.smoke else default_json)


def heading(section: str, title: str, state: dict, smoke_of: str, threads_label: str,
            settings: list[str]) -> list[str]:
    """The top of a markdown block: title, a smoke-run warning, every invocation's command, the
    machine of the last one (``threads_label``: what its thread count set), then the ``settings``
    bullets and a note when the run was resumed."""
    config, runs = state["config"], state["runs"]
    last = runs[-1]
    mach = last["machine"]
    lines = [f"## {section}: {title}", ""]
    if config["smoke"]:
        lines += [f"**SMOKE RUN ({config['smoke_epochs']} epochs for every {smoke_of}): checks the script, "
                  "not results.**", ""]
    lines += [f"- command: `{r['command']}` (started {r['started']}, load average before "
              f"{', '.join(f'{x:.2f}' for x in r['load_average_before'])})" for r in runs]
    lines.append(f"- machine: {mach['os_cpu_count']} CPUs ({mach['cpu']}), {mach['memory_gib']} GiB, "
                 + (f"GPU {mach['gpu']}" if mach["cuda"] else "no GPU")
                 + f"; {threads_label} {last['torch_threads']} ({last['threads_from']})")
    lines += settings
    if len(runs) > 1:
        lines.append(f"- resumed: {len(runs)} invocations; each cell's own start time is in the json")
    return lines


def publish(section: str, body: str, json_file: Path, markdown: Path | None) -> None:
    """Print the markdown block and, with --markdown, write it: into a RESULTS.md as its section,
    to any other file as the whole file (between the same markers)."""
    print(body)
    print(f"[{section}] wrote {json_file}", file=sys.stderr)
    if markdown:
        if markdown.name == "RESULTS.md":
            write_section(section, body, markdown)
        else:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(f"<!-- begin {section} -->\n{body.rstrip()}\n<!-- end {section} -->\n")
        print(f"[{section}] wrote the markdown block to {markdown}", file=sys.stderr)
