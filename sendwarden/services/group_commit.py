"""Group commit: concurrent callers' database work shares one transaction.

Under load, most of a send's database cost is per transaction and per
statement, not per row. Callers submit an item and wait; one drain task takes
every item queued so far (up to `max_batch`) and hands the list to `run`, which
does the work in one transaction and returns one outcome (a value or an
exception) per item. A lone caller is served at once, so nothing waits for a
batch to fill: batches only form while a previous one is running.

The drain task runs in an empty context, so that one request's log context
(its request id) does not leak into work done for others.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sendwarden.observability.metrics import GROUP_COMMIT_BATCHES, GROUP_COMMIT_ITEMS

Item = TypeVar("Item")
Result = TypeVar("Result")

BatchRunner = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class GroupCommit(Generic[Item, Result]):
    def __init__(self, run: BatchRunner[Item, Result], *, kind: str, max_batch: int = 64) -> None:
        self._run = run
        self._max_batch = max_batch
        self._batch_metric = GROUP_COMMIT_BATCHES.labels(kind)
        self._item_metric = GROUP_COMMIT_ITEMS.labels(kind)
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drain_task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and benchmarks: how many transactions served the items
        self.items = 0

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        task = self._drain_task
        if task is None or task.done() or task.get_loop() is not loop:
            self._drain_task = loop.create_task(self._drain(), context=contextvars.Context())
        # A cancelled caller does not cancel its item: the batch may already hold it.
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            self.batches += 1
            self.items += len(batch)
            self._batch_metric.inc()
            self._item_metric.inc(len(batch))
            try:
                outcomes = await self._run([item for item, _ in batch])
            except Exception as exc:  # the whole batch failed: every caller hears why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled or shutting down: nobody gets an answer
                for _, future in [*batch, *self._pending]:
                    future.cancel()
                self._pending.clear()
                raise
            if len(outcomes) != len(batch):
                outcomes = [RuntimeError("the batch runner lost track of an item")] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
