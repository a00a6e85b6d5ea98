"""Opening uploads: gzip (multi-member, truncated, not gzip, bombs), encodings, line ends, hashing."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io

import pytest

from contactlake.contract import IngestError
from contactlake.ingest import reader
from contactlake.ingest.reader import DecompressionCap, HashingReader, open_decoded, sniff_encoding


def decoded(data: bytes, key: str = "a/b/file.csv", encoding: str = "auto") -> tuple[bytes, str]:
    stream, found = open_decoded(io.BytesIO(data), key, len(data), encoding)
    return stream.read(), found


def test_plain_utf8_passes_through() -> None:
    assert decoded("id,q\n1,Café\n".encode()) == ("id,q\n1,Café\n".encode(), "utf-8")


def test_gzip_and_multi_member_gzip() -> None:
    assert decoded(gzip.compress(b"a\n1\n"), "x/y/f.csv.gz")[0] == b"a\n1\n"
    assert decoded(gzip.compress(b"a\n1\n") + gzip.compress(b"2\n"), "x/y/f.gz")[0] == b"a\n1\n2\n"


def test_truncated_and_corrupt_gzip() -> None:
    whole = gzip.compress(b"a,b\n" * 10_000)
    with pytest.raises(IngestError) as error:
        decoded(whole[: len(whole) // 2], "x/y/f.gz")
    assert error.value.rule_id == "file.gzip_truncated"
    with pytest.raises(IngestError) as error:
        decoded(whole[:10] + b"\x00" * 50 + whole[60:], "x/y/f.gz")
    assert error.value.rule_id in ("file.gzip_corrupt", "file.gzip_truncated")


def test_gz_name_without_gzip_data() -> None:
    with pytest.raises(IngestError) as error:
        decoded(b"a,b\n1,2\n", "x/y/f.csv.gz")
    assert error.value.rule_id == "file.not_gzip"


def test_decompression_bomb_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip.compress(b"0" * (8 * 1024 * 1024), compresslevel=9)  # ~8 KB inflating to 8 MB
    monkeypatch.setattr(reader, "MIN_RATIO_CAP", 1024 * 1024)  # a small floor so the ratio cap applies
    with pytest.raises(IngestError) as error:
        decoded(bomb, "x/y/f.gz")
    assert error.value.rule_id == "file.decompression_limit"
    assert "inflates past" in str(error.value)


def test_absolute_decompression_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_DECOMPRESSED_BYTES", 1000)
    with pytest.raises(IngestError) as error:
        decoded(gzip.compress(b"x" * 5000), "x/y/f.gz")
    assert error.value.rule_id == "file.decompression_limit"


@pytest.mark.parametrize(
    ("data", "expected", "found"),
    [
        (codecs.BOM_UTF8 + "a\nCafé\n".encode(), "a\nCafé\n", "utf-8-sig"),
        ("a\nCafé\n".encode("utf-16"), "a\nCafé\n", "utf-16"),
        ("a\nCafé\n".encode("cp1252"), "a\nCafé\n", "cp1252"),
    ],
    ids=["bom", "utf-16", "latin-1"],
)
def test_encodings_become_utf8(data: bytes, expected: str, found: str) -> None:
    assert decoded(data) == (expected.encode(), found)


def test_declared_encoding_is_used() -> None:
    assert decoded("a\né\n".encode("latin-1"), encoding="latin-1") == ("a\né\n".encode(), "latin-1")


@pytest.mark.parametrize(
    "tail", [b"\x00\xdcb\x00", b"\x00\xd8"], ids=["lone-low-surrogate", "cut-at-the-end"]
)
def test_bytes_invalid_in_a_multibyte_encoding_fail_with_a_rule(tail: bytes) -> None:
    with pytest.raises(IngestError) as error:
        decoded(codecs.BOM_UTF16_LE + b"a\x00\n\x00" + tail)
    assert error.value.rule_id == "file.encoding"


def test_sniff_encoding_ignores_a_character_cut_at_the_end_of_the_sample() -> None:
    assert sniff_encoding("abc é".encode()[:-1]) == "utf-8"
    assert sniff_encoding(b"caf\xe9 au lait") == "cp1252"


def test_cr_only_line_ends_become_lf_but_crlf_is_kept() -> None:
    assert decoded(b"a,b\r1,2\r")[0] == b"a,b\n1,2\n"
    assert decoded(b"a,b\r\n1,2\r\n")[0] == b"a,b\r\n1,2\r\n"


def test_hashing_reader_checksums_the_whole_object() -> None:
    data = b"id\n" + b"x\n" * 100_000
    hashing = HashingReader(io.BytesIO(data))
    assert hashing.read(10) == data[:10]
    assert hashing.finish() == hashlib.sha256(data).hexdigest()  # reads what was left, too
    assert hashing.size == len(data)


class _ReadOnly(io.RawIOBase):
    """A stream with ``read`` and no ``readinto`` of its own, like some HTTP bodies."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(size)

    readinto = None  # type: ignore[assignment]


@pytest.mark.parametrize("make", [io.BytesIO, _ReadOnly], ids=["readinto", "read-only"])
def test_hashing_reader_fills_the_callers_buffer(make: type[io.IOBase]) -> None:
    data = bytes(range(256)) * 1000
    hashing = HashingReader(make(data))  # type: ignore[call-arg]
    buffer = bytearray(100_000)
    received = b""
    with memoryview(buffer) as view:
        while count := hashing.readinto(view[:70_000]):
            received += bytes(view[:count])
    assert received == data
    assert hashing.finish() == hashlib.sha256(data).hexdigest()


def test_a_gzip_bomb_of_blank_lines_is_stopped_by_its_line_count() -> None:
    """Issue 15 item 8: a 2 MB gzip of blank lines took 10 GB and 325 s before the byte cap stopped it."""
    bomb = gzip.compress(b"\n" * (8 * 1024 * 1024), compresslevel=9)  # 8M lines from a few KB
    assert len(bomb) < 50_000
    cap = DecompressionCap(io.BytesIO(bomb), len(bomb))
    with pytest.raises(IngestError) as error:
        cap.read()
    assert error.value.rule_id == "file.decompression_limit"
    assert "lines" in str(error.value)
    assert cap.total <= 2 * 1024 * 1024  # stopped after about a million lines, not at the byte cap (64 MiB)


def test_a_real_export_is_far_below_the_line_cap() -> None:
    rows = b"".join(
        b"N-%d,2024-01-15T09:00:00,answered,billing,+44 7700 900%03d\n" % (i, i % 1000)
        for i in range(200_000)
    )
    data = gzip.compress(rows)
    cap = DecompressionCap(io.BytesIO(data), len(data))
    assert cap.read() == rows
