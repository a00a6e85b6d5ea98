"""Source adapters, by name. A centre's configuration names the adapter for each of its sources.

Each adapter's module is imported the first time it is asked for: an upload needs one adapter, and the
others' imports would only lengthen a Lambda's cold start.
"""

from __future__ import annotations

import importlib

from contactlake.config import ConfigError
from contactlake.ingest.sources.base import AdapterContext, SourceAdapter

__all__ = ["ADAPTER_NAMES", "AdapterContext", "SourceAdapter", "get_adapter"]

#: Adapter name → (module under ``contactlake.ingest.sources``, class).
_ADAPTERS = {
    "generic_csv": ("generic_csv", "GenericCsvAdapter"),
    "anonymous_bank": ("anonymous_bank", "AnonymousBankAdapter"),
    "amazon_connect": ("amazon_connect", "AmazonConnectAdapter"),
    "genesys_cloud": ("genesys_cloud", "GenesysCloudAdapter"),
    "cisco_ucce": ("cisco_ucce", "CiscoUcceAdapter"),
    "asterisk_queue_log": ("asterisk_queue_log", "AsteriskQueueLogAdapter"),
}
ADAPTER_NAMES = tuple(sorted(_ADAPTERS))
_loaded: dict[str, SourceAdapter] = {}


def get_adapter(name: str) -> SourceAdapter:
    adapter = _loaded.get(name)
    if adapter is None:
        try:
            module_name, class_name = _ADAPTERS[name]
        except KeyError:
            raise ConfigError(f"no adapter {name!r}; available: {', '.join(ADAPTER_NAMES)}") from None
        module = importlib.import_module(f"{__name__}.{module_name}")
        adapter = _loaded[name] = getattr(module, class_name)()
    return adapter
