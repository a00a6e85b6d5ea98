"""JSON exports as a stream of records, in bounded memory, with a rule id for every way JSON goes wrong.

Handles what contact-centre platforms actually deliver:

* JSON Lines (one record a line) and Firehose-style concatenated JSON (``{…}{…}`` with no separator);
* a top-level array of records (``[{…}, {…}]``);
* a wrapper object holding the records in one array member (the Genesys Cloud details-job page
  ``{"conversations": […], "cursor": …}``), also several pages back to back.

Records are numbered 1, 2, 3… in file order (their ``source_line`` in the lake); the line a record starts
on is in every message. A broken record is rejected on its own and reading resumes at the next record
boundary (the next newline, or the next ``}{`` of concatenated JSON), so one bad record never loses the
rest of the file. Rules: ``json.invalid``, ``json.trailing_garbage``, ``json.nan`` (NaN/Infinity are not
JSON), ``json.duplicate_key``, ``json.too_deep``, ``json.record_too_large``, ``json.not_object``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from contactlake.contract import IngestError, Reject

__all__ = ["MAX_DEPTH", "MAX_RECORD_CHARS", "JsonRecord", "iter_json_records"]

#: A contact record is a few KB; anything this large is not one (usually a missing closing brace).
MAX_RECORD_CHARS = 8 * 1024 * 1024
#: Contact records nest a handful of levels; deeper nesting is an attack or a broken generator.
MAX_DEPTH = 32
_CHUNK = 1024 * 1024
_RAW_TEXT_CHARS = 4096
_LONGEST_LITERAL = len("-Infinity")
_WS = re.compile(r"\s*")
_BOUNDARY = re.compile(r"\n|\}\s*\{")
_FIRST_KEY = re.compile(r'\{\s*"((?:[^"\\]|\\.)*)"')
_VALUE_START = frozenset('{["-0123456789tfnNI')


class _RecordError(ValueError):
    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.rule_id = rule_id


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RecordError("json.duplicate_key", f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _constant(name: str) -> float:
    raise _RecordError("json.nan", f"{name} is not valid JSON; export missing numbers as null")


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)
#: Finds where a record that broke a strict rule (NaN, repeated key) ends, to reject exactly that record.
_LENIENT = json.JSONDecoder()


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return False


@dataclass
class JsonRecord:
    """One record: its ordinal number, the line it starts on, and the object (or why it was rejected)."""

    number: int
    line: int
    value: dict[str, Any] | None = None
    reject: Reject | None = None


class _Reader:
    def __init__(self, stream: BinaryIO, wrapper_keys: frozenset[str], array_key: str | None) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 1  # line number at buf[0]
        self.number = 0
        self.wrapper_keys = wrapper_keys
        self.array_key = array_key

    # -- buffer -------------------------------------------------------------------------------------
    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(_CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise IngestError("file.encoding", f"the file is not UTF-8: {error}") from None
        if not data:
            self.eof = True
        self.buf += text
        return bool(text) or not self.eof

    def _compact(self) -> None:
        """Drop what was consumed (only between values, when no caller holds an offset)."""
        if self.pos > _CHUNK:
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos :]
            self.pos = 0

    def _skip_ws(self) -> str:
        """The next non-whitespace character ('' at end of file), leaving ``pos`` on it."""
        self._compact()
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _line_at(self, pos: int) -> int:
        return self.lines_before + self.buf.count("\n", 0, pos)

    # -- values -------------------------------------------------------------------------------------
    def _decode(self) -> tuple[Any, int]:
        """Decode one value at ``pos`` (reading more while it is incomplete); returns it and its end."""
        while True:
            try:
                return _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as error:
                # Cut by the read boundary: inside a string, or within the last few characters (a
                # ``null``, ``true``, ``false`` or number split in two fails *at its start*, up to 9
                # characters from the end: ``-Infinity``). With more text read, the same error is real.
                incomplete = len(self.buf) - error.pos <= _LONGEST_LITERAL or error.msg.startswith(
                    "Unterminated string"
                )
                if incomplete and not self.eof:
                    if len(self.buf) - self.pos > MAX_RECORD_CHARS:
                        raise _RecordError(
                            "json.record_too_large",
                            f"a record is longer than {MAX_RECORD_CHARS:,} characters (a missing brace?)",
                        ) from None
                    self._more()
                    continue
                raise _RecordError("json.invalid", f"not valid JSON: {error.msg}") from None
            except RecursionError:
                raise _RecordError(
                    "json.too_deep", "the record nests too deeply to be a contact record"
                ) from None

    def _resync(self, start: int) -> str:
        """Skip to the next record boundary after ``start``; returns the skipped text."""
        while True:
            match = _BOUNDARY.search(self.buf, start + 1)
            if match is not None:
                end = match.start() + 1 if match.group().startswith("}") else match.end()
                skipped = self.buf[start:end]
                self.pos = end
                return skipped
            if len(self.buf) - start > MAX_RECORD_CHARS or not self._more():
                skipped = self.buf[start:]
                self.pos = len(self.buf)
                return skipped

    def _record(self, start: int) -> JsonRecord:
        self.number += 1
        line = self._line_at(start)
        try:
            value, end = self._decode()
        except _RecordError as error:
            if error.rule_id in ("json.nan", "json.duplicate_key"):
                try:
                    _, end = _LENIENT.raw_decode(self.buf, start)
                except (ValueError, RecursionError):
                    end = -1
                if end > 0:
                    self.pos = end
                    return self._rejected(line, self.buf[start:end], error.rule_id, str(error))
            text = self._resync(start)
            return self._rejected(line, text, error.rule_id, str(error))
        self.pos = end
        if not isinstance(value, dict):
            return self._rejected(
                line, self.buf[start:end], "json.not_object", "a record must be a JSON object"
            )
        if _depth_exceeds(value, MAX_DEPTH):
            return self._rejected(
                line, self.buf[start:end], "json.too_deep", f"the record nests deeper than {MAX_DEPTH} levels"
            )
        return JsonRecord(self.number, line, value)

    def _rejected(self, line: int, text: str, rule_id: str, message: str) -> JsonRecord:
        reject = Reject(
            self.number, text[:_RAW_TEXT_CHARS], rule_id, f"record {self.number} (line {line}): {message}"
        )
        return JsonRecord(self.number, line, reject=reject)

    def _garbage(self, start: int) -> JsonRecord:
        self.number += 1
        line = self._line_at(start)
        text = self._resync(start)
        return self._rejected(
            line, text, "json.trailing_garbage", "text between records that is not JSON; export clean JSON"
        )

    # -- layouts ------------------------------------------------------------------------------------
    def _array(self) -> Iterator[JsonRecord]:
        """Records inside ``[…]``; ``pos`` is just after the opening bracket."""
        while True:
            char = self._skip_ws()
            if char == "]":
                self.pos += 1
                return
            if char == "":
                raise IngestError("json.truncated", "the file ends inside an array; the export is incomplete")
            if char == ",":
                self.pos += 1
                continue
            if char in _VALUE_START:
                yield self._record(self.pos)
            else:
                yield self._garbage(self.pos)

    def _wrapper(self) -> Iterator[JsonRecord]:
        """A page object: the records are the elements of ``array_key``; other members are skipped."""
        self.pos += 1  # past "{"
        while True:
            char = self._skip_ws()
            if char == "}":
                self.pos += 1
                return
            if char == ",":
                self.pos += 1
                continue
            if char == "":
                raise IngestError(
                    "json.truncated", "the file ends inside an object; the export is incomplete"
                )
            try:
                key, end = self._decode()
            except _RecordError as error:
                raise IngestError(error.rule_id, f"the page object is not valid JSON: {error}") from None
            self.pos = end
            if self._skip_ws() != ":":
                raise IngestError("json.invalid", "the page object is not valid JSON: expected ':'")
            self.pos += 1
            char = self._skip_ws()
            if key == self.array_key and char == "[":
                self.pos += 1
                yield from self._array()
            else:
                try:
                    _, end = self._decode()
                except _RecordError as error:
                    raise IngestError(
                        error.rule_id, f"the page member {key!r} is not valid JSON: {error}"
                    ) from None
                self.pos = end

    def _is_wrapper(self) -> bool:
        match = _FIRST_KEY.match(self.buf, self.pos)
        while match is None and len(self.buf) - self.pos < 4096 and self._more():
            match = _FIRST_KEY.match(self.buf, self.pos)
        return match is not None and match.group(1) in self.wrapper_keys

    def __iter__(self) -> Iterator[JsonRecord]:
        first = True
        while True:
            char = self._skip_ws()
            if char == "":
                return
            if char == "[" and first:
                # Only a file that *starts* with "[" is an array of records; a later "[" is a bad record.
                self.pos += 1
                first = False
                yield from self._array()
            elif char == "{" and self.array_key and self._is_wrapper():
                yield from self._wrapper()
            elif char in _VALUE_START:
                yield self._record(self.pos)
            else:
                yield self._garbage(self.pos)
            first = False


def iter_json_records(
    stream: BinaryIO, array_key: str | None = None, wrapper_keys: frozenset[str] = frozenset()
) -> Iterator[JsonRecord]:
    """The records of a decoded UTF-8 JSON stream (see the module docstring for the layouts).

    ``array_key`` names the member of a page object that holds the records; a top-level object whose
    first key is ``array_key`` or one of ``wrapper_keys`` is read as such a page.
    """
    if array_key:
        wrapper_keys = wrapper_keys | {array_key}
    return iter(_Reader(stream, wrapper_keys, array_key))
