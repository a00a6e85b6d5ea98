"""The local object store: a folder per area, writes made atomic by a rename."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from contactlake.ports import Area, ObjectChanged, ObjectInfo, ObjectNotFound

__all__ = ["LocalObjectStore"]

_OCTETS = "application/octet-stream"


def _temporary_beside(path: Path) -> Path:
    """A temporary name in ``path``'s folder (created if needed), unique to this process and thread:
    written first, then renamed or linked into place, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


#: Bytes copied at a time when a file is stored: bounded memory for any size of upload.
_COPY_CHUNK = 8 * 1024 * 1024


class LocalObjectStore:
    """``<root>/<area>/<key>``; writes go to a temporary name first so readers never see half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._bases: dict[str, str] = {}

    def path(self, area: Area, key: str) -> Path:
        """Where ``key`` lives; a key that would leave its area (``..``, an absolute path) is refused.

        Keys are names, as in S3, so the check is on the normalised path; the area itself is resolved
        once. (Resolving every key walked the file system for each object written.)
        """
        base = self._bases.get(area)
        if base is None:
            base = self._bases[area] = str((self.root / area).resolve())
        path = os.path.normpath(os.path.join(base, key))
        if path != base and not path.startswith(base + os.sep):
            raise ValueError(f"key {key!r} escapes the {area} area")
        return Path(path)

    def put(self, area: Area, key: str, data: bytes, content_type: str = _OCTETS) -> None:
        path = self.path(area, key)
        tmp = _temporary_beside(path)
        tmp.write_bytes(data)
        if area != "raw":
            os.replace(tmp, path)
            return
        # like S3, the upload's ETag is computed as it arrives, not when it is read
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        self._keep_earlier_version(key, path, etag)
        os.replace(tmp, path)
        self._remember(area, key, os.stat(path), etag)

    def put_file(self, area: Area, key: str, path: Path) -> None:
        target = self.path(area, key)
        tmp = _temporary_beside(target)
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as source, tmp.open("wb") as sink:
            while chunk := source.read(_COPY_CHUNK):
                digest.update(chunk)
                sink.write(chunk)
        if area == "raw":
            self._keep_earlier_version(key, target, digest.hexdigest())
        os.replace(tmp, target)
        if area == "raw":
            self._remember(area, key, os.stat(target), digest.hexdigest())

    def _keep_earlier_version(self, key: str, path: Path, new_etag: str) -> None:
        """Like a versioned S3 bucket: an upload written over an earlier one under the same key keeps the
        earlier bytes, as ``<root>/.versions/raw/<key>/<its ETag>`` (a hard link, no copy). Raw uploads
        are never lost, even when a centre sends ``export.csv`` every night."""
        try:
            with path.open("rb") as handle:
                etag = self._etag("raw", key, os.fstat(handle.fileno()), handle)
        except FileNotFoundError:
            return
        if etag == new_etag:
            return
        kept = self.root / ".versions" / "raw" / key / etag
        kept.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # kept already (the same bytes overwritten twice)
            os.link(path, kept)

    def get(self, area: Area, key: str) -> bytes:
        try:
            return self.path(area, key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"{area}/{key} does not exist") from None

    def get_versioned(self, area: Area, key: str) -> tuple[bytes, str]:
        data = self.get(area, key)
        return data, hashlib.md5(data, usedforsecurity=False).hexdigest()

    def create(self, area: Area, key: str, data: bytes, content_type: str = _OCTETS) -> bool:
        """Linking a finished temporary file to the name fails if the name exists: atomic, like S3's."""
        path = self.path(area, key)
        tmp = _temporary_beside(path)
        tmp.write_bytes(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        return True

    def delete_if(self, area: Area, key: str, etag: str) -> bool:
        """Compare and delete. Not atomic across processes, unlike S3; a local lake has one writer at a
        time in practice (the CLI), and the commit lease that uses this only guards against crashes."""
        try:
            _, current = self.get_versioned(area, key)
        except ObjectNotFound:
            return False
        if current != etag.strip('"'):
            return False
        path = self.path(area, key)
        path.unlink(missing_ok=True)
        # Like S3, which has no folders: a short-lived object (a lease) leaves no empty folder behind.
        base = self.path(area, "")
        for folder in path.parents:
            if folder == base:
                break
            try:
                folder.rmdir()
            except OSError:  # not empty
                break
        return True

    def open(self, area: Area, key: str, if_match: str | None = None) -> BinaryIO:
        """Open for reading; with ``if_match`` (an ETag), only if the object is still that version.

        The check is made on the open file (its inode and times), so a later replacement of the name
        cannot slip in between: the bytes read are those of the version checked.
        """
        try:
            handle = self.path(area, key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"{area}/{key} does not exist") from None
        if if_match is not None:
            etag = self._etag(area, key, os.fstat(handle.fileno()), handle)
            if etag != if_match.strip('"'):
                handle.close()
                raise ObjectChanged(
                    f"{area}/{key} is no longer the version announced (ETag {if_match}); it was overwritten "
                    "before or while being read — its newer version is processed from its own event"
                )
            handle.seek(0)
        return handle

    def head(self, area: Area, key: str) -> ObjectInfo:
        """Like S3's HEAD: the ETag is the MD5 of the content, so identity matches a single-part upload."""
        info = self._info(area, key)
        with self.path(area, key).open("rb") as handle:
            etag = self._etag(area, key, os.fstat(handle.fileno()), handle)
        return ObjectInfo(area, key, info.size, info.version, etag, info.last_modified)

    def _etag(self, area: Area, key: str, stat: os.stat_result, handle: BinaryIO) -> str:
        """MD5 of the content, remembered per file version (S3 computes it once, at upload time).

        The memo lives under ``<root>/.etags/`` (never in the raw area, which is not modified) and is
        keyed by inode, size and modification time, so a rewritten file is hashed again.
        """
        try:
            remembered = json.loads(self._memo(area, key).read_text(encoding="utf-8"))
            if remembered.get("identity") == _identity(stat):
                return str(remembered["etag"])
        except (OSError, ValueError):
            pass
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
        etag = digest.hexdigest()
        self._remember(area, key, stat, etag)
        return etag

    def _memo(self, area: Area, key: str) -> Path:
        return self.root / ".etags" / area / f"{key}.json"

    def _remember(self, area: Area, key: str, stat: os.stat_result, etag: str) -> None:
        memo = self._memo(area, key)
        try:
            tmp = _temporary_beside(memo)
            tmp.write_text(json.dumps({"identity": _identity(stat), "etag": etag}), encoding="utf-8")
            os.replace(tmp, memo)
        except OSError:
            pass  # a read-only lake folder: hash again next time

    def _info(self, area: Area, key: str) -> ObjectInfo:
        try:
            stat = self.path(area, key).stat()
        except FileNotFoundError:
            raise ObjectNotFound(f"{area}/{key} does not exist") from None
        return ObjectInfo(
            area,
            key,
            stat.st_size,
            version=f"{stat.st_mtime_ns}-{stat.st_size}",
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    def exists(self, area: Area, key: str) -> bool:
        return self.path(area, key).is_file()

    def list(self, area: Area, prefix: str) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order (like S3's ListObjectsV2)."""
        base = self.root / area
        start = base / prefix
        if prefix.endswith("/") or not prefix:
            # A prefix ending in "/" names a folder: if it is not there, nothing is (never walk its parent).
            roots = [start] if start.is_dir() else []
        else:
            # A partial last name ("contact_date=2026-11-"): only the parent's entries starting with it are
            # walked. Walking the whole parent listed every day of a centre's history for each month asked.
            parent = start.parent
            roots = [e for e in parent.iterdir() if e.name.startswith(start.name)] if parent.is_dir() else []
        found = []
        for root in roots:
            walked = os.walk(root) if root.is_dir() else [(str(root.parent), [], [root.name])]
            for directory, _subdirs, files in walked:
                for name in files:
                    if not name.startswith("."):
                        found.append(Path(directory, name).relative_to(base).as_posix())
        for key in sorted(found):
            yield self._info(area, key)

    def delete(self, area: Area, keys: Sequence[str]) -> None:
        for key in keys:
            self.path(area, key).unlink(missing_ok=True)

    def presigned_url(self, area: Area, key: str, expires_seconds: int = 3600, method: str = "GET") -> str:
        return self.path(area, key).as_uri()


def _identity(stat: os.stat_result) -> str:
    """A file version: a replaced file has a new inode, a rewritten one a new size or time."""
    return f"{stat.st_ino}-{stat.st_size}-{stat.st_mtime_ns}"
