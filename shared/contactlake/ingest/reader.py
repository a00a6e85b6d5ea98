"""Opening an upload as a stream: gzip (also multi-member) with a cap against bombs, and text encodings.

Nothing here reads the whole file into memory: adapters pull bounded blocks from the returned stream.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import zlib
from typing import BinaryIO

from contactlake.contract import IngestError
from contactlake.ports import ObjectChanged

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "DecompressionCap",
    "HashingReader",
    "ObjectChanged",
    "open_decoded",
    "sniff_encoding",
]

#: A nightly export is at most a few GB; anything that inflates past this is treated as a bomb.
MAX_DECOMPRESSED_BYTES = 20 * 1024**3
#: …and so is an inflation ratio no real CSV/JSON reaches (real exports compress 5-20x).
MAX_RATIO = 200
#: …but a small file may always inflate this far (a 10 KB gzip of a tiny export is legitimately 300x).
MIN_RATIO_CAP = 64 * 1024**2
#: Lines per compressed byte: a real row (100-300 bytes) compresses to tens of bytes, so more than one
#: line per compressed byte is a bomb of short lines (blank lines inflate 1000x into millions of rows,
#: each of which costs more to process than its byte).
MAX_LINES_PER_COMPRESSED_BYTE = 1
#: …but a small file may always hold this many lines.
MIN_LINES_CAP = 1_000_000

_GZIP_MAGIC = b"\x1f\x8b"


class HashingReader(io.RawIOBase):
    """Passes the raw object through while computing its SHA-256 (the manifest's checksum).

    That the bytes are the version the upload was identified by is the store's job: the object is
    opened with ``if_match`` (S3 answers 412 for another version, the local store compares its ETag).
    """

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Straight into the caller's buffer when the object's stream can (files and S3 bodies can): a
        block read into a fresh ``bytes`` and copied over cost a page fault per 4 KiB it touched."""
        readinto = getattr(self.inner, "readinto", None)
        if readinto is None:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            count = len(chunk)
        else:
            count = readinto(buffer) or 0
        if count:
            with memoryview(buffer) as view:
                self.sha256.update(view[:count])
            self.size += count
        return count

    def finish(self) -> str:
        """Read what the adapter left (so the checksum covers the whole object); the SHA-256 hex digest."""
        while self.readinto(bytearray(1024 * 1024)):
            pass
        return self.sha256.hexdigest()

    def close(self) -> None:
        """Closing a wrapper must not close the object: :meth:`finish` still reads what was left."""
        super().close()


class _CrToLf(io.RawIOBase):
    """Old Mac exports end lines with a bare CR: turned into LF so every line counter agrees."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.inner.read(len(buffer))
        chunk = chunk.replace(b"\r", b"\n")
        buffer[: len(chunk)] = chunk
        return len(chunk)


class DecompressionCap(io.RawIOBase):
    """Wraps a gzip stream; fails with a clear error when it inflates past the cap or is truncated."""

    def __init__(self, inner: BinaryIO, compressed_size: int | None, limit: int | None = None) -> None:
        self.inner = gzip.GzipFile(fileobj=inner, mode="rb")
        self.total = 0
        # Read at call time, so an operator (or a test) can lower the cap without touching the code.
        limit = MAX_DECOMPRESSED_BYTES if limit is None else limit
        floor = min(limit, MIN_RATIO_CAP)
        self.limit = limit if not compressed_size else min(limit, max(compressed_size * MAX_RATIO, floor))
        self.lines = 0
        self.line_limit = max((compressed_size or 0) * MAX_LINES_PER_COMPRESSED_BYTE, MIN_LINES_CAP)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            chunk = self.inner.read(len(buffer))
        except EOFError as error:
            raise IngestError("file.gzip_truncated", f"the gzip stream ends early: {error}") from None
        except (gzip.BadGzipFile, zlib.error) as error:
            raise IngestError("file.gzip_corrupt", f"the gzip stream is corrupt: {error}") from None
        self.total += len(chunk)
        if self.total > self.limit:
            raise IngestError(
                "file.decompression_limit",
                f"the file inflates past {self.limit:,} bytes; split the export or raise the limit",
            )
        self.lines += chunk.count(b"\n")
        if self.lines > self.line_limit:
            raise IngestError(
                "file.decompression_limit",
                f"the file inflates to more than {self.line_limit:,} lines, over "
                f"{MAX_LINES_PER_COMPRESSED_BYTE} per compressed byte (real exports have far fewer): a bomb "
                "of short or blank lines; "
                "split the export or upload it uncompressed",
            )
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _maybe_gunzip(raw: BinaryIO, key: str, size: int | None) -> BinaryIO:
    head = _peek(raw, 2)
    if head == _GZIP_MAGIC:
        return io.BufferedReader(DecompressionCap(raw, size), buffer_size=1024 * 1024)
    if key.endswith(".gz"):
        raise IngestError("file.not_gzip", f"{key} ends in .gz but is not gzip data; upload it uncompressed")
    return raw


def _peek(stream: BinaryIO, size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    raise TypeError("stream must support peek(); wrap it in io.BufferedReader")


def sniff_encoding(head: bytes, declared: str = "auto") -> str:
    """BOMs win; then the declared encoding; 'auto' means UTF-8 if the head decodes, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if declared != "auto":
        return declared
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is not evidence of another encoding.
        if error.reason != "unexpected end of data":
            return "cp1252"
    return "utf-8"


class _Transcoder(io.RawIOBase):
    """Re-encodes a text stream to UTF-8 on the fly (Latin-1, UTF-16…), in bounded chunks."""

    def __init__(self, inner: BinaryIO, encoding: str) -> None:
        self.reader = codecs.getreader(encoding)(inner, "strict")
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            try:
                text = self.reader.read(1024 * 1024)
            except UnicodeDecodeError as error:
                raise IngestError(
                    "file.encoding", f"bytes are not valid in the file's encoding: {error}"
                ) from None
            if not text:
                if getattr(self.reader, "bytebuffer", b""):
                    raise IngestError(
                        "file.encoding", "the file ends in the middle of a character; export it again"
                    )
                return 0
            self.pending = text.encode("utf-8")
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _cp1252_byte(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: a byte that is not UTF-8 is read as cp1252 (Latin-1 where cp1252 has none)."""
    assert isinstance(error, UnicodeDecodeError)
    byte = error.object[error.start : error.start + 1]
    try:
        return byte.decode("cp1252"), error.start + 1
    except UnicodeDecodeError:
        return byte.decode("latin-1"), error.start + 1


codecs.register_error("contactlake-cp1252", _cp1252_byte)


class _Utf8OrCp1252(io.RawIOBase):
    """UTF-8 passed through; a stray non-UTF-8 byte past the sniffed head read as cp1252.

    With ``encoding = "auto"`` a file whose first 64 KiB are UTF-8 is read as UTF-8; a cp1252 byte
    further on (a name with an accent typed on another system) used to reject the whole file. Chunks of
    plain ASCII (the usual case) are passed on as they are, without decoding.
    """

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.decoder = codecs.getincrementaldecoder("utf-8")("contactlake-cp1252")
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            chunk = self.inner.read(1024 * 1024)
            if not chunk:
                self.pending = memoryview(self.decoder.decode(b"", final=True).encode("utf-8"))
                if not self.pending:
                    return 0
            elif chunk.isascii() and not self.decoder.getstate()[0]:
                self.pending = memoryview(chunk)
            else:
                self.pending = memoryview(self.decoder.decode(chunk).encode("utf-8"))
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _buffered(raw: BinaryIO | io.RawIOBase) -> BinaryIO:
    """A peekable buffered view of any readable stream (the typeshed stubs disagree on raw streams)."""
    return io.BufferedReader(raw, buffer_size=1024 * 1024)  # type: ignore[type-var]


def open_decoded(raw: BinaryIO, key: str, size: int | None, encoding: str = "auto") -> tuple[BinaryIO, str]:
    """A UTF-8 byte stream of the upload (gunzipped, BOM dropped, transcoded, LF line ends) and its encoding.

    CRLF is left alone (pyarrow and the line counters handle it); a file whose head has bare CRs and no
    LF at all is converted CR → LF.
    """
    buffered: BinaryIO = raw if hasattr(raw, "peek") else _buffered(raw)
    stream = _maybe_gunzip(buffered, key, size)
    head = _peek(stream, 65536)
    found = sniff_encoding(head, encoding)
    if found == "utf-8-sig":
        stream.read(3)
    elif found == "utf-8" and encoding == "auto":
        stream = _buffered(_Utf8OrCp1252(stream))
    elif found not in ("utf-8", "utf8"):
        stream = io.BufferedReader(_Transcoder(stream, found), buffer_size=1024 * 1024)
    head = _peek(stream, 65536)
    if b"\r" in head and b"\n" not in head:
        stream = io.BufferedReader(_CrToLf(stream), buffer_size=1024 * 1024)
    return stream, found
