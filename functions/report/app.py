"""The report function's two Lambda handlers (template.yaml): the REST API and the scheduled reports.

``app.app`` is the Chalice app of :mod:`contactlake.api.app` (routes, rules and OpenAPI live in the shared
package, so ``contactlake serve`` runs the same object); ``app.scheduled_report`` runs the daily / weekly /
monthly / quarterly schedules.
"""

from __future__ import annotations

from typing import Any

from contactlake.api.app import app

__all__ = ["app", "scheduled_report"]


def scheduled_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SAM schedule entry point; Powertools and the report renderers load only on this path."""
    from chalicelib.schedule import handler

    return handler(event, context)  # type: ignore[no-any-return]
