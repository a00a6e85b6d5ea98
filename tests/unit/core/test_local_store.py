"""The local object store's S3 behaviours: ETags computed on arrival, conditional reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from contactlake.adapters.local import LocalObjectStore
from contactlake.ports import ObjectChanged


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_etag_is_the_md5_remembered_per_version_and_recomputed_for_a_file_changed_behind_its_back(
    tmp_path: Path,
) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("raw", "north/acd/a.csv", b"id\n1\n")
    assert (tmp_path / ".etags" / "raw" / "north" / "acd" / "a.csv.json").is_file()  # like S3: on arrival
    assert store.head("raw", "north/acd/a.csv").etag == _md5(b"id\n1\n")
    path = tmp_path / "raw" / "north" / "acd" / "a.csv"
    path.write_bytes(b"id\n2\n22\n")  # dropped in by hand: no put, so nothing remembered for this version
    assert store.head("raw", "north/acd/a.csv").etag == _md5(b"id\n2\n22\n")
    store.put("lake", "x/y.parquet", b"data")
    assert not (tmp_path / ".etags" / "lake").exists()  # only uploads are fingerprinted


def test_open_if_match_reads_that_version_or_refuses(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("raw", "k.csv", b"first")
    etag = store.head("raw", "k.csv").etag
    assert etag is not None
    with store.open("raw", "k.csv", if_match=f'"{etag}"') as handle:
        assert handle.read() == b"first"
    store.put("raw", "k.csv", b"second version")
    with pytest.raises(ObjectChanged, match="overwritten before or while being read"):
        store.open("raw", "k.csv", if_match=etag)
    os.remove(tmp_path / ".etags" / "raw" / "k.csv.json")  # the memo is only a cache
    assert store.head("raw", "k.csv").etag == _md5(b"second version")


def test_put_file_copies_in_chunks_and_remembers_the_etag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("contactlake.adapters.local.store._COPY_CHUNK", 1000)  # many chunks for a small file
    source = tmp_path / "export.csv"
    data = b"id,queue\n" + b"".join(b"%d,Billing\n" % i for i in range(2000))
    source.write_bytes(data)
    store = LocalObjectStore(tmp_path / "lake")
    store.put_file("raw", "north/acd/export.csv", source)
    assert store.get("raw", "north/acd/export.csv") == data
    assert store.head("raw", "north/acd/export.csv").etag == _md5(data)
    assert (tmp_path / "lake" / ".etags" / "raw" / "north" / "acd" / "export.csv.json").is_file()
    assert source.read_bytes() == data  # the user's file is only read
    assert not list((tmp_path / "lake" / "raw" / "north" / "acd").glob(".*.tmp"))


@pytest.mark.parametrize("key", ["../lake/x.parquet", "north/../../quarantine/x", "/etc/passwd", "a/../.."])
def test_a_key_that_leaves_its_area_is_refused(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path)
    with pytest.raises(ValueError, match="escapes the raw area"):
        store.put("raw", key, b"x")
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_keys_are_names_inside_their_area(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    assert store.path("raw", "north/acd/./a.csv") == (tmp_path / "raw" / "north" / "acd" / "a.csv").resolve()
    assert store.path("raw", "north/x/../acd/a.csv") == store.path("raw", "north/acd/a.csv")
    assert store.path("raw", "") == (tmp_path / "raw").resolve()


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("t/d=2026-11-", ["t/d=2026-11-01/a.parquet", "t/d=2026-11-30/b.parquet"]),
        ("t/d=2026-1", ["t/d=2026-10-31/c.parquet", "t/d=2026-11-01/a.parquet", "t/d=2026-11-30/b.parquet"]),
        ("t/d=2026-11-01/", ["t/d=2026-11-01/a.parquet"]),
        ("t/d=2026-11-01/a", ["t/d=2026-11-01/a.parquet"]),
        (
            "t/",
            [
                "t/d=2026-10-31/c.parquet",
                "t/d=2026-11-01/a.parquet",
                "t/d=2026-11-30/b.parquet",
                "t/top.json",
            ],
        ),
        ("t/to", ["t/top.json"]),
        ("t/d=2027-", []),
        ("missing/", []),
        ("missing/x", []),
    ],
)
def test_list_is_by_key_prefix_like_s3_whether_or_not_the_prefix_ends_a_folder(
    tmp_path: Path, prefix: str, expected: list[str]
) -> None:
    store = LocalObjectStore(tmp_path)
    for key in (
        "t/d=2026-11-01/a.parquet",
        "t/d=2026-11-30/b.parquet",
        "t/d=2026-10-31/c.parquet",
        "t/top.json",
    ):
        store.put("lake", key, b"x")
    (tmp_path / "lake" / "t" / "d=2026-11-01" / ".hidden").write_bytes(b"x")
    assert [info.key for info in store.list("lake", prefix)] == expected
