"""The ``contactlake`` command: one subcommand per stage, on the local lake by default.

Run ``contactlake --help`` or ``contactlake <command> --help``. Every command works on the lake folder
given by ``--home`` (default ``./data``, or ``CONTACTLAKE_HOME``) and the configuration given by
``--config`` (default: the demo configuration shipped with the package, or ``CONTACTLAKE_CONFIG``).

No error reaches the user as a traceback: :func:`main` maps each kind of failure to a one- or two-line
message that says what to do, and to an exit code per class (:data:`EXIT_CODES`, printed in ``--help``
and in docs/cli.md); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import shutil
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from contactlake import __version__
from contactlake.commit.lease import CommitBusy
from contactlake.config import (
    AUDIENCES,
    PERIODS,
    AppConfig,
    ConfigError,
    Settings,
    UnknownCentre,
    UnknownSource,
    effective_config,
    load_app_config,
    load_settings,
)
from contactlake.ports import Ports, QueryError

__all__ = ["EXIT_CODES", "main"]

# ------------------------------------------------------------------------------- errors and exit codes

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_INPUT_DATA = 4
EXIT_ENVIRONMENT = 5
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141

#: Every exit status and what it means; printed by ``--help`` and kept equal to docs/cli.md by a test.
EXIT_CODES = (
    (EXIT_OK, "success"),
    (EXIT_UNEXPECTED, "unexpected error (a bug): run again with --debug and report the traceback"),
    (EXIT_USAGE, "usage: a wrong option, argument, centre id or SQL statement"),
    (EXIT_CONFIGURATION, "configuration: the TOML file (or a mapping file) is invalid"),
    (EXIT_INPUT_DATA, "input data: an export was rejected (its manifest says why)"),
    (EXIT_ENVIRONMENT, "environment: a missing package, file permission, busy lake, AWS or mail problem"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_PIPE_CLOSED, "the reader closed the output early (a pipe into head), as for any Unix tool"),
)

ISSUES_URL = "https://github.com/contactlake/contactlake/issues"


def _sql_hint() -> str:
    """What to check when SQL fails: the dialect, and every table and view name (from the registry)."""
    from contactlake.analyse.catalogue import relation_names

    return (
        "check the SQL (Athena/Trino dialect) and the names; the tables and views are "
        f"{', '.join(relation_names())} (`contactlake tables` describes them)"
    )


#: pip extras that provide an optional import, for "install it with …" advice.
_EXTRAS = {"chalice": "api", "awswrangler": "aws"}


class CliError(Exception):
    """A problem the user can fix by changing the command (exit 2); printed with what to do next."""


class InputDataError(CliError):
    """The data given was refused (exit 4); the message says why and where the details are."""


class EnvironmentProblem(CliError):
    """Something around contactlake is missing or failing (exit 5): a package, a permission, a service."""


def _explain(error: Exception) -> tuple[int, str]:
    """The exit code and the message for a failure: the one place errors are classified."""
    if isinstance(error, InputDataError):
        return EXIT_INPUT_DATA, str(error)
    if isinstance(error, EnvironmentProblem):
        return EXIT_ENVIRONMENT, str(error)
    if isinstance(error, CliError | UnknownCentre | UnknownSource):
        return EXIT_USAGE, str(error)
    if isinstance(error, ConfigError):
        return EXIT_CONFIGURATION, str(error)
    if isinstance(error, CommitBusy):
        return EXIT_ENVIRONMENT, (
            f"{error}\n  another contactlake process is committing to this lake; "
            "run the command again when it has finished"
        )
    if isinstance(error, QueryError):
        return (
            EXIT_ENVIRONMENT,
            f"{error}\n  the query engine failed; check the lake folder or Athena workgroup",
        )
    if isinstance(error, ModuleNotFoundError):
        extra = _EXTRAS.get((error.name or "").partition(".")[0])
        fix = (
            f"pip install 'contactlake[{extra}]'"
            if extra
            else "reinstall contactlake (pip install contactlake)"
        )
        return EXIT_ENVIRONMENT, f"the Python package {error.name!r} is not installed; {fix}"
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return EXIT_ENVIRONMENT, (
            f"{error.strerror or error}{where}; check that the path exists and that you may read and write it"
        )
    if type(error).__module__.startswith(("botocore", "boto3")):
        return EXIT_ENVIRONMENT, (
            f"AWS: {error}\n  check the AWS credentials and region, and the CONTACTLAKE_* bucket settings"
        )
    return EXIT_UNEXPECTED, (
        f"unexpected error ({type(error).__name__}: {error})\n  this is a bug: run the command again with "
        f"--debug and report the traceback at {ISSUES_URL}"
    )


def _close_stdout_quietly() -> None:
    """After the reader went away, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


# ----------------------------------------------------------------------------------------- arguments


def _load_config(args: argparse.Namespace, settings: Settings) -> AppConfig:
    return load_app_config(args.config or settings.config_path)


def _context(args: argparse.Namespace) -> tuple[Settings, AppConfig, Ports]:
    from contactlake.adapters import build_ports

    settings = load_settings()
    if args.home:
        settings = replace(settings, home=Path(args.home))
    config = _load_config(args, settings)
    return settings, config, build_ports(settings)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-02") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _progress(total: int, unit: str, description: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit=unit,
        desc=description,
        unit_scale=True,
        leave=False,
        file=sys.stderr,
        disable=not sys.stderr.isatty() and os.environ.get("CONTACTLAKE_PROGRESS") != "1",
    )


def _ingest_key(ports: Ports, config: AppConfig, settings: Settings, key: str, size: int) -> Any:
    from contactlake.pipeline import process_upload

    with _progress(size, "rows", key.rsplit("/", 1)[-1]) as bar:
        return process_upload(ports, config, settings, key, progress=bar.update)


def _carried_text(manifest: Any) -> str:
    """Records taken in from the previous upload and carried to the next (event logs cut into files)."""
    parts = []
    if manifest.rows_carried_in:
        parts.append(f"carried in {manifest.rows_carried_in:,}")
    if manifest.rows_carried:
        parts.append(f"carried to the next upload {manifest.rows_carried:,}")
    return f", {', '.join(parts)}" if parts else ""


def _print_manifest(manifest: Any) -> None:
    rules = ", ".join(f"{rule} {n}" for rule, n in manifest.quarantined_by_rule.items())
    excluded = ", ".join(f"{rule} {n}" for rule, n in manifest.excluded_by_rule.items())
    flags = ", ".join(f"{rule} {n}" for rule, n in manifest.flagged_by_rule.items())
    flagged = f" (flagged {manifest.rows_flagged:,}: {flags})" if flags else ""
    print(
        f"  {manifest.source_key}: {manifest.status} — read {manifest.rows_read:,}, "
        f"stored {manifest.rows_stored:,}{flagged}, "
        f"quarantined {manifest.rows_quarantined:,}{f' ({rules})' if rules else ''}, excluded "
        f"{manifest.rows_excluded:,}{f' ({excluded})' if excluded else ''}"
        f"{_carried_text(manifest)}"
        f"{'' if manifest.reconciles else '  ** DOES NOT RECONCILE **'}"
    )
    if manifest.message:
        print(f"    {manifest.message}")


def _dry_run(settings: Settings, config: AppConfig, key: str, source_file: Path) -> int:
    """Parse into a throw-away lake and print the counts by rule: the user's lake is not touched."""
    import tempfile

    from contactlake.adapters.local import build_local_ports
    from contactlake.ingest.carry import CARRY_PREFIX
    from contactlake.pipeline import dry_run

    with tempfile.TemporaryDirectory(prefix="contactlake-dry-run-") as scratch:
        ports = build_local_ports(replace(settings, home=Path(scratch)))
        ports.store.put_file("raw", key, source_file)
        # What the source's previous upload left open is read from the user's lake (an event log's calls
        # whose end is in this file are joined as a real ingest would join them).
        carried = f"{CARRY_PREFIX}/{'/'.join(key.split('/')[:2])}"
        for state in sorted((settings.home / "lake" / carried).glob("*.json")):
            ports.store.put_file("lake", f"{carried}/{state.name}", state)
        result = dry_run(ports, config, settings, key)
    if result.rejected_whole:
        print(f"  {key}: would be rejected whole — {result.rejected_whole}")
        return EXIT_OK

    def by_rule(counts: Counter[str]) -> str:
        return ", ".join(f"{rule} {n:,}" for rule, n in sorted(counts.items())) or "none"

    print(f"  {key}: dry run, nothing written — read {result.rows_read:,}, would store {result.stored:,}")
    print(f"    flagged (stored, by rule):   {by_rule(result.flagged)}")
    print(f"    quarantined (by rule):       {by_rule(result.quarantined)}")
    print(f"    excluded (by rule):          {by_rule(result.excluded)}")
    if result.carried:
        print(f"    carried to the next upload:  {result.carried:,} (calls or spans whose end is not in it)")
    return EXIT_OK


def cmd_mapping_draft(args: argparse.Namespace) -> int:
    from contactlake.ingest.mapping_draft import draft_mapping
    from contactlake.ingest.reader import open_decoded

    sample = Path(args.file)
    if not sample.is_file():
        raise CliError(f"{sample} is not a file; give the path of a sample export")
    with sample.open("rb") as raw:
        decoded, _ = open_decoded(raw, sample.name, sample.stat().st_size)
        text = decoded.read(4 * 1024 * 1024).decode("utf-8", errors="replace")
    toml = draft_mapping(text.rsplit("\n", 1)[0] if "\n" in text else text, sample.name)
    if args.out:
        Path(args.out).write_text(toml, encoding="utf-8")
        print(f"mapping drafted: {args.out} — edit it, then name it in the source's configuration")
    else:
        print(toml, end="")
    return EXIT_OK


def _warn_if_demo_key(settings: Settings) -> None:
    """Outside the demo, hashing callers with the public demo key protects nothing: say so."""
    if settings.is_demo_key:
        print(
            "warning: CONTACTLAKE_PII_KEY is not set, so caller numbers are hashed with the public demo key "
            "and anyone can reverse them; set it to a secret of your own before ingesting real exports",
            file=sys.stderr,
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    from contactlake.ingest.detect import fits_of, read_head, sniff

    settings, config, ports = _context(args)
    source_file = Path(args.file)
    if not source_file.is_file():
        raise CliError(f"{source_file} is not a file; give the path of an export to ingest")
    centre = config.centre(args.centre)
    if not centre.sources:
        raise CliError(
            f"centre {centre.centre_id} has no sources configured; add one to {config.source_path}"
        )
    head = sniff(*read_head(source_file))
    source = _choose_source(config, centre, args.source, fits_of(centre, head, config), head, source_file)
    if not head.has_rows:
        what = "it is empty" if head.kind == "empty" else "it has a header and no data rows"
        if not source.allow_empty:
            raise InputDataError(
                f"{source_file} has no rows ({what}); nothing was stored. Export the day again; if source "
                f"{source.name!r} may have no contacts on a day, set allow_empty = true under "
                f"[centres.{centre.centre_id}.sources.{source.name}] in {config.source_path}"
            )
        print(f"  {source_file}: no rows ({what}); allowed for source {source.name!r} (allow_empty)")
        if head.kind == "empty":
            return EXIT_OK
    key = f"{centre.centre_id}/{source.name}/{source_file.name}"
    if args.dry_run:
        return _dry_run(settings, config, key, source_file)
    # The raw area keeps its own copy: the user's file is never modified, and re-runs read the same bytes.
    ports.store.put_file("raw", key, source_file)
    manifest = _ingest_key(ports, config, settings, key, 0)
    _print_manifest(manifest)
    print(f"manifest: {settings.home / 'lake' / 'manifests' / (manifest.upload_id + '.json')}")
    if manifest.status == "rejected":
        raise InputDataError(
            f"{source_file} was rejected (the reason is above and in the manifest); fix the export or its "
            "mapping and ingest it again"
        )
    _warn_if_demo_key(settings)
    return EXIT_OK


def _choose_source(
    config: AppConfig, centre: Any, given: str | None, fits: list[Any], head: Any, path: Path
) -> Any:
    """The source an export is ingested as: ``--source`` if it fits the content; else the one source the
    content fits (the file's folder name breaks a tie); a misfit is named with the source that would fit."""
    fitting = [f for f in fits if f.fits]
    if given:
        source = centre.source(given)
        if head.kind == "empty" or next(f for f in fits if f.source == source.name).fits:
            return source
        misfit = next(f for f in fits if f.source == source.name)
        others = [f for f in fitting if f.source != source.name]
        if others:
            raise CliError(
                f"{path} does not look like source {source.name!r} ({misfit.reason}); it fits "
                f"{others[0].source!r} ({others[0].reason}): did you mean --source {others[0].source}?"
            )
        if (head.kind == "json") != (source.adapter in ("amazon_connect", "genesys_cloud")):
            adapter = head.json_adapter()
            fix = f'with adapter = "{adapter}"' if adapter else "whose adapter reads this format"
            reads = misfit.reason.removeprefix("it ")
            raise InputDataError(
                f"{path} is {head.describe()}, but source {source.name!r} {reads}; "
                f"none of centre {centre.centre_id}'s sources reads this format: add a source {fix} to "
                f"{config.source_path} and ingest with --source NAME"
            )
        return source  # the right format with other columns: the adapter names what is missing
    if head.kind == "empty" or len(fitting) > 1:
        candidates = [s for s in centre.sources if s.name in {f.source for f in fitting}] or list(
            centre.sources
        )
        by_folder = [s for s in candidates if s.name == path.parent.name]
        if len(candidates) == 1 or by_folder:
            return (by_folder or candidates)[0]
        if head.kind == "empty" and not any(s.allow_empty for s in candidates):
            raise InputDataError(
                f"{path} has no rows (it is empty); nothing was stored. Export the day again; if a source "
                "may have no contacts on a day, set allow_empty = true under its table in "
                f"{config.source_path} and give --source NAME"
            )
        raise CliError(
            f"{path} could be any of the sources {', '.join(s.name for s in candidates)} of centre "
            f"{centre.centre_id}; give --source NAME"
        )
    if fitting:
        print(f"  source: {fitting[0].source} (detected: {fitting[0].reason})")
        return centre.source(fitting[0].source)
    reasons = "; ".join(f"{f.source}: {f.reason}" for f in fits)
    raise InputDataError(
        f"{path} ({head.describe()}) fits none of centre {centre.centre_id}'s sources ({reasons}); check the "
        f"file, give --source NAME to see the full check, or add a source for it to {config.source_path}"
    )


def _lake_ranges(ports: Ports) -> dict[str, tuple[date, date]]:
    from contactlake.sqlfiles import load_sql

    table = ports.engine.query(load_sql("lake_date_range"))
    return {row["centre_id"]: (row["first_date"], row["last_date"]) for row in table.to_pylist()}


def cmd_analyse(args: argparse.Namespace) -> int:
    from contactlake.jobs import AnalysisWindow, run_windows

    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise CliError(
            f"--from {args.date_from} is after --to {args.date_to}; give the first day with --from "
            "and the last with --to"
        )
    _settings, config, ports = _context(args)
    ranges = _lake_ranges(ports)
    centres = [config.centre(args.centre).centre_id] if args.centre else sorted(ranges)
    windows = []
    for centre_id in centres:
        if centre_id not in ranges:
            print(f"  {centre_id}: no contacts in the lake yet; ingest an export first")
            continue
        first, last = ranges[centre_id]
        windows.append(AnalysisWindow(centre_id, args.date_from or first, args.date_to or last))
    results = run_windows(ports, config, windows, on_step=lambda step: print(f"  {step}"))
    print(f"analysed {len(windows)} centre(s); {sum(r.rows for r in results):,} aggregate rows written")
    return 0


def _default_as_of(ports: Ports) -> date:
    ranges = _lake_ranges(ports)
    if not ranges:
        raise CliError("the lake has no contacts yet; run `contactlake demo` or `contactlake ingest` first")
    return max(last for _, last in ranges.values())


def cmd_report(args: argparse.Namespace) -> int:
    from contactlake.report import build_reports

    settings, config, ports = _context(args)
    as_of = args.as_of or _default_as_of(ports)
    results = build_reports(
        ports, config, settings, period=args.period, as_of=as_of, audience=args.audience,
        centres=[args.centre] if args.centre else None, deliver=not args.no_email,
        resend=args.resend, on_step=lambda step: print(f"  {step}"),
    )  # fmt: skip
    for result in results:
        print(
            f"  {result.audience:<12} {result.centre_id:<8} {result.period:<9} {result.status:<7} "
            f"{', '.join(result.keys)}"
        )
        if "already e-mailed" in result.message:
            print(f"    {result.message}; add --resend to send it again")
    if not results:
        print("no report matched: check --audience/--period against the [stakeholders] in the configuration")
    failed = [r for r in results if r.status == "failed"]
    if failed and all("e-mail failed" in r.message for r in failed):
        raise EnvironmentProblem(
            f"{len(failed)} report(s) stored but not sent: {failed[0].message}; check the mail settings "
            "(CONTACTLAKE_SMTP_HOST, or SES on AWS) and run the command again"
        )
    if failed:
        print(
            f"contactlake: {len(failed)} report(s) failed: {failed[0].message}\n  the lines above name each; "
            f"if the cause is not the lake folder or bucket, this is a bug: report it at {ISSUES_URL}",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    return EXIT_OK


def _query_text(argument: str) -> str:
    if not argument.startswith("@"):
        return argument
    path = Path(argument[1:])
    if not path.is_file():
        raise CliError(f"{path} is not a file; give the SQL itself, or @ and the path of a .sql file")
    return path.read_text(encoding="utf-8")


def _check_sql(sql: str, params: dict[str, Any]) -> None:
    """Parse the statement and check its :name placeholders before any engine sees it."""
    from sqlglot.errors import SqlglotError

    from contactlake.sqlfiles import parameter_names

    try:
        names = parameter_names(sql)
    except SqlglotError as error:
        details = getattr(error, "errors", None) or [{}]
        first = details[0]
        where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
        near = (first.get("start_context", "") + first.get("highlight", "")).strip()[-40:]
        where += f" (near {near!r})" if near else ""
        reason = first.get("description") or str(error).splitlines()[0]
        raise CliError(f"the SQL does not parse{where}: {reason}; {_sql_hint()}") from None
    missing = sorted(set(names) - set(params))
    if missing:
        given = " ".join(f"--param {name}=VALUE" for name in missing)
        raise CliError(f"the SQL uses {', '.join(':' + n for n in missing)} without a value; add {given}")


def _json_cell(value: Any) -> Any:
    """A value as JSON means it: numbers as numbers (DuckDB's integer sums are Decimal), times in ISO."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if int(value.as_tuple().exponent) >= 0 else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime | time_of_day):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    return value


def cmd_sql(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--param {item!r}: use name=value, and :name in the SQL")
        params[name] = value
    sql = _query_text(args.query)
    table = _catalogue_statement(sql)
    if table is None:
        _check_sql(sql, params)
        _check_tables(sql)
        _settings, _config, ports = _context(args)
        try:
            table = ports.engine.query(sql, params)
        except QueryError as error:
            raise CliError(f"{_without_engine_hint(str(error))}\n  {_sql_hint()}") from error
    _print_rows(table, args.format, args.limit)
    return EXIT_OK


def _print_rows(table: Any, output: str, limit: int) -> None:
    if output == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, sys.stdout.buffer)
    elif output == "json":
        rows = [{k: _json_cell(v) for k, v in row.items()} for row in table.to_pylist()]
        print(json.dumps(rows, default=str, indent=1))
    else:
        print(_format_table(table.to_pylist(), table.column_names, limit))


_SHOW_TABLES = re.compile(r"^\s*SHOW\s+(?:TABLES|VIEWS)\s*;?\s*$", re.IGNORECASE)
_DESCRIBE = re.compile(
    r"^\s*(?:DESCRIBE|DESC|SHOW\s+COLUMNS\s+(?:FROM|IN))\s+(?:\w+\.)?\"?(\w+)\"?\s*;?\s*$", re.IGNORECASE
)


def _catalogue_statement(sql: str) -> Any:
    """``SHOW TABLES`` and ``DESCRIBE t`` (``SHOW COLUMNS FROM t``) answered from the project's catalogue,
    as Athena answers them, instead of from the local engine's own (which lists its pg_* internals)."""
    import pyarrow as pa

    from contactlake.analyse.catalogue import catalogue, relation

    if _SHOW_TABLES.match(sql):
        rows = [{"name": r.name, "kind": r.kind, "description": r.description} for r in catalogue()]
        return pa.Table.from_pylist(rows)
    described = _DESCRIBE.match(sql)
    if described is None:
        return None
    found = relation(described.group(1))
    if found is None:
        raise CliError(_unknown_table(described.group(1)))
    return pa.Table.from_pylist(
        [{"column": c.name, "type": c.type, "description": c.description} for c in found.columns]
    )


def _unknown_table(name: str) -> str:
    from contactlake.analyse.catalogue import suggest

    close = suggest(name)
    guess = f"did you mean {' or '.join(close)}? " if close else ""
    return f"there is no table or view {name!r}; {guess}`contactlake tables` lists them all"


def _check_tables(sql: str) -> None:
    """Every table the statement reads is one of the project's (suggestions from those names only)."""
    import sqlglot
    from sqlglot import exp

    from contactlake.analyse.catalogue import relation_names

    tree = sqlglot.parse_one(sql, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    # Named tables only: a table function (unnest, range ...) is the engine's, not a table.
    named = {t.name for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier)}
    unknown = sorted(named - ctes - set(relation_names()))
    if unknown:
        raise CliError(_unknown_table(unknown[0]))


def _without_engine_hint(message: str) -> str:
    """DuckDB's own "Did you mean" names its internal catalogue (pg_depend ...): not ours to suggest."""
    return re.sub(r'\s*Did you mean "[^"]*"\??', "", message)


def _format_table(rows: list[dict[str, Any]], columns: list[str], limit: int) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}"
        return "" if value is None else str(value)

    shown = [[cell(row[c]) for c in columns] for row in rows[:limit]]
    widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    if len(rows) > limit:
        lines.append(f"… {len(rows) - limit} more rows (use --limit or --format csv)")
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def cmd_tables(args: argparse.Namespace) -> int:
    from contactlake.analyse.catalogue import Relation, catalogue, relation

    if args.name:
        found = relation(args.name)
        if found is None:
            raise CliError(_unknown_table(args.name))
        chosen: tuple[Relation, ...] = (found,)
    else:
        chosen = catalogue()
    if args.format == "json":
        print(json.dumps([asdict(r) for r in chosen], indent=1))
        return EXIT_OK
    for index, item in enumerate(chosen):
        if index:
            print()
        print(f"{item.name} ({item.kind}): {item.description}")
        width = max(len(c.name) for c in item.columns)
        types = max(len(c.type) for c in item.columns)
        for column in item.columns:
            print(f"  {column.name:<{width}}  {column.type:<{types}}  {column.description}")
    if not args.name:
        print("\nQuery them with `contactlake sql`; on AWS they are the Glue tables and views Athena reads.")
    return EXIT_OK


def _sample_exports() -> list[tuple[str, Path]]:
    """The shipped nightly exports, and the real Anonymous Bank month, as (raw key, file) pairs."""
    data = resources.files("contactlake") / "sample_data"
    with resources.as_file(data) as folder:
        exports = Path(folder) / "exports"
        pairs = sorted((p.relative_to(exports).as_posix(), p) for p in exports.rglob("*") if p.is_file())
        pairs.append(
            ("anonbank/calls/october-1999.txt.gz", Path(folder) / "anonymous_bank" / "october.txt.gz")
        )
    return pairs


def cmd_demo(args: argparse.Namespace) -> int:
    from contactlake.jobs import AnalysisWindow, run_windows

    started = time.perf_counter()
    settings, config, ports = _context(args)
    home = settings.home
    if args.fresh and home.exists():
        shutil.rmtree(home)
    exports = _sample_exports()
    print(f"contactlake demo — local lake in {home}/ ({len(exports)} exports shipped as sample data)")
    print("1/4 ingest + validate")
    totals = {"read": 0, "stored": 0, "flagged": 0, "quarantined": 0, "excluded": 0}
    for key, path in exports:
        if not ports.store.exists("raw", key):
            ports.store.put_file("raw", key, path)
        manifest = _ingest_key(ports, config, settings, key, 0)
        if args.verbose:
            _print_manifest(manifest)
        totals["read"] += manifest.rows_read
        totals["stored"] += manifest.rows_stored
        totals["flagged"] += manifest.rows_flagged
        totals["quarantined"] += manifest.rows_quarantined
        totals["excluded"] += manifest.rows_excluded
    print(
        f"  {totals['read']:,} rows read = {totals['stored']:,} stored ({totals['flagged']:,} flagged) + "
        f"{totals['quarantined']:,} quarantined "
        f"+ {totals['excluded']:,} excluded"
    )
    print("2/4 analyse")
    ranges = _lake_ranges(ports)
    windows = [AnalysisWindow(c, first, last) for c, (first, last) in sorted(ranges.items())]
    results = run_windows(
        ports, config, windows, on_step=(lambda s: print(f"  {s}")) if args.verbose else None
    )
    print(f"  {len(windows)} centres, {sum(r.rows for r in results):,} aggregate rows")
    as_of = max(last for _, last in ranges.values())
    print(f"3/4 KPIs for {as_of}")
    _print_day(ports, config, [c for c, (_, last) in ranges.items() if last == as_of], as_of)
    print("4/4 reports")
    from contactlake.report import build_reports

    produced = []
    pairs = sorted({(s.audience, p) for s in config.stakeholders for p in s.periods})
    for audience, period in pairs:
        produced += build_reports(ports, config, settings, period=period, as_of=as_of, audience=audience)
    for result in produced:
        print(
            f"  {result.audience:<12} {result.centre_id:<6} {result.period:<9} {result.status:<6} "
            f"{result.keys[0] if result.keys else ''}"
        )
        if result.status in ("held", "failed"):
            print(f"    why: {result.message}")
    from contactlake.report.alerts import send_alert_digests

    for alert in send_alert_digests(ports, config, settings, day=as_of):
        print(f"  alert digest to {alert.recipient}: {alert.breaches} exception(s), {alert.status}")
    _demo_re_export(ports, config, settings, exports, as_of)
    print()
    print(f"done in {time.perf_counter() - started:.1f} s. Look at:")
    print(f"  reports   {home / 'reports'}/<centre>/<audience>/<period>/<date>.html (open in a browser)")
    print(f"  e-mails   {home / 'outbox'}/*.eml (open in a mail client)")
    print(f"  lake      {home / 'lake' / 'curated'} (Parquet, Hive-partitioned by centre_id and date)")
    print(f"  quarantine {home / 'quarantine' / 'rows'} (rejected rows with rule and reason)")
    print(f"  manifests {home / 'lake' / 'manifests'}")
    print('  ad-hoc SQL: contactlake sql "SELECT centre_id, sum(offered) FROM kpi_daily GROUP BY 1"')
    return 0


def _demo_re_export(
    ports: Ports, config: AppConfig, settings: Settings, exports: list[tuple[str, Path]], day: date
) -> None:
    """A scripted corrected re-export of the last day's first calls export, taking the path it takes on
    AWS: its UploadValidated event starts the day's analysis, whose AnalysisFinished event (a correction)
    restates the reports that covered the day (notice and re-issued report in the outbox)."""
    from contactlake.bus import deliver_locally
    from contactlake.sample import corrected_re_export

    shipped = next(((k, p) for k, p in exports if f"calls-{day.isoformat()}" in k), None)
    if shipped is None:
        return
    key, path = shipped
    if ports.store.get("raw", key) != path.read_bytes():
        print(f"  corrected re-export of {key}: already applied (contactlake demo --fresh starts over)")
        return
    print(
        f"  corrected re-export of {key} (double-logged calls removed): ingest, then analyse and restate "
        "as its events lead"
    )
    ports.store.put("raw", key, corrected_re_export(path.read_bytes()))
    with deliver_locally(ports, config, settings) as delivered:
        _ingest_key(ports, config, settings, key, 0)
    restated = [item for run in delivered if run.function == "ReportFunction" for item in run.result]
    for item in restated:
        print(
            f"    {item.audience:<12} {item.period_start} {item.stakeholder:<12} {item.status} "
            f"({item.changes} figures changed)"
        )


def _print_day(ports: Ports, config: AppConfig, centre_ids: Sequence[str], day: date) -> None:
    """The day's headline KPIs per centre, each by its own service-level policy."""
    from contactlake.analyse import queries

    rows = []
    for centre_id in centre_ids:
        centre = config.centre(centre_id)
        for kpi in queries.kpis(ports, centre, "day", day, day).to_pylist():
            policy = centre.service_level
            target = f"{policy.target:.0%} in {policy.threshold_seconds} s"
            rows.append(
                {
                    "centre": centre_id,
                    "offered": kpi["offered"],
                    "answered": kpi["answered"],
                    "abandoned": kpi["abandoned"],
                    "SL (target)": f"{kpi['service_level']:.1%} ({target})",
                    "ASA s": kpi["asa_seconds"],
                    "AHT s": kpi["aht_seconds"],
                    "abandon %": f"{kpi['abandon_rate']:.1%}",
                }
            )
    if rows:
        print(_format_table(rows, list(rows[0]), 20))


def cmd_serve(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    if find_spec("chalice") is None:
        raise EnvironmentProblem(
            "serving the API needs Chalice: pip install 'contactlake[api]' (make setup has it)"
        )
    from contactlake.api.serve import serve

    if args.home:
        os.environ["CONTACTLAKE_HOME"] = args.home
    if args.config:
        os.environ["CONTACTLAKE_CONFIG"] = args.config
    serve(args.host, args.port)
    return 0


def _toml_text(table: str, values: dict[str, Any]) -> list[str]:
    """One TOML table (and its sub-tables) of the effective configuration, as it could be written."""

    def literal(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "[" + ", ".join(literal(v) for v in value) + "]"
        return json.dumps(value)  # strings, numbers and booleans are written alike in JSON and TOML

    lines = [f"[{table}]"]
    nested = {k: v for k, v in values.items() if isinstance(v, dict)}
    lines += [f"{key} = {literal(value)}" for key, value in values.items() if key not in nested]
    for key, value in nested.items():
        if all(isinstance(v, dict) for v in value.values()) and value:
            for name, body in value.items():
                lines += ["", *_toml_text(f"{table}.{key}.{name}", body)]
        elif value:
            lines += ["", *_toml_text(f"{table}.{key}", value)]
    return lines


def cmd_config_check(args: argparse.Namespace) -> int:
    from contactlake.ingest.mapping import load_mapping

    settings = load_settings()
    config = _load_config(args, settings)
    effective = effective_config(config)
    centres = [config.centre(args.centre).centre_id] if args.centre else sorted(config.centres)
    # The mapping files are configuration too: a broken one should fail here, not on the night's upload.
    folder = str(Path(config.source_path).parent)
    mappings = {s.mapping for c in centres for s in config.centre(c).sources if s.mapping}
    for reference in sorted(mappings):
        load_mapping(reference, folder)
    print(
        f"# {config.source_path}: valid — {len(config.centres)} centre(s), {len(config.stakeholders)} "
        f"stakeholder(s), {len(config.api_callers)} API caller(s), {len(mappings)} mapping file(s)"
    )
    if args.format == "json":
        chosen = {**effective, "centres": {c: effective["centres"][c] for c in centres}}
        print(json.dumps(chosen, indent=1))
        return EXIT_OK
    print("# The effective configuration per centre: every value, defaults included.")
    for centre_id in centres:
        print()
        print("\n".join(_toml_text(f"centres.{centre_id}", effective["centres"][centre_id])))
    return EXIT_OK


def cmd_config_schema(args: argparse.Namespace) -> int:
    from contactlake.config.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    from contactlake.sample import write_sample

    files = write_sample(Path(args.out), args.start, args.days, seed=args.seed)
    print(f"wrote {len(files)} exports under {args.out}/<centre>/<source>/")
    return 0


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES)
    return (
        "Start with `contactlake demo`; `contactlake COMMAND --help` describes each command.\n\n"
        "Environment: CONTACTLAKE_HOME (lake folder), CONTACTLAKE_CONFIG (centres/stakeholders TOML),\n"
        "CONTACTLAKE_PII_KEY (pseudonymisation key), CONTACTLAKE_SMTP_HOST, CONTACTLAKE_DEBUG=1\n"
        "(as --debug).\n\n"
        f"Exit status:\n{codes}\n\nDocumentation: docs/cli.md; issues: {ISSUES_URL}"
    )


def build_parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the command; SUPPRESS keeps a subcommand from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error"
    )
    parser = argparse.ArgumentParser(
        prog="contactlake",
        description="Contact-centre MIS: nightly exports → validated Parquet lake → KPIs → reports.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--home", help="local lake folder (default ./data or $CONTACTLAKE_HOME)")
    parser.add_argument("--config", help="configuration TOML (default: the shipped demo configuration)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    demo = command("demo", "run the whole pipeline on the shipped sample data")
    demo.add_argument("--fresh", action="store_true", help="delete the lake folder first")
    demo.add_argument("-v", "--verbose", action="store_true", help="print every upload's manifest")
    demo.set_defaults(func=cmd_demo)

    ingest = command("ingest", "validate one export and store it in the lake")
    ingest.add_argument("file", help="the export file (CSV, JSON, .gz …)")
    ingest.add_argument("--centre", required=True, help="centre id from the configuration")
    ingest.add_argument(
        "--source",
        help="source name from the centre's configuration (default: the source the file's content fits)",
    )
    ingest.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be stored, flagged, quarantined and excluded, by rule; write nothing",
    )
    ingest.set_defaults(func=cmd_ingest)

    mapping = command("mapping", "draft a mapping file from a sample export")
    mapping_sub = mapping.add_subparsers(dest="mapping_command", required=True, metavar="ACTION")
    draft = mapping_sub.add_parser(
        "draft", help="profile a sample export and write a commented mapping TOML to edit", parents=[common]
    )
    draft.add_argument("file", help="a sample of the export (CSV or other delimited text)")
    draft.add_argument("--out", help="write the TOML here (default: print it)")
    draft.set_defaults(func=cmd_mapping_draft)

    analyse = command("analyse", "recompute the KPI aggregates")
    analyse.add_argument("--centre", help="only this centre (default: every centre in the lake)")
    analyse.add_argument(
        "--from", dest="date_from", type=_date, help="first local day, YYYY-MM-DD (default: first in lake)"
    )
    analyse.add_argument(
        "--to", dest="date_to", type=_date, help="last local day, YYYY-MM-DD (default: last in lake)"
    )
    analyse.set_defaults(func=cmd_analyse)

    report = command("report", "build (and e-mail) stakeholder reports")
    report.add_argument("--audience", choices=AUDIENCES, help="only this audience (default: every audience)")
    report.add_argument(
        "--period", required=True, choices=PERIODS, help="the reporting period ending on the --as-of day"
    )
    report.add_argument(
        "--as-of", type=_date, help="report date, YYYY-MM-DD (default: the last day in the lake)"
    )
    report.add_argument("--centre", help="only this centre")
    report.add_argument("--no-email", action="store_true", help="store the reports, send nothing")
    report.add_argument(
        "--resend",
        action="store_true",
        help="e-mail reports again to recipients who already have this version (default: each version once)",
    )
    report.set_defaults(func=cmd_report)

    sql = command("sql", "run Athena-dialect SQL on the local lake (as a BI tool would)")
    sql.add_argument(
        "query",
        help="the SQL, or @file.sql; bind values with :name and --param name=value; SHOW TABLES and "
        "DESCRIBE name list the tables, views and columns",
    )
    sql.add_argument("--param", action="append", help="name=value for a :name placeholder (repeatable)")
    sql.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table for reading, csv or json (numbers as JSON numbers) for other tools (default: table)",
    )
    sql.add_argument("--limit", type=_positive, default=50, help="rows shown in table format (default: 50)")
    sql.set_defaults(func=cmd_sql)

    tables = command("tables", "list every table and view with its columns, types and descriptions")
    tables.add_argument("name", nargs="?", help="only this table or view (default: all)")
    tables.add_argument(
        "--format", choices=["text", "json"], default="text", help="output format (default: text)"
    )
    tables.set_defaults(func=cmd_tables)

    config = command("config", "check the configuration file, or print its JSON Schema")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser(
        "check",
        help="validate the configuration and print the effective settings per centre",
        description="Validate the configuration (--config or $CONTACTLAKE_CONFIG) and print every centre's "
        "effective settings, defaults included.",
        parents=[common],
    )
    check.add_argument("--centre", help="only this centre")
    check.add_argument(
        "--format", choices=["toml", "json"], default="toml", help="output format (default: toml)"
    )
    check.set_defaults(func=cmd_config_check)
    schema = config_sub.add_parser(
        "schema",
        help="print the configuration file's JSON Schema (for editors)",
        description="Print the JSON Schema of the configuration file (docs/contactlake.schema.json).",
        parents=[common],
    )
    schema.set_defaults(func=cmd_config_schema)

    serve = command("serve", "serve the REST API over the local lake")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    serve.set_defaults(func=cmd_serve)

    sample = command("sample", "generate realistic nightly exports")
    sample.add_argument("--out", required=True, help="folder to write <centre>/<source>/<file> into")
    sample.add_argument(
        "--start", type=_date, default=date(2026, 11, 2), help="first day, YYYY-MM-DD (default: %(default)s)"
    )
    sample.add_argument(
        "--days", type=_positive, default=14, help="number of nights to generate (default: %(default)s)"
    )
    sample.add_argument(
        "--seed", type=int, default=7, help="random seed; the same seed gives the same files (default: 7)"
    )
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes a short message and its exit code (traceback with --debug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("CONTACTLAKE_DEBUG") == "1"
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("contactlake: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if isinstance(error, OSError) and error.errno == errno.EPIPE:
            _close_stdout_quietly()
            return EXIT_PIPE_CLOSED
        code, message = _explain(error)
        if debug:
            traceback.print_exc()
        print(f"contactlake: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
