"""The configuration file's schema: what ``contactlake.toml`` may contain, checked with pydantic.

These models are the validation layer only. :func:`contactlake.config.parse_app_config` validates the
parsed TOML against :class:`ConfigFile`, turns every problem into one line naming the file, the table and
the key (with the nearest valid key for a misspelling), and then builds the frozen dataclasses in
:mod:`contactlake.config` that the rest of the code reads. The same models generate the JSON Schema that
editors use to complete and check the file (``contactlake config schema``, committed as
``docs/contactlake.schema.json``).

Unknown keys are errors because a misspelt key would otherwise fall back to its default without a word
(``targt = 0.75`` leaving the target at 80 %), and values are not coerced because ``"24"`` in quotes is
text, which is more likely a mistake than a number.

Imported only when a configuration is read: pydantic costs tens of milliseconds to import, and most
modules that use the configuration need only its dataclasses.
"""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from contactlake.config.model import (
    CENTRE_ID_PATTERN,
    REPORT_LANGUAGES,
    AlertKpi,
    Audience,
    CentreConfig,
    ExportFormat,
    Period,
    ServiceLevelPolicy,
    SlVariant,
)
from contactlake.schema import QUALITY_FLAGS

__all__ = ["ConfigFile", "explain", "json_schema"]

#: A flag rule a centre may raise to a rejection: one of ``schema.QUALITY_FLAGS``.
QualityFlag = Literal[tuple(QUALITY_FLAGS)]  # type: ignore[valid-type]

#: Where the committed schema is published, for the ``$id`` editors resolve.
SCHEMA_URL = "https://raw.githubusercontent.com/contactlake/contactlake/main/docs/contactlake.schema.json"

_SHA256_PATTERN = r"^[0-9a-f]{64}$"


def _as_list(value: Any) -> Any:
    """A single string where a list is expected is read as a list of one (``periods = "daily"``)."""
    return [value] if isinstance(value, str) else value


def _time_from_text(value: Any) -> Any:
    """ "06:00" in quotes, or a TOML local time (06:00:00); a bare number is not taken as seconds."""
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise ValueError(f'{value!r} is not a time; write it as "HH:MM", e.g. "06:00"') from None
    return value


class _Table(BaseModel):
    """A TOML table: unknown keys are refused and values are taken as written, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServiceLevelTable(_Table):
    """Service level = share of contacts answered within ``threshold_seconds``; see docs/metrics.md."""

    threshold_seconds: int = Field(
        default=ServiceLevelPolicy.threshold_seconds,
        ge=0,
        le=3600,
        description="Answered within this many seconds.",
    )
    target: float = Field(
        default=ServiceLevelPolicy.target,
        gt=0,
        le=1,
        description="Target share, as a fraction: 0.80 for 80 %.",
    )
    variant: SlVariant = Field(
        default=ServiceLevelPolicy.variant,
        description="How abandoned contacts count (formulas in docs/metrics.md).",
    )


class PlanTable(_Table):
    """Business-plan targets and budget the centre's actuals are compared with; every key is optional."""

    offered_per_day: float | None = Field(default=None, ge=0, description="Contacts expected per day.")
    service_level: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Planned service level, a fraction (default: the policy's target).",
    )
    abandon_rate: float | None = Field(
        default=None, ge=0, le=1, description="Planned abandon rate, a fraction."
    )
    asa_seconds: float | None = Field(
        default=None, ge=0, description="Planned average speed of answer, seconds."
    )
    aht_seconds: float | None = Field(
        default=None, ge=0, description="Planned average handling time, seconds."
    )
    budget_per_contact: float | None = Field(default=None, ge=0, description="Budgeted cost per contact.")
    monthly_budget: float | None = Field(default=None, ge=0, description="Budget per calendar month.")


class SourceTable(_Table):
    """One export the centre uploads (the table's name is the source name in upload keys)."""

    adapter: str | None = Field(
        default=None,
        description="The reader: generic_csv, amazon_connect, genesys_cloud, cisco_ucce, "
        "asterisk_queue_log or anonymous_bank (default: the source's name).",
    )
    mapping: str | None = Field(
        default=None, description="generic_csv only: the mapping TOML, relative to this configuration file."
    )
    allow_empty: bool = Field(
        default=False,
        description="An export with no rows (empty, or a header only) is normal for this source and is "
        "accepted; otherwise it is refused as 'no rows'.",
    )
    schedule: Literal["daily", "monthly"] = Field(
        default="daily",
        description="When the export is expected: daily (each day's rows by the next day's deadline) or "
        "monthly (a month's rows by the deadline on the first day of the next month).",
    )
    deadline_local: Annotated[time, BeforeValidator(_time_from_text)] | None = Field(
        default=None, description='Local time the export is due, e.g. "09:00" (default: the centre\'s).'
    )
    replaces: Literal["nothing", "day", "object"] = Field(
        default="nothing",
        description="What a new upload of this source replaces: nothing (uploads add; the default), day "
        "(each upload replaces the business day its file name names: a corrected re-export), or object "
        "(a new version of the same object key replaces the earlier one). Replacement deletes the earlier "
        "upload's lake files, so it happens only when configured here.",
    )
    export_time_metadata: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")] | None = (
        Field(
            default=None,
            description="The object-metadata key (S3 x-amz-meta-<name>) your upload front-end sets to the "
            "time the export was made (ISO 8601 with a zone, e.g. 2024-01-16T03:00:00Z). Uploads of one "
            "dataset are then ordered by it, so a corrected export made later wins even if an older export "
            "arrives after it; without it (or when an upload lacks the key) they are ordered by first "
            "arrival.",
            examples=["export-time"],
        )
    )
    carry_horizon_hours: int = Field(
        default=24,
        ge=1,
        description="Event logs cut into files (asterisk_queue_log): how long a call or agent span whose end "
        "is not in its file is carried to the next uploads, waiting for its end; past it, it is "
        "quarantined as carried.expired (docs/adr/0018-carried-records.md).",
    )


class CentreTable(_Table):
    """A contact centre allowed to upload (its table name is the centre id used in keys and partitions)."""

    name: str | None = Field(default=None, description="Name shown in reports (default: the centre id).")
    timezone: str = Field(
        default="UTC",
        description="IANA time zone the centre's days are counted in.",
        examples=["Europe/London"],
    )
    short_abandon_seconds: int = Field(
        default=CentreConfig.short_abandon_seconds,
        ge=0,
        le=600,
        description="Contacts abandoned within this many seconds are short abandons.",
    )
    fcr_window_hours: int = Field(
        default=CentreConfig.fcr_window_hours,
        ge=1,
        le=24 * 90,
        description="A repeat contact within this many hours means the first was not resolved.",
    )
    max_occupancy: float = Field(
        default=CentreConfig.max_occupancy,
        gt=0,
        le=1,
        description="Highest planned agent occupancy, a fraction.",
    )
    shrinkage: float = Field(
        default=CentreConfig.shrinkage,
        ge=0,
        lt=1,
        description="Share of paid time not available for contacts.",
    )
    cost_per_agent_hour: float = Field(
        default=CentreConfig.cost_per_agent_hour, ge=0, description="Fully loaded cost of one agent hour."
    )
    currency: str = Field(
        default=CentreConfig.currency,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the money in costs and budgets, e.g. GBP, EUR, USD.",
        examples=["GBP"],
    )
    locale: str = Field(
        default=CentreConfig.locale,
        pattern=r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2}|_[0-9]{3})?$",
        description="Locale the centre's reports write numbers and money in (CLDR name), e.g. en_GB, de_DE.",
        examples=["en_GB"],
    )
    upload_deadline_local: Annotated[time, BeforeValidator(_time_from_text)] = Field(
        default=CentreConfig.upload_deadline_local,
        description='Local time by which the night\'s exports are due, e.g. "06:00".',
    )
    service_level: ServiceLevelTable = Field(default_factory=ServiceLevelTable)
    plan: PlanTable = Field(default_factory=PlanTable)
    sources: dict[str, SourceTable] = Field(
        default_factory=dict, description="The exports this centre uploads, by source name."
    )
    reject_flags: Annotated[list[QualityFlag], BeforeValidator(_as_list)] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Quality flags to reject instead of storing the row with the flag "
        "(docs/validation.md, Flags), e.g. time.duration_mismatch.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone; use one like 'Europe/London'") from None
        return value

    @field_validator("locale")
    @classmethod
    def _shipped_language(cls, value: str) -> str:
        if value.split("_", 1)[0] not in REPORT_LANGUAGES:
            raise ValueError(
                f"reports are not built for the language of {value!r}: the languages shipped are "
                f"{', '.join(sorted(REPORT_LANGUAGES))}; "
                "add it to REPORT_LANGUAGES in contactlake/config/model.py"
            )
        return value


class AlertTable(_Table):
    """An exception alert: sent in one digest per recipient after each nightly run."""

    kpi: AlertKpi = Field(description="The interval KPI watched (rates are fractions, times seconds).")
    threshold: float = Field(description="The limit, e.g. 0.8 for 80 % or 60 for 60 s.")
    direction: Literal["above", "below"] = Field(description="Alert when the KPI is above / below it.")
    min_offered: int = Field(default=10, ge=1, description="Skip intervals with fewer contacts than this.")
    consecutive: int = Field(default=1, ge=1, le=96, description="Intervals in a row before it alerts.")
    grain: Literal["15min", "60min"] = Field(default="60min", description="Interval length.")


class StakeholderTable(_Table):
    """Who receives which report: one table per person or distribution list."""

    audience: Audience = Field(description="Which report they receive.")
    centres: Annotated[list[str], BeforeValidator(_as_list)] | None = Field(
        default=None, description="Centre ids the reports cover (default: every centre)."
    )
    periods: Annotated[list[Period], BeforeValidator(_as_list)] = Field(
        default_factory=list, description="Report periods."
    )
    formats: Annotated[list[ExportFormat], BeforeValidator(_as_list)] = Field(
        default_factory=lambda: list[ExportFormat](["html"]), description="Attachments and stored formats."
    )
    recipients: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        default_factory=list, description="E-mail addresses."
    )
    queues: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        default_factory=list, description="Vendor reports: only these queues."
    )
    alerts: dict[str, AlertTable] = Field(
        default_factory=dict, description="Exception alerts after each nightly run, by rule name."
    )


ApiAction = Literal["read", "upload", "admin"]


class ApiCallerTable(_Table):
    """Who may call the REST API: an IAM principal (on AWS) or the SHA-256 of an API key."""

    centres: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        default_factory=list, description='Centre ids this caller may read; "*" for all.'
    )
    principal: str | None = Field(
        default=None, description="IAM role or user ARN matched against the caller."
    )
    api_key_sha256: str | None = Field(
        default=None, pattern=_SHA256_PATTERN, description="SHA-256 of the API key, 64 lower-case hex digits."
    )
    actions: list[ApiAction] = Field(
        default_factory=lambda: list[ApiAction](["read"]),
        description="What the caller may do at its centres: read (KPIs, reports), upload (mint upload URLs), "
        "admin (build reports now). Default: read only.",
    )
    role: Literal["external", "internal"] = Field(
        default="external",
        description="internal callers may read internal-only reports (agent-level figures); "
        "external ones may not.",
    )


class ApiTable(_Table):
    """The REST API's settings."""

    callers: dict[str, ApiCallerTable] = Field(default_factory=dict, description="Callers by name.")


class ConfigFile(_Table):
    """contactlake configuration: centres (the allow-list of uploaders), stakeholders and API callers."""

    centres: dict[Annotated[str, Field(pattern=CENTRE_ID_PATTERN)], CentreTable] = Field(
        min_length=1,
        description="Contact centres by centre id.",
        json_schema_extra={"propertyNames": {"pattern": CENTRE_ID_PATTERN}},
    )
    stakeholders: dict[str, StakeholderTable] = Field(
        default_factory=dict, description="Report recipients by name."
    )
    api: ApiTable = Field(default_factory=ApiTable)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file, for editors (Taplo / Even Better TOML and others)."""
    schema = ConfigFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_URL, **schema}


# ------------------------------------------------------------------------------------------ error lines

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

#: What a value of the wrong type should have been, by pydantic error type.
_EXPECTED = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "list_type": 'a list such as ["a", "b"]',
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "time_type": 'a time such as "06:00"',
    "time_parsing": 'a time such as "06:00"',
}

#: What a pattern means, for the people who did not write it.
_PATTERN_HINTS = {
    CENTRE_ID_PATTERN: "a centre id has 2-32 characters, lower-case letters, digits, '-' or '_', "
    "starting with a letter",
    _SHA256_PATTERN: "give the SHA-256 of the key as 64 lower-case hex digits, never the key itself",
}


def _toml_key(part: str) -> str:
    return part if _BARE_KEY.match(part) else json.dumps(part)


def _toml_value(value: Any) -> str | None:
    """The value as it would be written in the file, or None for a table (too long to repeat)."""
    if isinstance(value, bool | int | float | str) or (
        isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
    ):
        return json.dumps(value)
    if isinstance(value, time):
        return value.isoformat()
    return None


def _split(loc: tuple[int | str, ...]) -> tuple[list[str], str]:
    """The table a location is in, and the key (with any list index) inside it."""
    parts = [p for p in loc if p != "[key]"]
    end = len(parts)
    while end and isinstance(parts[end - 1], int):
        end -= 1
    if not end:
        return [], ""
    key = str(parts[end - 1]) + "".join(f"[{i}]" for i in parts[end:])
    return [str(p) for p in parts[: end - 1]], key


def _model_at(table: list[str]) -> type[BaseModel] | None:
    """The model that describes the table at ``table`` (dictionary keys are the tables' own names)."""
    annotation: Any = ConfigFile
    for part in table:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _nearest(word: str, choices: list[str]) -> str | None:
    import difflib  # only on the error path

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _problem(error: ErrorDetails, table: list[str], key: str) -> str:
    """What is wrong with one value, and what to write instead."""
    kind, value = error["type"], error["input"]
    if kind == "extra_forbidden":
        model = _model_at(table)
        known = sorted(model.model_fields) if model else []
        suggestion = _nearest(key, known)
        if suggestion:
            return f"unknown key `{key}`: did you mean `{suggestion}`?"
        return f"unknown key `{key}`: the keys allowed here are {', '.join(known)}"
    if kind == "missing":
        return f"`{key}` is required here"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        suggestion = _nearest(str(value), allowed)
        hint = f"did you mean `{suggestion}`? " if suggestion else ""
        return f"`{key}` = {json.dumps(value)} is not allowed: {hint}use one of {', '.join(allowed)}"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        hint = _PATTERN_HINTS.get(pattern, f"it must match {pattern}")
        if "[key]" in error["loc"]:  # a table's own name, such as [centres.North]
            return f"table name {json.dumps(value)} is not valid: {hint}"
        return f"`{key}` = {json.dumps(value)} is not valid: {hint}"
    if kind == "too_short" and not table and key == "centres":
        return "no centre configured: add a [centres.<id>] table"
    written = _toml_value(value)
    shown = f"`{key}` = {written}" if written is not None else f"`{key}`"
    if kind in _EXPECTED:
        advice = ""
        if isinstance(value, str) and kind in ("float_type", "int_type"):
            advice = f"; write the number without quotes ({value.strip()})"
        return f"{shown} should be {_EXPECTED[kind]}{advice}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{shown}: {message[:1].lower()}{message[1:]}"


def explain(error: ValidationError, source_path: str) -> str:
    """One line per problem, each naming the file, the table and the key, and saying what to change."""
    lines = []
    for detail in error.errors(include_url=False):
        table, key = _split(detail["loc"])
        where = f"[{'.'.join(_toml_key(p) for p in table)}]" if table else "(top level)"
        lines.append(f"{source_path}: {where} {_problem(detail, table, key)}")
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems in the configuration:\n  " + "\n  ".join(lines)
