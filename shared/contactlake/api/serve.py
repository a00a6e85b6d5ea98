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

__all__ = ["banner", "make_server", "serve"]

#: As template.yaml's ApiFunction: what ``context.get_remaining_time_in_millis()`` reports locally.
_TIMEOUT_SECONDS = 29
_MEMORY_MB = 1024


def make_server(host: str, port: int) -> LocalDevServer:
    """A local server for the app (port 0 picks a free port; ``server.server.server_address`` has it)."""
    # Before the app is imported: routes declare API-key authorisation when this is set.
    os.environ.setdefault("CONTACTLAKE_API_AUTH", "api_key")
    import json

    from chalice.config import Config
    from chalice.local import (
        ChaliceRequestHandler,
        CustomLocalChalice,
        LocalChalice,
        LocalDevServer,
        LocalGatewayException,
    )

    from contactlake.api.app import APP_NAME, app
    from contactlake.api.errors import ApiError

    class RequestHandler(ChaliceRequestHandler):
        """Chalice's handler, with the API's error shape for a path no route has (Chalice's local
        gateway answers API Gateway's 403 "Missing Authentication Token" there)."""

        def _send_error_response(self, error: LocalGatewayException) -> None:
            if b"Missing Authentication Token" not in (error.body or b""):
                super()._send_error_response(error)
                return
            path = self.path.split("?", 1)[0][:100]
            unknown = ApiError(404, "no_route", f"no route {self.command} {path}; /openapi.json lists them")
            body = json.dumps(unknown.body()).encode()
            self._send_http_response(404, {"Content-Type": "application/json"}, body)

    config = Config(
        chalice_stage="dev",
        user_provided_params={
            "app_name": APP_NAME,
            "lambda_timeout": _TIMEOUT_SECONDS,
            "lambda_memory_size": _MEMORY_MB,
        },
    )
    # chalice.local.create_local_server's class switch, done once: a second call in the same process
    # (tests serve more than once) would make the class its own base.
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=RequestHandler)


def banner(host: str, port: int) -> str:
    """What ``contactlake serve`` prints first: where the API is and which lake folder it reads."""
    from contactlake.config import load_settings

    home = load_settings().home.resolve()
    return "\n".join(
        [
            f"contactlake API on http://{host}:{port}, reading the lake folder {home}",
            f"  try: curl -s -H 'x-api-key: demo-key-north' http://{host}:{port}/centres",
            f"  OpenAPI document: http://{host}:{port}/openapi.json   (Ctrl-C stops)",
        ]
    )


def serve(host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port)
    print(banner(host, server.server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
