"""The report function's one Powertools logger and metrics, shared by its handlers (two Loggers of one
service in one process would fight over the same log handler)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

__all__ = ["logger", "metrics"]

logger = Logger(service="contactlake-report")
metrics = Metrics(namespace="ContactLake", service="report")
