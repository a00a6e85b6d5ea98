"""Analyse: KPI SQL, materialised aggregates, staffing, trends, pathways and plan-vs-actual."""

from contactlake.analyse.aggregates import KPI_DAILY, KPI_INTERVAL, MaterialiseResult, materialise_kpis

__all__ = ["KPI_DAILY", "KPI_INTERVAL", "MaterialiseResult", "materialise_kpis"]
