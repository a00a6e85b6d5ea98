"""Data / IT (daily; all centres): the data-quality scorecard — uploads received or missing and late, rows
quarantined by rule, rows stored with a flag by rule, reconciliation checks and synthetic test-contact
results.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from contactlake.analyse.quality import check_test_contacts, reconciliation
from contactlake.analyse.quality import data_quality as quality_scorecard
from contactlake.report.audiences.common import (
    Context,
    rows_of,
    unavailable,
)
from contactlake.report.model import Column, Report, Section, Status, Table, Tile, format_value

__all__ = ["data_quality"]


def data_quality(ctx: Context) -> Report:
    window = ctx.window
    columns = (
        Column("centre", "Centre"),
        Column("day", "Day", "date"),
        Column("source", "Source"),
        Column("status", "Status"),
        Column("rows_read", "Rows read", "int"),
        Column("rows_stored", "Stored", "int"),
        Column("rows_quarantined", "Quarantined", "int"),
        Column("rows_excluded", "Excluded", "int"),
        Column("arrived_local", "Arrived (local)", "datetime"),
        Column("finished_local", "Processed (local)", "datetime"),
        Column("deadline_local", "Deadline", "datetime"),
        Column("late", "Late"),
    )
    uploads: list[tuple[Any, ...]] = []
    upload_status: list[Status] = []
    rules: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flags: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted: set[str] = set()  # an upload covering several days is listed per day, counted once
    checks: list[tuple[Any, ...]] = []
    tests: list[tuple[Any, ...]] = []
    for centre in ctx.centres:
        status = ctx.uploads.get(centre.centre_id)
        first = status.first_day if status else None
        quality = ctx.figures.get(
            centre, "data-quality scorecard", quality_scorecard, window.start, window.end
        )
        for row in rows_of(quality):
            if first is not None and row.get("day") is not None and row["day"] < first:
                continue
            bad = bool(row.get("missing") or row.get("late")) or row.get("status") not in (
                "stored",
                "replaced",
            )
            uploads.append(
                (
                    centre.centre_id,
                    *(row.get(c.key) for c in columns[1:-1]),
                    "late" if row.get("late") else "",
                )
            )
            upload_status.append("bad" if bad and row.get("status") != "superseded" else "neutral")
            if row.get("upload_id") in counted:
                continue
            counted.add(str(row.get("upload_id")))
            for rule, count in json.loads(row.get("quarantined_by_rule") or "{}").items():
                rules[rule][centre.centre_id] += int(count)
            for rule, count in json.loads(row.get("flagged_by_rule") or "{}").items():
                flags[rule][centre.centre_id] += int(count)
        for row in rows_of(
            ctx.figures.get(centre, "reconciliation", reconciliation, window.start, window.end)
        ):
            checks.append(
                (
                    centre.centre_id,
                    row.get("scope"),
                    row.get("subject"),
                    row.get("check"),
                    row.get("expected"),
                    row.get("actual"),
                    "pass" if row.get("passed") else "FAIL",
                )
            )
        results = ctx.figures.get(
            centre, "test-contact results", check_test_contacts, window.start, window.end
        )
        for row in rows_of(results):
            tests.append(
                (
                    centre.centre_id,
                    row.get("test_case_id"),
                    row.get("contact_id"),
                    row.get("check"),
                    row.get("expected"),
                    row.get("actual"),
                    "pass" if row.get("passed") else "FAIL",
                )
            )
    missing = sum(1 for u in uploads if u[3] == "missing")
    late = sum(1 for u in uploads if u[-1] == "late")
    quarantined = sum(sum(v.values()) for v in rules.values())
    failed_checks = [c for c in checks if c[-1] == "FAIL"]
    failed_tests = [t for t in tests if t[-1] == "FAIL"]
    centre_ids = [c.centre_id for c in ctx.centres]
    tiles = (
        Tile(
            "Uploads received",
            f"{len(uploads) - missing} of {len(uploads)}",
            f"{missing} missing" if missing else "all in",
            "bad" if missing else "good",
        ),
        Tile(
            "Late uploads",
            format_value(late, "int"),
            "processed after the next morning's deadline" if late else "none late",
            "bad" if late else "good",
        ),
        Tile(
            "Rows quarantined",
            format_value(quarantined, "int"),
            f"by {len(rules)} rule(s)",
            "bad" if quarantined else "good",
        ),
        Tile(
            "Reconciliation",
            f"{len(checks) - len(failed_checks)} of {len(checks)} passed",
            f"{len(failed_checks)} failed" if failed_checks else "all passed",
            "bad" if failed_checks else "good",
        ),
        Tile(
            "Test contacts",
            f"{len(tests) - len(failed_tests)} of {len(tests)} passed",
            f"{len(failed_tests)} failed" if failed_tests else "measured exactly as expected",
            "bad" if failed_tests else "good",
        ),
    )
    upload_table = Table(
        "uploads",
        "Uploads expected this period",
        columns,
        tuple(uploads),
        "Every configured source is expected once per business day, processed by the centre's "
        "upload deadline the next morning (local time).",
        tuple(upload_status),
    )
    rule_table = Table(
        "quarantine",
        "Rows quarantined by rule",
        (Column("rule", "Rule"), *(Column(c, c, "int") for c in centre_ids)),
        tuple((rule, *(counts.get(c, 0) for c in centre_ids)) for rule, counts in sorted(rules.items())),
        "Each quarantined row is kept with its raw text, line and reason in the quarantine area.",
    )
    flag_table = Table(
        "flags",
        "Rows stored with a flag, by rule",
        (Column("rule", "Rule"), *(Column(c, c, "int") for c in centre_ids)),
        tuple((rule, *(counts.get(c, 0) for c in centre_ids)) for rule, counts in sorted(flags.items())),
        "Stored and counted in the KPIs, with the rule in the row's quality_flags; docs/validation.md "
        "(Flags) says how each flagged measure is handled.",
    )
    check_columns = (
        Column("centre", "Centre"),
        Column("scope", "Scope"),
        Column("subject", "Subject"),
        Column("check", "Check"),
        Column("expected", "Expected", "decimal"),
        Column("actual", "Actual", "decimal"),
        Column("result", "Result"),
    )
    test_columns = (
        Column("centre", "Centre"),
        Column("test_case_id", "Test case"),
        Column("contact_id", "Contact"),
        Column("check", "Measure"),
        Column("expected", "Expected", "decimal"),
        Column("actual", "Actual", "decimal"),
        Column("result", "Result"),
    )
    detail = [
        Table(
            "reconciliation_failed",
            "Failed reconciliation checks",
            check_columns,
            tuple(failed_checks),
            row_status=tuple("bad" for _ in failed_checks),
        ),
        Table(
            "test_contacts_failed",
            "Failed test-contact measurements",
            test_columns,
            tuple(failed_tests),
            row_status=tuple("bad" for _ in failed_tests),
        ),
        Table(
            "reconciliation", "All reconciliation checks", check_columns, tuple(checks), attachment_only=True
        ),
        Table(
            "test_contacts", "All test-contact measurements", test_columns, tuple(tests), attachment_only=True
        ),
    ]
    sections = [
        Section("Scorecard", tiles=tiles),
        Section(
            "Uploads",
            tables=(upload_table,) if uploads else (),
            intro="" if uploads else unavailable("The upload scorecard"),
        ),
        Section(
            "Quarantine",
            tables=tuple(t for t in (rule_table, flag_table) if t.rows),
            intro="" if rules else "No rows were quarantined for these days.",
        ),
        Section(
            "Reconciliation and test contacts",
            tables=tuple(t for t in detail if t.rows),
            intro=(
                "Reconciliation proves nothing was lost or double counted between upload and KPIs; synthetic "
                "test contacts prove each measure is computed exactly as expected."
                + ("" if failed_checks or failed_tests else " Every check passed.")
            )
            if checks or tests
            else unavailable("Reconciliation and test-contact results"),
        ),
    ]
    summary = (
        f"{len(uploads) - missing} of {len(uploads)} expected uploads received ({late} late); "
        f"{quarantined:,} rows quarantined; {len(failed_checks) + len(failed_tests)} of "
        f"{len(checks) + len(tests)} reconciliation and test-contact checks failed."
    )
    return ctx.report("Data quality report", summary, sections, "uploads", (upload_table,))
