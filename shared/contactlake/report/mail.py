"""Composing the report e-mail: text and HTML alternatives, charts as inline CID images, files attached.

Structure (what mail clients expect, RFC 2046 / 2387)::

    multipart/mixed
      multipart/alternative
        text/plain
        multipart/related
          text/html            <img src="cid:…">
          image/png …          Content-ID, inline
      application/pdf …        attachments

Text parts are quoted-printable, so the message is 7-bit clean for any relay.
Each attachment part carries ``X-ContactLake-Key``, where the same file is stored in the reports area, so a
transport that cannot carry the message (SES above its size limit) can send links to the stored copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from contactlake.report.model import Report
from contactlake.report.render import render_html, render_text

__all__ = ["STORED_KEY_HEADER", "Attachment", "compose_email", "sender_domain"]

STORED_KEY_HEADER = "X-ContactLake-Key"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    key: str | None = None


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">").lower()


def compose_email(
    report: Report,
    *,
    sender: str,
    recipients: Sequence[str],
    attachments: Sequence[Attachment] = (),
    now: datetime | None = None,
) -> EmailMessage:
    """The message for one report; recipients go in ``To`` (lists are distribution addresses)."""
    if not recipients:
        raise ValueError("an e-mail needs at least one recipient; add recipients to the stakeholder")
    message = EmailMessage()
    message["Subject"] = f"{report.title} — {report.scope.label} — {report.window.label}"
    message["From"] = Address(display_name="contactlake reports", addr_spec=sender)
    message["To"] = ", ".join(recipients)
    # generated_at is naive UTC: made aware, the header reads "+0000" (RFC 5322), not "-0000" (zone unknown).
    message["Date"] = format_datetime((now or report.generated_at).replace(tzinfo=UTC))
    message["Message-ID"] = make_msgid(
        idstring=f"{report.audience}.{report.window.period}",
        domain=sender_domain(sender) or "contactlake.local",
    )
    message["Auto-Submitted"] = "auto-generated"
    if report.internal_only:
        message["Sensitivity"] = "Company-Confidential"
    names = [a.filename for a in attachments]
    exports = [name.rpartition(".")[2] for name in names]
    message.set_content(
        render_text(report, exports), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    html = render_html(report, for_email=True, attachments=names, exports=exports)
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    for chart in report.charts:
        html_part.add_related(
            chart.png,
            maintype="image",
            subtype="png",
            cid=f"<{chart.cid}>",
            filename=f"{chart.name}.png",
            disposition="inline",
        )
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            headers=[f"{STORED_KEY_HEADER}: {attachment.key}"] if attachment.key else None,
        )
    return message
