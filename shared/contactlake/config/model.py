"""The configuration's vocabulary and objects: the types, the dataclasses the code reads, the errors.

No file is read here and pydantic is not imported, so every module that only uses the objects stays light.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from contactlake.metrics import SL_VARIANTS  # the variants' formulas are declared there

__all__ = [
    "ALERT_KPIS",
    "AUDIENCES",
    "CENTRE_ID_PATTERN",
    "FORMATS",
    "PERIODS",
    "REPORT_LANGUAGES",
    "SL_VARIANTS",
    "AlertKpi",
    "AlertRule",
    "ApiCaller",
    "AppConfig",
    "Audience",
    "CentreConfig",
    "ConfigError",
    "ExportFormat",
    "Mode",
    "Period",
    "PlanTargets",
    "ServiceLevelPolicy",
    "Settings",
    "SlVariant",
    "SourceConfig",
    "Stakeholder",
    "UnknownCentre",
    "UnknownSource",
    "did_you_mean",
    "validate_centre_id",
]

Mode = Literal["local", "aws"]

#: The service-level variants as a type for the schema and mypy; their formulas and their list are declared
#: in ``contactlake.metrics`` (``SL_VARIANTS``), which a test keeps equal to this type.
SlVariant = Literal["answered_only", "abandons_ignored", "abandons_negative", "short_abandons_positive"]
Audience = Literal["executive", "operations", "workforce", "team_leader", "data_quality", "vendor"]
Period = Literal["daily", "weekly", "monthly", "quarterly"]
ExportFormat = Literal["html", "pdf", "csv", "xlsx"]
AlertKpi = Literal["service_level", "abandon_rate", "asa_seconds", "aht_seconds", "transfer_rate", "offered"]
AUDIENCES: tuple[str, ...] = get_args(Audience)
ALERT_KPIS: tuple[str, ...] = get_args(AlertKpi)
PERIODS: tuple[str, ...] = get_args(Period)
#: Audiences whose reports carry agent-level data: marked internal, e-mailed only inside the sender's
#: domain, and served by the API only to internal callers.
INTERNAL_AUDIENCES = frozenset({"team_leader"})
FORMATS: tuple[str, ...] = get_args(ExportFormat)

CENTRE_ID_PATTERN = r"^[a-z][a-z0-9_-]{1,31}$"
_CENTRE_ID = re.compile(CENTRE_ID_PATTERN)


class ConfigError(ValueError):
    """The configuration is wrong; the message says which entry and what to change."""


class UnknownCentre(ConfigError):
    """A centre id that the configuration does not list (given on a command line, in a key or a request)."""


class UnknownSource(ConfigError):
    """A source name that the centre's configuration does not list."""


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
    variant: SlVariant = "abandons_ignored"


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
    #: An export with no rows is expected (e.g. a queue closed at weekends): stored, not refused.
    allow_empty: bool = False
    #: When the export is expected: ``daily`` (each business day's rows by the next day's deadline) or
    #: ``monthly`` (a month's rows by the deadline on the first day of the next month).
    schedule: str = "daily"
    #: Local time the export is due; None = the centre's ``upload_deadline_local``.
    deadline_local: time | None = None
    #: What a new upload replaces (docs/adr/0014-upload-identity-and-replacement.md): ``nothing``
    #: (uploads add), ``day`` (the business day its file name names) or ``object`` (the same key).
    replaces: str = "nothing"
    #: The object-metadata key (S3 ``x-amz-meta-<name>``) an upload front-end sets to the export's
    #: creation time; uploads of one dataset are then ordered by it (docs/adr/0017).
    export_time_metadata: str | None = None
    #: Event logs cut into files: hours a record whose end is not in its file is carried to the next
    #: uploads before it is quarantined as ``carried.expired`` (docs/adr/0018-carried-records.md).
    carry_horizon_hours: int = 24


#: Languages whose number and currency formats the reports can write: the reporting Lambda layer ships
#: Babel's locale data for these only (infra/package.py trims the rest; all of it is 31 MB of the 250 MB
#: Lambda limit). A centre's ``locale`` must be in one of them; add a language here to ship its data.
REPORT_LANGUAGES = frozenset(
    {"ar", "cs", "cy", "da", "de", "el", "en", "es", "fi", "fr", "ga", "hi"}
    | {"hu", "it", "ja", "nb", "nl", "pl", "pt", "ro", "sv", "tr", "zh"}
)


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
    #: ISO 4217 code of the money in costs and budgets; the locale the reports write numbers in.
    currency: str = "GBP"
    locale: str = "en_GB"
    upload_deadline_local: time = time(6, 0)
    plan: PlanTargets = field(default_factory=PlanTargets)
    sources: tuple[SourceConfig, ...] = ()
    #: Flag rules (``schema.QUALITY_FLAGS``) this centre wants rejected instead of stored with a flag.
    reject_flags: frozenset[str] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def deadline(self, source: str, day: date) -> datetime:
        """Local time by which ``source``'s rows of business ``day`` are due, by its schedule.

        Lateness is judged against this, the deadline of the day the rows belong to, never against now.
        A source not configured is held to the centre's nightly deadline.
        """
        configured = next((s for s in self.sources if s.name == source), None)
        at = (configured.deadline_local if configured else None) or self.upload_deadline_local
        if configured is not None and configured.schedule == "monthly":
            due = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            due = day + timedelta(days=1)
        return datetime.combine(due, at)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        hint = did_you_mean(name, [s.name for s in self.sources])
        raise UnknownSource(
            f"centre {self.centre_id!r} has no source {name!r} configured{hint} (known: {known}); "
            f"add a [centres.{self.centre_id}.sources.{name}] entry to the configuration"
        )


@dataclass(frozen=True)
class AlertRule:
    """An exception a stakeholder is told about after each nightly run.

    Alert when ``kpi`` is ``direction`` (above / below) ``threshold`` for at least ``consecutive``
    intervals in a row of ``grain``, counting only intervals with at least ``min_offered`` contacts.
    Rates are fractions (0.8 = 80 %), times in seconds.
    """

    name: str
    kpi: str
    threshold: float
    direction: Literal["above", "below"]
    min_offered: int = 10
    consecutive: int = 1
    grain: Literal["15min", "60min"] = "60min"


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
    alerts: tuple[AlertRule, ...] = ()


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
    #: What the caller may do at its centres: ``read`` (KPIs, reports), ``upload`` (mint upload URLs,
    #: which can add to or replace a day), ``admin`` (build reports now). Least privilege: read only.
    actions: tuple[str, ...] = ("read",)
    #: ``internal`` callers (inside the organisation) may read internal-only reports (agent-level
    #: figures: team leaders'); ``external`` ones may not.
    role: str = "external"

    def may_read(self, centre_id: str) -> bool:
        return "*" in self.centres or centre_id in self.centres

    def may(self, action: str) -> bool:
        return action in self.actions


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
            hint = did_you_mean(centre_id, self.centres)
            raise UnknownCentre(
                f"unknown centre {centre_id!r}{hint} (configured: {known}); add it to {self.source_path}"
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
    #: Run Athena statements with awswrangler (``CONTACTLAKE_ATHENA_WRANGLER``): only where the function's
    #: package carries it (ADR 0015); elsewhere the engine's boto3 path.
    athena_wrangler: bool = False
    #: The most bytes one run may have Athena read, checked before each query from the partitions it
    #: would read (``CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES``; 0: no budget, the workgroup cutoff only).
    athena_scan_budget_bytes: int = 0
    event_bus: str = "default"
    mail_sender: str = "contactlake@example.com"
    pii_key: bytes = field(default=b"contactlake-demo-key-not-secret", repr=False)
    #: The key the API signs page tokens with (``CONTACTLAKE_API_TOKEN_KEY``; on AWS an SSM parameter
    #: only the API function reads). Empty: locally a key made per process; on AWS the API refuses.
    api_token_key: bytes = field(default=b"", repr=False)
    smtp_host: str | None = None
    smtp_port: int = 25
    region: str = "eu-west-2"

    @property
    def is_demo_key(self) -> bool:
        return self.pii_key == Settings.pii_key


def did_you_mean(word: str, choices: Any) -> str:
    """ "; did you mean 'x'?" for the closest of ``choices``, or nothing when none is close."""
    import difflib  # only on the error path: it costs more to import than this module

    found = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""
