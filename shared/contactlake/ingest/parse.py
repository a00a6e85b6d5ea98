"""The ingest stage's entry: parse one routed upload into canonical batches with its adapter.

The stage's output is the contract (:mod:`contactlake.contract`); :mod:`contactlake.pipeline` hands the
batches to the commit stage, directly or through ``staging/`` on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from contactlake.config import AppConfig, ConfigError, Settings
from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.carry import Carried, load_carried
from contactlake.ingest.mapping import load_mapping
from contactlake.ingest.reader import HashingReader
from contactlake.ingest.sources import AdapterContext, get_adapter
from contactlake.ports import Ports

__all__ = ["read_upload"]


def _context(
    upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None, carried: Carried
) -> AdapterContext:
    if not settings.pii_key:
        raise ConfigError(
            "this function has no pseudonymisation key, so it cannot hash caller numbers; only the ingest "
            "function is given one (CONTACTLAKE_PII_KEY_PARAM in template.yaml)"
        )
    config_dir = str(Path(config.source_path).parent) if config.source_path != "<memory>" else None
    mapping = load_mapping(upload.mapping, config_dir) if upload.mapping else None
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    return AdapterContext(pii_key=settings.pii_key, mapping=mapping, carried=carried, **kwargs)


def read_upload(
    ports: Ports, upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None = None
) -> Iterator[ParsedBatch]:
    """Parse the raw object into canonical batches (bounded memory); raises IngestError if unreadable.

    The raw bytes are hashed on the way through; the last batch carries the SHA-256 for the manifest.
    Raises :class:`ObjectChanged` if the bytes read are not the version the upload was identified by.
    """
    adapter = get_adapter(upload.adapter)
    carried = (
        load_carried(ports.store, upload.centre_id, upload.source, upload.key)
        if getattr(adapter, "carries", False)
        else Carried()
    )
    ctx = _context(upload, config, settings, block_bytes, carried)
    with ports.store.open("raw", upload.key, if_match=upload.fingerprint) as raw:
        hashing = HashingReader(raw)
        yield from adapter.read(hashing, upload, ctx)  # type: ignore[arg-type]  # a binary stream
        yield ParsedBatch(rows_read=0, checksum_sha256=hashing.finish())
