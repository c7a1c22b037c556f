"""The manifest of a folder of Parquet parts: what was asked for, and which parts are done.

A folder written by synthgan holds ``part-000000.parquet``, ``part-000001.parquet``, ...
and ``_synthgan.json``. Every part is written to a temporary name and renamed when whole;
the manifest is rewritten (atomically too) after each part, so it lists exactly the
parts that are complete. Readers skip names starting with ``_`` or ``.``, so
``pandas.read_parquet(folder)`` reads the parts alone, in order.

A run that stops (Ctrl-C, a killed job) resumes from the manifest: parts it does not list
(a part renamed into place just before the stop) and temporary files are removed and
drawn again, which gives the same rows because the stream is fixed by its signature
(:mod:`synthgan.scale.blocks`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synthgan.errors import ConfigError
from synthgan.io import atomic_path

MANIFEST_NAME = "_synthgan.json"
FORMAT = "synthgan-parquet-parts"
FORMAT_VERSION = 1
PART_FILE = re.compile(r"^part-\d{6,}\.parquet$")
#: temporary files of atomic writes of parts or of the manifest (see synthgan.io.atomic_path)
TEMP_FILE = re.compile(r"^\.(part-\d{6,}\.parquet|" + re.escape(MANIFEST_NAME) + r")\..*\.tmp$")


def part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


@dataclass
class Part:
    index: int
    file: str
    rows: int
    start: list[int]  # stream position of its first row: [block, rows of that block before it]
    end: list[int]  # stream position just after its last row
    block_counts: list[int] | None = None  # Dask parts: rows that passed in each of its blocks


@dataclass
class Manifest:
    signature: dict  # the stream: model, device, seed, block_rows, conditions, privacy
    n: int
    layout: str  # "chunks": chunk_rows rows a part; "tasks": one part per Dask task of whole blocks
    chunk_rows: int
    parts: list[Part] = field(default_factory=list)
    complete: bool = False

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def to_json(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        parts = [Part(**p) for p in data["parts"]]
        return cls(data["signature"], data["n"], data["layout"], data["chunk_rows"], parts, data["complete"])

    def save(self, folder: Path) -> None:
        self.parts.sort(key=lambda p: p.index)
        with atomic_path(folder / MANIFEST_NAME) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def differences(self, other: "Manifest") -> list[str]:
        """What differs between the run that wrote this manifest and ``other`` (empty: resumable)."""
        out = []
        for key in sorted(set(self.signature) | set(other.signature)):
            was, now = self.signature.get(key), other.signature.get(key)
            if was != now:
                shown = "a different model" if key == "model" else f"{key}={was!r} (now {now!r})"
                out.append(shown)
        for key in ("n", "layout", "chunk_rows"):
            was, now = getattr(self, key), getattr(other, key)
            if was != now:
                out.append(f"{key}={was!r} (now {now!r})")
        return out


def read_manifest(folder: str | Path) -> Manifest | None:
    """The manifest of ``folder``, or None when it has none."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {data.get('format_version')!r}; this synthgan writes {FORMAT_VERSION}")
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{str(path)!r} is not a manifest this synthgan can resume ({exc}); write to another folder "
            "or delete this one"
        ) from None


def open_folder(folder: Path, wanted: Manifest, existing: Manifest | None, resume: bool) -> Manifest:
    """Check ``folder`` may receive ``wanted``; return the manifest to continue from.

    A new run needs a missing or empty folder. A folder with a manifest is continued only
    with ``resume`` and identical settings; its unlisted parts and temporary files go.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output {str(folder)!r} exists and is not a folder")
    if existing is None:
        if folder.exists() and any(folder.iterdir()):
            raise ConfigError(
                f"output folder {str(folder)!r} is not empty and holds no synthgan manifest ({MANIFEST_NAME}); "
                "write to a new or empty folder"
            )
        folder.mkdir(parents=True, exist_ok=True)
        wanted.save(folder)
        return wanted
    if not resume:
        state = "complete" if existing.complete else f"{existing.rows:,} of {existing.n:,} rows"
        raise ConfigError(
            f"output folder {str(folder)!r} already holds synthgan parts ({state}); pass resume=True "
            "(--resume) to finish that run, or write to a new folder"
        )
    diffs = existing.differences(wanted)
    if diffs:
        raise ConfigError(
            f"cannot resume {str(folder)!r}: it was written with " + ", ".join(diffs)
            + "; use the same model and settings, or write to a new folder"
        )
    _drop_broken_parts(folder, existing)
    listed = {p.file for p in existing.parts}
    for path in folder.iterdir():
        if (PART_FILE.match(path.name) and path.name not in listed) or TEMP_FILE.match(path.name):
            path.unlink()
    existing.save(folder)
    return existing


def _drop_broken_parts(folder: Path, manifest: Manifest) -> None:
    """Forget listed parts that are missing or hold the wrong number of rows (and, for a
    chunked folder, every part after one: its parts continue each other)."""
    import pyarrow.parquet as pq

    kept = []
    for part in sorted(manifest.parts, key=lambda p: p.index):
        try:
            good = pq.read_metadata(folder / part.file).num_rows == part.rows
        except (OSError, ValueError):  # pyarrow's errors on missing or damaged files subclass these
            good = False
        if good:
            kept.append(part)
        elif manifest.layout == "chunks":
            break
    if len(kept) != len(manifest.parts):
        manifest.parts = kept
        manifest.complete = False
