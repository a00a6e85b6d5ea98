"""The commit lease: one commit per centre and source at a time, crashed holders taken over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contactlake.adapters.local import LocalObjectStore
from contactlake.commit.lease import LEASE_SECONDS, CommitBusy, commit_lease, lease_key

KEY = lease_key("north", "acd")


class Clock:
    """A fake clock whose sleep advances it (and can run a callback, as another process would)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self.on_sleep: list[object] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep:
            action = self.on_sleep.pop(0)
            assert callable(action)
            action()


def _lease(store: LocalObjectStore) -> dict[str, object] | None:
    try:
        data: dict[str, object] = json.loads(store.get("lake", KEY))
    except FileNotFoundError:
        return None
    return data


def _held_by(store: LocalObjectStore, upload_id: str, acquired: float) -> None:
    body = json.dumps({"upload_id": upload_id, "acquired_epoch": acquired}).encode()
    assert store.create("lake", KEY, body)


def test_the_lease_is_held_for_the_block_and_leaves_nothing(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with commit_lease(store, "north", "acd", "up-1"):
        assert _lease(store) is not None
        assert _lease(store)["upload_id"] == "up-1"  # type: ignore[index]
    assert _lease(store) is None
    assert not (tmp_path / "lake" / "manifests").exists()  # no empty folders either


def test_the_lease_is_released_when_the_commit_fails(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), commit_lease(store, "north", "acd", "up-1"):
        raise RuntimeError("boom")
    assert _lease(store) is None


def test_a_commit_waits_for_the_holder_then_proceeds(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    _held_by(store, "up-0", clock.now)
    clock.on_sleep = [lambda: None, lambda: store.delete("lake", [KEY])]  # released on the second poll
    with commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep):
        assert _lease(store)["upload_id"] == "up-1"  # type: ignore[index]
    assert len(clock.slept) == 2


def test_a_commit_gives_up_with_a_clear_error_and_leaves_the_holder_alone(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    _held_by(store, "up-0", clock.now)
    entered = False
    with (
        pytest.raises(CommitBusy, match=r"upload up-0 of north/acd has been committing for \d+ s; up-1"),
        commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep, wait_seconds=30),
    ):
        entered = True
    assert not entered
    assert clock.now - 1_000_000.0 >= 30
    assert _lease(store)["upload_id"] == "up-0"  # type: ignore[index]


def test_a_lease_left_by_a_crashed_run_is_taken_over(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    _held_by(store, "crashed", clock.now - LEASE_SECONDS - 1)
    with commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep):
        assert _lease(store)["upload_id"] == "up-1"  # type: ignore[index]
    assert clock.slept == []


def test_a_holder_only_releases_its_own_lease(tmp_path: Path) -> None:
    """A run that outlived its lease (taken over as stale) must not delete its successor's."""
    store = LocalObjectStore(tmp_path)
    with commit_lease(store, "north", "acd", "slow"):
        store.delete("lake", [KEY])
        _held_by(store, "successor", 0.0)
    assert _lease(store)["upload_id"] == "successor"  # type: ignore[index]


def test_leases_of_different_sources_do_not_block_each_other(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with (
        commit_lease(store, "north", "acd", "up-1"),
        commit_lease(store, "north", "agents", "up-2", wait_seconds=0),
        commit_lease(store, "south", "acd", "up-3", wait_seconds=0),
    ):
        assert _lease(store) is not None


def test_an_unreadable_lease_is_taken_over(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    assert store.create("lake", KEY, b"not json")
    with commit_lease(store, "north", "acd", "up-1", wait_seconds=0):
        assert _lease(store)["upload_id"] == "up-1"  # type: ignore[index]


def test_the_lease_is_stamped_when_taken_not_when_the_wait_began(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    _held_by(store, "up-0", clock.now)
    clock.on_sleep = [lambda: store.delete("lake", [KEY])]
    with commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep):
        assert _lease(store)["acquired_epoch"] == clock.now  # type: ignore[index]
        assert clock.now > 1_000_000.0


# Issue 15 item 11: after kill -9 the next run waited 603 s, failed, and only the one after succeeded.


def _beating(store: LocalObjectStore, upload_id: str, acquired: float, heartbeat: float) -> None:
    body = {"upload_id": upload_id, "acquired_epoch": acquired, "heartbeat_epoch": heartbeat}
    assert store.create("lake", KEY, json.dumps(body).encode())


def test_a_killed_holder_is_taken_over_once_its_heartbeat_stops(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    # Killed 3 s after taking the lease, 64 s ago: its heartbeat stopped with it.
    _beating(store, "killed", clock.now - 64, clock.now - LEASE_SECONDS - 1)
    with commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep):
        assert _lease(store)["upload_id"] == "up-1"  # type: ignore[index]
    assert clock.slept == []


def test_a_long_commit_that_still_beats_keeps_its_lease(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    clock = Clock()
    _beating(store, "slow-but-alive", clock.now - 900, clock.now - 5)  # committing for 15 min, alive
    with (
        pytest.raises(CommitBusy, match="slow-but-alive"),
        commit_lease(store, "north", "acd", "up-1", clock=clock, sleep=clock.sleep, wait_seconds=30),
    ):
        pass
    assert _lease(store)["upload_id"] == "slow-but-alive"  # type: ignore[index]


def test_the_holder_beats_while_it_commits_and_stops_when_taken_over(tmp_path: Path) -> None:
    import threading

    store = LocalObjectStore(tmp_path)
    ticks = iter(range(1_000_000, 2_000_000))
    clock = lambda: float(next(ticks))  # noqa: E731 - each reading one second later
    with commit_lease(store, "north", "acd", "up-1", clock=clock, heartbeat_seconds=0.01):
        first = _lease(store)
        assert first is not None
        done = threading.Event()
        for _ in range(500):
            current = _lease(store)
            if current and current["heartbeat_epoch"] > first["heartbeat_epoch"]:  # type: ignore[operator]
                done.set()
                break
            threading.Event().wait(0.01)
        assert done.is_set(), "no heartbeat was written"
        assert current["acquired_epoch"] == first["acquired_epoch"]  # type: ignore[index]
        # Taken over (as a dead run's would be): the old holder never writes over its successor.
        store.delete("lake", [KEY])
        _beating(store, "successor", 0.0, 0.0)
        threading.Event().wait(0.1)
        assert _lease(store) == {"upload_id": "successor", "acquired_epoch": 0.0, "heartbeat_epoch": 0.0}
    assert _lease(store)["upload_id"] == "successor"  # type: ignore[index]
