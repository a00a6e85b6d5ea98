"""What a Lambda container (or the CLI) builds once: settings, configuration and ports.

On AWS the pseudonymisation key comes from an SSM SecureString (``CONTACTLAKE_PII_KEY_PARAM``) and the
configuration may live in S3 (``CONTACTLAKE_CONFIG=s3://bucket/key``); both are fetched once per
container, not per event.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from functools import cache

from contactlake.adapters import build_ports
from contactlake.config import AppConfig, ConfigError, Settings, load_app_config, load_settings
from contactlake.ports import Ports

__all__ = ["Runtime", "runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    config: AppConfig
    ports: Ports


def _config_from_s3(settings: Settings, uri: str) -> AppConfig:
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3", region_name=settings.region).get_object(Bucket=bucket, Key=key)["Body"].read()
    folder = tempfile.mkdtemp(prefix="contactlake-config-")
    path = os.path.join(folder, os.path.basename(key) or "contactlake.toml")
    with open(path, "wb") as handle:
        handle.write(body)
    return load_app_config(path)


@cache
def runtime() -> Runtime:
    settings = load_settings()
    param = os.environ.get("CONTACTLAKE_PII_KEY_PARAM")
    if settings.mode == "aws" and param and settings.is_demo_key:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        settings = replace(settings, pii_key=str(get_parameter(param, decrypt=True)).encode())
    if settings.mode == "aws" and settings.is_demo_key:
        raise ConfigError(
            "set CONTACTLAKE_PII_KEY_PARAM (SSM SecureString) or CONTACTLAKE_PII_KEY in AWS mode"
        )
    uri = settings.config_path
    config = _config_from_s3(settings, uri) if uri and uri.startswith("s3://") else load_app_config(uri)
    return Runtime(settings=settings, config=config, ports=build_ports(settings))
