"""The ``synthgan`` command: fit, sample, evaluate and demo, mirroring the Python API.

Every command that writes files refuses an output that already exists unless
``--overwrite`` is given (a sample never lands on the training CSV by accident); a SQLite
output gets a table added to the database, and an existing table of that name needs
``--replace`` (or ``--overwrite``). Messages speak the command's own syntax
(``COLUMN=LOW..HIGH``), not Python's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path


from synthgan.config import ImageConfig
from synthgan.errors import ConditionError, ConfigError, DataError, InputFileError, PrivacyFilterError, SynthGANError, listing
from synthgan.io import atomic_path, read_table, write_table

def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_condition_args(items: list[str] | None) -> dict | None:
    """``["FraudFound_P=1", "age=30..40"]`` -> ``{"FraudFound_P": 1, "age": (30, 40)}``.

    The syntax alone; :func:`resolve_conditions` checks the values against a model.
    """
    if not items:
        return None
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--condition {item!r}: expected COLUMN=VALUE or COLUMN=LOW..HIGH")
        if ".." in value:
            low, _, high = value.partition("..")
            out[name] = (_parse_value(low) if low else None, _parse_value(high) if high else None)
        else:
            out[name] = _parse_value(value)
    return out


def resolve_conditions(items: list[str] | None, synth) -> dict | None:
    """``--condition`` texts -> the ``conditions`` of ``sample``, checked against the model's
    columns, so a mistake is named in the command's terms (``age=LOW..HIGH``), not Python's.

    A categorical value is the category whose text is exactly the one given (so ``02139``
    stays a zip code, not the number 2139), else the value as a number, which the library
    matches or refuses with the values it saw. A continuous or datetime column takes a
    range; an integer column a whole number or a range; a range outside what the model saw
    is refused with the observed range.
    """
    if not items:
        return None
    from synthgan.schema import DISCRETE_KINDS, ColumnKind
    from synthgan.tabular.conditions import parse_conditions

    schema, encoders = synth.transformer_.schema, synth.transformer_.encoders
    out: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--condition {item!r}: expected COLUMN=VALUE or COLUMN=LOW..HIGH")
        if name not in schema.names:
            raise ConditionError(
                f"--condition {item}: the model has no column {name!r}; its columns: {listing(schema.names)}"
            )
        if name in out:
            raise ConditionError(f"--condition {item}: {name!r} is given twice; give one VALUE or one LOW..HIGH range")
        col = schema[name]
        if col.kind is ColumnKind.ID:
            raise ConditionError(
                f"--condition {item}: {name!r} is an identifier column (generated fresh for every row); "
                "it cannot be a condition"
            )
        if col.kind in DISCRETE_KINDS:
            out[name] = _category(item, name, text, encoders[name].categories)
            try:  # the library's own matching (one normalisation for the API and the CLI)
                parse_conditions({name: out[name]}, synth.transformer_)
            except ConditionError as exc:
                raise ConditionError(f"--condition {item}: {exc}") from None
        else:
            out[name] = _numeric_condition(item, name, text, col, encoders[name])
    return out


def _category(item: str, name: str, text: str, categories: list):
    for category in categories:
        if str(category) == text:
            return category
    if ".." in text:
        raise ConditionError(
            f"--condition {item}: {name!r} is a categorical column; give one of its values, {name}=VALUE "
            f"(seen: {listing(categories)})"
        )
    return _parse_value(text)


def _numeric_condition(item: str, name: str, text: str, col, enc):
    from synthgan.schema import ColumnKind

    dates = col.kind is ColumnKind.DATETIME
    if ".." not in text:
        if col.kind is ColumnKind.INTEGER:
            value = _bound(item, name, text, dates=False)
            if value is None or value != int(value):
                raise ConditionError(
                    f"--condition {item}: {name!r} holds whole numbers; give one, {name}=VALUE, "
                    f"or a range, {name}=LOW..HIGH"
                )
            _check_seen(item, name, int(value), int(value), col, enc)
            return int(value)
        value = None if dates else _parse_value(text.strip())
        if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
            low, high = f"{value:g}", f"{math.floor(value) + 1:g}"
        else:
            low, high = ("2024-01-01", "2024-01-31") if dates else ("LOW", "HIGH")
        raise ConditionError(
            f"--condition {item}: {name!r} is a {col.kind.value} column, where one exact value matches almost "
            f"no row; give a range, {name}=LOW..HIGH (e.g. {name}={low}..{high} for {low} to {high}, "
            f"{name}={low}.. for {low} and above)"
        )
    low_text, _, high_text = text.partition("..")
    low, high = (_bound(item, name, t, dates) for t in (low_text, high_text))
    if low is None and high is None:
        raise ConditionError(f"--condition {item}: give LOW, HIGH or both ({name}=LOW..HIGH)")
    if low is not None and high is not None:
        try:
            empty = low > high
        except TypeError:  # one date with a UTC offset, the other without
            raise ConditionError(f"--condition {item}: give both dates with a UTC offset, or neither") from None
        if empty:
            raise ConditionError(
                f"--condition {item}: the range is empty, LOW ({low_text}) is above HIGH ({high_text})"
            )
    _check_seen(item, name, low, high, col, enc)
    return (low, high)


def _bound(item: str, name: str, text: str, dates: bool):
    """One side of a range: None when left open, else a number (or a Timestamp for dates)."""
    import pandas as pd

    text = text.strip()
    if not text:
        return None
    if dates:
        try:
            return pd.Timestamp(text)
        except (ValueError, TypeError):
            raise ConditionError(
                f"--condition {item}: {text!r} is not a date; {name!r} is a datetime column "
                f"({name}=2024-01-01..2024-01-31, or with times: 2024-01-01T08:00..2024-01-01T18:00)"
            ) from None
    value = _parse_value(text)
    if isinstance(value, str) or value != value:  # text, or NaN
        raise ConditionError(f"--condition {item}: {text!r} is not a number; {name!r} is a numeric column")
    return value


def _check_seen(item: str, name: str, low, high, col, enc) -> None:
    """Refuse a range that lies wholly outside the values the model saw for the column."""
    import pandas as pd

    seen_low, seen_high = getattr(enc, "low", None), getattr(enc, "high", None)
    if seen_low is None or seen_high is None:
        return
    if col.kind.value == "datetime":
        def as_ns(v):
            if v is None:
                return None
            return (v.tz_localize(col.timezone) if col.timezone and v.tz is None else v).value

        def shown(ns):
            stamp = pd.Timestamp(int(ns), tz="UTC")
            stamp = stamp.tz_convert(col.timezone) if col.timezone else stamp.tz_localize(None)
            return stamp.isoformat() if stamp != stamp.normalize() else stamp.date().isoformat()

        low, high = as_ns(low), as_ns(high)
    else:
        def shown(v):
            return f"{v:g}"

    if (low is not None and low > seen_high) or (high is not None and high < seen_low):
        raise ConditionError(
            f"--condition {item}: no row can satisfy it; the model saw {name!r} from {shown(seen_low)} "
            f"to {shown(seen_high)}"
        )


def _read_metadata(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"metadata file {path!r} cannot be read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"metadata file {path!r} is not valid JSON: {exc}") from None


def _amp_option(args) -> bool | str:
    """--no-amp -> False, --amp -> True (force bf16), neither -> "auto"."""
    return False if args.no_amp else (True if args.amp else "auto")


# -- outputs: never over an existing one unless --overwrite, never over an input ------------
def _same_file(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def _not_an_input(path, inputs, option: str = "-o/--output") -> None:
    """Refuse an output that is one of the command's inputs, even with --overwrite."""
    for source in inputs:
        if path is not None and source is not None and _same_file(path, source):
            raise ConfigError(f"{option} {str(path)!r} is also an input of this command; choose another output name")


def _free(path, args, option: str = "-o/--output", inputs=()) -> None:
    """Refuse ``path`` when it is one of ``inputs``, or exists and ``--overwrite`` was not given."""
    if path is None:
        return
    _not_an_input(path, inputs, option)
    if Path(path).is_dir():
        raise ConfigError(f"{option} {str(path)!r} is a folder; give a file name")
    if Path(path).exists() and not args.overwrite:
        raise ConfigError(
            f"{option} {str(path)!r}: the file already exists; pass --overwrite to replace it, or choose another name"
        )


def _cmd_fit(args) -> None:
    from synthgan import TabularSynthesizer

    if args.detect_constraints:
        _detect_constraints(args)
        return
    if not args.output:
        raise ConfigError("fit: -o/--output MODEL is required (or --detect-constraints to print the table's rules)")
    _free(args.output, args, inputs=(args.data, args.metadata, args.constraints))
    metadata = _read_metadata(args.metadata) if args.metadata else None
    if args.epsilon is not None:
        _fit_private(args, metadata)
        return
    if args.dp_method is not None or args.delta is not None:
        raise ConfigError("fit: --dp-method and --delta apply to a differentially private fit: add --epsilon")
    constraints = _read_constraints(args.constraints) if args.constraints else None
    synth = TabularSynthesizer(
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        amp=_amp_option(args),
        seed=args.seed,
        verbose=not args.quiet,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        continuous_encoding=args.continuous_encoding,
        target_balance=args.target_balance,
        label_model=not args.no_label_model,
        validation=args.validation,
        patience=args.patience,
        log_dir=args.log_dir,
    )
    # a path, not a frame: under torchrun each rank reads only its own rows of a Parquet file
    synth.fit(args.data, metadata=metadata, target=args.target, fairness=args.fairness, constraints=constraints)
    synth.save(args.output)
    if synth.rank_ == 0:
        ranks = f" on {synth.world_size_} processes" if synth.world_size_ > 1 else ""
        h = synth.history_
        chosen = f", kept epoch {h.best_epoch} of {len(h.records)}" if h.best_epoch is not None else ""
        stopped = " (stopped early: validation quality stopped improving)" if h.stopped_early else ""
        print(
            f"model written to {args.output} ({sum(h.epoch_seconds):.1f} s of training{ranks}, "
            f"batch {h.budget['batch_size']}{chosen}){stopped}"
        )


def _fit_private(args, metadata) -> None:
    """``fit --epsilon``: :class:`synthgan.PrivateSynthesizer` (AIM by default)."""
    from synthgan import PrivateSynthesizer

    refused = [flag for flag, given in (
        ("--constraints", args.constraints), ("--fairness", args.fairness), ("--target-balance", args.target_balance),
        ("--no-label-model", args.no_label_model), ("--checkpoint-dir", args.checkpoint_dir), ("--resume", args.resume), ("--log-dir", args.log_dir),
    ) if given]
    if refused:
        raise ConfigError(f"fit --epsilon: {', '.join(refused)} not available with a differentially private fit")
    method = args.dp_method or "aim"
    public = _read_public(args.public) if args.public else {}
    if method != "dpctgan" and (args.epochs is not None or args.batch_size is not None):
        raise ConfigError(f"fit --epsilon: --epochs and --batch-size apply to --dp-method dpctgan, not {method}")
    synth = PrivateSynthesizer(
        epsilon=args.epsilon, delta=args.delta, method=method, epochs=args.epochs, batch_size=args.batch_size,
        seed=args.seed, verbose=not args.quiet, bounds=public.get("bounds"), categories=public.get("categories"),
    )
    try:
        synth.fit(args.data, metadata=metadata, target=args.target) if method == "aim" else synth.fit(args.data, metadata)
    except DataError as exc:
        if "bounds=" not in str(exc) and "categories=" not in str(exc):
            raise
        raise DataError(
            f"{exc}. From the command line: --public FILE.json with "
            '{"bounds": {"COLUMN": [LOW, HIGH]}, "categories": {"COLUMN": ["a", "b"]}} (public knowledge, not '
            "read from the data)"
        ) from None
    synth.save(args.output)
    p = synth.privacy_
    print(f"model written to {args.output} ({method}: epsilon {p['epsilon']:.2f} spent of {args.epsilon:g}, "
          f"delta {p['delta']:.1e})")


def _read_public(path: str) -> dict:
    """``--public FILE.json``: {"bounds": {col: [low, high]}, "categories": {col: [...]}}."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"--public {path!r}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"bounds", "categories"}:
        raise ConfigError(f'--public {path!r}: expected {{"bounds": {{...}}, "categories": {{...}}}}, got keys {list(data)}')
    bounds = {k: tuple(v) for k, v in (data.get("bounds") or {}).items()}
    bad = [k for k, v in bounds.items() if len(v) != 2]
    if bad:
        raise ConfigError(f"--public {path!r}: bounds of {listing(bad)} must be [low, high]")
    return {"bounds": bounds, "categories": dict(data.get("categories") or {})}


def load_tabular_model(path, device: str = "auto"):
    """The tabular model in ``path``: a :class:`TabularSynthesizer`, or a
    :class:`PrivateSynthesizer` for AIM / MST files."""
    from synthgan.serialization import read_kind
    from synthgan.tabular.private_synthesizer import MODEL_KIND, PrivateSynthesizer

    if read_kind(path) == MODEL_KIND:
        return PrivateSynthesizer.load(path)
    from synthgan import TabularSynthesizer

    return TabularSynthesizer.load(path, device=device)


def _detect_constraints(args) -> None:
    """Print :func:`synthgan.constraints.detect`'s proposals, then a JSON list for --constraints."""
    from synthgan.constraints import detect
    from synthgan.schema import detect_schema

    df = read_table(args.data)
    metadata = _read_metadata(args.metadata) if args.metadata else None
    canonical = detect_schema(df, metadata).canonical(df)  # dates as text are compared as dates
    proposals = detect(canonical)
    if not proposals:
        print(f"no rules found in {args.data} ({len(df):,} rows)")
        return
    print(f"{len(proposals)} rule(s) hold on every row of {args.data} ({len(df):,} rows):", file=sys.stderr)
    for p in proposals:
        print(f"  {p}", file=sys.stderr)
    print("accept them by saving the JSON below (edit out any you do not want) and passing --constraints FILE:",
          file=sys.stderr)
    print(json.dumps([{"type": p.constraint.to_json()["type"], "params": p.constraint.to_json()["params"]}
                      for p in proposals], indent=2))


def _read_constraints(path: str) -> list:
    from synthgan.constraints import constraint_from_json

    try:
        rules = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"--constraints {path!r}: cannot read it as JSON ({exc})") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) and "type" in r for r in rules):
        raise ConfigError(
            f"--constraints {path!r}: expected a JSON list of {{\"type\": ..., \"params\": {{...}}}} objects"
        )
    out = []
    for rule in rules:
        try:
            out.append(constraint_from_json({"type": rule["type"], "params": rule.get("params", {}), "state": None}))
        except SynthGANError as exc:
            raise ConfigError(f"--constraints {path!r}: rule {json.dumps(rule)} is not a built-in constraint ({exc})") from None
    return out


def _is_folder_output(path: str) -> bool:
    """``out/``, an existing folder, or a name without a suffix: a folder of Parquet parts."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir() or Path(path).suffix == ""


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C after some complete parts were kept."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _parts_to_replace(folder: Path, args) -> list[Path]:
    """The files of an earlier run that ``--overwrite`` removes from a folder of Parquet parts.

    Only synthgan's own files (parts, manifest, temporary parts) are ever removed; a folder
    that holds anything else is refused, so --overwrite cannot delete a user's files.
    """
    from synthgan.scale.manifest import MANIFEST_NAME, PART_FILE, TEMP_FILE

    if args.resume or not folder.is_dir():
        return []
    entries = sorted(folder.iterdir())
    if not entries:
        return []
    if not args.overwrite:
        raise ConfigError(
            f"-o {str(folder)!r}: the folder is not empty; pass --overwrite to replace the synthgan parts in it, "
            "--resume to finish an interrupted run there, or choose a new folder"
        )
    def ours(path: Path) -> bool:
        name = path.name
        return path.is_file() and bool(name == MANIFEST_NAME or PART_FILE.match(name) or TEMP_FILE.match(name))

    others = [p.name for p in entries if not ours(p)]
    if others:
        raise ConfigError(
            f"-o {str(folder)!r}: --overwrite replaces only synthgan's Parquet parts and manifest, and the folder "
            f"also holds {listing(others)}; choose a new folder"
        )
    return entries


def _cmd_sample(args) -> None:
    from synthgan.io import SQLITE_SUFFIXES, TABLE_SUFFIXES
    from synthgan.scale.blocks import BLOCK_ROWS

    out = args.output
    folder = _is_folder_output(out)
    suffix = Path(out).suffix.lower()
    sqlite = not folder and suffix in SQLITE_SUFFIXES
    on_dask = args.dask_workers is not None or args.scheduler is not None
    if not folder and suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"-o {out!r}: unknown output format {Path(out).suffix!r}; use one of "
                          f"{', '.join(TABLE_SUFFIXES)}, or a folder (e.g. out/) for Parquet parts")
    if (args.table or args.replace) and not sqlite:
        raise ConfigError("--table and --replace apply to SQLite outputs (-o fixtures.sqlite)")
    if not folder and (args.resume or on_dask):
        option = "--resume" if args.resume else "--dask-workers/--scheduler"
        raise ConfigError(f"{option} writes a folder of Parquet parts; give -o a folder such as out/")
    if args.resume and args.overwrite:
        raise ConfigError("--resume finishes the run in the folder and --overwrite replaces it; give one of them")
    _not_an_input(out, (args.model,))
    stale = []
    if folder:
        stale = _parts_to_replace(Path(out), args)
    elif not sqlite:  # SQLite: a table is added to the database; an existing table needs --replace
        _free(out, args)
    privacy = False if args.allow_training_rows else "exact"
    try:
        from synthgan import TabularSynthesizer

        synth = None
        if not on_dask or args.condition:
            synth = load_tabular_model(args.model, device="cpu" if on_dask else args.device)
        if not isinstance(synth, (TabularSynthesizer, type(None))):  # AIM / MST: rows drawn in memory
            _sample_private(synth, args, folder, on_dask, sqlite)
            return
        common = dict(
            seed=args.seed, conditions=resolve_conditions(args.condition, synth) if args.condition else None,
            block_rows=BLOCK_ROWS if args.block_rows is None else args.block_rows, privacy=privacy,
        )
        for path in stale:  # an earlier run's parts, replaced as --overwrite asked
            path.unlink()
        if on_dask:
            from synthgan.scale.dask_generate import dask_sample_to_parquet

            result = dask_sample_to_parquet(
                args.model, out, args.n, chunk_rows=args.chunk_rows, resume=args.resume, scheduler=args.scheduler,
                n_workers=args.dask_workers, device=args.device, verbose=not args.quiet, **common,
            )
            print(f"{result.rows} rows written to {out} ({result.files} parquet parts, seed {result.seed})")
            return
        from synthgan.scale.streaming import STREAM_SUFFIXES, sample_to_file, stream_rows

        if folder:
            result = synth.sample_to_parquet(
                out, args.n, chunk_rows=args.chunk_rows, resume=args.resume, verbose=not args.quiet, **common
            )
            print(f"{result.rows} rows written to {out} ({result.files} parquet parts, seed {result.seed})")
        elif suffix in STREAM_SUFFIXES:
            result = sample_to_file(synth, out, args.n, chunk_rows=args.chunk_rows, verbose=not args.quiet, **common)
            print(f"{result.rows} rows written to {out}")
        else:  # formats written whole (SQLite): the same rows, in memory
            rows = stream_rows(synth, args.n, **common)
            replace = args.replace or args.overwrite
            path = write_table(rows, out, table=args.table, if_exists="replace" if replace else "fail")
            print(f"{len(rows)} rows written to {path}" + (f" (table {args.table})" if args.table else ""))
    except PrivacyFilterError as exc:
        if privacy is False:
            raise
        raise PrivacyFilterError(
            f"{exc}. From the command line: --allow-training-rows turns the exact-match filter off and "
            "releases rows equal to a training row (the only rows there are when every possible row of "
            "the table is in the training data, e.g. a table of one or two categorical columns)"
        ) from None
    except KeyboardInterrupt:
        if folder:
            raise _Interrupted(f"complete parts are kept in {out}; run again with --resume to finish") from None
        raise


def _sample_private(synth, args, folder: bool, on_dask: bool, sqlite: bool) -> None:
    """``sample`` from an AIM / MST model: drawn in memory, written whole (atomically)."""
    if folder or on_dask or args.resume:
        raise ConfigError(
            "sample: a private marginal model (AIM / MST) writes one file (.csv, .parquet, .jsonl, .sqlite); "
            "folders of parts, --resume and Dask apply to GAN models"
        )
    conditions = resolve_conditions(args.condition, synth) if args.condition else None
    rows = synth.sample(args.n, conditions=conditions, seed=args.seed)
    replace = args.replace or args.overwrite
    path = write_table(rows, args.output, table=args.table, if_exists="replace" if replace else "fail")
    print(f"{len(rows)} rows written to {path}" + (f" (table {args.table})" if sqlite and args.table else ""))


def _check_output(path: str | None, suffixes: tuple[str, ...], option: str) -> None:
    if path is not None and Path(path).suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path!r}: expected a file ending in {' or '.join(suffixes)}")


def _cmd_evaluate(args) -> None:
    _check_output(args.output, (".html", ".htm"), "-o/--output")
    _check_output(args.json, (".json",), "--json")
    inputs = (args.real, args.synthetic, args.holdout, args.metadata, args.model)
    _free(args.output, args, "-o/--output", inputs)
    _free(args.json, args, "--json", inputs)
    from synthgan.evaluation import evaluate

    model = None
    if args.model:
        model = load_tabular_model(args.model, device="cpu")
    _check_attack_options(args)
    real, synthetic = read_table(args.real), read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    metadata = _read_metadata(args.metadata) if args.metadata else None
    if args.secrets:
        _check_secrets(args.secrets, real, metadata, args.real)
    report = evaluate(
        real,
        synthetic,
        holdout,
        target=args.target,
        sensitive=args.sensitive,
        task=args.task,
        minority=_parse_value(args.minority) if args.minority is not None else None,
        metadata=metadata,
        seed=args.seed,
        max_rows=args.max_rows,
        verbose=not args.quiet,
        model=model,
        attacks=None if args.attacks == "none" else args.attacks,
        secrets=args.secrets,
        **({"shadow_budget_s": args.shadow_budget} if args.shadow_budget is not None else {}),
    )
    # render both before writing either, so a failure leaves no half set of outputs
    pages = [(args.output, report.html()), (args.json, report.to_json() + "\n")]
    for path, text in pages:
        if path is None:
            continue
        try:
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    print(report.summary())
    written = [p for p, _ in pages if p is not None]
    if written:
        print("\nwritten: " + ", ".join(written))


def _check_attack_options(args) -> None:
    """Refuse privacy-attack options that cannot take effect, in the command's own terms."""
    if args.secrets and not args.holdout:
        raise ConfigError(
            "--secrets needs --holdout: attribute inference compares training rows with real rows the "
            "generator never saw"
        )
    if args.shadow_budget is not None:
        if not math.isfinite(args.shadow_budget) or args.shadow_budget <= 0:
            raise ConfigError(f"--shadow-budget {args.shadow_budget:g}: expected a number of seconds > 0")
        if args.attacks != "thorough" or not args.model:
            raise ConfigError(
                "--shadow-budget applies to the shadow-model attack, which runs with --attacks thorough and "
                "--model MODEL (the fitted model it refits)"
            )


def _check_secrets(secrets: list[str], real, metadata, source: str) -> None:
    """Every --secrets column is a non-identifier column of the real table, named once."""
    import difflib

    from synthgan.schema import ColumnKind, detect_schema

    columns = [str(c) for c in real.columns]
    dupes = sorted({c for c in secrets if secrets.count(c) > 1})
    if dupes:
        raise ConfigError(f"--secrets: {listing(dupes)} listed more than once")
    for name in secrets:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=3)
            hint = f"; did you mean {listing(close)}?" if close else f"; its columns: {listing(columns)}"
            raise ConfigError(f"--secrets {name}: {source!r} has no column {name!r}{hint}")
    schema = detect_schema(real, metadata)
    for name in secrets:
        if schema[name].kind is ColumnKind.ID:
            raise ConfigError(
                f"--secrets {name}: {name!r} was detected as an identifier column (unique per row), so there is "
                f"nothing to infer; if it is not one, declare its kind with --metadata (e.g. "
                f'{{"{name}": "categorical"}})'
            )
    if len(secrets) >= len([c for c in schema.columns if c.kind is not ColumnKind.ID]):
        raise ConfigError(
            f"--secrets {' '.join(secrets)}: every column is a secret, so the attacker knows nothing to guess "
            "from; leave at least one other column out of --secrets"
        )


def _cmd_demo(args) -> None:
    from synthgan.demo import DEMO_OUTPUTS, run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r} is a file; the demo writes a folder")
    present = [name for name in DEMO_OUTPUTS if (out / name).exists()]
    if present and not args.overwrite:
        raise ConfigError(
            f"--out {args.out!r} already holds demo outputs ({listing(present)}); pass --overwrite to replace "
            "them, or choose another --out"
        )
    summary = run_demo(
        out, epochs=args.epochs, seed=args.seed, verbose=not args.quiet, image_epochs=args.image_epochs,
        threads=args.threads,
    )
    print(summary.read_text())


def _cmd_fit_images(args) -> None:
    from synthgan import ImageSynthesizer

    _free(args.output, args, inputs=(args.images,))
    gen = ImageSynthesizer(
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        amp=_amp_option(args),
        seed=args.seed,
        verbose=not args.quiet,
        channels=args.channels,
        class_loss=args.class_loss,
        generator_lr=args.lr,
        discriminator_lr=args.lr,
    )
    gen.fit(args.images, split=args.split)
    gen.save(args.output)
    print(f"model written to {args.output} ({len(gen.classes_)} class(es), images {gen.image_shape_})")


#: the files sample-images writes into its class subfolders
_SAMPLED_PNG = re.compile(r"^\d+\.png$")


def _check_image_folder(root: Path, args) -> None:
    """A new or empty folder; with --overwrite, one that holds only an earlier sample-images output."""
    if not root.exists():
        return
    if not root.is_dir():
        raise ConfigError(f"-o {str(root)!r} is a file; sample-images writes a folder")
    entries = sorted(root.iterdir())
    if not entries:
        return
    if not args.overwrite:
        raise ConfigError(
            f"-o {str(root)!r}: the folder is not empty; pass --overwrite to replace it, or choose a new folder"
        )
    grid = Path(args.grid).resolve() if args.grid else None
    others = []
    for entry in entries:
        if entry.is_dir():
            sampled = lambda f: f.is_file() and _SAMPLED_PNG.match(f.name)  # noqa: E731
            others += [f"{entry.name}/{f.name}" for f in sorted(entry.iterdir()) if not sampled(f)]
        elif entry.resolve() != grid:
            others.append(entry.name)
    if others:
        raise ConfigError(
            f"-o {str(root)!r}: --overwrite replaces only a folder that sample-images wrote (class subfolders "
            f"of numbered PNGs), and this one also holds {listing(others)}; choose a new folder"
        )


def _cmd_sample_images(args) -> None:
    from synthgan import ImageSynthesizer

    root = Path(args.output)
    _not_an_input(root, (args.model,))
    _free(args.grid, args, "--grid", inputs=(args.model,))
    _check_image_folder(root, args)
    gen = ImageSynthesizer.load(args.model, device=args.device)
    labels = [args.label] * args.n if args.label is not None else None
    # written beside the output and moved into place whole: a failure leaves the old folder as it was
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        gen.sample_to_folder(tmp, n=args.n, labels=labels, seed=args.seed)
        if root.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".old", dir=root.parent))
            os.replace(root, old / root.name)
            os.replace(tmp, root)
            shutil.rmtree(old)
        else:
            os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    print(f"{args.n} images written to {args.output}/<class>/")
    if args.grid:
        gen.save_grid(args.grid, seed=args.seed)
        print(f"grid written to {args.grid}")


class _DefaultsHelp(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already says its default;
    a flag's default is "off". Options whose default is None say theirs in words."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or "default" in text or action.required or action.default is argparse.SUPPRESS:
            return text
        if action.default is False and action.nargs == 0:
            return f"{text} (default: off)"
        if action.default is None:
            return text
        return f"{text} (default: %(default)s)"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthgan")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from synthgan import __version__

        return __version__


#: evaluate's shadow_budget_s default, for --shadow-budget's help (synthgan.privacy.attacks.SHADOW_BUDGET_S,
#: not imported here: it pulls in torch; a test checks the two agree)
_SHADOW_BUDGET_S = 300.0

#: the help of --overwrite, per command
_OVERWRITE = "replace outputs that already exist (without it an existing output is an error and is left as it was)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synthgan", description="Synthetic tabular data with GANs.", formatter_class=_DefaultsHelp
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, **kwargs) -> argparse.ArgumentParser:
        description = kwargs.pop("description", help[0].upper() + help[1:] + ".")
        return sub.add_parser(name, help=help, description=description, formatter_class=_DefaultsHelp, **kwargs)

    from synthgan.config import TabularConfig

    tab_default = {name: field.default for name, field in TabularConfig.model_fields.items()}
    fit = command(
        "fit", "fit a tabular model on a CSV/Parquet table",
        description="Fit the tabular GAN. Unset --epochs and --batch-size take a size-aware budget: batch = "
        "an eighth of the rows (50 to 500), steps = 300 epochs' worth within 4,000 to 6,000; a validation "
        "share of the rows picks the best epoch and stops training when quality stops improving.",
    )
    fit.add_argument("data", help="input table (.csv, .parquet, .jsonl, or a one-table .sqlite/.db)")
    fit.add_argument("-o", "--output", help="model file to write (e.g. model.synth); required unless --detect-constraints (default: none)")
    fit.add_argument("--overwrite", action="store_true", help=_OVERWRITE)
    fit.add_argument("--epochs", type=int, default=None, help="passes over the data (default: size-aware step budget)")
    fit.add_argument(
        "--batch-size", type=int, default=None, help="rows per optimiser step (default: an eighth of the rows, 50 to 500)"
    )
    fit.add_argument(
        "--seed", type=int, default=None, help="same seed, same data, same machine: same model (default: random)"
    )
    fit.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    amp = fit.add_mutually_exclusive_group()
    amp.add_argument("--no-amp", action="store_true", help="train in fp32 (default: bf16 where it is faster)")
    amp.add_argument("--amp", action="store_true", help="force bf16 autocast, even on CPUs where it is slower")
    fit.add_argument("--metadata", help='JSON file of column kinds, e.g. {"zip": "categorical"} (default: detected)')
    fit.add_argument(
        "--continuous-encoding", choices=["quantile", "mixture"], default=tab_default["continuous_encoding"],
        help="numbers: quantile transform to normal scores, or CTGAN's mode-specific normalisation",
    )
    fit.add_argument(
        "--validation", type=float, default=tab_default["validation"],
        help="share of rows held out for best-epoch selection and early stopping (0: off)",
    )
    fit.add_argument(
        "--patience", type=int, default=tab_default["patience"],
        help="validation scores without improvement before stopping (0: never stop early)",
    )
    fit.add_argument("--log-dir", help="write TensorBoard scalars (losses, validation quality) here (default: none)")
    fit.add_argument(
        "--constraints", metavar="RULES.json", help="rules between columns every sampled row obeys: a JSON list of "
        '{"type": "Inequality", "params": {"low": "admitted", "high": "discharged"}} (as --detect-constraints '
        "prints; default: none)",
    )
    fit.add_argument(
        "--detect-constraints", action="store_true", help="print the rules the table obeys (with their support) "
        "as a JSON list for --constraints, and exit without fitting (default: off)",
    )
    fit.add_argument(
        "--target", help="column a downstream model will predict: always conditioned on, with an auxiliary "
        "classifier (target-aware training; default: none)",
    )
    fit.add_argument(
        "--fairness", nargs="+", metavar="COLUMN",
        help="discrete sensitive columns conditioned on jointly with --target, so their outcome gaps are kept "
        "(default: none)",
    )
    fit.add_argument(
        "--target-balance", action="store_true", help="condition on the target's classes uniformly (with --target)"
    )
    fit.add_argument(
        "--no-label-model", action="store_true",
        help="with a class --target: keep the generator's class on sampled rows instead of drawing it from a "
        "classifier of the real rows (default: the classifier draws it)",
    )
    fit.add_argument(
        "--epsilon", type=float, help="fit a differentially private model with this total epsilon "
        "(PrivateSynthesizer: AIM by default; default: no DP)",
    )
    fit.add_argument(
        "--delta", type=float, help="with --epsilon: the failure probability (default: min(1e-5, 1/rows^1.1))"
    )
    fit.add_argument(
        "--public", metavar="FILE.json", help='with --epsilon: public domains, {"bounds": {"age": [0, 120]}, '
        '"categories": {"sex": ["F", "M"]}}; no budget is spent on them (default: all estimated privately)',
    )
    fit.add_argument(
        "--dp-method", choices=["aim", "mst", "dpctgan"],
        help="with --epsilon: aim (adaptive marginals), mst (spanning tree of pairs, fast) or dpctgan "
        "(DP-SGD GAN, for very wide tables) (default: aim)",
    )
    fit.add_argument("--checkpoint-dir", help="folder for training checkpoints (default: no checkpoints)")
    fit.add_argument("--checkpoint-every", type=int, default=0, help="epochs between checkpoints (0: only at the end)")
    fit.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir")
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(func=_cmd_fit)

    sample = command(
        "sample", "sample rows from a fitted model, streamed chunk by chunk to a file or a folder of parts",
        description="Sample rows from a fitted model. Rows equal to a training row are dropped (the exact-match "
        "filter) unless --allow-training-rows is given. An existing output file is an error unless --overwrite "
        "is given; a SQLite output gets a table added (other tables are kept), and a table of the same name "
        "needs --replace (or --overwrite).",
    )
    sample.add_argument("model", help="model file written by synthgan fit")
    sample.add_argument("-n", type=int, required=True, help="number of rows")
    sample.add_argument(
        "-o", "--output", required=True,
        help="output table (.csv, .parquet, .jsonl, .sqlite/.db), or a folder (out/) of Parquet parts with a manifest",
    )
    sample.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing output file; in a folder, replace an earlier run's Parquet parts; for SQLite, "
        "the same as --replace",
    )
    sample.add_argument("--table", help="SQLite table to write (default: the file's stem)")
    sample.add_argument(
        "--replace", action="store_true",
        help="replace that SQLite table if it exists (the database's other tables are kept)",
    )
    sample.add_argument(
        "--condition", action="append", metavar="COLUMN=VALUE",
        help="COLUMN=VALUE for a categorical or integer column, COLUMN=LOW..HIGH for a number or a date "
        "(either side may be left open: age=60..); repeatable (default: none)",
    )
    sample.add_argument(
        "--allow-training-rows", action="store_true",
        help="release generated rows even when they equal a training row: turns the exact-match filter off "
        "(needed when every possible row is a training row, e.g. a table of one categorical column)",
    )
    sample.add_argument("--seed", type=int, default=None, help="same seed, same rows (default: a fresh one)")
    sample.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    sample.add_argument("--chunk-rows", type=int, default=1_000_000, help="rows held in memory and written at a time")
    sample.add_argument(
        "--block-rows", type=int, default=None,
        help="candidate rows per seeded block (default 16384); with the seed it fixes the rows",
    )
    sample.add_argument("--resume", action="store_true", help="finish an interrupted run into the same folder")
    sample.add_argument(
        "--dask-workers", type=int, metavar="N",
        help="generate on a local Dask cluster of N worker processes (needs synthgan[dask]; folder output; "
        "default: no Dask)",
    )
    sample.add_argument(
        "--scheduler", metavar="ADDRESS", help="generate on this Dask scheduler (tcp://host:8786; default: none)"
    )
    sample.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(func=_cmd_sample)

    ev = command("evaluate", "compare a synthetic table with the real one; write a report")
    ev.add_argument("real", help="the real (training) table (.csv, .parquet, .jsonl)")
    ev.add_argument("synthetic", help="the synthetic table")
    ev.add_argument(
        "--holdout", help="real rows the generator never saw (enables utility: TSTR vs TRTR; default: none)"
    )
    ev.add_argument("--target", help="column to predict for utility and augmentation (default: none)")
    ev.add_argument(
        "--sensitive", nargs="+", metavar="COLUMN",
        help="columns whose groups the bias section compares (sex race age; default: none)",
    )
    ev.add_argument(
        "--task", choices=["classification", "regression"], help="the target's task (default: from the target's kind)"
    )
    ev.add_argument("--minority", help="class whose synthetic rows augment the real ones (default: the rarest)")
    ev.add_argument("--metadata", help='JSON file of column kinds, e.g. {"zip": "categorical"} (default: detected)')
    ev.add_argument("-o", "--output", help="HTML report to write, self-contained (default: none)")
    ev.add_argument("--json", help="JSON report to write (default: none)")
    ev.add_argument("--overwrite", action="store_true", help=_OVERWRITE)
    ev.add_argument("--seed", type=int, default=0, help="seed of the evaluation's models and subsamples")
    ev.add_argument("--max-rows", type=int, default=5_000, help="rows per table for sdmetrics' quality report")
    ev.add_argument(
        "--model",
        help="the tabular model file (.synth) that made the synthetic table: adds its training curves, and with "
        "--attacks thorough the shadow-model attack refits it (default: none)",
    )
    ev.add_argument(
        "--attacks", choices=["fast", "thorough", "none"], default="fast",
        help="membership inference attacks in the privacy section (they need --holdout): fast runs the "
        "density-ratio and distance attacks on up to 2,000 members and non-members; thorough on up to 10,000, "
        "plus the shadow-model attack when --model is given; none skips them",
    )
    ev.add_argument(
        "--secrets", nargs="+", metavar="COLUMN",
        help="columns an attacker might infer from a person's other columns (diagnosis income): attribute "
        "inference in the privacy section; needs --holdout (default: none)",
    )
    ev.add_argument(
        "--shadow-budget", type=float, default=None, metavar="SECONDS",
        help="seconds the shadow-model attack's refits may take, with --attacks thorough and --model "
        f"(default: {_SHADOW_BUDGET_S:g})",
    )
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=_cmd_evaluate)

    fit_images = command("fit-images", "fit the image GAN on a class-subfolder folder or a .npz")
    fit_images.add_argument("images", help="folder (one subfolder per class) or MedMNIST-style .npz")
    fit_images.add_argument("-o", "--output", required=True, help="model file to write")
    fit_images.add_argument("--overwrite", action="store_true", help=_OVERWRITE)
    fit_images.add_argument("--split", default="train", help=".npz split: train, val or test")
    image_default = {name: field.default for name, field in ImageConfig.model_fields.items()}  # one source
    fit_images.add_argument("--epochs", type=int, default=image_default["epochs"], help="passes over the images")
    fit_images.add_argument(
        "--batch-size", type=int, default=image_default["batch_size"], help="images per optimiser step"
    )
    fit_images.add_argument("--channels", type=int, default=image_default["channels"], help="base network width")
    fit_images.add_argument(
        "--class-loss", type=float, default=image_default["class_loss"],
        help="weight of the auxiliary class head (0: projection only)",
    )
    fit_images.add_argument(
        "--lr", type=float, default=image_default["generator_lr"],
        help="learning rate of both networks (1e-3 suits thousands of clean images)",
    )
    fit_images.add_argument(
        "--seed", type=int, default=None, help="same seed, same images: same model (default: random)"
    )
    fit_images.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    amp_images = fit_images.add_mutually_exclusive_group()
    amp_images.add_argument("--no-amp", action="store_true", help="train in fp32 (default: bf16 where it is faster)")
    amp_images.add_argument("--amp", action="store_true", help="force bf16 autocast, even on CPUs where it is slower")
    fit_images.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    fit_images.set_defaults(func=_cmd_fit_images)

    sample_images = command("sample-images", "write PNGs (one subfolder per class) from an image model")
    sample_images.add_argument("model", help="model file written by synthgan fit-images")
    sample_images.add_argument("-n", type=int, required=True, help="number of images")
    sample_images.add_argument("-o", "--output", required=True, help="output folder (one subfolder per class)")
    sample_images.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing output folder written by sample-images (its images are deleted) and an "
        "existing --grid file",
    )
    sample_images.add_argument("--label", help="only this class, as named in training (default: every class)")
    sample_images.add_argument("--grid", help="also write a labelled grid PNG here (default: no grid)")
    sample_images.add_argument("--seed", type=int, default=None, help="same seed, same images (default: a fresh one)")
    sample_images.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    sample_images.set_defaults(func=_cmd_sample_images)

    demo = command(
        "demo", "fit on an embedded dataset; write a sample, a summary and an evaluation report",
        description="Fit on scikit-learn's breast cancer table, sample, evaluate, and write a report; then the "
        "image GAN on digits and a bias report on the diabetes table. Each stage prints its estimated and "
        "its actual time.",
    )
    demo.add_argument("--out", default="synthgan-demo", help="output folder")
    demo.add_argument("--overwrite", action="store_true", help="replace demo outputs already in --out")
    demo.add_argument("--epochs", type=int, default=None, help="tabular epochs (default: the size-aware budget)")
    demo.add_argument("--image-epochs", type=int, default=40, help="epochs of the digits image GAN (0 skips it)")
    demo.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: the cores this process may use, fewer when the load average shows "
        "other work; OMP_NUM_THREADS or MKL_NUM_THREADS in the environment is respected)",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of every fit and sample")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars or stage lines")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except SynthGANError as exc:
        print(f"synthgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        detail = getattr(exc, "detail", "nothing was written")
        print(f"synthgan {args.command}: interrupted; {detail}", file=sys.stderr)
        return 130
    return 0
