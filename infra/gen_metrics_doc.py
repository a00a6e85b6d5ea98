"""Render docs/metrics.md's formula table from the measures declared in :mod:`contactlake.metrics`.

The table sits between two marker lines, so the prose around it stays hand-written::

    python infra/gen_metrics_doc.py            # print the generated table
    python infra/gen_metrics_doc.py --check    # exit 1 if docs/metrics.md is stale (the tests run this)
    python infra/gen_metrics_doc.py --write    # rewrite the table in docs/metrics.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contactlake.metrics import markdown_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
BEGIN = "<!-- BEGIN GENERATED MEASURES (python infra/gen_metrics_doc.py --write; do not edit by hand) -->"
END = "<!-- END GENERATED MEASURES -->"


def replace_block(text: str, table: str) -> str:
    """``text`` with the lines between the markers replaced by ``table``."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{DOC.name} lacks the marker lines {BEGIN!r} and {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="fail if docs/metrics.md is stale")
    action.add_argument("--write", action="store_true", help="rewrite the table in docs/metrics.md")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(markdown_table(), end="")
        return 0
    text = DOC.read_text(encoding="utf-8")
    current = replace_block(text, markdown_table())
    if args.write:
        DOC.write_text(current, encoding="utf-8")
    elif args.check:
        if current != text:
            print(
                f"{DOC}: formula table is stale; run python infra/gen_metrics_doc.py --write", file=sys.stderr
            )
            return 1
        print(f"{DOC}: formula table matches contactlake.metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
