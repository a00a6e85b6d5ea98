"""``contactlake serve``: the REST API (:mod:`contactlake.api.app`) over the local lake.

It is the same app object API Gateway invokes, served by Chalice's local server, with API-key
authorisation (``x-api-key``; the demo configuration's keys are ``demo-key-admin`` and ``demo-key-north``)
because there is no API Gateway to check IAM signatures locally. The lake, configuration and mode come
from the usual ``CONTACTLAKE_*`` variables. The app is imported from the installed package, so any
installation with the ``api`` extra can serve, with or without a checkout.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.local import LocalDevServer

__all__ = ["make_server", "serve"]

#: As template.yaml's ApiFunction: what ``context.get_remaining_time_in_millis()`` reports locally.
_TIMEOUT_SECONDS = 29
_MEMORY_MB = 1024


def make_server(host: str, port: int) -> LocalDevServer:
    """A local server for the app (port 0 picks a free port; ``server.server.server_address`` has it)."""
    # Before the app is imported: routes declare API-key authorisation when this is set.
    os.environ.setdefault("CONTACTLAKE_API_AUTH", "api_key")
    from chalice.config import Config
    from chalice.local import create_local_server

    from contactlake.api.app import APP_NAME, app

    config = Config(
        chalice_stage="dev",
        user_provided_params={
            "app_name": APP_NAME,
            "lambda_timeout": _TIMEOUT_SECONDS,
            "lambda_memory_size": _MEMORY_MB,
        },
    )
    return create_local_server(app, config, host, port)


def serve(host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port)
    bound = server.server.server_address[1]
    home = os.environ.get("CONTACTLAKE_HOME", "lake")
    print(f"contactlake API on http://{host}:{bound} over the lake in {home}")
    print(f"  try: curl -s -H 'x-api-key: demo-key-north' http://{host}:{bound}/centres")
    print(f"  OpenAPI document: http://{host}:{bound}/openapi.json   (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
