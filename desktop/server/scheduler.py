"""One model, many clients: a fair, bounded queue in front of the model's worker threads.

Fair: waiting requests are grouped by client (its address, or its API key), and the worker takes
them round-robin over clients, oldest first within one client, so a script that sends fifty requests
does not make a person's one request wait behind all of them. Bounded: at most ``max_waiting``
requests wait; one more is refused at once (``QueueFull`` -> HTTP 503 with ``Retry-After``).
Cancelling a job (its client went away) withdraws it if it is still waiting, or stops its generation
at the next token if it is running. ``workers`` jobs run at once: 1 for a generator that runs one
request at a time, the number of sequences for a batched one (``engine.llama.batch.BatchGenerator``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_WAITING = 16


class QueueFull(Exception):
    """Too many requests are waiting; ``retry_after`` is a guess in whole seconds."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(f"{waiting} requests are already waiting")
        self.waiting = waiting
        self.retry_after = retry_after


@dataclass(eq=False)
class Job:
    """Work for the model: ``run(cancel)`` is called on the worker thread; its result goes to ``future``."""

    client: str
    run: Callable[[threading.Event], Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] = field(default_factory=Future)
    started: float | None = None


@dataclass
class Counters:
    served: int = 0
    cancelled: int = 0
    failed: int = 0
    rejected: int = 0


class Scheduler:
    """Runs up to ``workers`` jobs at once on worker threads, taking them round-robin over clients."""

    def __init__(self, max_waiting: int = DEFAULT_MAX_WAITING, workers: int = 1) -> None:
        if max_waiting < 0 or workers < 1:
            raise ValueError("max_waiting must be >= 0 and workers >= 1")
        self.max_waiting = max_waiting
        self.workers = workers
        self.counters = Counters()
        self._queues: OrderedDict[str, deque[Job]] = OrderedDict()
        self._waiting = 0
        self._running: set[Job] = set()
        self._cond = threading.Condition()
        self._closed = False
        self._durations: deque[float] = deque(maxlen=20)
        self._threads = [threading.Thread(target=self._work, name=f"exaone-serve-worker-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    # -- clients' side -------------------------------------------------------------------------------

    def submit(self, client: str, run: Callable[[threading.Event], Any]) -> Job:
        """Queue ``run`` for ``client``; QueueFull when ``max_waiting`` requests already wait."""
        job = Job(client=client, run=run)
        with self._cond:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            # Only jobs that no idle worker will take count against the bound: requests arriving together at
            # an idle batched server are all waiting for a moment before the workers pick them up.
            idle = max(0, self.workers - len(self._running))
            if self._waiting - idle >= self.max_waiting:
                self.counters.rejected += 1
                raise QueueFull(self._waiting, self._retry_after())
            self._queues.setdefault(client, deque()).append(job)
            self._waiting += 1
            self._cond.notify_all()
        return job

    def cancel(self, job: Job) -> None:
        """Stop ``job``: withdrawn if waiting, stopped at the next token if running."""
        job.cancel.set()
        with self._cond:
            queue = self._queues.get(job.client)
            if queue is not None and job in queue:
                queue.remove(job)
                self._waiting -= 1
                if not queue:
                    del self._queues[job.client]
                self.counters.cancelled += 1
                job.future.cancel()
                self._cond.notify_all()

    def status(self) -> dict[str, int]:
        with self._cond:
            return {"running": len(self._running), "workers": self.workers, "waiting": self._waiting,
                    "max_waiting": self.max_waiting, "served": self.counters.served,
                    "cancelled": self.counters.cancelled, "failed": self.counters.failed,
                    "rejected": self.counters.rejected}

    def close(self, timeout: float = 10.0) -> None:
        """Cancel everything and stop the worker thread."""
        with self._cond:
            self._closed = True
            jobs = [job for queue in self._queues.values() for job in queue]
            self._queues.clear()
            self._waiting = 0
            for running in self._running:
                running.cancel.set()
            self._cond.notify_all()
        for job in jobs:
            job.cancel.set()
            job.future.cancel()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- worker --------------------------------------------------------------------------------------

    def _retry_after(self) -> int:
        per_job = sum(self._durations) / len(self._durations) if self._durations else 1.0
        return max(1, math.ceil(per_job * max(1, self._waiting) / (2 * self.workers)))

    def _next(self) -> Job | None:
        """The oldest job of the client at the front; that client then goes to the back."""
        with self._cond:
            while not self._closed and not self._waiting:
                self._cond.wait()
            if self._closed:
                return None
            client, queue = next(iter(self._queues.items()))
            job = queue.popleft()
            self._waiting -= 1
            del self._queues[client]
            if queue:
                self._queues[client] = queue  # to the back of the round
            self._running.add(job)
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            job.started = time.perf_counter()
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue
                try:
                    result = job.run(job.cancel)
                except BaseException as err:  # handed to the request's handler, which answers with it
                    job.future.set_exception(err)
                    with self._cond:
                        self.counters.failed += 1
                else:
                    job.future.set_result(result)
                    with self._cond:
                        if job.cancel.is_set():
                            self.counters.cancelled += 1
                        else:
                            self.counters.served += 1
            finally:
                with self._cond:
                    self._durations.append(time.perf_counter() - job.started)
                    self._running.discard(job)
                    self._cond.notify_all()
