"""The report function's two Lambda handlers (template.yaml): the REST API and the scheduled reports.

``app.app`` is the Chalice app of :mod:`contactlake.api.app` (routes, rules and OpenAPI live in the shared
package, so ``contactlake serve`` runs the same object); ``app.scheduled_report`` runs the daily / weekly /
monthly / quarterly schedules, and the restatements an ``AnalysisFinished`` event of a correction asks for.
"""

from __future__ import annotations

from typing import Any

from contactlake.api.app import app

__all__ = ["app", "scheduled_report"]


def scheduled_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SAM entry point of the schedules and of the AnalysisFinished rule; Powertools and the report
    renderers load only on this path."""
    if (event or {}).get("detail-type") == "AnalysisFinished":
        from chalicelib.restate import handler
    else:
        from chalicelib.schedule import handler

    return handler(event, context)  # type: ignore[no-any-return]
