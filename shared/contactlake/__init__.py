"""contactlake: a serverless contact-centre MIS — nightly exports to validated Parquet, KPIs and reports.

The data's path, one package per stage, imports running one way (earlier never imports later):
``contract`` (what ingest hands commit), ``kernels`` (tuned hot-path code), ``ingest`` (read and parse a
source into canonical batches, with the row rules), ``commit`` (duplicates, partitioned writes,
manifest, quarantine), ``pipeline`` (stage, commit, process, replay an upload), ``analyse`` (SQL KPIs,
staffing, trends), ``report`` (stakeholder reports, e-mail); ``adapters`` are the local and AWS
implementations of the ports in :mod:`contactlake.ports`.
tests/unit/core/test_import_graph.py holds the order.
"""

__version__ = "0.1.0"
