"""Local and AWS implementations of the ports in :mod:`contactlake.ports`.

``build_ports(settings)`` picks the side from ``settings.mode``; AWS modules are imported only in AWS
mode so the local default never pays boto3's import time.
"""

from __future__ import annotations

from contactlake.config import Settings
from contactlake.ports import Ports

__all__ = ["build_ports"]


def build_ports(settings: Settings) -> Ports:
    if settings.mode == "aws":
        from contactlake.adapters import aws

        return aws.build_aws_ports(settings)
    from contactlake.adapters import local

    return local.build_local_ports(settings)
