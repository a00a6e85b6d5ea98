"""The AWS side of the Mailer port: SES v2 ``SendEmail`` with a raw MIME message (attachments, CID images).

* **Size**: SES v2 accepts raw messages up to 40 MB, but many receiving servers refuse more than 10-25 MB,
  so above ``max_bytes`` (10 MB by default) the attachments are replaced by time-limited pre-signed links
  to the copies already stored in the reports bucket (each attachment's ``X-ContactLake-Key`` header names
  its stored copy; an attachment without one is stored first under ``mail-overflow/``).
* **Link lifetime**: a pre-signed URL stops working when the credentials that signed it expire, and a
  Lambda function signs with its role's temporary credentials, whose remaining life is not known (AWS does
  not hold Lambda to the role's session duration). So links are signed for one hour and the e-mail says so,
  naming each stored copy's key: the API serves it for as long as reports are kept (``GET /reports/<key>``).
  Long-lived keys to sign with would be a standing secret; docs/adr (e-mail link lifetime) records why not.
* **Throttling** (``TooManyRequestsException``, ``Throttling``) is retried with exponential backoff and
  jitter on top of botocore's own retries; a daily-quota refusal is not retried.
* **Rejection** (unverified sender, paused account, bad address) raises :class:`MailRejected` with what to
  fix; the report builder has stored the report already, logs the failure and counts it.
"""

from __future__ import annotations

import hashlib
import html
import logging
import random
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from contactlake.config import Settings
from contactlake.ports import ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

__all__ = ["MailRejected", "SesMailer"]

logger = logging.getLogger("contactlake.mail")

_THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException"}
_REJECTED_HINT = {
    "MessageRejected": "verify the sender (CONTACTLAKE_MAIL_SENDER) and, in the SES sandbox, each recipient",
    "MailFromDomainNotVerifiedException": "verify the sender's MAIL FROM domain in SES",
    "AccountSuspendedException": "SES sending is suspended for this account; see the SES console",
    "SendingPausedException": "SES sending is paused for this account or configuration set",
    "NotFoundException": "the configuration set named in CONTACTLAKE_SES_CONFIGURATION_SET does not exist",
    "BadRequestException": "SES refused the request as malformed (check the addresses)",
}
_STORED_KEY_HEADER = "X-ContactLake-Key"
_LINK_NOTE = (
    "The files were too large to attach; download them here. The links work for up to {lifetime} after "
    "this e-mail was sent; afterwards the stored copies stay available through the contactlake API "
    "(GET /reports/<key>, key shown beside each link):"
)


class MailRejected(RuntimeError):
    """SES refused the message; ``code`` is the SES error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SesMailer:
    """Sends :class:`~email.message.EmailMessage` objects as raw SES v2 e-mails; returns the SES MessageId."""

    def __init__(
        self,
        client: SESV2Client,
        store: ObjectStore | None,
        *,
        configuration_set: str | None = None,
        max_bytes: int = 10 * 1024 * 1024,
        link_expires_seconds: int = 3600,
        max_attempts: int = 5,
        base_delay_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.store = store
        self.configuration_set = configuration_set
        self.max_bytes = max_bytes
        self.link_expires_seconds = link_expires_seconds
        self.max_attempts = max_attempts
        self.base_delay_seconds = base_delay_seconds
        self.sleep = sleep
        self.throttled = 0

    @classmethod
    def from_settings(cls, client: SESV2Client, store: ObjectStore | None, settings: Settings) -> SesMailer:
        import os

        return cls(
            client, store, configuration_set=os.environ.get("CONTACTLAKE_SES_CONFIGURATION_SET") or None
        )

    def send(self, message: EmailMessage) -> str:
        data = message.as_bytes()
        if len(data) > self.max_bytes:
            logger.info(
                "message of %d bytes is over %d: sending links instead of attachments",
                len(data),
                self.max_bytes,
            )
            message = self.with_links(message)
            data = message.as_bytes()
        return self._send_raw(message, data)

    def _send_raw(self, message: EmailMessage, data: bytes) -> str:
        from botocore.exceptions import ClientError

        to = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])) if addr]
        _, sender = getaddresses([str(message["From"])])[0]
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": to},
            "Content": {"Raw": {"Data": data}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.send_email(**request)
                return str(response["MessageId"])
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                text = str(error.response.get("Error", {}).get("Message", error))
                if code in _THROTTLED and "daily" not in text.lower() and attempt < self.max_attempts:
                    self.throttled += 1
                    delay = self.base_delay_seconds * 2 ** (attempt - 1) * (1 + random.random())  # noqa: S311
                    logger.warning(
                        "SES throttled (%s), attempt %d/%d; retrying in %.1f s",
                        code,
                        attempt,
                        self.max_attempts,
                        delay,
                    )
                    self.sleep(delay)
                    continue
                hint = _REJECTED_HINT.get(code, "see the SES error code in the AWS documentation")
                raise MailRejected(
                    code, f"SES refused the e-mail to {', '.join(to)}: {code}: {text} ({hint})"
                ) from None
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def with_links(self, message: EmailMessage) -> EmailMessage:
        """The same message with its attachments replaced by pre-signed links to stored copies."""
        if self.store is None:
            raise MailRejected(
                "MessageTooLarge",
                f"the message is over {self.max_bytes} bytes and no store is "
                "configured for links; reduce the attachments",
            )
        links: list[tuple[str, str, str]] = []
        for part in message.iter_attachments():
            if part.get_content_disposition() != "attachment":
                continue
            name = part.get_filename() or "attachment"
            key = part.get(_STORED_KEY_HEADER)
            if not key:
                payload = part.get_payload(decode=True)
                body = payload if isinstance(payload, bytes) else b""
                key = f"mail-overflow/{hashlib.sha256(body).hexdigest()[:20]}/{name}"
                self.store.put("reports", key, body, part.get_content_type())
            url = self.store.presigned_url("reports", str(key), self.link_expires_seconds, "GET")
            links.append((name, url, str(key)))
        note = _LINK_NOTE.format(lifetime=_duration(self.link_expires_seconds))
        plain_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        plain = plain_part.get_content() if plain_part is not None else ""
        page = html_part.get_content() if html_part is not None else ""
        items = "".join(
            f'<li><a href="{html.escape(url)}">{html.escape(name)}</a> ({html.escape(key)})</li>'
            for name, url, key in links
        )
        block = (
            f'<div style="font-family:Arial,sans-serif;font-size:14px;padding:12px 20px;">{html.escape(note)}'
            f"<ul>{items}</ul></div>"
        )
        page = page.replace("</body>", block + "</body>") if "</body>" in page else page + block
        slim = EmailMessage()
        for header, value in message.items():
            if not header.lower().startswith(("content-", "mime-version")):
                slim[header] = value
        slim.set_content(
            plain + "\n" + note + "\n" + "\n".join(f"  {n} ({k}): {u}" for n, u, k in links) + "\n",
            charset="utf-8",
            cte="quoted-printable",
        )
        slim.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
        related = message.get_body(preferencelist=("related",))
        images = [p for p in related.iter_parts() if p.get_content_maintype() == "image"] if related else []
        with_images = _copy_with_images(slim, images)
        return with_images if len(with_images.as_bytes()) <= self.max_bytes else slim


def _duration(seconds: int) -> str:
    """``3600`` -> ``1 hour``, ``5400`` -> ``90 minutes``, ``172800`` -> ``2 days``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _copy_with_images(message: EmailMessage, images: list[Any]) -> EmailMessage:
    from copy import deepcopy

    copy = deepcopy(message)
    if not images:
        return copy
    html_part = copy.get_body(preferencelist=("html",))
    assert html_part is not None
    for image in images:
        data = image.get_payload(decode=True)
        html_part.add_related(
            data,
            maintype="image",
            subtype=image.get_content_subtype(),
            cid=image["Content-ID"],
            filename=image.get_filename(),
            disposition="inline",
        )
    return copy
