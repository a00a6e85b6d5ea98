"""The faults catalogue, delivery: SES throttles the report e-mail (under moto, through botocore).

SES answers ``TooManyRequestsException`` (HTTP 429) when the account's sending rate is exceeded. The
fault is a ``before-call`` hook on the real ``sesv2`` client that answers instead of moto, so the
request never reaches moto (a ``before-send`` answer does not stop moto from recording the message
too: a throttled attempt would count as sent) and the mailer's own retries run as they would on AWS.
What the tests hold to: a throttled e-mail is retried and sent exactly once; throttled past the
retries it is recorded (the report stored, its result ``failed``, a ``ReportDeliveryFailed`` event
naming the stored files), never lost, and the next run sends it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contactlake.adapters.ses import SesMailer
from contactlake.report import build_reports
from tests.functional.report.conftest import lake as lake  # a private copy of the small report lake
from tests.functional.report.conftest import small_lake as small_lake
from tests.functional.report.lake import SmallLake
from tests.functional.report.test_build_reports import SUNDAY, events

pytestmark = pytest.mark.slow

REGION = "eu-west-2"


class Throttled:
    """Answers the first ``times`` SendEmail calls as SES does past the sending rate (HTTP 429)."""

    def __init__(self, times: int) -> None:
        self.times, self.hits = times, 0

    def __call__(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self.hits >= self.times:
            return None
        self.hits += 1
        error = {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}
        return SimpleNamespace(status_code=429), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}


@pytest.fixture
def ses(aws_credentials: None, lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=lake.settings.mail_sender)
        yield boto3.client("sesv2", region_name=REGION)


def _sent() -> list[Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _team_leader_report(lake: SmallLake, client: Any) -> Any:
    ports = lake.ports()
    ports.mailer = SesMailer(client, ports.store, max_attempts=3, sleep=lambda _seconds: None)
    (result,) = build_reports(
        ports,
        lake.config,
        lake.settings,
        period="weekly",
        as_of=SUNDAY,
        audience="team_leader",
        centres=["south"],
    )
    return result


def test_a_throttled_report_email_is_retried_and_sent_once(lake: SmallLake, ses: Any) -> None:
    fault = Throttled(times=2)
    ses.meta.events.register("before-call.sesv2.SendEmail", fault)
    result = _team_leader_report(lake, ses)
    assert fault.hits == 2
    assert result.status == "sent"
    (sent,) = _sent()
    assert result.email == sent.id
    assert [e for e in events(lake) if e["detail-type"] == "ReportDeliveryFailed"] == []


def test_a_report_email_throttled_past_the_retries_is_recorded_not_lost_and_the_next_run_sends_it_once(
    lake: SmallLake, ses: Any
) -> None:
    fault = Throttled(times=1000)  # the sending rate stays exceeded
    ses.meta.events.register("before-call.sesv2.SendEmail", fault)
    failed = _team_leader_report(lake, ses)
    assert failed.status == "failed"
    assert "TooManyRequestsException" in failed.message
    assert _sent() == []
    ports = lake.ports()
    assert failed.keys
    assert all(ports.store.exists("reports", key) for key in failed.keys)
    (record,) = [e for e in events(lake) if e["detail-type"] == "ReportDeliveryFailed"]
    assert record["detail"]["keys"] == list(failed.keys)  # recorded, with what to send again
    assert fault.hits == 3  # the mailer's attempts
    ses.meta.events.unregister("before-call.sesv2.SendEmail", fault)
    again = _team_leader_report(lake, ses)  # the next run (or a re-run of this one)
    assert again.status == "sent"
    assert [message.id for message in _sent()] == [again.email]


def test_the_same_report_job_run_twice_sends_one_message(lake: SmallLake, ses: Any) -> None:
    first = _team_leader_report(lake, ses)
    again = _team_leader_report(lake, ses)  # an operator re-running the night, or a Lambda retry
    assert (first.status, again.status) == ("sent", "stored")
    assert "already e-mailed to " in again.message
    assert [message.id for message in _sent()] == [first.email]


class _Crash(BaseException):
    """The function dying after SES accepted a message (timeout, out of memory)."""


def test_a_retry_after_a_crash_between_two_reports_sends_each_once_through_ses(
    lake: SmallLake, ses: Any
) -> None:
    calls = {"n": 0}

    def crash_on_the_second(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Crash

    ses.meta.events.register("before-call.sesv2.SendEmail", crash_on_the_second)

    def run() -> list[Any]:
        ports = lake.ports()
        ports.mailer = SesMailer(ses, ports.store, max_attempts=3, sleep=lambda _seconds: None)
        return build_reports(
            ports, lake.config, lake.settings, period="weekly", as_of=SUNDAY, audience="team_leader"
        )

    with pytest.raises(_Crash):
        run()
    assert len(_sent()) == 1
    retried = run()
    assert sorted(r.status for r in retried) == ["sent", "stored"]
    assert len(_sent()) == 2
    assert sorted(r.email for r in retried if r.status == "sent") == sorted(m.id for m in _sent()[1:])
