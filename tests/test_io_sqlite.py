"""SQLite output: one table per call, typed columns, atomic, never replacing a table by accident."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from synthgan.errors import ConfigError, DataError, InputFileError
from synthgan.io import read_table, write_table


def _query(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_types_are_stored_as_documented(mixed_df, tmp_path):
    path = write_table(mixed_df, tmp_path / "fixtures.sqlite", table="customers")
    decls = {row[1]: row[2] for row in _query(path, "PRAGMA table_info(customers)")}
    assert decls == {
        "age": "INTEGER", "income": "REAL", "city": "TEXT", "member": "BOOLEAN", "signup": "TIMESTAMP",
        "tier": "TEXT", "churn": "INTEGER", "customer_id": "TEXT",
    }
    rows = _query(path, "SELECT age, income, city, member, signup, tier FROM customers")
    first = mixed_df.iloc[0]
    assert rows[0][0] == first["age"] and rows[0][3] == int(first["member"]) and rows[0][5] == first["tier"]
    assert rows[0][4] == first["signup"].isoformat()  # ISO 8601 with the UTC offset: '2023-...+01:00'
    assert rows[0][4][-6:] in ("+01:00", "+02:00")
    assert sum(r[1] is None for r in rows) == mixed_df["income"].isna().sum()  # NaN -> NULL
    assert sum(r[2] is None for r in rows) == mixed_df["city"].isna().sum()
    assert {type(r[3]) for r in rows} == {int} and {r[3] for r in rows} == {0, 1}


def test_round_trip_keeps_values(mixed_df, tmp_path):
    path = write_table(mixed_df, tmp_path / "customers.db")  # table named after the file
    back = read_table(path)
    assert list(back.columns) == list(mixed_df.columns) and len(back) == len(mixed_df)
    assert back["member"].dtype == bool and back["member"].equals(mixed_df["member"])
    assert (back["signup"] == mixed_df["signup"]).all()  # same instants, read back in UTC
    assert np.allclose(back["income"], mixed_df["income"], equal_nan=True)
    assert back["tier"].tolist() == mixed_df["tier"].astype(str).tolist()
    assert back["city"].isna().equals(mixed_df["city"].isna())


def test_nullable_and_naive_columns(tmp_path):
    df = pd.DataFrame({
        "flag": pd.array([True, None, False], dtype="boolean"),
        "n": pd.array([1, None, 3], dtype="Int64"),
        "when": pd.to_datetime(["2024-01-31", None, "2024-02-01 10:30"], format="ISO8601"),
        "cat": pd.Categorical([3, 4, 3], categories=[3, 4, 5]),  # integer categories -> text
    })
    path = write_table(df, tmp_path / "x.sqlite", table="t")
    assert _query(path, "SELECT flag, n, when_, cat FROM (SELECT flag, n, \"when\" AS when_, cat FROM t)") == [
        (1, 1, "2024-01-31T00:00:00", "3"), (None, None, None, "4"), (0, 3, "2024-02-01T10:30:00", "3")
    ]
    back = read_table(path)
    assert back["flag"].iloc[[0, 2]].tolist() == [True, False] and back["flag"].isna().tolist() == [False, True, False]
    assert back["when"].dt.tz is None and back["when"].isna().sum() == 1


def test_existing_table_is_kept_unless_replace_is_explicit(mixed_df, tmp_path):
    path = tmp_path / "fixtures.sqlite"
    write_table(mixed_df.head(5), path, table="customers")
    write_table(mixed_df.head(3), path, table="orders")  # a second table beside the first
    with pytest.raises(ConfigError, match="already has a table named 'customers'.*if_exists='replace'"):
        write_table(mixed_df.head(9), path, table="Customers")  # SQLite names ignore case
    assert _query(path, "SELECT count(*) FROM customers") == [(5,)]
    write_table(mixed_df.head(9), path, table="customers", if_exists="replace")
    assert _query(path, "SELECT count(*) FROM customers") == [(9,)]
    assert _query(path, "SELECT count(*) FROM orders") == [(3,)]
    with pytest.raises(InputFileError, match="holds 2 tables"):
        read_table(path)
    assert len(read_table(path, table="ORDERS")) == 3


def test_failed_write_leaves_the_database_as_it_was(mixed_df, tmp_path):
    path = tmp_path / "fixtures.sqlite"
    write_table(mixed_df.head(5), path, table="customers")
    before = path.read_bytes()
    bad = mixed_df.assign(big=np.uint64(2**63 + 5))
    with pytest.raises(DataError, match="'big'.*64-bit"):
        write_table(bad, path, table="more")
    with pytest.raises(ConfigError):
        write_table(mixed_df, path, table="customers")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["fixtures.sqlite"]  # no temp file left behind


@pytest.mark.parametrize("table", ["bad name", "1st", "drop;table", "sqlite_master", "é", ""])
def test_table_names_must_be_plain_identifiers(mixed_df, tmp_path, table):
    with pytest.raises(ConfigError, match="SQLite table name must be letters, digits and underscores"):
        write_table(mixed_df, tmp_path / "x.sqlite", table=table)
    assert not (tmp_path / "x.sqlite").exists()


def test_other_bad_inputs_are_named(mixed_df, tmp_path):
    with pytest.raises(ConfigError, match="file name 'my-data.db'"):
        write_table(mixed_df, tmp_path / "my-data.db")  # no table=, and the stem is not a name
    with pytest.raises(DataError, match="'Age' and 'age' collide"):
        write_table(pd.DataFrame({"Age": [1], "age": [2]}), tmp_path / "t.db")
    with pytest.raises(ConfigError, match="apply to SQLite outputs"):
        write_table(mixed_df, tmp_path / "t.csv", table="t")
    with pytest.raises(ConfigError, match="if_exists='append'"):
        write_table(mixed_df, tmp_path / "t.db", if_exists="append")
    (tmp_path / "text.db").write_text("not a database, just text\n" * 50)
    with pytest.raises(ConfigError, match="not a SQLite database"):
        write_table(mixed_df, tmp_path / "text.db", table="t")
    with pytest.raises(InputFileError, match="has no table 'missing'"):
        read_table(write_table(mixed_df, tmp_path / "ok.db"), table="missing")


def test_odd_column_names_are_quoted(tmp_path):
    df = pd.DataFrame({'say "hi"': [1, 2], "select": ["a", "b"], "with space": [0.5, None]})
    back = read_table(write_table(df, tmp_path / "odd.sqlite"))
    assert list(back.columns) == list(df.columns) and back["select"].tolist() == ["a", "b"]


def test_a_wal_database_keeps_its_mode_and_is_refused_while_open(mixed_df, tmp_path):
    path = tmp_path / "w.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE other (x)")
    con.commit()
    with pytest.raises(ConfigError, match="open in another process"):
        write_table(mixed_df, path, table="t")  # replacing the file under an open WAL would corrupt it
    con.close()
    write_table(mixed_df, path, table="t")
    assert _query(path, "PRAGMA journal_mode") == [("wal",)]
    assert _query(path, "SELECT count(*) FROM t") == [(len(mixed_df),)]
