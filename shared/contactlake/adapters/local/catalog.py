"""The local catalog: nothing to register (DuckDB finds partitions by globbing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["LocalCatalog"]


class LocalCatalog:
    """DuckDB discovers partitions by globbing, so there is nothing to register locally."""

    def add_partitions(self, table: str, partitions: Sequence[Mapping[str, str]]) -> None:
        return None
