"""The demo datasets by name: embedded ones offline, the others from a folder, a cache or their source.

``breast_cancer``, ``wine`` and ``digits`` ship with scikit-learn and always load. ``adult``,
``fraud`` and ``breastmnist`` are files, looked for in this order:

1. the ``folder`` argument;
2. ``$SYNTHGAN_DATASETS``;
3. ``../shared/datasets`` beside a source checkout of synthgan (where development keeps them);
4. the cache, ``$SYNTHGAN_CACHE`` or ``~/.cache/synthgan`` (``$XDG_CACHE_HOME`` respected);

and, when none has the file and ``download=True``, downloaded from their public source into
the cache (checked against the source's published MD5 where it has one). Offline, or for the
fraud table (its source needs a Kaggle login), a missing file is an
:class:`~synthgan.errors.InputFileError` naming the folders searched and where to get it.
Each dataset has a card (source, licence, columns, target, sensitive columns) in ``datasets/``.

Examples
--------
>>> from synthgan.datasets import load
>>> load("wine").shape
(178, 14)
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import numpy as np
import pandas as pd

from synthgan.errors import ConfigError, DataError, InputFileError
from synthgan.io import atomic_path, read_table

DATASETS_ENV = "SYNTHGAN_DATASETS"
CACHE_ENV = "SYNTHGAN_CACHE"
#: seconds to wait for a download server before giving up
DOWNLOAD_TIMEOUT = 30
#: image splits; digits (no official split) is split 70/10/20, stratified, with a fixed seed
SPLITS = ("train", "val", "test")
ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "class",
)


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is and where it comes from (the long form is ``datasets/<name>.md``)."""

    name: str
    title: str
    kind: str  # "table" or "images"
    size: str
    target: str | None
    sensitive: tuple[str, ...]
    licence: str
    source: str  # page that describes the dataset
    filenames: tuple[str, ...] = ()  # names accepted in a folder; empty: embedded in scikit-learn
    url: str | None = None  # direct download, saved under the last of ``filenames``; None: by hand
    md5: str | None = None  # of the file at ``url``

    @property
    def embedded(self) -> bool:
        return not self.filenames


CARDS = {
    card.name: card
    for card in (
        DatasetCard(
            "breast_cancer", "Breast cancer Wisconsin (diagnostic)", "table", "569 rows, 31 columns",
            "diagnosis", (), "CC BY 4.0 (UCI), shipped with scikit-learn",
            "https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic",
        ),
        DatasetCard(
            "wine", "Wine recognition", "table", "178 rows, 14 columns", "cultivar", (),
            "CC BY 4.0 (UCI), shipped with scikit-learn", "https://archive.ics.uci.edu/dataset/109/wine",
        ),
        DatasetCard(
            "digits", "Optical recognition of handwritten digits (8x8)", "images", "1,797 images, 10 classes",
            "digit", (), "CC BY 4.0 (UCI), shipped with scikit-learn",
            "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
        ),
        DatasetCard(
            "adult", "UCI Adult census income", "table", "32,561 rows, 15 columns", "class", ("sex", "race"),
            "CC BY 4.0", "https://archive.ics.uci.edu/dataset/2/adult", ("adult.csv", "adult.data"),
            "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.data",
        ),
        DatasetCard(
            "fraud", "Vehicle insurance claim fraud (Oracle / Angoss)", "table", "15,420 rows, 33 columns",
            "FraudFound_P", ("Sex", "Age", "MaritalStatus"),
            "not stated by the source; used here for evaluation only",
            "https://www.kaggle.com/datasets/shivamb/vehicle-claim-fraud-detection", ("fraud_oracle.csv",),
        ),
        DatasetCard(
            "breastmnist", "BreastMNIST (MedMNIST v2)", "images", "546 / 78 / 156 images (train/val/test), 28x28",
            "label", (), "CC BY 4.0", "https://medmnist.com/", ("breastmnist.npz",),
            "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1",
            "750601b1f35ba3300ea97c75c52ff8f6",
        ),
    )
}


def names() -> list[str]:
    return list(CARDS)


def card(name: str) -> DatasetCard:
    """The card of ``name``; an unknown name is a :class:`~synthgan.errors.ConfigError`."""
    if name not in CARDS:
        close = difflib.get_close_matches(str(name), CARDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown dataset {name!r}{hint}; known datasets: {', '.join(CARDS)}")
    return CARDS[name]


def search_folders(folder: str | os.PathLike | None = None) -> list[Path]:
    """Where dataset files are looked for, in order (see the module docstring)."""
    folders = [Path(folder)] if folder is not None else []
    if os.environ.get(DATASETS_ENV):
        folders.append(Path(os.environ[DATASETS_ENV]))
    checkout = checkout_datasets()
    if checkout is not None:
        folders.append(checkout)
    folders.append(cache_folder())
    return folders


def checkout_datasets() -> Path | None:
    """``../shared/datasets`` beside a source checkout of synthgan; None for an installed package."""
    root = Path(__file__).resolve().parents[1]
    return root.parent / "shared" / "datasets" if (root / "pyproject.toml").is_file() else None


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "synthgan"


def locate(name: str, folder: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The file of dataset ``name``: found in a search folder, else downloaded into the cache."""
    info = card(name)
    if info.embedded:
        raise ConfigError(f"dataset {name!r} ships with scikit-learn and has no file; use load({name!r})")
    folders = search_folders(folder)
    for where in folders:
        for filename in info.filenames:
            if (where / filename).is_file():
                return where / filename
    searched = ", ".join(str(f) for f in folders)
    wanted = " or ".join(info.filenames)
    if info.url is None:
        raise InputFileError(
            f"dataset {name!r}: {wanted} is in none of {searched}, and it cannot be downloaded automatically. "
            f"Get it from {info.source}, then put it in one of those folders or set {DATASETS_ENV}."
        )
    if not download:
        raise InputFileError(f"dataset {name!r}: {wanted} is in none of {searched} (download=False)")
    return _download(info, cache_folder() / info.filenames[-1], searched)


def _download(info: DatasetCard, target: Path, searched: str) -> Path:
    try:
        with urlopen(info.url, timeout=DOWNLOAD_TIMEOUT) as response, atomic_path(target) as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            if info.md5 and _md5(tmp) != info.md5:
                raise DataError(
                    f"dataset {info.name!r}: the file downloaded from {info.url} does not match its published "
                    f"MD5 {info.md5}; nothing was kept. Try again, or download it from {info.source}."
                )
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InputFileError(
            f"dataset {info.name!r}: {' or '.join(info.filenames)} is in none of {searched}, and downloading "
            f"{info.url} failed ({reason}). Without a network, download it from {info.source} elsewhere and "
            f"put it in one of those folders, or set {DATASETS_ENV} to its folder."
        ) from None
    return target


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(name: str, *, split: str = "train", folder: str | os.PathLike | None = None, download: bool = True):
    """Dataset ``name``: a DataFrame for tables, ``(images uint8 (N, H, W), labels)`` for images.

    ``split`` (images only) is ``"train"``, ``"val"`` or ``"test"``. ``folder`` is searched
    first; ``download=False`` never touches the network.
    """
    info = card(name)
    if info.kind == "images" and split not in SPLITS:
        raise ConfigError(f"split={split!r}: expected one of {', '.join(SPLITS)}")
    if info.kind == "table" and split != "train":
        raise ConfigError(f"split={split!r} applies to image datasets; {name!r} is a table")
    if name == "breast_cancer":
        return _breast_cancer()
    if name == "wine":
        return _wine()
    if name == "digits":
        return _digits(split)
    path = locate(name, folder, download)
    if name == "adult":
        return _adult(path)
    if name == "fraud":
        return read_table(path)
    return _medmnist(path, split)


def _breast_cancer() -> pd.DataFrame:
    """569 tumours, 30 measurements and the diagnosis (``malignant`` / ``benign``)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    df = data.frame.drop(columns="target")
    df["diagnosis"] = pd.Categorical.from_codes(data.target, list(data.target_names))
    return df


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    df = data.frame.drop(columns="target")
    df["cultivar"] = pd.Categorical.from_codes(data.target, list(data.target_names))
    return df


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """8x8 digits as uint8 (0-16 scaled to 0-255), split 70/10/20 like MedMNIST."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = np.round(digits.images * (255 / 16)).astype(np.uint8)
    y = digits.target.astype(np.int64)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=2 / 3, stratify=y_rest, random_state=0)
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}[split]


def _adult(path: Path) -> pd.DataFrame:
    """The UCI file as distributed (no header, spaces after commas, ``?`` for missing) or with a header."""
    with open(path, encoding="utf-8-sig") as f:
        fields = [x.strip() for x in f.readline().split(",")]
    if len(fields) != len(ADULT_COLUMNS):
        raise InputFileError(f"{str(path)!r} does not have the Adult columns {list(ADULT_COLUMNS)}")
    has_header = fields[0] == ADULT_COLUMNS[0]
    try:
        df = pd.read_csv(
            path, skipinitialspace=True, na_values="?", header=0 if has_header else None,
            names=None if has_header else list(ADULT_COLUMNS), encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {str(path)!r} as the Adult table: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if list(df.columns) != list(ADULT_COLUMNS):
        raise InputFileError(f"{str(path)!r} does not have the Adult columns {list(ADULT_COLUMNS)}")
    return df.dropna(how="all").reset_index(drop=True)


def _medmnist(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return data[f"{split}_images"], data[f"{split}_labels"].reshape(-1).astype(np.int64)
    except (KeyError, ValueError, OSError) as exc:
        raise InputFileError(f"cannot read split {split!r} from {str(path)!r}: {exc}") from None
