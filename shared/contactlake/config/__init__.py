"""Configuration: runtime settings from the environment, and the centres / stakeholders file.

Two kinds of configuration, read once each:

* :class:`Settings` — where things are (local folder or AWS buckets, Athena workgroup, mail sender, the
  pseudonymisation key). Read from ``CONTACTLAKE_*`` environment variables by :func:`load_settings`.
* :class:`AppConfig` — what the business configured: centres (time zone, service-level policy, plan and
  budget, which sources they upload) and stakeholders (who gets which report). Read from a TOML file by
  :func:`load_app_config`; the demo's file ships inside the package. The file is checked against a schema
  (:mod:`contactlake.config.schema`, pydantic) before these objects are built from it, so a misspelt key or a
  number in quotes is an error naming the file, table and key rather than a silent default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict
from datetime import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from contactlake.config.model import (
    AUDIENCES,
    CENTRE_ID_PATTERN,
    FORMATS,
    INTERNAL_AUDIENCES,
    PERIODS,
    SL_VARIANTS,
    AlertRule,
    ApiCaller,
    AppConfig,
    Audience,
    CentreConfig,
    ConfigError,
    ExportFormat,
    Mode,
    Period,
    PlanTargets,
    ServiceLevelPolicy,
    Settings,
    SlVariant,
    SourceConfig,
    Stakeholder,
    UnknownCentre,
    UnknownSource,
    did_you_mean,
    validate_centre_id,
)

__all__ = [
    "AUDIENCES",
    "CENTRE_ID_PATTERN",
    "FORMATS",
    "INTERNAL_AUDIENCES",
    "PERIODS",
    "SL_VARIANTS",
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
    "effective_config",
    "load_app_config",
    "load_settings",
    "parse_app_config",
    "read_toml",
    "validate_centre_id",
]

_TOML_POSITION = re.compile(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``CONTACTLAKE_*`` variables once; unknown modes fail fast with the allowed values."""
    env = os.environ if environ is None else environ
    mode = env.get("CONTACTLAKE_MODE", "local")
    if mode not in ("local", "aws"):
        raise ConfigError(f"CONTACTLAKE_MODE={mode!r}: use 'local' (default) or 'aws'")
    key = env.get("CONTACTLAKE_PII_KEY")
    smtp_port = env.get("CONTACTLAKE_SMTP_PORT", "25")
    if not smtp_port.isdigit():
        raise ConfigError(f"CONTACTLAKE_SMTP_PORT={smtp_port!r}: use a port number such as 25 or 587")
    budget = env.get("CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES", "0")
    if not budget.isdigit():
        raise ConfigError(
            f"CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES={budget!r}: use a whole number of bytes (0: no budget)"
        )
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
        athena_wrangler=env.get("CONTACTLAKE_ATHENA_WRANGLER", "").lower() in ("1", "true", "yes"),
        athena_scan_budget_bytes=int(budget),
        event_bus=env.get("CONTACTLAKE_EVENT_BUS", "default"),
        mail_sender=env.get("CONTACTLAKE_MAIL_SENDER", "contactlake@example.com"),
        pii_key=key.encode() if key else Settings.pii_key,
        api_token_key=env.get("CONTACTLAKE_API_TOKEN_KEY", "").encode(),
        smtp_host=env.get("CONTACTLAKE_SMTP_HOST") or None,
        smtp_port=int(smtp_port),
        region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "eu-west-2")),
    )


def _centres_named(names: list[str], centres: dict[str, CentreConfig], where: str, wildcard: bool) -> None:
    """Refuse a stakeholder's or caller's centre id that no [centres.<id>] table defines."""
    for centre_id in names:
        if not (wildcard and centre_id == "*") and centre_id not in centres:
            raise ConfigError(
                f"{where} centres: unknown centre {centre_id!r}{did_you_mean(centre_id, centres)} "
                f"(configured: {', '.join(sorted(centres))})"
            )


def parse_app_config(raw: dict[str, Any], source_path: str = "<memory>") -> AppConfig:
    """Check parsed TOML against the schema and build the :class:`AppConfig` the rest of the code reads.

    Every error names the file, the table and the key, and says what to write instead.
    """
    from pydantic import ValidationError

    from contactlake.config.schema import ConfigFile, explain

    try:
        document = ConfigFile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(explain(error, source_path)) from None
    centres = {
        centre_id: CentreConfig(
            # The file's tables and the code's objects have the same fields (a test reads one back as
            # the other): only the nested tables and the defaults taken from the table name differ.
            **body.model_dump(exclude={"name", "service_level", "plan", "sources", "reject_flags"}),
            centre_id=centre_id,
            name=body.name or centre_id,
            service_level=ServiceLevelPolicy(**body.service_level.model_dump()),
            plan=PlanTargets(**body.plan.model_dump()),
            sources=tuple(
                SourceConfig(**{**source.model_dump(), "name": name, "adapter": source.adapter or name})
                for name, source in body.sources.items()
            ),
            reject_flags=frozenset(body.reject_flags),
        )
        for centre_id, body in document.centres.items()
    }
    stakeholders = []
    for name, person in document.stakeholders.items():
        where = f"{source_path}: [stakeholders.{name}]"
        _centres_named(person.centres or [], centres, where, wildcard=False)
        stakeholders.append(
            Stakeholder(
                name=name,
                audience=person.audience,
                centres=tuple(person.centres or centres),
                periods=tuple(person.periods),
                formats=tuple(person.formats),
                recipients=tuple(person.recipients),
                queues=tuple(person.queues),
                alerts=tuple(
                    AlertRule(name=rule, **body.model_dump()) for rule, body in person.alerts.items()
                ),
            )
        )
    callers = []
    for name, caller in document.api.callers.items():
        where = f"{source_path}: [api.callers.{name}]"
        _centres_named(caller.centres, centres, where, wildcard=True)
        if not caller.principal and not caller.api_key_sha256:
            raise ConfigError(f"{where} needs a principal (IAM ARN) or an api_key_sha256")
        callers.append(
            ApiCaller(
                name=name,
                centres=tuple(caller.centres),
                principal=caller.principal,
                api_key_sha256=caller.api_key_sha256,
                actions=tuple(caller.actions),
                role=caller.role,
            )
        )
    return AppConfig(
        centres=centres, stakeholders=tuple(stakeholders), source_path=source_path, api_callers=tuple(callers)
    )


def effective_config(config: AppConfig) -> dict[str, Any]:
    """The configuration as the code sees it, defaults filled in, shaped like the file (TOML-ready)."""

    def present(values: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v.strftime("%H:%M") if isinstance(v, time) else v for k, v in values.items() if v is not None
        }

    centres = {}
    for centre_id, centre in config.centres.items():
        body = asdict(centre)
        del body["centre_id"]
        body["service_level"] = present(body["service_level"])
        body["plan"] = present(body["plan"])
        body["sources"] = {
            s.name: present({k: v for k, v in asdict(s).items() if k != "name"}) for s in centre.sources
        }
        body["reject_flags"] = sorted(centre.reject_flags)
        centres[centre_id] = present(body)
    stakeholders = {
        s.name: present(
            {
                **{k: v for k, v in asdict(s).items() if k != "name"},
                "alerts": {a.name: {k: v for k, v in asdict(a).items() if k != "name"} for a in s.alerts},
            }
        )
        for s in config.stakeholders
    }
    callers = {
        c.name: present({k: v for k, v in asdict(c).items() if k != "name"}) for c in config.api_callers
    }
    return {"centres": centres, "stakeholders": stakeholders, "api": {"callers": callers}}


def read_toml(path: str) -> dict[str, Any]:
    """A configuration or mapping file's TOML; a syntax error names the file, line and column."""
    with open(path, "rb") as handle:
        try:
            return tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            # Python 3.11's error carries the position only in its message: "... (at line 3, column 7)".
            found = _TOML_POSITION.match(str(error))
            where = f"{path}, line {found['line']}, column {found['column']}" if found else path
            what = found["what"] if found else str(error)
            raise ConfigError(f"{where}: not valid TOML ({what}); fix the syntax there") from None
        except UnicodeDecodeError as error:
            raise ConfigError(f"{path}: not UTF-8 text ({error.reason}); save the file as UTF-8") from None


@cache
def _load_file(path: str) -> AppConfig:
    return parse_app_config(read_toml(path), source_path=path)


def load_app_config(path: str | None = None) -> AppConfig:
    """Load the configuration file (``CONTACTLAKE_CONFIG``), or the demo configuration shipped inside."""
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"configuration file {path} not found; set CONTACTLAKE_CONFIG to a TOML file")
        return _load_file(str(Path(path).resolve()))
    packaged = resources.files("contactlake") / "sample_data" / "contactlake.toml"
    with resources.as_file(packaged) as file:
        return _load_file(str(file))
