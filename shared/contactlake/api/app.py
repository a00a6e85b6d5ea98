"""The contactlake REST API as one Chalice app: ``contactlake.api.app:app``.

API Gateway (template.yaml, one method per route) invokes it as the ApiFunction's handler through
functions/report/app.py; ``contactlake serve`` runs the same object in Chalice's local server; tests drive
it with ``chalice.test.Client``. It only wires: the routes are the Blueprint in
:mod:`contactlake.api.routes`.
"""

from __future__ import annotations

from chalice.app import Chalice

from contactlake.api.context import uniform_errors
from contactlake.api.routes import api

__all__ = ["APP_NAME", "app"]

APP_NAME = "contactlake-report"

app = Chalice(app_name=APP_NAME)
app.register_blueprint(api)
app.register_middleware(uniform_errors, "http")
