"""A fixed configuration for the report and API tests (independent of the shipped demo configuration)."""

from __future__ import annotations

import tomllib

from contactlake.config import AppConfig, parse_app_config

#: The test configuration: the demo's two centres and one stakeholder of each audience, fixed here so the
#: tests do not move when the shipped demo configuration grows. Mappings resolve to the packaged ones.
TEST_CONFIG = """
# contactlake configuration: centres (the allow-list of uploaders) and stakeholders (who gets which report).
# Copy this file, edit it, and point CONTACTLAKE_CONFIG at the copy. Mapping paths are relative to it.

[centres.north]
name = "North (Leeds)"
timezone = "Europe/London"
short_abandon_seconds = 5
fcr_window_hours = 72
max_occupancy = 0.85
shrinkage = 0.30
cost_per_agent_hour = 24.0
upload_deadline_local = "06:00"

[centres.north.service_level]
threshold_seconds = 20
target = 0.80
variant = "abandons_ignored"

[centres.north.plan]
offered_per_day = 1200
service_level = 0.80
abandon_rate = 0.05
asa_seconds = 30
aht_seconds = 300
budget_per_contact = 4.20
monthly_budget = 150000

[centres.north.sources.acd]
adapter = "generic_csv"
mapping = "mappings/acd_calls.toml"
replaces = "day"

[centres.north.sources.agents]
adapter = "generic_csv"
mapping = "mappings/agent_states.toml"

[centres.south]
name = "South (Bristol)"
timezone = "Europe/London"
short_abandon_seconds = 5
cost_per_agent_hour = 22.5
upload_deadline_local = "06:00"

[centres.south.service_level]
threshold_seconds = 30
target = 0.75
variant = "short_abandons_positive"

[centres.south.plan]
offered_per_day = 750
service_level = 0.75
abandon_rate = 0.06
asa_seconds = 45
aht_seconds = 330
budget_per_contact = 4.60
monthly_budget = 95000

[centres.south.sources.acd]
adapter = "generic_csv"
mapping = "mappings/acd_calls.toml"
replaces = "day"

[centres.south.sources.agents]
adapter = "generic_csv"
mapping = "mappings/agent_states.toml"

[stakeholders.board]
audience = "executive"
periods = ["monthly", "quarterly"]
formats = ["html", "pdf", "xlsx"]
recipients = ["board@example.com"]

[stakeholders.north_ops]
audience = "operations"
centres = ["north"]
periods = ["daily", "weekly"]
formats = ["html", "pdf", "csv"]
recipients = ["ops-north@example.com"]

[stakeholders.south_ops]
audience = "operations"
centres = ["south"]
periods = ["daily", "weekly"]
formats = ["html", "pdf"]
recipients = ["ops-south@example.com"]

[stakeholders.wfm]
audience = "workforce"
periods = ["weekly"]
formats = ["html", "xlsx"]
recipients = ["wfm@example.com"]

[stakeholders.team_leaders]
audience = "team_leader"
periods = ["weekly"]
formats = ["html", "csv"]
recipients = ["team-leaders@example.com"]

[stakeholders.data_team]
audience = "data_quality"
periods = ["daily"]
formats = ["html", "csv"]
recipients = ["data@example.com"]

[stakeholders.outsourcer]
audience = "vendor"
centres = ["south"]
queues = ["sales"]
periods = ["monthly"]
formats = ["html", "pdf"]
recipients = ["account-manager@vendor.example"]

# REST API callers. On AWS the API uses IAM authorisation: a caller is matched by its IAM principal ARN.
# API keys (SHA-256 of the key, never the key itself) are the optional mode, and what `make serve` uses.
# The demo keys below are public: replace them in any real deployment.
[api.callers.admin]
centres = ["*"]
actions = ["read", "upload", "admin"]
role = "internal"
api_key_sha256 = "0de55245c225238646d6fdb99a60b6971bf5eb0b0280237830d66e0a8b54b4ac"  # demo-key-admin

[api.callers.north_ops]
centres = ["north"]
actions = ["read", "upload", "admin"]
role = "internal"
api_key_sha256 = "88cf6ac6696b6e69892fc2174d894f44831251564176b17242f79c32e0692685"  # demo-key-north

[api.callers.north_ops_role]
centres = ["north"]
principal = "arn:aws:iam::123456789012:role/contactlake-north-ops"
actions = ["read", "upload"]
role = "internal"

# Read-only and external: no upload URLs, no report builds, no internal-only (agent-level) reports.
[api.callers.north_viewer]
centres = ["north"]
api_key_sha256 = "691dc8a80cc0d061baff17da25c9b3a9f4a9f1e8c740d30a4e41265baffa63eb"  # demo-key-viewer
"""


def fixed_config() -> AppConfig:
    return parse_app_config(tomllib.loads(TEST_CONFIG), source_path="<test configuration>")
