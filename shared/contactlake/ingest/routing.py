"""From an uploaded object's key to an :class:`Upload`: which centre, which source, which adapter.

Keys are ``<centre_id>/<source>/<anything>``. The centre id is checked against the configured allow-list
before it is used in any path or query. S3 event keys arrive URL-encoded: :func:`decode_event_key`
decodes them exactly once (decoding twice would turn a literal '%2F' in a name into a slash).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

from contactlake.config import AppConfig, ConfigError, validate_centre_id
from contactlake.ingest.model import IngestError, Upload, make_upload_id
from contactlake.ports import ObjectStore

__all__ = ["dataset_key_for", "decode_event_key", "route_upload"]

_DAY = re.compile(r"(20\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])")


def decode_event_key(key: str) -> str:
    """S3 notifications URL-encode keys (spaces as '+'); decode once."""
    return unquote_plus(key)


def dataset_key_for(centre_id: str, source: str, rest: str) -> str:
    """What a re-export replaces: the centre, source and business day (from the path or file name)."""
    match = _DAY.search(rest)
    if match:
        day = f"{match.group(1)}-{match.group(2)}-{match.group(3)}"
    else:
        day = PurePosixPath(rest).name.split(".")[0]
    return f"{centre_id}/{source}/{day}"


def route_upload(key: str, config: AppConfig, store: ObjectStore) -> Upload:
    """Resolve the raw object ``key`` (already decoded) to its centre, source and adapter.

    Raises :class:`IngestError` for keys that do not name a configured centre and source, and
    :class:`contactlake.ports.ObjectNotFound` if the object is gone (deleted before it was read).
    """
    parts = key.split("/")
    if len(parts) < 3 or not all(parts) or any(p in (".", "..") for p in parts):
        raise IngestError(
            "route.bad_key", f"upload key {key!r} must look like <centre_id>/<source>/<file name>"
        )
    centre_id, source_name, rest = parts[0], parts[1], "/".join(parts[2:])
    try:
        validate_centre_id(centre_id)
        centre = config.centre(centre_id)
        source = centre.source(source_name)
    except ConfigError as error:
        raise IngestError("route.unknown", str(error)) from None
    info = store.head("raw", key)
    dataset_key = dataset_key_for(centre_id, source_name, rest)
    fingerprint = info.etag or info.version or str(info.size)
    return Upload(
        upload_id=make_upload_id(centre_id, source_name, dataset_key, fingerprint),
        centre=centre,
        source=source_name,
        adapter=source.adapter,
        mapping=source.mapping,
        key=key,
        dataset_key=dataset_key,
        fingerprint=fingerprint,
        version=info.version,
        size=info.size,
        last_modified=info.last_modified,
    )
