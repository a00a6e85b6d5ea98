"""SesMailer against botocore's Stubber: throttling is retried with backoff, rejections name the fix, and an
oversized message goes out with pre-signed links instead of attachments."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from contactlake.adapters.ses import MailRejected, SesMailer
from contactlake.report.mail import Attachment, compose_email
from tests.unit.report.conftest import make_report


class LinkStore:
    """The two ObjectStore methods the link fallback uses."""

    def __init__(self) -> None:
        self.puts: dict[str, bytes] = {}

    def put(self, area: str, key: str, data: bytes, content_type: str = "") -> None:
        self.puts[f"{area}/{key}"] = data

    def presigned_url(self, area: str, key: str, expires_seconds: int = 3600, method: str = "GET") -> str:
        return f"https://{area}.example/{key}?X-Amz-Expires={expires_seconds}&X-Amz-Signature=abc"


class Capture:
    """Matches anything in Stubber's expected parameters and keeps it."""

    value: bytes = b""

    def __eq__(self, other: object) -> bool:
        self.value = other  # type: ignore[assignment]
        return True

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ses = boto3.client("sesv2", region_name="eu-west-2")
    with Stubber(ses) as stubber:
        yield ses, stubber
        stubber.assert_no_pending_responses()


def message(*attachments: Attachment) -> EmailMessage:
    return compose_email(
        make_report(),
        sender="reports@example.com",
        recipients=["ops@example.com"],
        attachments=list(attachments),
    )


def test_throttling_is_retried_with_growing_backoff(client: tuple[Any, Stubber]) -> None:
    ses, stubber = client
    for _ in range(2):
        stubber.add_client_error(
            "send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429
        )
    expected = {
        "FromEmailAddress": "reports@example.com",
        "Destination": {"ToAddresses": ["ops@example.com"]},
        "Content": {"Raw": {"Data": ANY}},
    }
    stubber.add_response("send_email", {"MessageId": "0100-abc"}, expected)
    delays: list[float] = []
    mailer = SesMailer(ses, None, base_delay_seconds=1.0, sleep=delays.append)
    assert mailer.send(message()) == "0100-abc"
    assert mailer.throttled == 2
    assert 1.0 <= delays[0] < 2.0
    assert 2.0 <= delays[1] < 4.0


def test_throttling_gives_up_after_max_attempts(client: tuple[Any, Stubber]) -> None:
    ses, stubber = client
    for _ in range(3):
        stubber.add_client_error(
            "send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429
        )
    mailer = SesMailer(ses, None, max_attempts=3, sleep=lambda _s: None)
    with pytest.raises(MailRejected) as raised:
        mailer.send(message())
    assert raised.value.code == "TooManyRequestsException"
    assert mailer.throttled == 2


def test_rejection_says_what_to_fix(client: tuple[Any, Stubber]) -> None:
    ses, stubber = client
    stubber.add_client_error("send_email", "MessageRejected", "Email address is not verified.", 400)
    with pytest.raises(MailRejected, match="verify the sender") as raised:
        SesMailer(ses, None, sleep=lambda _s: None).send(message())
    assert raised.value.code == "MessageRejected"


def test_oversized_message_sends_links_to_the_stored_copies(client: tuple[Any, Stubber]) -> None:
    ses, stubber = client
    raw = Capture()
    expected = {"FromEmailAddress": ANY, "Destination": ANY, "Content": {"Raw": {"Data": raw}}}
    stubber.add_response("send_email", {"MessageId": "0100-big"}, expected)
    store = LinkStore()
    big = Attachment(
        "north-operations-daily-2026-11-09.pdf",
        "application/pdf",
        b"%PDF" + b"x" * 60_000,
        "north/operations/daily/2026-11-09.pdf",
    )
    unstored = Attachment("extra.csv", "text/csv", b"a,b\n" * 10_000)
    mailer = SesMailer(ses, store, max_bytes=50_000, sleep=lambda _s: None)  # type: ignore[arg-type]
    assert mailer.send(message(big, unstored)) == "0100-big"
    parsed = email.message_from_bytes(raw.value, policy=policy.default)
    assert len(raw.value) < 50_000
    assert [p.get_content_type() for p in parsed.walk() if p.get_content_disposition() == "attachment"] == []
    page = parsed.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "https://reports.example/north/operations/daily/2026-11-09.pdf?X-Amz-Expires=3600&amp;" in page
    overflow = [k for k in store.puts if k.startswith("reports/mail-overflow/")]
    assert len(overflow) == 1
    assert overflow[0].endswith("/extra.csv")
    assert store.puts[overflow[0]] == b"a,b\n" * 10_000
    plain = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "The links work for up to 1 hour after this e-mail was sent" in plain
    assert "GET /reports/<key>" in plain
    assert "north-operations-daily-2026-11-09.pdf (north/operations/daily/2026-11-09.pdf): https://" in plain
    assert parsed["Subject"] == "Operations daily report — North (Leeds) — Monday 9 November 2026"
    assert 'src="cid:sl_heatmap@contactlake"' in page
    assert any(p.get_content_maintype() == "image" for p in parsed.walk())
