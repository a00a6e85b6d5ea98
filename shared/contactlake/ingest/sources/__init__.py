"""Source adapters, by name. A centre's configuration names the adapter for each of its sources."""

from __future__ import annotations

from contactlake.config import ConfigError
from contactlake.ingest.sources.amazon_connect import AmazonConnectAdapter
from contactlake.ingest.sources.anonymous_bank import AnonymousBankAdapter
from contactlake.ingest.sources.base import AdapterContext, SourceAdapter
from contactlake.ingest.sources.cisco_ucce import CiscoUcceAdapter
from contactlake.ingest.sources.generic_csv import GenericCsvAdapter
from contactlake.ingest.sources.genesys_cloud import GenesysCloudAdapter

__all__ = ["ADAPTERS", "AdapterContext", "SourceAdapter", "get_adapter"]

ADAPTERS: dict[str, SourceAdapter] = {
    "generic_csv": GenericCsvAdapter(),
    "anonymous_bank": AnonymousBankAdapter(),
    "amazon_connect": AmazonConnectAdapter(),
    "genesys_cloud": GenesysCloudAdapter(),
    "cisco_ucce": CiscoUcceAdapter(),
}


def get_adapter(name: str) -> SourceAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"no adapter {name!r}; available: {', '.join(sorted(ADAPTERS))}") from None
