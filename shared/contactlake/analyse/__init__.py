"""Analyse: KPI SQL, materialised aggregates, staffing, trends, pathways and plan-vs-actual.

:func:`run_analysis` writes every aggregate (nightly and after each upload); :mod:`.queries` reads them
for reports, the API and BI.
"""

from contactlake.analyse.aggregates import MaterialiseResult
from contactlake.analyse.run import materialise_kpis, run_analysis
from contactlake.tables import KPI_DAILY, KPI_INTERVAL

__all__ = ["KPI_DAILY", "KPI_INTERVAL", "MaterialiseResult", "materialise_kpis", "run_analysis"]
