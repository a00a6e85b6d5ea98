"""The e-mail parses back into the structure mail clients expect; the PDF's text holds the figures."""

from __future__ import annotations

import email
import io
import re
from email import policy
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from contactlake.report.mail import STORED_KEY_HEADER, Attachment, compose_email
from contactlake.report.model import Report
from contactlake.report.pdf import render_pdf
from tests.unit.report.conftest import PNG


def _roundtrip(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_email_structure_inline_images_and_attachments(report: Report) -> None:
    pdf = Attachment(
        "north-operations-daily-2026-11-09.pdf", "application/pdf", b"%PDF-1.4 test", "north/x.pdf"
    )
    message = _roundtrip(
        compose_email(
            report,
            sender="reports@example.com",
            recipients=["ops@example.com", "lead@example.com"],
            attachments=[pdf],
        )
    )
    assert message["To"] == "ops@example.com, lead@example.com"
    assert message["From"] == "contactlake reports <reports@example.com>"
    assert message["Subject"] == "Operations daily report — North (Leeds) — Monday 9 November 2026"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@example.com>")
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
    ]
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    page = html.get_content()
    referenced = set(re.findall(r'src="cid:([^"]+)"', page))
    images = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert referenced == {p["Content-ID"].strip("<>") for p in images} == {"sl_heatmap@contactlake"}
    assert images[0].get_content_disposition() == "inline"
    assert images[0].get_content() == PNG
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content()) for a in attachments] == [
        ("north-operations-daily-2026-11-09.pdf", b"%PDF-1.4 test")
    ]
    assert attachments[0][STORED_KEY_HEADER] == "north/x.pdf"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    assert "1 expected upload(s) missing" in plain.get_content()
    assert all(ord(ch) < 128 for ch in message.as_string()), "the message must be 7-bit clean for any relay"


def test_email_needs_recipients(report: Report) -> None:
    with pytest.raises(ValueError, match="add recipients to the stakeholder"):
        compose_email(report, sender="reports@example.com", recipients=[])


def test_internal_report_is_marked(report: Report) -> None:
    from tests.unit.report.conftest import make_report

    message = compose_email(make_report(internal=True), sender="r@example.com", recipients=["tl@example.com"])
    assert message["Sensitivity"] == "Company-Confidential"
    assert "internal only" in render_pdf_text(make_report(internal=True)).lower()


def render_pdf_text(report: Report) -> str:
    reader = PdfReader(io.BytesIO(render_pdf(report, ("pdf", "xlsx"))))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_text_holds_the_figures(report: Report) -> None:
    data = render_pdf(report, ("pdf", "xlsx"))
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Operations daily report"
    text = render_pdf_text(report)
    for expected in (
        "Operations daily report",
        "North (Leeds)",
        "Monday 9 November 2026",
        "94.1%",
        "1,227",
        "94.0%",
        "£4.20",
        "91.2%",
        "Incomplete data",
        "agents export for 2026-11-09",
        "All checks: all 2 rows are in the XLSX export",
        "page 1/",
    ):
        assert expected in text, expected
    assert render_pdf(report, ("pdf", "xlsx")) == data, "the same report renders to the same bytes"
