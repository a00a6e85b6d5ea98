"""The Glue tables in template.yaml describe exactly the Parquet files the Python code writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import gen_glue_tables
from infra.cfn import resources, sub_text


@pytest.fixture(scope="module")
def lake_tables() -> dict[str, Any]:
    return gen_glue_tables._lake_tables()


@pytest.fixture(scope="module")
def glue_tables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for _, r in resources(template, "AWS::Glue::Table")
        if r["Properties"]["TableInput"]["TableType"] != "VIRTUAL_VIEW"
    }


@pytest.fixture(scope="module")
def glue_views(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for _, r in resources(template, "AWS::Glue::Table")
        if r["Properties"]["TableInput"]["TableType"] == "VIRTUAL_VIEW"
    }


def test_generated_block_is_up_to_date(repo: Path) -> None:
    """Fails when a schema changed without `python infra/gen_glue_tables.py --write`."""
    text = (repo / "template.yaml").read_text(encoding="utf-8")
    assert gen_glue_tables.replace_block(text, gen_glue_tables.render_block()) == text


def test_every_lake_table_has_a_glue_table(lake_tables: dict[str, Any], glue_tables: dict[str, Any]) -> None:
    assert set(glue_tables) == set(lake_tables)
    assert {
        "contacts",
        "pathway_steps",
        "agent_activity",
        "quarantine",
        "ingest_log",
        "kpi_interval",
        "kpi_daily",
    } <= set(glue_tables)


def test_columns_and_types_match_arrow_schemas(
    lake_tables: dict[str, Any], glue_tables: dict[str, Any]
) -> None:
    import pyarrow as pa

    expected_type = {
        pa.string(): "string",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float64(): "double",
        pa.timestamp("ms"): "timestamp",
        pa.date32(): "date",
        pa.bool_(): "boolean",
    }
    for name, table in lake_tables.items():
        columns = glue_tables[name]["StorageDescriptor"]["Columns"]
        assert [c["Name"] for c in columns] == table.schema.names, name
        for column, field in zip(columns, table.schema, strict=True):
            assert column["Type"] == expected_type[field.type], f"{name}.{field.name}"


def test_partitions_match_lake_layout_and_are_not_in_files(
    lake_tables: dict[str, Any], glue_tables: dict[str, Any]
) -> None:
    sql_to_glue = {"VARCHAR": "string", "DATE": "date"}
    for name, table in lake_tables.items():
        keys = glue_tables[name]["PartitionKeys"]
        assert [(k["Name"], k["Type"]) for k in keys] == [(n, sql_to_glue[t]) for n, t in table.partitions], (
            name
        )
        stored = {c["Name"] for c in glue_tables[name]["StorageDescriptor"]["Columns"]}
        assert not stored & set(table.partition_names), name


def test_locations_point_at_each_tables_bucket_and_prefix(
    lake_tables: dict[str, Any], glue_tables: dict[str, Any]
) -> None:
    for name, table in lake_tables.items():
        location = sub_text(glue_tables[name]["StorageDescriptor"]["Location"])
        bucket = gen_glue_tables.AREA_BUCKETS[table.area]
        assert location == f"s3://{bucket}/{table.prefix}/", name


def test_partitions_are_registered_not_projected(glue_tables: dict[str, Any]) -> None:
    """ADR 0003: writers register partitions; projection settings would make Athena ignore them."""
    for name, table in glue_tables.items():
        assert not any(key.startswith("projection.") for key in table.get("Parameters", {})), name


def test_type_mapping_rejects_what_athena_cannot_read() -> None:
    import pyarrow as pa

    assert gen_glue_tables.glue_type(pa.timestamp("us")) == "timestamp"
    assert gen_glue_tables.glue_type(pa.decimal128(12, 2)) == "decimal(12,2)"
    for bad in (pa.timestamp("ns"), pa.timestamp("ms", tz="UTC"), pa.list_(pa.string())):
        with pytest.raises(ValueError, match=r"timestamp|mapping"):
            gen_glue_tables.glue_type(bad)


def _glue_tables_granted(template: dict[str, Any], role: str, sid: str) -> set[str]:
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (statement,) = [s for s in statements if s.get("Sid") == sid]
    assert "glue:BatchCreatePartition" in statement["Action"]
    return {
        text.rsplit("/", 1)[-1]
        for text in (sub_text(r) or "" for r in statement["Resource"])
        if ":table/" in text
    }


def test_partition_grants_cover_the_tables_each_writer_registers(
    template: dict[str, Any], lake_tables: dict[str, Any]
) -> None:
    """validate registers curated + quarantine partitions, ingest those of a rejected file, analyse aggregates,
    report the report_issues it writes."""
    curated = {n for n, t in lake_tables.items() if not gen_glue_tables.is_aggregate(t)}
    aggregates = {n for n, t in lake_tables.items() if gen_glue_tables.is_aggregate(t)}
    assert _glue_tables_granted(template, "ValidateRole", "RegisterPartitions") == curated - {"report_issues"}
    assert _glue_tables_granted(template, "ReportRole", "RegisterIssuePartitions") == {"report_issues"}
    assert _glue_tables_granted(template, "IngestRole", "RegisterRejectionPartitions") == {
        "quarantine",
        "ingest_log",
    }
    generated = template["Resources"]["GlueAggregatePartitionsPolicy"]["Properties"]
    assert generated["Roles"] == [{"Ref": "AnalyseRole"}]
    resources_ = generated["PolicyDocument"]["Statement"][0]["Resource"]
    assert {
        (sub_text(r) or "").rsplit("/", 1)[-1] for r in resources_ if ":table/" in (sub_text(r) or "")
    } == aggregates


def test_every_bi_view_is_a_glue_view_athena_can_read(glue_views: dict[str, Any]) -> None:
    """The views are created by the deployment (Athena's own view format), so a BI tool finds them as
    soon as the stack exists; their SQL is the file in sql/views and their columns what it selects."""
    import json

    from contactlake.analyse.catalogue import relation
    from contactlake.analyse.ddl import VIEWS, view_columns

    assert set(glue_views) == set(VIEWS) >= {"v_kpi_daily", "v_cost_daily"}
    for name, view in glue_views.items():
        assert view["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
        assert view["ViewExpandedText"] == "/* Presto View */"
        separator, (prefix, encoded, suffix) = view["ViewOriginalText"]["Fn::Join"]
        assert (separator, prefix, suffix) == ("", "/* Presto View: ", " */")
        definition = json.loads(
            encoded["Fn::Base64"]["Fn::Sub"].replace("${GlueDatabaseName}", "contactlake")
        )
        assert definition["schema"] == "contactlake"
        assert definition["catalog"] == "awsdatacatalog"
        assert [(c["name"], c["type"]) for c in definition["columns"]] == view_columns(name)
        assert (
            "FROM kpi_daily" in definition["originalSql"]
            or "FROM agent_state_interval" in definition["originalSql"]
        )
        assert "--" not in definition["originalSql"].splitlines()[0]
        described = relation(name)
        assert described is not None
        assert [c["Name"] for c in view["StorageDescriptor"]["Columns"]] == [
            c.name for c in described.columns
        ]


def test_column_comments_are_written_for_people(template: dict[str, Any]) -> None:
    """Every column of every Glue table and view has a comment, and none points at a Python constant
    ("One of CHANNELS.") instead of saying what the values are."""
    import re

    from contactlake import metrics, schema

    constants = {name for module in (schema, metrics) for name in dir(module) if name.isupper()}
    for _, resource in resources(template, "AWS::Glue::Table"):
        table = resource["Properties"]["TableInput"]
        for column in table["StorageDescriptor"]["Columns"]:
            comment = column.get("Comment", "")
            assert comment, f"{table['Name']}.{column['Name']} has no comment"
            named = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", comment)) & constants
            assert not named, f"{table['Name']}.{column['Name']}: {comment!r} names {named}"
    contacts = next(
        r["Properties"]["TableInput"]
        for _, r in resources(template, "AWS::Glue::Table")
        if r["Properties"]["TableInput"]["Name"] == "contacts"
    )
    channel = next(c for c in contacts["StorageDescriptor"]["Columns"] if c["Name"] == "channel")
    assert all(value in channel["Comment"] for value in schema.CHANNELS)
