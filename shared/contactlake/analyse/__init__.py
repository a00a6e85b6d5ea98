"""Analyse: KPI SQL, materialised aggregates, staffing, trends, pathways and plan-vs-actual.

:func:`run_analysis` writes every aggregate (nightly and after each upload); :mod:`.queries` reads them
for reports, the API and BI.
"""

from contactlake.analyse.aggregates import KPI_DAILY, KPI_INTERVAL, MaterialiseResult, materialise_kpis
from contactlake.analyse.run import run_analysis

__all__ = ["KPI_DAILY", "KPI_INTERVAL", "MaterialiseResult", "materialise_kpis", "run_analysis"]
