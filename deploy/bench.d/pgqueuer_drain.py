"""PgQueuer draining N no-op jobs, for deploy/bench (the peer Herald is compared with).

Settings are PgQueuer's own benchmark defaults (tools/benchmark.py, drain strategy):
asyncpg, 5 queue managers each on its own connection, batch size 10, drain mode,
uvloop. The jobs are enqueued in one batch before the clock starts; the rate is
jobs / seconds from the first dequeue to the last queue manager exiting.

Usage: python pgqueuer_drain.py DSN JOBS [--consumers 5] [--batch 10]
Prints one line: pgqueuer: jobs=N seconds=S jobs_per_s=R
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
from pgqueuer import AsyncpgDriver, PgQueuer, Queries
from pgqueuer.types import QueueExecutionMode

try:
    import uvloop
except ImportError:  # pragma: no cover - listed in deploy/bench-requirements.txt
    uvloop = None


async def main(dsn: str, jobs: int, consumers: int, batch: int) -> None:
    admin = await asyncpg.connect(dsn=dsn)
    setup = Queries(AsyncpgDriver(admin))
    if not await setup.schema_is_installed():
        await setup.install()
    await setup.clear_queue()
    await setup.clear_statistics_log()
    for start in range(0, jobs, 10_000):
        n = min(10_000, jobs - start)
        await setup.enqueue(["noop"] * n, [None] * n, [0] * n)
    # As deploy/bench prepares Herald's outbox before its drain (VACUUM ANALYZE after the
    # load): without it the planner may not know the 100,000 new rows until autovacuum
    # comes by, and PgQueuer's rate would depend on whether it had.
    names = setup.qbq.settings.qualified  # as PgQueuer names them (PGQUEUER_PREFIX, PGQUEUER_SCHEMA)
    for table in (names.queue_table, names.queue_table_log, names.statistics_table):
        await admin.execute(f"VACUUM ANALYZE {table}")

    done = 0

    def consumer(connection: asyncpg.Connection) -> PgQueuer:
        pgq = PgQueuer(AsyncpgDriver(connection))

        @pgq.entrypoint("noop")
        async def noop(job) -> None:  # the job does nothing: the queue's own cost is measured
            nonlocal done
            done += 1

        return pgq

    queues = [consumer(await asyncpg.connect(dsn=dsn)) for _ in range(consumers)]
    started = time.perf_counter()
    await asyncio.gather(*(q.run(batch_size=batch, mode=QueueExecutionMode.drain) for q in queues))
    seconds = time.perf_counter() - started
    left = sum(x.count for x in await setup.queue_size())
    if done != jobs or left:
        raise SystemExit(f"pgqueuer: ran {done} of {jobs} jobs, {left} left in the queue")
    print(f"pgqueuer: jobs={jobs} seconds={seconds:.3f} jobs_per_s={jobs / seconds:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("jobs", type=int)
    parser.add_argument("--consumers", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    run = uvloop.run if uvloop else asyncio.run
    run(main(args.dsn, args.jobs, args.consumers, args.batch))
