"""The server's queue: round-robin over clients, a bound with a retry hint, withdrawal of cancelled requests."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from typing import Any

import pytest
from exaone_desktop.server.scheduler import QueueFull, Scheduler

from tests.support.server_helpers import wait_until


def _hold(scheduler: Scheduler) -> threading.Event:
    """Occupy the worker until the returned event is set."""
    gate = threading.Event()
    scheduler.submit("holder", lambda cancel: gate.wait(30))
    wait_until(lambda: scheduler.status()["running"] == 1, what="the holder to run")
    return gate


def test_round_robin_over_clients() -> None:
    scheduler = Scheduler(max_waiting=10)
    order: list[str] = []
    gate = _hold(scheduler)
    jobs = [scheduler.submit(client, lambda cancel, name=name: order.append(name))
            for client, name in (("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("b", "b2"))]
    gate.set()
    for job in jobs:
        job.future.result(30)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert scheduler.status()["served"] == 7
    scheduler.close()


def test_bound_and_retry_after() -> None:
    scheduler = Scheduler(max_waiting=2)
    gate = _hold(scheduler)
    waiting = [scheduler.submit("x", lambda cancel: 1) for _ in range(2)]
    with pytest.raises(QueueFull) as info:
        scheduler.submit("y", lambda cancel: 1)
    assert info.value.waiting == 2 and info.value.retry_after >= 1
    assert scheduler.status()["rejected"] == 1
    gate.set()
    assert [job.future.result(30) for job in waiting] == [1, 1]
    assert scheduler.submit("y", lambda cancel: 2).future.result(30) == 2  # room again
    scheduler.close()


def test_requests_arriving_together_at_idle_workers_do_not_count_against_the_bound() -> None:
    """Four requests at once on four idle workers all run, even before a worker has picked up the first; the
    bound counts only what must wait behind busy workers."""
    scheduler = Scheduler(max_waiting=1, workers=4)
    gate = threading.Event()
    with scheduler._cond:  # the workers cannot take a job yet: every request arrives before any starts
        jobs = [scheduler.submit(f"c{i}", lambda cancel: gate.wait(30)) for i in range(5)]  # 4 run, 1 waits
        with pytest.raises(QueueFull):
            scheduler.submit("c5", lambda cancel: 1)
    wait_until(lambda: scheduler.status()["running"] == 4, what="four jobs to run")
    assert scheduler.status()["waiting"] == 1
    gate.set()
    for job in jobs:
        job.future.result(30)
    scheduler.close()


def test_cancel_withdraws_a_waiting_job_and_stops_a_running_one() -> None:
    scheduler = Scheduler(max_waiting=4)
    started = threading.Event()

    def long(cancel: threading.Event) -> str:
        started.set()
        return "stopped" if cancel.wait(30) else "ran out"

    running = scheduler.submit("a", long)
    started.wait(30)
    ran: list[Any] = []
    queued = scheduler.submit("b", lambda cancel: ran.append(1))
    scheduler.cancel(queued)
    assert scheduler.status()["waiting"] == 0
    with pytest.raises(CancelledError):
        queued.future.result(1)
    scheduler.cancel(running)
    assert running.future.result(30) == "stopped"
    assert not ran
    wait_until(lambda: scheduler.status()["cancelled"] == 2, what="both cancellations to count")
    scheduler.close()


def test_errors_reach_the_caller_and_the_worker_keeps_going() -> None:
    scheduler = Scheduler()

    def boom(cancel: threading.Event) -> None:
        raise ValueError("bad request")

    with pytest.raises(ValueError, match="bad request"):
        scheduler.submit("a", boom).future.result(30)
    assert scheduler.submit("a", lambda cancel: "ok").future.result(30) == "ok"
    assert scheduler.status()["failed"] == 1
    scheduler.close()


def test_close_cancels_waiting_jobs() -> None:
    scheduler = Scheduler()
    gate = _hold(scheduler)
    waiting = scheduler.submit("a", lambda cancel: 1)
    scheduler.close(timeout=0.1)
    assert waiting.future.cancelled()
    gate.set()
    with pytest.raises(RuntimeError):
        scheduler.submit("a", lambda cancel: 1)
