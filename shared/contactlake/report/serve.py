"""``contactlake serve``: the Chalice API of functions/report running over the local lake.

It is the same app API Gateway runs, served by Chalice's local server (``chalice local``), with API-key
authorisation (``x-api-key``; the demo configuration's keys are ``demo-key-admin`` and ``demo-key-north``)
because there is no API Gateway to check IAM signatures locally. The lake, configuration and mode come
from the usual ``CONTACTLAKE_*`` variables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.local import LocalDevServer

__all__ = ["find_app_dir", "make_server", "serve"]


def find_app_dir(project_dir: Path | None = None) -> Path:
    """The Chalice project folder: given, else functions/report of the checkout the package runs from."""
    import contactlake

    candidates = (
        [project_dir]
        if project_dir
        else [
            Path(contactlake.__file__).resolve().parents[2] / "functions" / "report",
            Path.cwd() / "functions" / "report",
        ]
    )
    for candidate in candidates:
        if candidate is not None and (candidate / "app.py").is_file() and (candidate / ".chalice").is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no Chalice app found (tried {tried}); run from the repository or pass "
        "--project-dir functions/report"
    )


def make_server(host: str, port: int, project_dir: Path | None = None) -> LocalDevServer:
    """A local server for the app (port 0 picks a free port; ``server.server.server_address`` has it)."""
    from chalice.cli.factory import CLIFactory

    os.environ.setdefault("CONTACTLAKE_API_AUTH", "api_key")
    factory = CLIFactory(str(find_app_dir(project_dir)))
    app = factory.load_chalice_app()
    config = factory.create_config_obj(chalice_stage_name="dev")
    return factory.create_local_server(app, config, host, port)


def serve(host: str, port: int, project_dir: Path | None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port, project_dir)
    bound = server.server.server_address[1]
    home = os.environ.get("CONTACTLAKE_HOME", "lake")
    print(f"contactlake API on http://{host}:{bound} over the lake in {home}")
    print(f"  try: curl -s -H 'x-api-key: demo-key-north' http://{host}:{bound}/centres")
    print(f"  OpenAPI document: http://{host}:{bound}/openapi.json   (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
