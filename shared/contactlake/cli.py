"""The ``contactlake`` command: one subcommand per stage, on the local lake by default.

Run ``contactlake --help`` or ``contactlake <command> --help``. Every command works on the lake folder
given by ``--home`` (default ``./data``, or ``CONTACTLAKE_HOME``) and the configuration given by
``--config`` (default: the demo configuration shipped with the package, or ``CONTACTLAKE_CONFIG``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from contactlake.commit.lease import CommitBusy
from contactlake.config import (
    AUDIENCES,
    PERIODS,
    AppConfig,
    ConfigError,
    Settings,
    load_app_config,
    load_settings,
)
from contactlake.ports import Ports, QueryError

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, with what to do next."""


def _context(args: argparse.Namespace) -> tuple[Settings, AppConfig, Ports]:
    from contactlake.adapters import build_ports

    settings = load_settings()
    if args.home:
        settings = replace(settings, home=Path(args.home))
    config = load_app_config(args.config or settings.config_path)
    return settings, config, build_ports(settings)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-02") from None


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


def _print_manifest(manifest: Any) -> None:
    rules = ", ".join(f"{rule} {n}" for rule, n in manifest.quarantined_by_rule.items())
    excluded = ", ".join(f"{rule} {n}" for rule, n in manifest.excluded_by_rule.items())
    print(
        f"  {manifest.source_key}: {manifest.status} — read {manifest.rows_read:,}, "
        f"stored {manifest.rows_stored:,}, "
        f"quarantined {manifest.rows_quarantined:,}{f' ({rules})' if rules else ''}, excluded "
        f"{manifest.rows_excluded:,}{f' ({excluded})' if excluded else ''}"
        f"{'' if manifest.reconciles else '  ** DOES NOT RECONCILE **'}"
    )
    if manifest.message:
        print(f"    {manifest.message}")


def cmd_ingest(args: argparse.Namespace) -> int:
    settings, config, ports = _context(args)
    source_file = Path(args.file)
    if not source_file.is_file():
        raise CliError(f"{source_file} is not a file; give the path of an export to ingest")
    centre = config.centre(args.centre)
    source = centre.source(args.source) if args.source else (centre.sources[0] if centre.sources else None)
    if source is None:
        raise CliError(
            f"centre {centre.centre_id} has no sources configured; add one to {config.source_path}"
        )
    key = f"{centre.centre_id}/{source.name}/{source_file.name}"
    # The raw area keeps its own copy: the user's file is never modified, and re-runs read the same bytes.
    ports.store.put_file("raw", key, source_file)
    manifest = _ingest_key(ports, config, settings, key, 0)
    _print_manifest(manifest)
    print(f"manifest: {settings.home / 'lake' / 'manifests' / (manifest.upload_id + '.json')}")
    return 0 if manifest.status != "rejected" else EXIT_FAILED


def _lake_ranges(ports: Ports) -> dict[str, tuple[date, date]]:
    from contactlake.sqlfiles import load_sql

    table = ports.engine.query(load_sql("lake_date_range"))
    return {row["centre_id"]: (row["first_date"], row["last_date"]) for row in table.to_pylist()}


def cmd_analyse(args: argparse.Namespace) -> int:
    from contactlake.jobs import AnalysisWindow, run_windows

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
        on_step=lambda step: print(f"  {step}"),
    )  # fmt: skip
    for result in results:
        print(
            f"  {result.audience:<12} {result.centre_id:<8} {result.period:<9} {result.status:<7} "
            f"{', '.join(result.keys)}"
        )
    if not results:
        print("no report matched: check --audience/--period against the [stakeholders] in the configuration")
    return 0 if all(r.status != "failed" for r in results) else EXIT_FAILED


def cmd_sql(args: argparse.Namespace) -> int:
    _settings, _config, ports = _context(args)
    params: dict[str, Any] = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--param {item!r}: use name=value, and :name in the SQL")
        params[name] = value
    sql = Path(args.query[1:]).read_text() if args.query.startswith("@") else args.query
    table = ports.engine.query(sql, params)
    if args.format == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, sys.stdout.buffer)
    elif args.format == "json":
        print(json.dumps(table.to_pylist(), default=str, indent=1))
    else:
        print(_format_table(table.to_pylist(), table.column_names, args.limit))
    return 0


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
    totals = {"read": 0, "stored": 0, "quarantined": 0, "excluded": 0}
    for key, path in exports:
        if not ports.store.exists("raw", key):
            ports.store.put_file("raw", key, path)
        manifest = _ingest_key(ports, config, settings, key, 0)
        if args.verbose:
            _print_manifest(manifest)
        totals["read"] += manifest.rows_read
        totals["stored"] += manifest.rows_stored
        totals["quarantined"] += manifest.rows_quarantined
        totals["excluded"] += manifest.rows_excluded
    print(
        f"  {totals['read']:,} rows read = {totals['stored']:,} stored + "
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
    print()
    print(f"done in {time.perf_counter() - started:.1f} s. Look at:")
    print(f"  reports   {home / 'reports'}/<centre>/<audience>/<period>/<date>.html (open in a browser)")
    print(f"  e-mails   {home / 'outbox'}/*.eml (open in a mail client)")
    print(f"  lake      {home / 'lake' / 'curated'} (Parquet, Hive-partitioned by centre_id and date)")
    print(f"  quarantine {home / 'quarantine' / 'rows'} (rejected rows with rule and reason)")
    print(f"  manifests {home / 'lake' / 'manifests'}")
    print('  ad-hoc SQL: contactlake sql "SELECT centre_id, sum(offered) FROM kpi_daily GROUP BY 1"')
    return 0


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
        raise CliError("serving the API needs Chalice: pip install 'contactlake[api]' (make setup has it)")
    from contactlake.api.serve import serve

    if args.home:
        os.environ["CONTACTLAKE_HOME"] = args.home
    if args.config:
        os.environ["CONTACTLAKE_CONFIG"] = args.config
    serve(args.host, args.port)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from contactlake.sample import write_sample

    files = write_sample(Path(args.out), args.start, args.days, seed=args.seed)
    print(f"wrote {len(files)} exports under {args.out}/<centre>/<source>/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactlake",
        description="Contact-centre MIS: nightly exports → validated Parquet lake → KPIs → reports.",
        epilog="Start with `contactlake demo`. Environment: CONTACTLAKE_HOME (lake folder), "
        "CONTACTLAKE_CONFIG "
        "(centres/stakeholders TOML), CONTACTLAKE_PII_KEY (pseudonymisation key), CONTACTLAKE_SMTP_HOST.",
    )
    parser.add_argument("--home", help="local lake folder (default ./data or $CONTACTLAKE_HOME)")
    parser.add_argument("--config", help="configuration TOML (default: the shipped demo configuration)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole pipeline on the shipped sample data")
    demo.add_argument("--fresh", action="store_true", help="delete the lake folder first")
    demo.add_argument("-v", "--verbose", action="store_true", help="print every upload's manifest")
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="validate one export and store it in the lake")
    ingest.add_argument("file", help="the export file (CSV, JSON, .gz …)")
    ingest.add_argument("--centre", required=True, help="centre id from the configuration")
    ingest.add_argument("--source", help="source name from the centre's configuration (default: its first)")
    ingest.set_defaults(func=cmd_ingest)

    analyse = sub.add_parser("analyse", help="recompute the KPI aggregates")
    analyse.add_argument("--centre", help="only this centre")
    analyse.add_argument(
        "--from", dest="date_from", type=_date, help="first local day (default: first in lake)"
    )
    analyse.add_argument("--to", dest="date_to", type=_date, help="last local day (default: last in lake)")
    analyse.set_defaults(func=cmd_analyse)

    report = sub.add_parser("report", help="build (and e-mail) stakeholder reports")
    report.add_argument("--audience", choices=AUDIENCES, help="only this audience")
    report.add_argument("--period", required=True, choices=PERIODS)
    report.add_argument("--as-of", type=_date, help="report date (default: the last day in the lake)")
    report.add_argument("--centre", help="only this centre")
    report.add_argument("--no-email", action="store_true", help="store the reports, send nothing")
    report.set_defaults(func=cmd_report)

    sql = sub.add_parser("sql", help="run Athena-dialect SQL on the local lake (as a BI tool would)")
    sql.add_argument("query", help="the SQL, or @file.sql; bind values with :name and --param name=value")
    sql.add_argument("--param", action="append", help="name=value for a :name placeholder (repeatable)")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--limit", type=int, default=50, help="rows shown in table format")
    sql.set_defaults(func=cmd_sql)

    serve = sub.add_parser("serve", help="serve the REST API over the local lake")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    sample = sub.add_parser("sample", help="generate realistic nightly exports")
    sample.add_argument("--out", required=True, help="folder to write <centre>/<source>/<file> into")
    sample.add_argument("--start", type=_date, default=date(2026, 11, 2), help="first day")
    sample.add_argument("--days", type=int, default=14)
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (CliError, ConfigError) as error:
        print(f"contactlake: {error}", file=sys.stderr)
        return EXIT_USAGE
    except QueryError as error:
        print(f"contactlake: {error}\n  check the SQL (Athena/Trino dialect) and the table names: "
              "contacts, pathway_steps, agent_activity, quarantine, ingest_log, kpi_interval, kpi_daily",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    except CommitBusy as error:
        print(f"contactlake: {error}\n  another contactlake process is committing to this lake; "
              "run the command again when it has finished", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
