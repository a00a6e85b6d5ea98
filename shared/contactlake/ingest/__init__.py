"""The ingest stage: read one upload with its source adapter and parse it into canonical batches.

:mod:`~contactlake.ingest.routing` routes a raw object's key to its centre, source and adapter;
:mod:`~contactlake.ingest.parse` reads it; the adapters in :mod:`~contactlake.ingest.sources` convert
it (:mod:`~contactlake.ingest.canonical`, :mod:`~contactlake.ingest.delimited`) and apply the row
rules (:mod:`~contactlake.ingest.rules`). What comes out is the contract (:mod:`contactlake.contract`).
"""
