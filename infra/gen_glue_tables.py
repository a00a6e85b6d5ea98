"""Render the Glue ``AWS::Glue::Table`` resources of ``template.yaml`` from the project's Arrow schemas,
and the BI views (``sql/views``) as Glue views Athena reads (see :func:`render_view`).

The Glue catalogue must describe exactly what the writers put in the Parquet files, or Athena fails at
query time (``HIVE_BAD_DATA``) or silently reads NULLs. So the tables are not written by hand: this script
renders them from :data:`contactlake.tables.LAKE_TABLES` (the one registry: curated tables, from
``contactlake.schema``, and the aggregate tables), and keeps them between two marker
lines in ``template.yaml``, together with the analyse role's grant to register partitions of the aggregate
tables (so adding an aggregate table to the code adds its table and its grant in one regeneration)::

    python infra/gen_glue_tables.py            # print the generated block
    python infra/gen_glue_tables.py --check    # exit 1 if template.yaml is stale (CI / tests)
    python infra/gen_glue_tables.py --write    # rewrite the block in template.yaml

It needs the ``contactlake`` package importable (installed, or ``PYTHONPATH=shared``).

Type mapping (Arrow -> Glue/Athena): string -> string, int32 -> int, int64 -> bigint, float64 -> double,
bool -> boolean, date32 -> date, timestamp[ms|us] without zone -> timestamp. Partition columns come from
the table's ``partitions`` (they live in the key, never in the files) and are not repeated as columns.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"

BEGIN = (
    "  # --- BEGIN GENERATED GLUE TABLES (python infra/gen_glue_tables.py --write; do not edit by hand) ---"
)
END = "  # --- END GENERATED GLUE TABLES ---"

#: Bucket of each storage area, as the template names it (a ``!Sub`` string; see template.yaml).
AREA_BUCKETS = {
    "raw": "contactlake-${Environment}-raw-${AWS::AccountId}-${AWS::Region}",
    "lake": "contactlake-${Environment}-lake-${AWS::AccountId}-${AWS::Region}",
    "quarantine": "contactlake-${Environment}-quarantine-${AWS::AccountId}-${AWS::Region}",
    "reports": "contactlake-${Environment}-reports-${AWS::AccountId}-${AWS::Region}",
}

_PARTITION_TYPES = {"VARCHAR": "string", "DATE": "date", "BIGINT": "bigint", "INTEGER": "int"}
_COMMENT_MAX = 255  # Glue's limit for a column comment


def _lake_tables() -> dict[str, Any]:
    """All lake tables, curated ones first, in the order the package declares them."""
    return dict(importlib.import_module("contactlake.tables").LAKE_TABLES)


def glue_type(arrow_type: Any) -> str:
    """The Glue/Athena column type for an Arrow type; anything Athena cannot read as-is is an error."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.date32(): "date",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            raise ValueError(
                f"{t}: zoned timestamps are not used in the lake (see docs/adr/0002-timestamps.md)"
            )
        if t.unit not in ("ms", "us"):
            raise ValueError(
                f"{t}: write timestamps as ms or us; Athena cannot read {t.unit} Parquet timestamps"
            )
        return "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    raise ValueError(f"no Glue type mapping for Arrow type {t}; extend infra/gen_glue_tables.py")


def partition_type(sql_type: str) -> str:
    try:
        return _PARTITION_TYPES[sql_type.upper()]
    except KeyError:
        raise ValueError(f"no Glue type for partition type {sql_type!r}") from None


def logical_id(table_name: str) -> str:
    return "GlueTable" + "".join(part.capitalize() for part in table_name.split("_"))


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _columns(schema: Any) -> Iterable[tuple[str, str, str | None]]:
    for field in schema:
        doc = None
        if field.metadata and b"doc" in field.metadata:
            doc = field.metadata[b"doc"].decode()[:_COMMENT_MAX]
        yield field.name, glue_type(field.type), doc


def render_table(table: Any) -> str:
    """One ``AWS::Glue::Table`` resource as YAML lines (two-space indent under ``Resources``)."""
    if table.area not in AREA_BUCKETS:
        raise ValueError(f"table {table.name}: no bucket for area {table.area!r}")
    metadata = table.schema.metadata or {}
    version = metadata.get(b"contactlake.schema_version", b"").decode()
    kind = "Aggregate" if table.prefix.startswith("aggregates/") else "Curated"
    location = f"s3://{AREA_BUCKETS[table.area]}/{table.prefix.rstrip('/')}/"
    lines = [
        f"  {logical_id(table.name)}:",
        "    Type: AWS::Glue::Table",
        "    Properties:",
        "      CatalogId: !Ref AWS::AccountId",
        "      DatabaseName: !Ref GlueDatabase",
        "      TableInput:",
        f"        Name: {table.name}",
        f"        Description: {_q(f'{kind} table {table.name} (partitions registered by the writer).')}",
        "        TableType: EXTERNAL_TABLE",
        "        Parameters:",
        "          classification: parquet",
        '          EXTERNAL: "TRUE"',
        "          parquet.compression: ZSTD",
    ]
    if version:
        lines.append(f"          contactlake.schema_version: {_q(version)}")
    lines.append("        PartitionKeys:")
    for name, sql_type in table.partitions:
        lines += [f"          - Name: {name}", f"            Type: {partition_type(sql_type)}"]
    lines += [
        "        StorageDescriptor:",
        f"          Location: !Sub {_q(location)}",
        "          InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "          OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "          SerdeInfo:",
        "            SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "          Columns:",
    ]
    partition_names = {name for name, _ in table.partitions}
    for name, gtype, doc in _columns(table.schema):
        if name in partition_names:
            raise ValueError(f"table {table.name}: partition column {name} must not be stored in the files")
        lines += [f"            - Name: {name}", f"              Type: {gtype}"]
        if doc:
            lines.append(f"              Comment: {_q(doc)}")
    return "\n".join(lines)


#: Trino types of view columns -> the Glue (Hive) types of the view's StorageDescriptor.
_VIEW_HIVE_TYPES = {"varchar": "string", "integer": "int", "timestamp(3)": "timestamp"}


def render_view(name: str) -> str:
    """One BI view (``sql/views``) as an ``AWS::Glue::Table`` of type VIRTUAL_VIEW, in the form Athena's
    own ``CREATE VIEW`` stores: the Trino SQL and its columns, base64-encoded JSON in ``ViewOriginalText``
    ("/* Presto View: ... */"). So the views exist as soon as the stack does (a deploy step, not a job
    that may not have run yet); column types are inferred from the SQL (``ddl.view_columns``)."""
    catalogue = importlib.import_module("contactlake.analyse.catalogue")
    ddl = importlib.import_module("contactlake.analyse.ddl")
    sql = "\n".join(line for line in ddl.load_sql(name).splitlines() if not line.startswith("--")).strip()
    if "${" in sql:
        raise ValueError(f"view {name}: its SQL must not contain '${{' (the template substitutes it)")
    view = catalogue.relation(name)
    definition = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": "${GlueDatabaseName}",
        "columns": [{"name": c.name, "type": c.type} for c in view.columns],
        "owner": "contactlake",
        "runAsInvoker": False,
        "properties": {},
    }
    lines = [
        f"  GlueView{logical_id(name).removeprefix('GlueTable')}:",
        "    Type: AWS::Glue::Table",
        "    Properties:",
        "      CatalogId: !Ref AWS::AccountId",
        "      DatabaseName: !Ref GlueDatabase",
        "      TableInput:",
        f"        Name: {name}",
        f"        Description: {_q(('BI view. ' + view.description)[:2048])}",
        "        TableType: VIRTUAL_VIEW",
        "        Parameters:",
        '          presto_view: "true"',
        "          comment: Presto View",
        "        ViewOriginalText: !Join",
        '          - ""',
        '          - - "/* Presto View: "',
        f'            - !Base64 {{"Fn::Sub": {_q(json.dumps(definition, separators=(",", ":")))}}}',
        '            - " */"',
        '        ViewExpandedText: "/* Presto View */"',
        "        StorageDescriptor:",
        "          SerdeInfo: {}",
        "          Columns:",
    ]
    for column in view.columns:
        lines += [
            f"            - Name: {column.name}",
            f"              Type: {_VIEW_HIVE_TYPES.get(column.type, column.type)}",
            f"              Comment: {_q(column.description[:_COMMENT_MAX])}",
        ]
    return "\n".join(lines)


def is_aggregate(table: Any) -> bool:
    return str(table.prefix).startswith("aggregates/")


def render_aggregate_policy(tables: Iterable[Any]) -> str:
    """The analyse role's grant to register partitions of exactly the aggregate tables."""
    arn = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
    lines = [
        "  GlueAggregatePartitionsPolicy:",
        "    Type: AWS::IAM::Policy",
        "    Properties:",
        "      PolicyName: register-aggregate-partitions",
        "      Roles:",
        "        - !Ref AnalyseRole",
        "      PolicyDocument:",
        '        Version: "2012-10-17"',
        "        Statement:",
        "          - Sid: RegisterAggregatePartitions",
        "            Effect: Allow",
        "            Action:",
        *(
            f"              - glue:{action}"
            # What GlueCatalog.add_partitions calls (tests/functional/aws measures it).
            for action in ("GetTable", "BatchCreatePartition")
        ),
        "            Resource:",
        f"              - !Sub {_q(f'{arn}:catalog')}",
        f"              - !Sub {_q(arn + ':database/${GlueDatabaseName}')}",
        *(f"              - !Sub {_q(arn + ':table/${GlueDatabaseName}/' + t.name)}" for t in tables),
    ]
    return "\n".join(lines)


def render_block() -> str:
    """The whole generated block, markers included."""
    tables = _lake_tables()
    views = importlib.import_module("contactlake.analyse.ddl").VIEWS
    body = "\n\n".join([*(render_table(t) for t in tables.values()), *(render_view(v) for v in views)])
    policy = render_aggregate_policy(t for t in tables.values() if is_aggregate(t))
    return f"{BEGIN}\n{body}\n\n{policy}\n{END}"


def replace_block(template_text: str, block: str) -> str:
    start = template_text.find(BEGIN)
    end = template_text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"template.yaml has no generated-block markers:\n{BEGIN}\n{END}")
    return template_text[:start] + block + template_text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if template.yaml differs from the schemas")
    mode.add_argument("--write", action="store_true", help="rewrite the generated block in template.yaml")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)

    block = render_block()
    if not (args.check or args.write):
        print(block)
        return 0
    text = args.template.read_text(encoding="utf-8")
    updated = replace_block(text, block)
    if args.check:
        if updated != text:
            print(
                f"{args.template}: the Glue tables do not match the Arrow schemas; "
                "run `python infra/gen_glue_tables.py --write` and review the diff",
                file=sys.stderr,
            )
            return 1
        print(f"{args.template}: Glue tables match the Arrow schemas")
        return 0
    if updated != text:
        args.template.write_text(updated, encoding="utf-8")
        print(f"{args.template}: Glue tables rewritten")
    else:
        print(f"{args.template}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
