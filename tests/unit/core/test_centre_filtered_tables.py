"""The local engine reads one centre's folder for a table only when the statement itself keeps only
that centre's rows of it wherever it reads it (sqlfiles.centre_filtered_tables)."""

from __future__ import annotations

import pytest

from contactlake.sqlfiles import centre_filtered_tables, load_sql, sql_names


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM contacts WHERE centre_id = :centre_id", {"contacts"}),
        (
            "SELECT * FROM contacts WHERE :centre_id = centre_id AND contact_date > DATE '2026-01-01'",
            {"contacts"},
        ),
        ("SELECT * FROM contacts AS c WHERE c.centre_id = :centre_id", {"contacts"}),
        # Every read must keep one centre: here the second branch reads them all.
        (
            "SELECT contact_id FROM contacts WHERE centre_id = :centre_id "
            "UNION ALL SELECT contact_id FROM contacts WHERE contact_date = :day",
            set(),
        ),
        ("SELECT * FROM contacts WHERE centre_id = :centre_id OR queue = 'x'", set()),
        ("SELECT * FROM contacts WHERE centre_id = :other", set()),
        ("SELECT * FROM contacts WHERE centre_id <> :centre_id", set()),
        ("SELECT * FROM contacts", set()),
        # Two sources: only a column qualified by the table's alias counts.
        (
            "SELECT * FROM contacts AS c JOIN agent_activity AS a ON a.agent_id = c.agent_id "
            "WHERE c.centre_id = :centre_id",
            {"contacts"},
        ),
        (
            "SELECT * FROM contacts AS c JOIN agent_activity AS a ON a.agent_id = c.agent_id "
            "WHERE centre_id = :centre_id",
            set(),
        ),
        # A filter in an outer SELECT does not narrow the read inside a subquery.
        ("SELECT * FROM (SELECT * FROM contacts) AS s WHERE s.centre_id = :centre_id", set()),
        (
            "WITH x AS (SELECT * FROM contacts WHERE centre_id = :centre_id) SELECT * FROM x",
            {"contacts"},
        ),
    ],
)
def test_which_tables_a_statement_reads_for_one_centre(sql: str, expected: set[str]) -> None:
    assert centre_filtered_tables(sql) == expected


def test_the_shipped_models_read_contacts_for_one_centre() -> None:
    for name in ("kpi_interval", "kpi_agent_interval", "test_contact_kpis", "pathway_daily"):
        assert "contacts" in centre_filtered_tables(load_sql(name)), name
    assert centre_filtered_tables(load_sql("lake_date_range")) == set()
    assert all(not centre_filtered_tables(load_sql(view)) for view in sql_names("views"))
