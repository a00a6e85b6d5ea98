"""The report function: the contactlake REST API (Chalice) and the scheduled stakeholder reports.

Two Lambda handlers come from this one package (template.yaml): ``app.app`` serves the API and
``app.scheduled_report`` runs the daily / weekly / monthly / quarterly schedules. Routes are Blueprints
in ``chalicelib`` and stay thin: the rules and the figures live in the shared ``contactlake`` package.
"""

from __future__ import annotations

from typing import Any

from chalicelib.proxy import ProxyAwareChalice
from chalicelib.routes import api

app = ProxyAwareChalice(app_name="contactlake-report")
app.register_blueprint(api)


def scheduled_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SAM schedule entry point; Powertools and the report renderers load only on this path."""
    from chalicelib.schedule import handler

    return handler(event, context)  # type: ignore[no-any-return]
