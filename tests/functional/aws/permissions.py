"""Run every function on the moto stack and record its AWS calls; the permissions test and the README
table both come from :func:`measure`.

``python -m tests.functional.aws.permissions --write`` regenerates infra/README.md's permission table;
``--calls`` prints the recorded calls per function; ``--refused`` the refused requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import iam
from tests.functional.aws.recorder import Recorder
from tests.functional.aws.scenarios import Outcomes, run_all

README = Path(iam.__file__).with_name("README.md")
_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": iam.REGION,
    "AWS_REGION": iam.REGION,
}


@dataclass(frozen=True)
class Measured:
    stack: iam.Stack
    calls: list[iam.Call]
    outcomes: Outcomes

    def evaluation(self) -> iam.Evaluation:
        return iam.evaluate(self.stack, self.calls)


def measure(scratch: Path, stack: iam.Stack | None = None) -> Measured:
    """Stand the stack up in moto (fake credentials only), run every function, return what was recorded."""
    from moto import mock_aws

    from contactlake.runtime import runtime

    stack = stack or iam.load_stack()
    saved = dict(os.environ)
    os.environ.update(_CREDENTIALS)
    recorder = Recorder()
    recorder.install()
    try:
        with mock_aws():
            outcomes = run_all(stack, recorder, scratch)
    finally:
        recorder.uninstall()
        os.environ.clear()
        os.environ.update(saved)
        runtime.cache_clear()
    return Measured(stack, recorder.calls, outcomes)


def measure_once(tmp_path_factory: Any) -> Measured:
    """One measurement per test session: under pytest-xdist the first worker measures and the others
    read its recording (the functions take about a minute to run on two cores)."""
    import fcntl
    import json

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return measure(tmp_path_factory.mktemp("aws-stack"))
    shared = tmp_path_factory.getbasetemp().parent  # the session's folder, shared by its workers
    data = shared / "aws-permissions-recording.json"
    with open(shared / "aws-permissions-recording.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not data.is_file():
            measured = measure(tmp_path_factory.mktemp("aws-stack"))
            recording = {"calls": [c.__dict__ for c in measured.calls], "results": measured.outcomes.results}
            data.write_text(json.dumps(recording, default=str), encoding="utf-8")
            return measured
    recording = json.loads(data.read_text(encoding="utf-8"))
    calls = [iam.Call(**c) for c in recording["calls"]]
    return Measured(iam.load_stack(), calls, Outcomes(recording["results"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate infra/README.md's permission table")
    parser.add_argument("--calls", action="store_true", help="print the recorded calls per function")
    parser.add_argument("--save", type=Path, help="write the recorded calls to this JSON file")
    parser.add_argument("--refused", action="store_true", help="print the refused requests and unused grants")
    args = parser.parse_args(argv)
    measured = measure(Path(tempfile.mkdtemp(prefix="contactlake-iam-")))
    evaluation = measured.evaluation()
    if args.calls:
        for function in measured.stack.functions:
            kinds = Counter(iam.summarise_label(c.label()) for c in evaluation.calls[function])
            print(f"\n{function}: {len(evaluation.calls[function])} calls")
            for label, count in sorted(kinds.items()):
                print(f"  {count:4d} x {label}")
    if args.refused:
        for decision in evaluation.refused():
            print("REFUSED", decision.explain())
        for grant in iam.unused_grants(evaluation):
            print("UNUSED", grant.statement, grant.kind, grant.value)
    if args.save:
        iam.save_calls(measured.calls, args.save)
    if args.write:
        README.write_text(
            iam.replace_table(README.read_text(encoding="utf-8"), iam.permission_table(evaluation))
        )
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
