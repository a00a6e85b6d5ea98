"""Configuration: runtime settings from the environment, and the centres / stakeholders file.

Two kinds of configuration, read once each:

* :class:`Settings` — where things are (local folder or AWS buckets, Athena workgroup, mail sender, the
  pseudonymisation key). Read from ``CONTACTLAKE_*`` environment variables by :func:`load_settings`.
* :class:`AppConfig` — what the business configured: centres (time zone, service-level policy, plan and
  budget, which sources they upload) and stakeholders (who gets which report). Read from a TOML file by
  :func:`load_app_config`; the demo's file ships inside the package.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contactlake.metrics import SL_VARIANTS  # the variants' formulas are declared there

__all__ = [
    "SL_VARIANTS",
    "ApiCaller",
    "AppConfig",
    "CentreConfig",
    "ConfigError",
    "PlanTargets",
    "ServiceLevelPolicy",
    "Settings",
    "SourceConfig",
    "Stakeholder",
    "load_app_config",
    "load_settings",
    "parse_app_config",
    "validate_centre_id",
]

Mode = Literal["local", "aws"]

AUDIENCES = ("executive", "operations", "workforce", "team_leader", "data_quality", "vendor")
PERIODS = ("daily", "weekly", "monthly", "quarterly")
FORMATS = ("html", "pdf", "csv", "xlsx")

_CENTRE_ID = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


class ConfigError(ValueError):
    """The configuration is wrong; the message says which entry and what to change."""


def validate_centre_id(centre_id: str) -> str:
    """Return ``centre_id`` if it is well formed; centre ids become S3 prefixes and partition values."""
    if not _CENTRE_ID.fullmatch(centre_id):
        raise ConfigError(
            f"centre id {centre_id!r} is not valid: use 2-32 characters, lower-case letters, digits, '-' "
            "or '_', starting with a letter"
        )
    return centre_id


@dataclass(frozen=True)
class ServiceLevelPolicy:
    """Service level = share of contacts answered within ``threshold_seconds`` (variant decides the rest)."""

    threshold_seconds: int = 20
    target: float = 0.80
    variant: str = "abandons_ignored"


@dataclass(frozen=True)
class PlanTargets:
    """Business-plan targets and budget a centre's actuals are compared with."""

    offered_per_day: float | None = None
    service_level: float | None = None
    abandon_rate: float | None = None
    asa_seconds: float | None = None
    aht_seconds: float | None = None
    budget_per_contact: float | None = None
    monthly_budget: float | None = None


@dataclass(frozen=True)
class SourceConfig:
    """One export a centre uploads: which adapter reads it, with which mapping file (generic CSV)."""

    name: str
    adapter: str
    mapping: str | None = None


@dataclass(frozen=True)
class CentreConfig:
    centre_id: str
    name: str
    timezone: str
    service_level: ServiceLevelPolicy = field(default_factory=ServiceLevelPolicy)
    short_abandon_seconds: int = 5
    fcr_window_hours: int = 72
    max_occupancy: float = 0.85
    shrinkage: float = 0.30
    cost_per_agent_hour: float = 25.0
    upload_deadline_local: time = time(6, 0)
    plan: PlanTargets = field(default_factory=PlanTargets)
    sources: tuple[SourceConfig, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(
            f"centre {self.centre_id!r} has no source {name!r} configured (known: {known}); "
            f"add a [centres.{self.centre_id}.sources.{name}] entry to the configuration"
        )


@dataclass(frozen=True)
class Stakeholder:
    """Who receives which report: one entry per person or distribution list."""

    name: str
    audience: str
    centres: tuple[str, ...]
    periods: tuple[str, ...]
    formats: tuple[str, ...] = ("html", "pdf")
    recipients: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiCaller:
    """Who may call the REST API, and for which centres ("*" = all).

    ``principal`` is an IAM ARN matched against the request's caller (IAM authorisation, the default);
    ``api_key_sha256`` is the SHA-256 of an API key for the optional API-key mode and local serving.
    """

    name: str
    centres: tuple[str, ...]
    principal: str | None = None
    api_key_sha256: str | None = None

    def may_read(self, centre_id: str) -> bool:
        return "*" in self.centres or centre_id in self.centres


@dataclass(frozen=True)
class AppConfig:
    centres: dict[str, CentreConfig]
    stakeholders: tuple[Stakeholder, ...] = ()
    source_path: str = "<memory>"
    api_callers: tuple[ApiCaller, ...] = ()

    def centre(self, centre_id: str) -> CentreConfig:
        """The allow-list check: an unknown centre id never reaches a path or a query."""
        try:
            return self.centres[centre_id]
        except KeyError:
            known = ", ".join(sorted(self.centres)) or "none"
            raise ConfigError(
                f"unknown centre {centre_id!r} (configured: {known}); add it to {self.source_path}"
            ) from None


@dataclass(frozen=True)
class Settings:
    """Where things live. Local mode needs only ``home``; AWS mode needs the bucket names."""

    mode: Mode = "local"
    home: Path = Path("data")
    config_path: str | None = None
    raw_bucket: str = ""
    lake_bucket: str = ""
    quarantine_bucket: str = ""
    reports_bucket: str = ""
    athena_results_bucket: str = ""
    glue_database: str = "contactlake"
    athena_workgroup: str = "contactlake"
    event_bus: str = "default"
    mail_sender: str = "contactlake@example.com"
    pii_key: bytes = field(default=b"contactlake-demo-key-not-secret", repr=False)
    smtp_host: str | None = None
    smtp_port: int = 25
    region: str = "eu-west-2"

    @property
    def is_demo_key(self) -> bool:
        return self.pii_key == Settings.pii_key


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``CONTACTLAKE_*`` variables once; unknown modes fail fast with the allowed values."""
    env = os.environ if environ is None else environ
    mode = env.get("CONTACTLAKE_MODE", "local")
    if mode not in ("local", "aws"):
        raise ConfigError(f"CONTACTLAKE_MODE={mode!r}: use 'local' (default) or 'aws'")
    key = env.get("CONTACTLAKE_PII_KEY")
    return Settings(
        mode=mode,  # type: ignore[arg-type]
        home=Path(env.get("CONTACTLAKE_HOME", "data")),
        config_path=env.get("CONTACTLAKE_CONFIG"),
        raw_bucket=env.get("CONTACTLAKE_RAW_BUCKET", ""),
        lake_bucket=env.get("CONTACTLAKE_LAKE_BUCKET", ""),
        quarantine_bucket=env.get("CONTACTLAKE_QUARANTINE_BUCKET", ""),
        reports_bucket=env.get("CONTACTLAKE_REPORTS_BUCKET", ""),
        athena_results_bucket=env.get("CONTACTLAKE_ATHENA_RESULTS_BUCKET", ""),
        glue_database=env.get("CONTACTLAKE_GLUE_DATABASE", "contactlake"),
        athena_workgroup=env.get("CONTACTLAKE_ATHENA_WORKGROUP", "contactlake"),
        event_bus=env.get("CONTACTLAKE_EVENT_BUS", "default"),
        mail_sender=env.get("CONTACTLAKE_MAIL_SENDER", "contactlake@example.com"),
        pii_key=key.encode() if key else Settings.pii_key,
        smtp_host=env.get("CONTACTLAKE_SMTP_HOST") or None,
        smtp_port=int(env.get("CONTACTLAKE_SMTP_PORT", "25")),
        region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "eu-west-2")),
    )


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _choice(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _centre(centre_id: str, raw: dict[str, Any]) -> CentreConfig:
    where = f"[centres.{centre_id}]"
    validate_centre_id(centre_id)
    timezone = str(raw.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where} timezone {timezone!r} is not an IANA zone like 'Europe/London'") from None
    sl_raw = raw.get("service_level", {})
    sl = ServiceLevelPolicy(
        threshold_seconds=int(sl_raw.get("threshold_seconds", 20)),
        target=float(sl_raw.get("target", 0.80)),
        variant=_choice(str(sl_raw.get("variant", "abandons_ignored")), SL_VARIANTS, f"{where} variant"),
    )
    plan_raw = raw.get("plan", {})
    known_plan = set(PlanTargets.__dataclass_fields__)
    unknown = set(plan_raw) - known_plan
    if unknown:
        raise ConfigError(f"{where}.plan has unknown keys {sorted(unknown)}; known: {sorted(known_plan)}")
    plan = PlanTargets(**{k: float(v) for k, v in plan_raw.items()})
    sources = tuple(
        SourceConfig(name=name, adapter=str(src.get("adapter", name)), mapping=src.get("mapping"))
        for name, src in raw.get("sources", {}).items()
    )
    deadline = raw.get("upload_deadline_local", "06:00")
    return CentreConfig(
        centre_id=centre_id,
        name=str(raw.get("name", centre_id)),
        timezone=timezone,
        service_level=sl,
        short_abandon_seconds=int(raw.get("short_abandon_seconds", 5)),
        fcr_window_hours=int(raw.get("fcr_window_hours", 72)),
        max_occupancy=float(raw.get("max_occupancy", 0.85)),
        shrinkage=float(raw.get("shrinkage", 0.30)),
        cost_per_agent_hour=float(raw.get("cost_per_agent_hour", 25.0)),
        upload_deadline_local=time.fromisoformat(str(deadline)),
        plan=plan,
        sources=sources,
    )


def parse_app_config(raw: dict[str, Any], source_path: str = "<memory>") -> AppConfig:
    """Build and check an :class:`AppConfig` from parsed TOML; every error names the entry to fix."""
    centres = {cid: _centre(cid, body) for cid, body in raw.get("centres", {}).items()}
    if not centres:
        raise ConfigError(f"{source_path}: no [centres.<id>] configured")
    stakeholders = []
    for name, body in raw.get("stakeholders", {}).items():
        where = f"[stakeholders.{name}]"
        audience = _choice(str(body.get("audience", "")), AUDIENCES, f"{where} audience")
        members = _tuple(body.get("centres")) or tuple(centres)
        for cid in members:
            if cid not in centres:
                raise ConfigError(f"{where} names unknown centre {cid!r}")
        stakeholders.append(
            Stakeholder(
                name=name,
                audience=audience,
                centres=members,
                periods=tuple(_choice(p, PERIODS, f"{where} periods") for p in _tuple(body.get("periods"))),
                formats=tuple(
                    _choice(f, FORMATS, f"{where} formats") for f in _tuple(body.get("formats", ["html"]))
                ),
                recipients=_tuple(body.get("recipients")),
                queues=_tuple(body.get("queues")),
            )
        )
    callers = []
    for name, body in raw.get("api", {}).get("callers", {}).items():
        members = _tuple(body.get("centres"))
        for cid in members:
            if cid != "*" and cid not in centres:
                raise ConfigError(f"[api.callers.{name}] names unknown centre {cid!r}")
        if not body.get("principal") and not body.get("api_key_sha256"):
            raise ConfigError(f"[api.callers.{name}] needs a principal (IAM ARN) or an api_key_sha256")
        callers.append(
            ApiCaller(
                name=name,
                centres=members,
                principal=body.get("principal"),
                api_key_sha256=body.get("api_key_sha256"),
            )
        )
    return AppConfig(
        centres=centres, stakeholders=tuple(stakeholders), source_path=source_path, api_callers=tuple(callers)
    )


@cache
def _load_file(path: str) -> AppConfig:
    with open(path, "rb") as handle:
        return parse_app_config(tomllib.load(handle), source_path=path)


def load_app_config(path: str | None = None) -> AppConfig:
    """Load the configuration file (``CONTACTLAKE_CONFIG``), or the demo configuration shipped inside."""
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"configuration file {path} not found; set CONTACTLAKE_CONFIG to a TOML file")
        return _load_file(str(Path(path).resolve()))
    packaged = resources.files("contactlake") / "sample_data" / "contactlake.toml"
    with resources.as_file(packaged) as file:
        return _load_file(str(file))
