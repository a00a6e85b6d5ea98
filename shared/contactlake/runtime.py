"""What a Lambda container (or the CLI) builds once: settings, configuration and ports.

On AWS the pseudonymisation key comes from an SSM SecureString (``CONTACTLAKE_PII_KEY_PARAM``, given to
the ingest function only), the API's page-token key from another (``CONTACTLAKE_API_TOKEN_KEY_PARAM``),
and the configuration may live in S3 (``CONTACTLAKE_CONFIG=s3://bucket/key``); both are fetched once per
container, not per event.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from contactlake.adapters import build_ports
from contactlake.config import AppConfig, ConfigError, Settings, load_app_config, load_settings
from contactlake.ports import Ports

__all__ = ["Runtime", "for_run", "runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    config: AppConfig
    ports: Ports


def _config_from_s3(settings: Settings, uri: str) -> AppConfig:
    """Download the configuration TOML and the mapping files beside it (``config/**.toml``) once."""
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    client = boto3.client("s3", region_name=settings.region)
    folder = Path(tempfile.mkdtemp(prefix="contactlake-config-"))
    prefix = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if relative.endswith(".toml") and ".." not in relative.split("/"):
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    path = folder / key[len(prefix) :]
    if not path.is_file():
        raise ConfigError(f"configuration {uri} not found; upload the centres TOML there")
    return load_app_config(str(path))


def _secrets(settings: Settings) -> Settings:
    """On AWS, the keys this function was given (template.yaml gives each only to the function that
    uses it): the pseudonymisation key to ingest only, the page-token key to the API only. A function
    without the PII key gets none (an empty key, which refuses to hash), never the public demo key."""
    from aws_lambda_powertools.utilities.parameters import get_parameter

    pii_param = os.environ.get("CONTACTLAKE_PII_KEY_PARAM")
    if settings.is_demo_key:
        pii_key = str(get_parameter(pii_param, decrypt=True)).encode() if pii_param else b""
        settings = replace(settings, pii_key=pii_key)
    token_param = os.environ.get("CONTACTLAKE_API_TOKEN_KEY_PARAM")
    if token_param and not settings.api_token_key:
        settings = replace(settings, api_token_key=str(get_parameter(token_param, decrypt=True)).encode())
    return settings


@cache
def runtime() -> Runtime:
    settings = load_settings()
    if settings.mode == "aws":
        settings = _secrets(settings)
    uri = settings.config_path
    config = _config_from_s3(settings, uri) if uri and uri.startswith("s3://") else load_app_config(uri)
    return Runtime(settings=settings, config=config, ports=build_ports(settings))


def for_run(rt: Runtime, run_id: str) -> Runtime:
    """``rt`` with its Athena engine scoped to one run: a Lambda invocation, an API request.

    The runtime (and its engine) lives as long as the warm container; the engine's scan budget counts the
    bytes of one run and its ``scanned`` list holds one run's queries only when scoped, so every handler
    scopes it per invocation (the analyse function per event). Locally (DuckDB) there is nothing to scope.
    """
    if rt.settings.mode != "aws":
        return rt
    from contactlake.adapters.athena import AthenaEngine

    if not isinstance(rt.ports.engine, AthenaEngine):
        return rt
    return replace(rt, ports=replace(rt.ports, engine=rt.ports.engine.with_run_id(run_id)))
