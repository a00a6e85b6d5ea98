"""The REST API: HTTP rules, routes and the generated OpenAPI document, over :mod:`contactlake.analyse`.

* :mod:`~contactlake.api.errors`, :mod:`~contactlake.api.access` (who calls, what they may read),
  :mod:`~contactlake.api.params` (input checks), :mod:`~contactlake.api.pages` (signed page tokens) and
  :mod:`~contactlake.api.shapes` (JSON values) are the rules, free of any web framework;
* :mod:`~contactlake.api.routes` (a Chalice Blueprint), :mod:`~contactlake.api.context` (request glue)
  and :mod:`~contactlake.api.openapi` are the HTTP side; :mod:`~contactlake.api.app` wires the app.

Chalice (the ``api`` extra) is imported only by the HTTP side.
"""
