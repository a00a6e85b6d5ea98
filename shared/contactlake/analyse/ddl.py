"""Glue / Athena table and view definitions, rendered from the Arrow schemas the pipeline writes with.

One source of truth: every table's columns come from its :class:`~contactlake.lake.LakeTable` schema,
so the DDL cannot drift from the Parquet (``tests/functional/analyse/test_ddl_matches_parquet.py``
reads back what the pipeline wrote and compares). Column comments come from the fields' ``doc``.
Views are the ``v_*.sql`` files (Trino dialect), wrapped in ``CREATE OR REPLACE VIEW``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from contactlake.sqlfiles import load_sql, sql_names
from contactlake.tables import LakeTable, all_tables

__all__ = [
    "VIEWS",
    "all_ddl",
    "athena_ddl",
    "glue_columns",
    "glue_table_input",
    "hive_type",
    "view_columns",
    "view_ddl",
]

#: BI views: the SQL files of ``sql/views/``, each holding its SELECT.
VIEWS = tuple(sql_names("views"))
_PARTITION_TYPES = {"VARCHAR": "string", "DATE": "date", "BIGINT": "bigint", "INTEGER": "int"}


def hive_type(arrow_type: pa.DataType) -> str:
    """The Glue / Hive column type Athena reads a Parquet column of this Arrow type as."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_int32(arrow_type):
        return "int"
    if pa.types.is_int16(arrow_type):
        return "smallint"
    if pa.types.is_int8(arrow_type):
        return "tinyint"
    if pa.types.is_float64(arrow_type):
        return "double"
    if pa.types.is_float32(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_date32(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    raise TypeError(f"no Athena type for Arrow {arrow_type}; add one to contactlake.analyse.ddl.hive_type")


def _doc(field: pa.Field) -> str:
    return str((field.metadata or {}).get(b"doc", b"").decode())


def glue_columns(table: LakeTable) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(Columns, PartitionKeys) as Glue wants them: Name, Type and Comment."""
    columns = [{"Name": f.name, "Type": hive_type(f.type), "Comment": _doc(f)[:255]} for f in table.schema]
    partitions = [{"Name": name, "Type": _PARTITION_TYPES[sql_type]} for name, sql_type in table.partitions]
    return columns, partitions


def _location(table: LakeTable, buckets: Mapping[str, str] | None) -> str:
    bucket = (buckets or {}).get(table.area, f"contactlake-{table.area}")
    return f"s3://{bucket}/{table.prefix}/"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def athena_ddl(
    table: LakeTable, buckets: Mapping[str, str] | None = None, database: str = "contactlake"
) -> str:
    """``CREATE EXTERNAL TABLE`` for one lake table (``buckets`` maps area -> bucket name)."""
    columns, partitions = glue_columns(table)
    body = ",\n".join(f"  `{c['Name']}` {c['Type']} COMMENT '{_quote(c['Comment'])}'" for c in columns)
    keys = ", ".join(f"`{p['Name']}` {p['Type']}" for p in partitions)
    comment = (table.schema.metadata or {}).get(b"doc", b"").decode()
    version = (table.schema.metadata or {}).get(b"contactlake.schema_version", b"1").decode()
    lines = [
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (",
        body,
        ")",
        *([f"COMMENT '{_quote(comment)}'"] if comment else []),
        f"PARTITIONED BY ({keys})",
        "STORED AS PARQUET",
        f"LOCATION '{_location(table, buckets)}'",
        f"TBLPROPERTIES ('parquet.compression'='ZSTD', 'contactlake.schema_version'='{version}')",
    ]
    return "\n".join(lines)


def glue_table_input(table: LakeTable, buckets: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Glue ``TableInput`` equivalent of :func:`athena_ddl` (for CloudFormation or boto3)."""
    columns, partitions = glue_columns(table)
    return {
        "Name": table.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "parquet.compression": "ZSTD", "EXTERNAL": "TRUE"},
        "PartitionKeys": partitions,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": _location(table, buckets),
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
            },
        },
    }


def _engine_schema() -> dict[str, object]:
    """Every lake table's columns with their Athena (Trino) types, for sqlglot's type inference."""
    schema: dict[str, object] = {}
    for table in all_tables().values():
        columns = {f.name: hive_type(f.type).replace("string", "varchar") for f in table.schema}
        schema[table.name] = {**columns, **dict(table.partitions)}
    return schema


def view_columns(name: str) -> list[tuple[str, str]]:
    """A BI view's output columns and their Trino types, inferred from its SQL and the lake tables'
    schemas (the types Athena computes, so a Glue view definition matches what Athena derives)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    if name not in VIEWS:
        raise KeyError(f"no view {name!r}; known: {', '.join(VIEWS)}")
    schema = _engine_schema()
    tree = annotate_types(
        qualify(sqlglot.parse_one(load_sql(name), read="trino"), schema=schema), schema=schema
    )
    if not isinstance(tree, exp.Query):
        raise TypeError(f"view {name}: its SQL must be one SELECT")
    columns = []
    for select in tree.selects:
        kind = select.type.sql("trino").lower() if select.type else ""
        if not kind or kind == "unknown":
            raise TypeError(
                f"view {name}: cannot infer the type of column {select.alias_or_name}; add a CAST"
            )
        columns.append((select.alias_or_name, kind))
    return columns


def view_ddl(name: str, database: str = "contactlake") -> str:
    """``CREATE OR REPLACE VIEW`` for a BI view (run it in Athena; Glue stores the result)."""
    if name not in VIEWS:
        raise KeyError(f"no view {name!r}; known: {', '.join(VIEWS)}")
    return f'CREATE OR REPLACE VIEW "{database}"."{name}" AS\n{load_sql(name).strip()}'


def all_ddl(buckets: Mapping[str, str] | None = None, database: str = "contactlake") -> list[str]:
    """Every table, then every view, in an order Athena can run them in."""
    tables = [athena_ddl(t, buckets, database) for t in all_tables().values()]
    return [*tables, *(view_ddl(v, database) for v in VIEWS)]
