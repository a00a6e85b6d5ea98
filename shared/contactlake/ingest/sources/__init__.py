"""Source adapters, by name. A centre's configuration names the adapter for each of its sources."""

from __future__ import annotations

from contactlake.config import ConfigError
from contactlake.ingest.sources.base import AdapterContext, SourceAdapter
from contactlake.ingest.sources.generic_csv import GenericCsvAdapter

__all__ = ["ADAPTERS", "AdapterContext", "SourceAdapter", "get_adapter"]

ADAPTERS: dict[str, SourceAdapter] = {
    "generic_csv": GenericCsvAdapter(),
}


def get_adapter(name: str) -> SourceAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"no adapter {name!r}; available: {', '.join(sorted(ADAPTERS))}") from None
