"""The report function's handlers and the API scope the Athena engine to one invocation / request.

The runtime (and its engine) lives as long as a warm container. Unscoped, the engine's scan budget
checked each query on its own and its ``scanned`` list grew with every invocation; scoped
(``with_run_id``), the budget is the run's and the list holds the run's queries only.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from contactlake.adapters.athena import AthenaEngine
from contactlake.runtime import Runtime, for_run
from tests.functional.report.lake import SmallLake, load_report_app, use_lake


class _Invocation:
    function_name = "contactlake-report"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:contactlake-report"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def _on_athena(lake: SmallLake) -> Runtime:
    """The lake's runtime as on AWS: an Athena engine kept by the (warm) container."""
    engine = AthenaEngine(object(), workgroup="contactlake")  # type: ignore[arg-type]
    ports = replace(lake.ports(), engine=engine)
    return Runtime(settings=replace(lake.settings, mode="aws"), config=lake.config, ports=ports)


def test_for_run_scopes_only_an_athena_engine(lake: SmallLake) -> None:
    container = _on_athena(lake)
    scoped = for_run(container, "req-1")
    assert isinstance(scoped.ports.engine, AthenaEngine)
    assert scoped.ports.engine.run_id == "req-1"
    assert scoped.ports.engine.scanned is not container.ports.engine.scanned  # type: ignore[attr-defined]
    assert container.ports.engine.run_id is None  # type: ignore[attr-defined]
    local = Runtime(settings=lake.settings, config=lake.config, ports=lake.ports())
    assert for_run(local, "req-1") is local


def _scheduled(lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Runtime, list[Any]]:
    """The scheduled-report handler on the lake's runtime as on AWS; build_reports records its calls."""
    use_lake(monkeypatch, lake.home)
    load_report_app()
    import chalicelib.schedule as schedule

    container = _on_athena(lake)
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(schedule, "runtime", lambda: container)

    def build_reports(ports: Any, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append((ports, kwargs))
        return []

    monkeypatch.setattr(schedule, "build_reports", build_reports)
    return schedule, container, calls


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_each_scheduled_report_invocation_has_its_own_engine(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule, container, calls = _scheduled(lake, monkeypatch)
    for request_id in ("req-1", "req-2"):
        schedule.handler({"period": "weekly", "as_of": "2026-11-08"}, _Invocation(request_id))
    seen = [ports.engine for ports, _ in calls]
    assert [engine.run_id for engine in seen] == ["req-1", "req-2"]
    assert seen[0].scanned is not seen[1].scanned
    assert container.ports.engine.scanned == []  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_each_api_request_has_its_own_engine(lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    from contactlake.api import context, routes

    use_lake(monkeypatch, lake.home, CONTACTLAKE_API_AUTH="api_key")
    container, local = _on_athena(lake), lake.ports().engine
    monkeypatch.setattr(context, "runtime", lambda: container)
    seen: list[Any] = []
    answer = routes.trend_report

    def recording(ports: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(ports.engine)
        return answer(replace(ports, engine=local), *args, **kwargs)  # answered by the local lake

    monkeypatch.setattr(routes, "trend_report", recording)
    with warnings.catch_warnings(), Client(load_report_app().app) as client:
        warnings.simplefilter("ignore")
        for _ in range(2):
            response = client.http.get(
                "/centres/north/trends?from=2026-11-02&to=2026-11-08",
                headers={"x-api-key": "demo-key-north"},
            )
            assert response.status_code == 200, response.body
            assert json.loads(response.body)["centre_id"] == "north"
    assert all(isinstance(engine, AthenaEngine) and engine.run_id for engine in seen)
    assert seen[0].run_id != seen[1].run_id
    assert seen[0].scanned is not seen[1].scanned
    assert container.ports.engine.run_id is None  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_each_scheduled_report_has_its_own_scan_budget(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule, _, calls = _scheduled(lake, monkeypatch)
    schedule.handler({"period": "daily", "as_of": "2026-11-08"}, _Invocation("req-1"))
    ((_, kwargs),) = calls
    report_ports = kwargs["report_ports"]
    north, south = (
        report_ports("operations/north/daily/2026-11-08"),
        report_ports("operations/south/daily/2026-11-08"),
    )
    assert north.engine.run_id == "req-1/operations/north/daily/2026-11-08"
    assert south.engine.run_id == "req-1/operations/south/daily/2026-11-08"
    assert north.engine.scanned is not south.engine.scanned
    # The same report in a retried invocation keeps its name, so its queries re-attach (same tokens).
    assert report_ports("operations/north/daily/2026-11-08").engine.run_id == north.engine.run_id


@pytest.mark.slow
def test_build_reports_queries_each_document_with_its_own_ports(lake: SmallLake) -> None:
    from datetime import date

    from contactlake.report import build_reports

    names: list[str] = []

    def report_ports(name: str) -> Any:
        names.append(name)
        return lake.ports()

    build_reports(
        lake.ports(), lake.config, lake.settings, period="daily", as_of=date(2026, 11, 9),
        audience="operations", report_ports=report_ports,
    )  # fmt: skip
    assert names == ["operations/north/daily/2026-11-09", "operations/south/daily/2026-11-09"]
