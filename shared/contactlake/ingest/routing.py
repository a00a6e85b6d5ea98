"""From an uploaded object's key to an :class:`Upload`: which centre, which source, which adapter.

Keys are ``<centre_id>/<source>/<anything>``. The centre id is checked against the configured allow-list
before it is used in any path or query. S3 event keys arrive URL-encoded: :func:`decode_event_key`
decodes them exactly once (decoding twice would turn a literal '%2F' in a name into a slash).

The upload id is derived from everything that decides what the lake will hold: centre, source, dataset
(see :func:`dataset_key_for`: by default the object's key and content, so uploads add), the object's
content fingerprint, and the *processing*: the adapter's version and the mapping file's digest. So the
same bytes read the same way always get the same id (and the same file names), while the same bytes read
with a corrected mapping get a new id that replaces the earlier processing
(docs/adr/0004-idempotent-uploads.md, "replay"; docs/adr/0014-upload-identity-and-replacement.md).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from contactlake.config import AppConfig, ConfigError, validate_centre_id
from contactlake.contract import IngestError, Upload, make_upload_id
from contactlake.ingest.mapping import load_mapping, mapping_digest
from contactlake.ingest.sources import get_adapter
from contactlake.ports import ObjectStore

__all__ = [
    "dataset_key_for",
    "decode_event_key",
    "export_time_from",
    "processing_key",
    "route_upload",
    "upload_from_identity",
    "upload_identity",
]

_DAY = re.compile(r"(20\d\d|19\d\d)[-_/]?(0[1-9]|1[0-2])[-_/]?(0[1-9]|[12]\d|3[01])")
#: Path segments become parts of lake keys (dataset keys of streamed sources): no control characters.
_SEGMENT = re.compile(r"^[^\x00-\x1f\x7f\\]{1,255}$")


def decode_event_key(key: str) -> str:
    """S3 notifications URL-encode keys (spaces as '+'); decode once."""
    return unquote_plus(key)


def dataset_key_for(
    centre_id: str, source: str, rest: str, replaces: str = "nothing", fingerprint: str = ""
) -> str:
    """What a later upload replaces: the source's ``replaces`` setting decides, never the file name alone.

    ``nothing`` (the default: uploads add): the object itself, its key *and* content (``fingerprint``),
    so two different uploads never share a dataset and neither can delete the other's rows, whatever
    their names (``export.csv`` every night, hourly files of one day). ``object``: the object key, so
    only a new version of the same key replaces (a Firehose object rewritten). ``day`` (nightly exports
    whose re-export corrects the day): the business day named in the key or file name, so
    ``calls-2024-01-15-corrected.csv`` replaces ``calls-2024-01-15.csv``; a name with no day in it
    falls back to ``object`` rather than to its stem. docs/adr/0014-upload-identity-and-replacement.md.
    """
    match = _DAY.search(rest)
    day = f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else None
    if replaces == "day" and day:
        return f"{centre_id}/{source}/{day}"
    if replaces in ("day", "object"):
        return f"{centre_id}/{source}/{rest}"
    # The day stays the third segment when the name has one: reports find an upload's business day there.
    content = hashlib.sha256(fingerprint.strip('"').encode()).hexdigest()[:16]
    return f"{centre_id}/{source}/{f'{day}/' if day else ''}{rest}@{content}"


def processing_key(adapter_name: str, mapping_ref: str | None, config: AppConfig) -> str:
    """Adapter version + mapping digest: what makes re-reading the same bytes give different rows."""
    adapter = get_adapter(adapter_name)
    version = adapter.version
    if not mapping_ref:
        return f"{adapter_name}@{version}"
    config_dir = str(Path(config.source_path).parent) if config.source_path != "<memory>" else None
    return f"{adapter_name}@{version}|mapping:{mapping_digest(load_mapping(mapping_ref, config_dir))}"


def _check_key(key: str) -> tuple[str, str, str]:
    parts = key.split("/")
    if len(parts) < 3 or not all(parts) or any(p in (".", "..") for p in parts):
        raise IngestError(
            "route.bad_key", f"upload key {key!r} must look like <centre_id>/<source>/<file name>"
        )
    if not all(_SEGMENT.match(p) for p in parts):
        raise IngestError(
            "route.bad_key",
            f"upload key {key!r} has control characters or backslashes in a path segment; rename the file",
        )
    return parts[0], parts[1], "/".join(parts[2:])


def route_upload(key: str, config: AppConfig, store: ObjectStore) -> Upload:
    """Resolve the raw object ``key`` (already decoded) to its centre, source and adapter.

    Raises :class:`IngestError` for keys that do not name a configured centre and source, and
    :class:`contactlake.ports.ObjectNotFound` if the object is gone (deleted before it was read).
    """
    centre_id, source_name, rest = _check_key(key)
    try:
        validate_centre_id(centre_id)
        centre = config.centre(centre_id)
        source = centre.source(source_name)
        adapter = get_adapter(source.adapter)
        processing = processing_key(source.adapter, source.mapping, config)
        if centre.reject_flags:  # flags raised to rejections change the rows the same bytes give
            processing += f"|reject:{','.join(sorted(centre.reject_flags))}"
    except ConfigError as error:
        raise IngestError("route.unknown", str(error)) from None
    info = store.head("raw", key)
    fingerprint = info.etag or info.version or str(info.size)
    replaces = source.replaces
    if replaces == "day" and adapter.dataset_grain == "object":
        replaces = "object"  # a streamed source's many files of one day add up; only a rewrite replaces
    dataset_key = dataset_key_for(centre_id, source_name, rest, replaces, fingerprint)
    export_time = None
    if source.export_time_metadata:
        export_time = export_time_from(
            info.metadata.get(source.export_time_metadata), source.export_time_metadata
        )
    return Upload(
        upload_id=make_upload_id(centre_id, source_name, dataset_key, f"{fingerprint}|{processing}"),
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
        processing=processing,
        replaces=replaces,
        export_time=export_time,
    )


def export_time_from(value: str | None, name: str) -> datetime | None:
    """The export time an upload's object metadata ``name`` gives (UTC), or None when it is not set.

    A value that is not an ISO 8601 time with a zone refuses the upload: ordering it by a guess could let
    an older export replace a newer correction.
    """
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise IngestError(
            "route.export_time_invalid",
            f"the object metadata {name!r} is {value[:40]!r}, not an ISO 8601 time with a zone; set it "
            "to the time the export was made, e.g. 2024-01-16T03:00:00Z, and upload again",
        )
    return parsed.astimezone(UTC)


def upload_identity(upload: Upload) -> dict[str, Any]:
    """The upload as JSON, for the staging marker (the commit stage must not depend on the raw object)."""
    return {
        "upload_id": upload.upload_id,
        "centre_id": upload.centre_id,
        "source": upload.source,
        "adapter": upload.adapter,
        "mapping": upload.mapping,
        "key": upload.key,
        "dataset_key": upload.dataset_key,
        "fingerprint": upload.fingerprint,
        "version": upload.version,
        "size": upload.size,
        "last_modified": upload.last_modified.isoformat() if upload.last_modified else None,
        "processing": upload.processing,
        "replaces": upload.replaces,
        "export_time": upload.export_time.isoformat() if upload.export_time else None,
    }


def upload_from_identity(identity: dict[str, Any], config: AppConfig) -> Upload:
    """Inverse of :func:`upload_identity`; the centre is looked up again (the allow-list still applies)."""
    centre_id = validate_centre_id(str(identity["centre_id"]))
    modified = identity.get("last_modified")
    exported = identity.get("export_time")
    return Upload(
        upload_id=str(identity["upload_id"]),
        centre=config.centre(centre_id),
        source=str(identity["source"]),
        adapter=str(identity["adapter"]),
        mapping=identity.get("mapping"),
        key=str(identity["key"]),
        dataset_key=str(identity["dataset_key"]),
        fingerprint=str(identity["fingerprint"]),
        version=identity.get("version"),
        size=int(identity["size"]),
        last_modified=datetime.fromisoformat(modified) if modified else None,
        processing=str(identity.get("processing", "")),
        replaces=str(identity.get("replaces", "nothing")),
        export_time=datetime.fromisoformat(exported) if exported else None,
    )
