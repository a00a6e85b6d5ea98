"""Local mailers: e-mails as ``.eml`` files in an outbox folder, or through an SMTP server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["OutboxMailer", "SmtpMailer"]


class OutboxMailer:
    """Writes each message as ``<outbox>/<timestamp>-<id>.eml``; open them in any mail client."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, message: EmailMessage) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        data = message.as_bytes()
        message_id = hashlib.sha256(data).hexdigest()[:16]
        subject = "".join(c if c.isalnum() else "-" for c in str(message.get("Subject", "")))[:60]
        path = self.outbox / f"{subject.strip('-').lower()}-{message_id}.eml"
        path.write_bytes(data)
        return str(path)


class SmtpMailer:
    """Sends through an SMTP server (a local relay, or a test server)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def send(self, message: EmailMessage) -> str:
        import smtplib  # here, not at the top: only mailing needs it (it pulls in ssl and email)

        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            smtp.send_message(message)
        return f"smtp://{self.host}:{self.port}/{message.get('Message-ID', '')}"
