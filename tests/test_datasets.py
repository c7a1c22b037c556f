"""``synthgan.datasets``: embedded datasets offline, files found or downloaded, clear errors offline."""

from __future__ import annotations

import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from synthgan import datasets
from synthgan.errors import ConfigError, DataError, InputFileError

CARDS_FOLDER = Path(__file__).resolve().parents[1] / "datasets"
ADULT_ROWS = (
    b"39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, "
    b"United-States, <=50K\n"
    b"50, ?, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, "
    b"United-States, >50K\n\n"
)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No dataset folder, an empty cache, and no source checkout's ../shared/datasets."""
    monkeypatch.delenv(datasets.DATASETS_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "checkout_datasets", lambda: None)
    return tmp_path


def _serve(monkeypatch, payload: bytes, calls: list):
    def fake_urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(datasets, "urlopen", fake_urlopen)


def _offline(monkeypatch, calls: list):
    def unreachable(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(datasets, "urlopen", unreachable)


def test_embedded_datasets_load_offline(isolated, monkeypatch):
    calls = []
    _offline(monkeypatch, calls)
    cancer, wine = datasets.load("breast_cancer"), datasets.load("wine")
    assert cancer.shape == (569, 31) and set(cancer["diagnosis"].cat.categories) == {"malignant", "benign"}
    assert wine.shape == (178, 14) and wine["cultivar"].nunique() == 3
    parts = {s: datasets.load("digits", split=s) for s in datasets.SPLITS}
    assert sum(len(x) for x, _ in parts.values()) == 1797
    x, y = parts["train"]
    assert x.dtype == np.uint8 and x.shape[1:] == (8, 8) and x.max() == 255 and set(y) == set(range(10))
    assert not calls


def test_offline_without_a_file_is_a_clear_error(isolated, monkeypatch):
    calls = []
    _offline(monkeypatch, calls)
    with pytest.raises(InputFileError, match=r"adult.csv or adult.data is in none of .*downloading .* failed "
                                             r"\(\[Errno -3\].*set SYNTHGAN_DATASETS"):
        datasets.load("adult")
    assert calls == [datasets.card("adult").url]
    assert not list((isolated / "cache").glob("*"))  # nothing half-written in the cache


def test_fraud_table_has_no_automatic_download(isolated, monkeypatch):
    calls = []
    _offline(monkeypatch, calls)
    with pytest.raises(InputFileError, match="cannot be downloaded automatically. Get it from https://www.kaggle"):
        datasets.load("fraud")
    assert not calls


def test_download_goes_to_the_cache_once(isolated, monkeypatch):
    calls = []
    _serve(monkeypatch, ADULT_ROWS, calls)
    df = datasets.load("adult")
    assert list(df.columns) == list(datasets.ADULT_COLUMNS) and len(df) == 2
    assert df.loc[0, "workclass"] == "State-gov" and df["workclass"].isna().sum() == 1  # '?' is missing
    assert (isolated / "cache" / "adult.data").is_file()
    _offline(monkeypatch, calls)
    assert datasets.load("adult").equals(df)  # from the cache: no second download
    assert len(calls) == 1


def test_download_with_the_wrong_checksum_is_refused(isolated, monkeypatch):
    _serve(monkeypatch, b"not the npz you are looking for", [])
    with pytest.raises(DataError, match="does not match its published MD5"):
        datasets.load("breastmnist")
    assert not list((isolated / "cache").glob("*"))


def test_a_local_folder_wins_and_download_false_never_downloads(isolated, monkeypatch):
    calls = []
    _offline(monkeypatch, calls)
    folder = isolated / "data"
    folder.mkdir()
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    np.savez(folder / "breastmnist.npz", train_images=x, train_labels=np.array([[0], [1]]),
             val_images=x[:1], val_labels=np.array([[1]]), test_images=x, test_labels=np.array([[1], [0]]))
    images, labels = datasets.load("breastmnist", folder=folder, split="val")
    assert images.shape == (1, 28, 28) and labels.tolist() == [1]
    monkeypatch.setenv(datasets.DATASETS_ENV, str(folder))
    assert datasets.locate("breastmnist") == folder / "breastmnist.npz"
    with pytest.raises(InputFileError, match=r"download=False"):
        datasets.load("adult", download=False)
    assert not calls


def test_environment_variable_is_searched(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATASETS_ENV, str(tmp_path))
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "adult.csv").write_bytes(b"age,workclass,fnlwgt,education,education-num,marital-status,"
                                         b"occupation,relationship,race,sex,capital-gain,capital-loss,"
                                         b"hours-per-week,native-country,class\n" + ADULT_ROWS.replace(b", ", b","))
    assert datasets.locate("adult") == tmp_path / "adult.csv"
    assert datasets.load("adult")["class"].tolist() == ["<=50K", ">50K"]


def test_bad_names_and_arguments(isolated):
    with pytest.raises(ConfigError, match=r"unknown dataset 'adutl' \(did you mean 'adult'\?\); known datasets"):
        datasets.load("adutl")
    with pytest.raises(ConfigError, match="split='holdout'"):
        datasets.load("digits", split="holdout")
    with pytest.raises(ConfigError, match="applies to image datasets"):
        datasets.load("wine", split="test")
    with pytest.raises(ConfigError, match="ships with scikit-learn"):
        datasets.locate("wine")
    (isolated / "adult.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="does not have the Adult columns"):
        datasets.load("adult", folder=isolated)


def test_every_dataset_has_a_card_naming_its_target_and_licence():
    for name in datasets.names():
        info = datasets.card(name)
        text = (CARDS_FOLDER / f"{name}.md").read_text()
        assert info.target in text and "Licence" in text and info.source in text, name
        for column in info.sensitive:
            assert column in text, (name, column)


def test_shared_copy_matches_its_card(shared_datasets):
    """The real files, where present: sizes as the cards say."""
    adult = datasets.load("adult", folder=shared_datasets, download=False)
    assert adult.shape == (32561, 15) and adult["class"].nunique() == 2
    fraud = datasets.load("fraud", folder=shared_datasets, download=False)
    assert fraud.shape[1] == 33 and 0.04 < fraud["FraudFound_P"].mean() < 0.08
    x, y = datasets.load("breastmnist", folder=shared_datasets, download=False, split="test")
    assert x.shape == (156, 28, 28) and set(y) == {0, 1}
