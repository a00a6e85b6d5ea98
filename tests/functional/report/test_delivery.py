"""Delivery over real transports: SMTP to a local aiosmtpd server, SES raw messages under moto."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto import mock_aws

from contactlake.adapters.local import SmtpMailer
from contactlake.adapters.ses import MailRejected, SesMailer
from contactlake.report.mail import Attachment, compose_email
from tests.unit.report.conftest import make_report

SENDER = "reports@example.com"


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def report_message() -> EmailMessage:
    pdf = Attachment(
        "north-operations-daily-2026-11-09.pdf", "application/pdf", b"%PDF-1.4\n%test\n", "n/x.pdf"
    )
    return compose_email(make_report(), sender=SENDER, recipients=["ops@example.com"], attachments=[pdf])


def test_smtp_round_trip(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    reference = SmtpMailer("127.0.0.1", port).send(report_message())
    assert reference.startswith(f"smtp://127.0.0.1:{port}/<")
    [envelope] = inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["ops@example.com"]
    received = email.message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "Operations daily report — North (Leeds) — Monday 9 November 2026"
    assert [a.get_filename() for a in received.iter_attachments()] == [
        "north-operations-daily-2026-11-09.pdf"
    ]
    html = received.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    image = next(p for p in received.walk() if p.get_content_maintype() == "image")
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html


@mock_aws
def test_ses_raw_message_under_moto(aws_credentials: None) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    boto3.client("ses", region_name="eu-west-2").verify_email_identity(EmailAddress=SENDER)
    mailer = SesMailer(boto3.client("sesv2", region_name="eu-west-2"), None)
    message_id = mailer.send(report_message())
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    assert sent.id == message_id
    raw = email.message_from_string(sent.raw_data, policy=policy.default)
    assert raw["To"] == "ops@example.com"
    assert [a.get_filename() for a in raw.iter_attachments()] == ["north-operations-daily-2026-11-09.pdf"]
    assert any(p.get_content_type() == "image/png" for p in raw.walk())


@mock_aws
def test_ses_refuses_an_unverified_sender(aws_credentials: None) -> None:
    mailer = SesMailer(boto3.client("sesv2", region_name="eu-west-2"), None)
    with pytest.raises(MailRejected, match="MessageRejected") as raised:
        mailer.send(report_message())
    assert raised.value.code == "MessageRejected"
