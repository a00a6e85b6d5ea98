"""The local side: a folder as the lake, DuckDB running the Athena SQL, e-mails as ``.eml`` files.

Everything here is real (files are written, SQL is executed), only the transport differs from AWS. One
module per port: :mod:`~contactlake.adapters.local.store`, :mod:`~contactlake.adapters.local.engine`,
:mod:`~contactlake.adapters.local.mailer`, :mod:`~contactlake.adapters.local.catalog`,
:mod:`~contactlake.adapters.local.events`; :func:`build_local_ports` wires them.
"""

from __future__ import annotations

from contactlake.adapters.local.catalog import LocalCatalog
from contactlake.adapters.local.engine import DuckDBEngine, upgrade_files
from contactlake.adapters.local.events import LocalEventLog
from contactlake.adapters.local.mailer import OutboxMailer, SmtpMailer
from contactlake.adapters.local.store import LocalObjectStore
from contactlake.config import Settings
from contactlake.ports import Ports

__all__ = [
    "DuckDBEngine",
    "LocalCatalog",
    "LocalEventLog",
    "LocalObjectStore",
    "OutboxMailer",
    "SmtpMailer",
    "build_local_ports",
    "upgrade_files",
]


def build_local_ports(settings: Settings) -> Ports:
    home = settings.home
    store = LocalObjectStore(home)
    mailer: OutboxMailer | SmtpMailer = (
        SmtpMailer(settings.smtp_host, settings.smtp_port)
        if settings.smtp_host
        else OutboxMailer(home / "outbox")
    )
    return Ports(
        store=store,
        engine=DuckDBEngine(store),
        mailer=mailer,
        catalog=LocalCatalog(),
        events=LocalEventLog(home / "events.jsonl"),
    )
