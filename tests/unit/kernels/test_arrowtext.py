"""Text cleaned through Arrow buffers: the same values as Arrow's kernels, without copies when nothing changes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from contactlake.kernels.arrowtext import blank_as_null, trim_whitespace


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["a", "", None, " ", "", "b"]),
        pa.array(["x", "", "a", "", None, " ", "", "b"]).slice(2),  # a slice keeps its own rows
        pa.chunked_array([["a", ""], [None, " ", "", "b"]]),
        pa.array(["a", "", None, " ", "", "b"], pa.large_string()),
    ],
    ids=["array", "slice", "chunked", "large_string"],
)
def test_blank_as_null_nulls_empty_strings_only(values: pa.Array | pa.ChunkedArray) -> None:
    result = blank_as_null(values)
    assert result.type == pa.string()
    assert result.to_pylist() == ["a", None, None, " ", None, "b"]
    result.validate(full=True)


def test_blank_as_null_returns_text_without_blanks_or_nulls_unchanged() -> None:
    values = pa.array(["a", "b"])
    assert blank_as_null(values) is values
    assert blank_as_null(pa.array([], pa.string())).to_pylist() == []
    assert blank_as_null(pa.array(["", ""])).null_count == 2


PADDED = [" a", "a ", "\ta\n", "\u00a0a", "a\u2003", "\x1ca\x1f", "\u00e9t\u00e9", "a b", "", None, "b"]


@pytest.mark.parametrize("value", PADDED)
def test_trim_whitespace_matches_arrow_for_each_kind_of_padding(value: str | None) -> None:
    """One padded (or accented) value among clean ones is enough for the whole column to be trimmed."""
    values = pa.array(["clean", value, "also clean"], pa.string())
    assert trim_whitespace(values).to_pylist() == pc.utf8_trim_whitespace(values).to_pylist()


def test_trim_whitespace_reads_a_slice_and_chunks() -> None:
    values = pa.array([" x ", "a", " b", "c"]).slice(1)
    assert trim_whitespace(values).to_pylist() == ["a", "b", "c"]
    assert trim_whitespace(pa.chunked_array([["a"], [" b"]])).to_pylist() == ["a", "b"]
    assert trim_whitespace(pa.array(["a ", "b"], pa.large_string())).to_pylist() == ["a", "b"]


def test_trim_whitespace_returns_clean_text_itself() -> None:
    clean = pa.array(["+44 20 7946 0000", "billing", None, ""], pa.string())
    assert trim_whitespace(clean) is clean
    assert trim_whitespace(pa.array([], pa.string())).to_pylist() == []
    assert trim_whitespace(pa.array(["", None, ""], pa.string())).to_pylist() == ["", None, ""]
