"""The API's rules, without HTTP: who is calling, what they may read, input checks, pagination tokens."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from contactlake.api.access import check_centre, check_report_path, resolve_caller
from contactlake.api.errors import ApiError
from contactlake.api.pages import paginate
from contactlake.api.params import check_upload_name, date_range
from tests.unit.report.testconfig import fixed_config

CONFIG = fixed_config()
ROLE = "arn:aws:iam::123456789012:role/contactlake-north-ops"


def error_of(call: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as raised:
        call()  # type: ignore[operator]
    return raised.value.status, raised.value.code


def test_api_keys_map_to_callers_by_hash() -> None:
    assert hashlib.sha256(b"demo-key-north").hexdigest() == CONFIG.api_callers[1].api_key_sha256
    assert resolve_caller(CONFIG, "api_key", None, {"X-Api-Key": "demo-key-admin"}).name == "admin"
    assert resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-north"}).centres == ("north",)
    assert error_of(lambda: resolve_caller(CONFIG, "api_key", None, {})) == (401, "unauthenticated")
    assert error_of(lambda: resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-nort"})) == (
        403,
        "forbidden",
    )


def test_iam_principal_and_assumed_role_sessions() -> None:
    assert resolve_caller(CONFIG, "iam", {"userArn": ROLE}, {}).name == "north_ops_role"
    session = "arn:aws:sts::123456789012:assumed-role/contactlake-north-ops/lambda-session"
    assert resolve_caller(CONFIG, "iam", {"userArn": session}, {}).name == "north_ops_role"
    other_account = "arn:aws:sts::999999999999:assumed-role/contactlake-north-ops/s"
    assert error_of(lambda: resolve_caller(CONFIG, "iam", {"userArn": other_account}, {})) == (
        403,
        "forbidden",
    )
    # An API key is no credential in IAM mode.
    assert error_of(lambda: resolve_caller(CONFIG, "iam", {}, {"x-api-key": "demo-key-admin"})) == (
        401,
        "unauthenticated",
    )


def test_a_centre_outside_the_callers_scope_is_forbidden_whether_it_exists_or_not() -> None:
    north = resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-north"})
    admin = resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-admin"})
    assert check_centre(CONFIG, north, "north") == "north"
    # The same answer for an existing and a made-up centre: the status leaks no ids.
    assert error_of(lambda: check_centre(CONFIG, north, "south")) == (403, "forbidden")
    assert error_of(lambda: check_centre(CONFIG, north, "west")) == (403, "forbidden")
    assert error_of(lambda: check_centre(CONFIG, north, "north' OR '1'='1")) == (403, "forbidden")
    # Only a caller that may read every centre learns that one does not exist.
    assert error_of(lambda: check_centre(CONFIG, admin, "west")) == (404, "unknown_centre")
    assert error_of(lambda: check_centre(CONFIG, admin, "north' OR '1'='1")) == (404, "unknown_centre")


def test_report_paths_and_upload_names_reject_traversal() -> None:
    admin = resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-admin"})
    north = resolve_caller(CONFIG, "api_key", None, {"x-api-key": "demo-key-north"})
    key = check_report_path(CONFIG, admin, "all", "executive", "monthly", "2026-11-01.pdf")
    assert key == "all/executive/monthly/2026-11-01.pdf"
    assert check_report_path(CONFIG, north, "north", "vendor", "monthly", "2026-11-01_sales.html").endswith(
        "_sales.html"
    )
    assert error_of(
        lambda: check_report_path(CONFIG, north, "all", "executive", "monthly", "2026-11-01.pdf")
    ) == (403, "forbidden")
    for name in ("../../etc/passwd", "2026-11-01.pdf/../x.pdf", "2026-11-01.exe", "..%2F2026-11-01.pdf"):
        assert error_of(
            lambda name=name: check_report_path(CONFIG, admin, "north", "operations", "daily", name)
        ) == (400, "bad_filename")
    assert (
        error_of(lambda: check_report_path(CONFIG, admin, "..", "operations", "daily", "2026-11-01.pdf"))[0]
        == 404
    )
    assert error_of(
        lambda: check_report_path(CONFIG, admin, "north", "board", "daily", "2026-11-01.pdf")
    ) == (400, "bad_parameter")
    assert check_upload_name("calls-2026-11-16.csv.gz") == "calls-2026-11-16.csv.gz"
    for name in ("../x.csv", "a/b.csv", ".hidden", "x..csv", "", "a" * 129):
        assert error_of(lambda name=name: check_upload_name(name)) == (400, "bad_filename")


def test_dates_are_iso_and_bounded() -> None:
    today = date(2026, 12, 6)
    assert date_range({"from": "2026-11-01", "to": "2026-11-30"}, today) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert error_of(lambda: date_range({}, today)) == (400, "missing_parameter")
    assert error_of(lambda: date_range({"from": "2026-13-01"}, today)) == (400, "bad_date")
    assert error_of(lambda: date_range({"from": "2026-11-1"}, today)) == (400, "bad_date")
    assert error_of(lambda: date_range({"from": "2026-11-09'; DROP TABLE contacts;--"}, today)) == (
        400,
        "bad_date",
    )
    assert error_of(lambda: date_range({"from": "2026-11-09", "to": "2026-11-01"}, today)) == (
        400,
        "bad_range",
    )
    assert error_of(lambda: date_range({"from": "2026-01-01", "to": "2026-03-01"}, today, 31)) == (
        400,
        "bad_range",
    )


def test_to_defaults_to_today_within_the_longest_range_allowed() -> None:
    today = date(2026, 12, 6)
    # "from" alone means "since then": up to today, not just the one day (which hid interval rows).
    assert date_range({"from": "2026-11-09"}, today) == (date(2026, 11, 9), today)
    assert date_range({"from": "2026-12-06"}, today) == (today, today)
    # ... but never longer than the grain allows: the last day of the longest range instead.
    assert date_range({"from": "2026-09-01"}, today, 31) == (date(2026, 9, 1), date(2026, 10, 1))
    assert error_of(lambda: date_range({"from": "2026-12-07"}, today)) == (400, "bad_range")


def test_pagination_tokens_are_signed_and_bound_to_the_query() -> None:
    items = list(range(7))
    first = paginate(items, {"limit": "3"}, "q1", b"secret")
    assert first.items == [0, 1, 2]
    assert first.next_token
    second = paginate(items, {"limit": "3", "next_token": first.next_token}, "q1", b"secret")
    assert second.items == [3, 4, 5]
    last = paginate(items, {"limit": "3", "next_token": second.next_token or ""}, "q1", b"secret")
    assert last.items == [6]
    assert last.next_token is None
    assert error_of(lambda: paginate(items, {"next_token": first.next_token or ""}, "q2", b"secret")) == (
        400,
        "bad_token",
    )
    assert error_of(lambda: paginate(items, {"next_token": "eyJvIjo1LCJzIjoieCJ9"}, "q1", b"secret")) == (
        400,
        "bad_token",
    )
    assert error_of(lambda: paginate(items, {"limit": "0"}, "q1", b"secret")) == (400, "bad_parameter")
    assert error_of(lambda: paginate(items, {"limit": "5000"}, "q1", b"secret")) == (400, "bad_parameter")
