"""Report: stakeholder-tailored reports (HTML e-mail, PDF, CSV, XLSX), stored and delivered.

Entry points: :func:`build_reports` (schedules, CLI, demo) and :func:`generate_report` (the API). What each
audience receives is in :mod:`contactlake.report.audiences` and docs/reports.md. The names load lazily, so
the API Lambda importing :mod:`contactlake.report.figures` and :mod:`contactlake.report.keys` does not pay
for the report builders at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contactlake.report.build import build_reports, generate_report
    from contactlake.report.model import ReportResult

__all__ = ["ReportResult", "build_reports", "generate_report"]


def __getattr__(name: str) -> Any:
    if name in ("build_reports", "generate_report"):
        from contactlake.report import build

        return getattr(build, name)
    if name == "ReportResult":
        from contactlake.report.model import ReportResult

        return ReportResult
    raise AttributeError(f"module 'contactlake.report' has no attribute {name!r}")
