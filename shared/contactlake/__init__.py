"""contactlake: a serverless contact-centre MIS — nightly exports to validated Parquet, KPIs and reports.

Subpackages, one per concern: ``ingest`` (source adapters), ``validate`` (rules, quarantine, commit),
``analyse`` (SQL KPIs, staffing, trends), ``report`` (stakeholder reports, e-mail), ``adapters`` (local
and AWS implementations of the ports in :mod:`contactlake.ports`).
"""

__version__ = "0.1.0"
