import sqlalchemy as sa

from remit.db.tables import jobs
from remit.jobs.definition import JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine

registry = JobRegistry()


@job(queue="remit_maintenance", registry=registry, unique=UniqueBy("n"), name="tests.smoke")
async def smoke(ctx: object, n: int) -> None:
    return None


async def test_enqueue_commits_with_transaction(database):
    engine = Engine(database, registry=registry)
    async with database.begin() as conn:
        first = await engine.enqueue(conn, smoke, {"n": 1})
        dup = await engine.enqueue(conn, smoke, {"n": 1})
    assert first is not None
    assert dup is None
    async with database.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar_one()
    assert count == 1
