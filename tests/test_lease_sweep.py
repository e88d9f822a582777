"""Dead processes' sends are recovered by the lease sweep, live ones never (issue 10 item 6)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from sendwarden.config import Settings
from sendwarden.services.crash_recovery import recover_interrupted_sends, sweep_expired
from sendwarden.services.leases import LeaseKeeper
from sendwarden.storage import http_idempotency, leases, suppression_imports, users
from sendwarden.storage.db import Database
from sendwarden.storage.models import (
    Attempt,
    AttemptStatus,
    HttpIdempotencyKey,
    ProcessLease,
    SuppressionImport,
)
from sendwarden.storage.types import utcnow
from tests.support.harness import make_settings

EXPIRY = timedelta(seconds=30)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])  # noqa: S607 - coreutils' true, from PATH
    child.wait()
    return child.pid


@pytest.fixture
def running_pid() -> Iterator[int]:
    """The pid of another process that is running (a sibling server, say)."""
    child = subprocess.Popen(["sleep", "60"])  # noqa: S607
    yield child.pid
    child.kill()
    child.wait()


async def seed(
    db: Database, owners: dict[str, int | None], pids: dict[str, int] | None = None
) -> int:
    """A user; per owner one `sending` attempt and one unanswered Idempotency-Key; a lease
    for each owner whose value is its heartbeat age in seconds (None: no lease row), with
    the pid in `pids` or else one of a process that has exited."""
    pids = pids or {}
    gone = dead_pid()
    async with db.transaction() as session:
        user = await users.create_user(session, "alice")
        for n, (owner, age) in enumerate(owners.items()):
            session.add(
                Attempt(
                    user_id=user.id,
                    status=AttemptStatus.SENDING.value,
                    recipient_email=f"r{n}@example.com",
                    registrable_domain="example.com",
                    sender_email="outreach@sender.example",
                    subject="s",
                    legal_basis="legitimate_interest",
                    region="US",
                    reason="",
                    duplicate_key=f"k{n}",
                    owner=owner,
                )
            )
            session.add(
                HttpIdempotencyKey(
                    user_id=user.id,
                    key=f"idem-{owner}",
                    request_hash="h",
                    state=http_idempotency.IN_PROGRESS,
                    owner=owner,
                    created_at=utcnow(),
                )
            )
            if age is not None:
                await leases.heartbeat(
                    session,
                    owner=owner,
                    instance=owner.split(":")[0],
                    pid=pids.get(owner, gone),
                    now=utcnow() - timedelta(seconds=age),
                )
        return user.id


async def state_of(db: Database) -> tuple[dict[str, str], set[str], set[str]]:
    async with db.transaction() as session:
        statuses = {a.owner or "": a.status for a in (await session.scalars(select(Attempt))).all()}
        keys = {k.owner or "" for k in (await session.scalars(select(HttpIdempotencyKey))).all()}
        alive = set((await session.scalars(select(ProcessLease.owner))).all())
    return statuses, keys, alive


async def test_sweep_marks_unknown_only_the_sends_of_expired_leases(db: Database) -> None:
    await seed(db, {"h1:10:dead": 120, "h1:11:live": 2, "h2:12:live": 0, "h1": None})
    recovered = await sweep_expired(db, expiry=EXPIRY)
    assert len(recovered) == 1
    statuses, keys, alive = await state_of(db)
    assert statuses == {
        "h1:10:dead": "unknown",
        "h1:11:live": "sending",  # a slow send of a live process is never touched
        "h2:12:live": "sending",
        "h1": "sending",  # no lease (CLI, before leases): left to start-up recovery
    }
    assert keys == {"h1:11:live", "h2:12:live", "h1"}  # the dead one's key answers again
    assert alive == {"h1:11:live", "h2:12:live"}
    assert await sweep_expired(db, expiry=EXPIRY) == []  # nothing left to do


async def test_concurrent_sweeps_recover_each_send_exactly_once(db: Database) -> None:
    dead = {f"h{i}:{i}:dead": 300 for i in range(6)}
    await seed(db, {**dead, "h9:9:live": 1})
    results = await asyncio.gather(*(sweep_expired(db, expiry=EXPIRY) for _ in range(5)))
    ids = [i for r in results for i in r]
    assert len(ids) == len(set(ids)) == len(dead)
    statuses, _, alive = await state_of(db)
    assert [o for o, s in statuses.items() if s == "unknown"] == sorted(dead)
    assert alive == {"h9:9:live"}


async def test_heartbeat_recreates_a_swept_lease_and_keeps_a_slow_send(db: Database) -> None:
    """A live process whose heartbeat keeps beating is never swept, however long SMTP takes."""
    settings = make_settings(
        db.url,
        sendwarden_lease_expiry=0.6,
        sendwarden_lease_heartbeat=0.1,
        sendwarden_lease_sweep_interval=0.1,
    )
    owner = leases.new_owner("h1")
    await seed(db, {owner: None})
    keeper = LeaseKeeper(settings, db, owner)
    await keeper.start()
    try:
        for _ in range(15):  # 1.5 s: well past the expiry
            assert await sweep_expired(db, expiry=timedelta(seconds=0.6)) == []
            await asyncio.sleep(0.1)
        statuses, keys, alive = await state_of(db)
        assert statuses == {owner: "sending"} and keys == {owner} and alive == {owner}
    finally:
        assert keeper._task is not None
        keeper._task.cancel()  # like kill -9: the lease row stays behind
    await asyncio.sleep(0.8)  # the process "died": no more heartbeats
    assert len(await sweep_expired(db, expiry=timedelta(seconds=0.6))) == 1
    assert (await state_of(db))[0] == {owner: "unknown"}


async def test_start_up_recovery_takes_this_hosts_leases_and_host_name_only(db: Database) -> None:
    await seed(db, {"h1:10:a": 1, "h1:11:b": None, "h1": None, "h2:12:c": 1, "h10:13:d": None})
    settings = make_settings(db.url, sendwarden_instance_name="h1")
    recovered = await recover_interrupted_sends(settings, db)
    assert len(recovered) == 3
    statuses, keys, alive = await state_of(db)
    assert {o for o, s in statuses.items() if s == "unknown"} == {"h1:10:a", "h1:11:b", "h1"}
    assert keys == {"h2:12:c", "h10:13:d"} and alive == {"h2:12:c"}


async def test_start_up_recovery_leaves_a_running_sibling_servers_sends_alone(
    db: Database, running_pid: int
) -> None:
    # Two servers on one host: the one starting must not settle the other's sends in
    # progress (they would be `unknown` while being sent, their keys freed mid-run).
    await seed(
        db,
        {"h1:10:sibling": 1, "h1:11:crashed": 1, "h1:12:stale": 120},
        pids={"h1:10:sibling": running_pid, "h1:12:stale": running_pid},
    )
    settings = make_settings(db.url, sendwarden_instance_name="h1")
    assert len(await recover_interrupted_sends(settings, db)) == 2
    statuses, keys, alive = await state_of(db)
    assert statuses == {
        "h1:10:sibling": "sending",  # fresh lease, process running: in progress
        "h1:11:crashed": "unknown",  # fresh lease, but its process is gone
        "h1:12:stale": "unknown",  # no heartbeat for 2 minutes: dead (pid since reused)
    }
    assert keys == {"h1:10:sibling"} and alive == {"h1:10:sibling"}


def test_heartbeat_must_be_well_inside_the_expiry() -> None:
    with pytest.raises(ValueError, match="SENDWARDEN_LEASE_HEARTBEAT"):
        Settings(_env_file=None, sendwarden_lease_expiry=5, sendwarden_lease_heartbeat=3)  # type: ignore[call-arg]


async def test_the_sweep_fails_the_suppression_imports_of_a_dead_process(db: Database) -> None:
    user_id = await seed(db, {"h1:10:dead": 120, "h1:11:live": 2})
    async with db.transaction() as session:
        dead = await suppression_imports.create(
            session, user_id=user_id, scope="user", process="h1:10:dead"
        )
        live = await suppression_imports.create(
            session, user_id=user_id, scope="user", process="h1:11:live"
        )
        finished = await suppression_imports.create(
            session, user_id=user_id, scope="user", process="h1:10:dead"
        )
        await suppression_imports.advance(
            session,
            finished.id,
            suppression_imports.Counts(3, 3, 0, 0, [], 10),
            state=suppression_imports.DONE,
        )
    await sweep_expired(db, expiry=EXPIRY)
    async with db.transaction() as session:
        jobs = {job.id: job for job in (await session.scalars(select(SuppressionImport))).all()}
    assert jobs[dead.id].state == suppression_imports.FAILED
    assert jobs[dead.id].error is not None and "interrupted" in jobs[dead.id].error
    assert jobs[dead.id].finished_at is not None
    assert jobs[live.id].state == suppression_imports.RUNNING  # a live process's job goes on
    assert jobs[finished.id].state == suppression_imports.DONE  # finished work is not rewritten
