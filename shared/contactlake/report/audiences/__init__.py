"""One report per audience, each built from the figures that audience acts on (docs/reports.md).

Builders only arrange figures: every number comes from :mod:`contactlake.analyse.queries` through
:class:`~contactlake.report.figures.Figures` (a failed query leaves a gap, and the section says so).
"""

from __future__ import annotations

from collections.abc import Callable

from contactlake.config import INTERNAL_AUDIENCES
from contactlake.report.audiences.common import Context
from contactlake.report.audiences.data_quality import data_quality
from contactlake.report.audiences.executive import executive
from contactlake.report.audiences.operations import operations
from contactlake.report.audiences.team_leader import team_leader
from contactlake.report.audiences.vendor import vendor
from contactlake.report.audiences.workforce import workforce
from contactlake.report.model import Report

__all__ = ["AUDIENCE_BUILDERS", "COMBINED_AUDIENCES", "INTERNAL_AUDIENCES", "Context"]

#: Audiences that get one report across all their centres (the others get one report per centre).
COMBINED_AUDIENCES = frozenset({"executive", "data_quality"})

AUDIENCE_BUILDERS: dict[str, Callable[[Context], Report]] = {
    "executive": executive,
    "operations": operations,
    "workforce": workforce,
    "team_leader": team_leader,
    "data_quality": data_quality,
    "vendor": vendor,
}
