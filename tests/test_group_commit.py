"""services.group_commit: concurrent callers share batches; each hears its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from sendwarden.services.group_commit import GroupCommit


class Recorder:
    """A batch runner that records its batches and can be slowed down or made to fail."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail_batch: Exception | None = None

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay)
        if self.fail_batch is not None:
            raise self.fail_batch
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_group_commit_lone_caller_is_served_at_once() -> None:
    runner = Recorder()
    commit = GroupCommit(runner, kind="test")
    assert await commit.submit(4) == 40
    assert runner.batches == [[4]]


async def test_group_commit_concurrent_callers_share_batches() -> None:
    runner = Recorder(delay=0.02)
    commit = GroupCommit(runner, kind="test")
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0.005)  # its batch is running now
    later = await asyncio.gather(*(commit.submit(i * 2) for i in range(1, 30)))
    assert await first == 0
    assert later == [i * 20 for i in range(1, 30)]
    # The first caller was served alone; all who queued meanwhile shared the next batch.
    assert runner.batches == [[0], [i * 2 for i in range(1, 30)]]
    assert (commit.batches, commit.items) == (2, 30)


async def test_group_commit_respects_max_batch() -> None:
    runner = Recorder(delay=0.01)
    commit = GroupCommit(runner, kind="test", max_batch=4)
    await asyncio.gather(*(commit.submit(i * 2) for i in range(17)))
    assert max(len(batch) for batch in runner.batches) == 4


async def test_group_commit_each_caller_gets_its_own_outcome_or_exception() -> None:
    commit = GroupCommit(Recorder(delay=0.01), kind="test")
    results = await asyncio.gather(*(commit.submit(i) for i in range(6)), return_exceptions=True)
    assert results[0::2] == [0, 20, 40]
    assert [str(e) for e in results[1::2]] == ["odd 1", "odd 3", "odd 5"]


async def test_group_commit_failed_batch_reaches_every_caller_and_the_next_batch_runs() -> None:
    runner = Recorder(delay=0.01)
    runner.fail_batch = RuntimeError("database down")
    commit = GroupCommit(runner, kind="test")
    results = await asyncio.gather(*(commit.submit(2) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and str(r) == "database down" for r in results)
    runner.fail_batch = None
    assert await commit.submit(8) == 80


async def test_group_commit_cancelled_caller_does_not_disturb_the_others() -> None:
    runner = Recorder(delay=0.05)
    commit = GroupCommit(runner, kind="test")
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(commit.submit(i * 2)) for i in range(1, 5)]
    await asyncio.sleep(0)
    waiting[0].cancel()
    assert await first == 0
    assert [await t for t in waiting[1:]] == [40, 60, 80]
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]
    # The cancelled caller's item still ran: it may already have been committed.
    assert 2 in runner.batches[1]


async def test_group_commit_works_again_on_a_new_event_loop() -> None:
    commit = GroupCommit(Recorder(), kind="test")

    def in_new_loop() -> int:
        return asyncio.run(commit.submit(6))

    assert await asyncio.to_thread(in_new_loop) == 60
    assert await commit.submit(2) == 20
