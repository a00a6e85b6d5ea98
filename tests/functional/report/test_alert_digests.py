"""Exception alerts after the nightly run, end to end on the small lake (issue 16): one digest per run per
recipient with the interval table and a link to the full report, on the local outbox and under moto SES;
a re-run of the same night sends nothing twice."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date
from email import policy

import boto3
import pytest
from moto import mock_aws

from contactlake.adapters.ses import SesMailer
from contactlake.config import AlertRule, AppConfig
from contactlake.report.alerts import send_alert_digests
from tests.functional.report.lake import SmallLake

pytestmark = pytest.mark.slow
DAY = date(2026, 11, 9)
SL_DIP = AlertRule("service_level_dip", "service_level", 0.85, "below", min_offered=20)
ABANDONS = AlertRule("abandon_spike", "abandon_rate", 0.10, "above", min_offered=20, consecutive=2)
QUIET = AlertRule("never", "offered", 100_000, "above")


def with_alerts(config: AppConfig) -> AppConfig:
    """North ops follow a service-level dip; South ops abandons; the board a rule that never fires; and a
    shared duty manager is on both operations lists (one digest for them, not two)."""
    rules = {"north_ops": (SL_DIP,), "south_ops": (ABANDONS, SL_DIP), "board": (QUIET,)}
    people = []
    for person in config.stakeholders:
        extra = ("duty@example.com",) if person.name in ("north_ops", "south_ops") else ()
        people.append(
            replace(person, alerts=rules.get(person.name, ()), recipients=person.recipients + extra)
        )
    return replace(config, stakeholders=tuple(people))


def test_one_digest_per_recipient_in_the_outbox_and_never_twice(lake: SmallLake) -> None:
    config = with_alerts(lake.config)
    results = send_alert_digests(lake.ports(), config, lake.settings, day=DAY)
    assert sorted((r.recipient, r.status) for r in results) == [
        ("duty@example.com", "sent"),
        ("ops-north@example.com", "sent"),
        ("ops-south@example.com", "sent"),
    ]
    mails = {
        m["To"]: m
        for m in (
            email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted((lake.home / "outbox").glob("*.eml"))
        )
    }
    assert sorted(mails) == ["duty@example.com", "ops-north@example.com", "ops-south@example.com"]
    north = mails["ops-north@example.com"].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        "North (Leeds) 12:00–13:00: service level down to 79.2% (below 85.0% for 1 interval(s), 106 contacts)"
        in north
    )
    assert "north/operations/daily/2026-11-09.html" in north
    duty = mails["duty@example.com"]
    text = duty.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "North (Leeds)" in text
    assert "South (Bristol)" in text
    assert "rule abandon_spike" in text
    html = duty.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<table" in html
    assert duty["Subject"].startswith("contactlake alerts for Mon 09 Nov 2026:")
    again = send_alert_digests(lake.ports(), config, lake.settings, day=DAY)
    assert {r.status for r in again} == {"already sent"}
    assert len(list((lake.home / "outbox").glob("*.eml"))) == 3


@mock_aws
def test_digests_go_out_through_ses(lake: SmallLake, aws_credentials: None) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    boto3.client("ses", region_name="eu-west-2").verify_email_identity(EmailAddress=lake.settings.mail_sender)
    ports = replace(lake.ports(), mailer=SesMailer(boto3.client("sesv2", region_name="eu-west-2"), None))
    results = send_alert_digests(ports, with_alerts(lake.config), lake.settings, day=DAY)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    assert sorted(r.reference for r in results) == sorted(m.id for m in sent)
    assert len(sent) == 3
    assert all("contactlake alerts for" in m.raw_data for m in sent)
