"""The ``synthgan`` command: fit, sample, evaluate and demo, mirroring the Python API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


from synthgan.config import ImageConfig
from synthgan.errors import ConfigError, InputFileError, SynthGANError
from synthgan.io import atomic_path, read_table, write_table


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_condition_args(items: list[str] | None) -> dict | None:
    """``["FraudFound_P=1", "age=30..40"]`` -> ``{"FraudFound_P": 1, "age": (30, 40)}``."""
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


def _cmd_fit(args) -> None:
    from synthgan import TabularSynthesizer

    metadata = _read_metadata(args.metadata) if args.metadata else None
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
        validation=args.validation,
        patience=args.patience,
        log_dir=args.log_dir,
    )
    # a path, not a frame: under torchrun each rank reads only its own rows of a Parquet file
    synth.fit(args.data, metadata=metadata, target=args.target, fairness=args.fairness)
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


def _is_folder_output(path: str) -> bool:
    """``out/``, an existing folder, or a name without a suffix: a folder of Parquet parts."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir() or Path(path).suffix == ""


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C after some complete parts were kept."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _cmd_sample(args) -> None:
    from synthgan.io import SQLITE_SUFFIXES, TABLE_SUFFIXES
    from synthgan.scale.blocks import BLOCK_ROWS

    out = args.output
    folder = _is_folder_output(out)
    on_dask = args.dask_workers is not None or args.scheduler is not None
    if not folder and Path(out).suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"-o {out!r}: unknown output format {Path(out).suffix!r}; use one of "
                          f"{', '.join(TABLE_SUFFIXES)}, or a folder (e.g. out/) for Parquet parts")
    if (args.table or args.replace) and (folder or Path(out).suffix.lower() not in SQLITE_SUFFIXES):
        raise ConfigError("--table and --replace apply to SQLite outputs (-o fixtures.sqlite)")
    if not folder and (args.resume or on_dask):
        option = "--resume" if args.resume else "--dask-workers/--scheduler"
        raise ConfigError(f"{option} writes a folder of Parquet parts; give -o a folder such as out/")
    common = dict(
        seed=args.seed, conditions=parse_condition_args(args.condition),
        block_rows=BLOCK_ROWS if args.block_rows is None else args.block_rows,
    )
    try:
        if on_dask:
            from synthgan.scale.dask_generate import dask_sample_to_parquet

            result = dask_sample_to_parquet(
                args.model, out, args.n, chunk_rows=args.chunk_rows, resume=args.resume, scheduler=args.scheduler,
                n_workers=args.dask_workers, device=args.device, verbose=not args.quiet, **common,
            )
            print(f"{result.rows} rows written to {out} ({result.files} parquet parts, seed {result.seed})")
            return
        from synthgan import TabularSynthesizer
        from synthgan.scale.streaming import STREAM_SUFFIXES, sample_to_file, stream_rows

        synth = TabularSynthesizer.load(args.model, device=args.device)
        if folder:
            result = synth.sample_to_parquet(
                out, args.n, chunk_rows=args.chunk_rows, resume=args.resume, verbose=not args.quiet, **common
            )
            print(f"{result.rows} rows written to {out} ({result.files} parquet parts, seed {result.seed})")
        elif Path(out).suffix.lower() in STREAM_SUFFIXES:
            result = sample_to_file(synth, out, args.n, chunk_rows=args.chunk_rows, verbose=not args.quiet, **common)
            print(f"{result.rows} rows written to {out}")
        else:  # formats written whole (SQLite): the same rows, in memory
            rows = stream_rows(synth, args.n, **common)
            path = write_table(rows, out, table=args.table, if_exists="replace" if args.replace else "fail")
            print(f"{len(rows)} rows written to {path}" + (f" (table {args.table})" if args.table else ""))
    except KeyboardInterrupt:
        if folder:
            raise _Interrupted(f"complete parts are kept in {out}; run again with --resume to finish") from None
        raise


def _check_output(path: str | None, suffixes: tuple[str, ...], option: str) -> None:
    if path is not None and Path(path).suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path!r}: expected a file ending in {' or '.join(suffixes)}")


def _cmd_evaluate(args) -> None:
    _check_output(args.output, (".html", ".htm"), "-o/--output")
    _check_output(args.json, (".json",), "--json")
    from synthgan.evaluation import evaluate

    model = None
    if args.model:
        from synthgan import TabularSynthesizer

        model = TabularSynthesizer.load(args.model, device="cpu")
    real, synthetic = read_table(args.real), read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    report = evaluate(
        real,
        synthetic,
        holdout,
        target=args.target,
        sensitive=args.sensitive,
        task=args.task,
        minority=_parse_value(args.minority) if args.minority is not None else None,
        metadata=_read_metadata(args.metadata) if args.metadata else None,
        seed=args.seed,
        max_rows=args.max_rows,
        verbose=not args.quiet,
        model=model,
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


def _cmd_demo(args) -> None:
    from synthgan.demo import run_demo

    out = run_demo(
        Path(args.out), epochs=args.epochs, seed=args.seed, verbose=not args.quiet, image_epochs=args.image_epochs
    )
    print(out.read_text())


def _cmd_fit_images(args) -> None:
    from synthgan import ImageSynthesizer

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


def _cmd_sample_images(args) -> None:
    from synthgan import ImageSynthesizer

    gen = ImageSynthesizer.load(args.model, device=args.device)
    labels = [args.label] * args.n if args.label is not None else None
    gen.sample_to_folder(args.output, n=args.n, labels=labels, seed=args.seed)
    print(f"{args.n} images written to {args.output}/<class>/")
    if args.grid:
        gen.save_grid(args.grid, seed=args.seed)
        print(f"grid written to {args.grid}")


class _DefaultsHelp(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already says its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synthgan", description="Synthetic tabular data with GANs.")
    sub = parser.add_subparsers(dest="command", required=True)

    from synthgan.config import TabularConfig

    tab_default = {name: field.default for name, field in TabularConfig.model_fields.items()}
    fit = sub.add_parser(
        "fit", help="fit a tabular model on a CSV/Parquet table",
        formatter_class=_DefaultsHelp,
        description="Fit the tabular GAN. Unset --epochs and --batch-size take a size-aware budget: batch = "
        "an eighth of the rows (50 to 500), steps = 300 epochs' worth within 4,000 to 6,000; a validation "
        "share of the rows picks the best epoch and stops training when quality stops improving.",
    )
    fit.add_argument("data", help="input table (.csv, .parquet, .jsonl, or a one-table .sqlite/.db)")
    fit.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.synth)")
    fit.add_argument("--epochs", type=int, default=None, help="passes over the data (default: size-aware step budget)")
    fit.add_argument(
        "--batch-size", type=int, default=None, help="rows per optimiser step (default: an eighth of the rows, 50 to 500)"
    )
    fit.add_argument("--seed", type=int, default=None, help="same seed, same data, same machine: same model (default: random)")
    fit.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    amp = fit.add_mutually_exclusive_group()
    amp.add_argument("--no-amp", action="store_true", help="train in fp32")
    amp.add_argument("--amp", action="store_true", help="force bf16 autocast, even on CPUs where it is slower")
    fit.add_argument("--metadata", help='JSON file of column kinds, e.g. {"zip": "categorical"}')
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
    fit.add_argument("--log-dir", help="write TensorBoard scalars (losses, validation quality) here")
    fit.add_argument(
        "--target", help="column a downstream model will predict: always conditioned on, with an auxiliary "
        "classifier (target-aware training; default: none)",
    )
    fit.add_argument(
        "--fairness", nargs="+", metavar="COLUMN",
        help="discrete sensitive columns conditioned on jointly with --target, so their outcome gaps are kept",
    )
    fit.add_argument(
        "--target-balance", action="store_true", help="condition on the target's classes uniformly (with --target)"
    )
    fit.add_argument("--checkpoint-dir", help="folder for training checkpoints (default: no checkpoints)")
    fit.add_argument("--checkpoint-every", type=int, default=0, help="epochs between checkpoints (0: only at the end)")
    fit.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir")
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(func=_cmd_fit)

    sample = sub.add_parser(
        "sample", help="sample rows from a fitted model, streamed chunk by chunk to a file or a folder of parts"
    )
    sample.add_argument("model")
    sample.add_argument("-n", type=int, required=True, help="number of rows")
    sample.add_argument(
        "-o", "--output", required=True,
        help="output table (.csv, .parquet, .jsonl, .sqlite/.db), or a folder (out/) of Parquet parts with a manifest",
    )
    sample.add_argument("--table", help="SQLite table to write (default: the file's stem)")
    sample.add_argument("--replace", action="store_true", help="replace that SQLite table if it exists")
    sample.add_argument(
        "--condition", action="append", help="COLUMN=VALUE or COLUMN=LOW..HIGH (repeatable)"
    )
    sample.add_argument("--seed", type=int, default=None, help="same seed, same rows (default: a fresh one)")
    sample.add_argument("--device", default="auto")
    sample.add_argument("--chunk-rows", type=int, default=1_000_000, help="rows held in memory and written at a time")
    sample.add_argument(
        "--block-rows", type=int, default=None,
        help="candidate rows per seeded block (default 16384); with the seed it fixes the rows",
    )
    sample.add_argument("--resume", action="store_true", help="finish an interrupted run into the same folder")
    sample.add_argument(
        "--dask-workers", type=int, metavar="N",
        help="generate on a local Dask cluster of N worker processes (needs synthgan[dask]; folder output)",
    )
    sample.add_argument("--scheduler", metavar="ADDRESS", help="generate on this Dask scheduler (tcp://host:8786)")
    sample.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(func=_cmd_sample)

    ev = sub.add_parser("evaluate", help="compare a synthetic table with the real one; write a report")
    ev.add_argument("real", help="the real (training) table (.csv, .parquet, .jsonl)")
    ev.add_argument("synthetic", help="the synthetic table")
    ev.add_argument("--holdout", help="real rows the generator never saw (enables utility: TSTR vs TRTR)")
    ev.add_argument("--target", help="column to predict for utility and augmentation")
    ev.add_argument(
        "--sensitive", nargs="+", metavar="COLUMN", help="columns whose groups the bias section compares (sex race age)"
    )
    ev.add_argument("--task", choices=["classification", "regression"], help="default: from the target's kind")
    ev.add_argument("--minority", help="class whose synthetic rows augment the real ones (default: the rarest)")
    ev.add_argument("--metadata", help='JSON file of column kinds, e.g. {"zip": "categorical"}')
    ev.add_argument("-o", "--output", help="HTML report to write (self-contained)")
    ev.add_argument("--json", help="JSON report to write")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--max-rows", type=int, default=5_000, help="rows per table for sdmetrics' quality report")
    ev.add_argument(
        "--model", help="the tabular model file (.synth) that made the synthetic table: adds its training curves"
    )
    ev.add_argument("-q", "--quiet", action="store_true")
    ev.set_defaults(func=_cmd_evaluate)

    fit_images = sub.add_parser("fit-images", help="fit the image GAN on a class-subfolder folder or a .npz")
    fit_images.add_argument("images", help="folder (one subfolder per class) or MedMNIST-style .npz")
    fit_images.add_argument("-o", "--output", required=True, help="model file to write")
    fit_images.add_argument("--split", default="train", help=".npz split: train, val or test")
    image_default = {name: field.default for name, field in ImageConfig.model_fields.items()}  # one source
    fit_images.add_argument("--epochs", type=int, default=image_default["epochs"])
    fit_images.add_argument("--batch-size", type=int, default=image_default["batch_size"])
    fit_images.add_argument("--channels", type=int, default=image_default["channels"], help="base network width")
    fit_images.add_argument(
        "--class-loss", type=float, default=image_default["class_loss"],
        help="weight of the auxiliary class head (0: projection only)",
    )
    fit_images.add_argument(
        "--lr", type=float, default=image_default["generator_lr"],
        help="learning rate of both networks (1e-3 suits thousands of clean images)",
    )
    fit_images.add_argument("--seed", type=int, default=None)
    fit_images.add_argument("--device", default="auto")
    amp_images = fit_images.add_mutually_exclusive_group()
    amp_images.add_argument("--no-amp", action="store_true")
    amp_images.add_argument("--amp", action="store_true")
    fit_images.add_argument("-q", "--quiet", action="store_true")
    fit_images.set_defaults(func=_cmd_fit_images)

    sample_images = sub.add_parser("sample-images", help="write PNGs (one subfolder per class) from an image model")
    sample_images.add_argument("model")
    sample_images.add_argument("-n", type=int, required=True)
    sample_images.add_argument("-o", "--output", required=True, help="output folder")
    sample_images.add_argument("--label", help="only this class (as named in training)")
    sample_images.add_argument("--grid", help="also write a labelled grid PNG here")
    sample_images.add_argument("--seed", type=int, default=None)
    sample_images.add_argument("--device", default="auto")
    sample_images.set_defaults(func=_cmd_sample_images)

    demo = sub.add_parser("demo", help="fit on an embedded dataset; write a sample, a summary and an evaluation report")
    demo.add_argument("--out", default="synthgan-demo", help="output folder")
    demo.add_argument("--epochs", type=int, default=None, help="tabular epochs (default: the size-aware budget)")
    demo.add_argument("--image-epochs", type=int, default=40, help="epochs of the digits image GAN (0 skips it)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("-q", "--quiet", action="store_true")
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
