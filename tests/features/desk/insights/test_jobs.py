"""Durable deferred model jobs (issue 26, item 1) against the fake server's completionAsync."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from sqlalchemy import update

from bot.features.desk import metrics
from bot.features.desk.insights import InsightJobs, JobResult, NotYet, supports_async
from bot.features.desk.storage.insight_jobs import InsightJobRepository
from bot.features.desk.storage.insights_models import InsightJob, InsightJobStatus
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatMessage, PollPolicy, Role
from bot.storage.database import Database
from tests.fakes.yandex.server import FakeFoundationModels

FAST = PollPolicy(initial=0.01, multiplier=1.5, max_interval=0.05, deadline=5.0)
SCHEMA = {"title": "handoff_summary", "type": "object",
          "properties": {"problem": {"type": "string"}}, "required": ["problem"]}
ASK = [ChatMessage(Role.SYSTEM, "Summarise."), ChatMessage(Role.USER, "user: где мой заказ?")]
SUBMIT = "/foundationModels/v1/completionAsync"


def jobs_for(db: Database, client: FoundationModelsClient, **kw: object) -> InsightJobs:
    options: dict[str, object] = {"model_name": "yandexgpt/latest", "policy": FAST,
                                  "retry_base": 0.01, "poll_rate": 200.0, "submit_rate": 200.0}
    options.update(kw)
    return InsightJobs(db.sessionmaker, client, **options)  # type: ignore[arg-type]


async def row(db: Database, job_id: int) -> InsightJob:
    async with db.sessionmaker() as session:
        job = await InsightJobRepository(session).get(job_id)
        assert job is not None
        return job


def submits(fm: FakeFoundationModels) -> int:
    return sum(1 for r in fm.requests if r.path == SUBMIT)


async def test_a_job_is_stored_submitted_async_polled_and_applied_once(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.text_pending_polls = 3
    jobs = jobs_for(sqlite_database, client)
    seen: list[JobResult] = []

    async def apply(result: JobResult) -> None:
        seen.append(result)

    jobs.on_done("handoff_summary", apply)
    job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA, case_id=None, user_id=5)
    await jobs.wait_idle()
    job = await row(sqlite_database, job_id)
    assert job.status is InsightJobStatus.APPLIED
    assert job.mode == "async"
    assert job.operation_id is not None
    assert job.input_tokens > 0
    assert job.output_tokens > 0
    assert [r.data["problem"] for r in seen] == ["где мой заказ?"]
    assert submits(fm) == 1
    sent = next(r.json for r in fm.requests if r.path == SUBMIT)
    assert sent["jsonSchema"] == {"schema": SCHEMA}
    polls = [r for r in fm.requests if r.path.startswith("/operations/")]
    assert len(polls) == 4  # three pending answers, then done
    await jobs.aclose()


async def test_a_running_job_is_resumed_after_a_restart_by_polling_never_resubmitting(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.text_pending_polls = 1000  # the first process never sees it finish
    first = jobs_for(database, client, lease=dt.timedelta(seconds=0.3))
    job_id = await first.submit("case_summary", ASK, schema=SCHEMA)
    for _ in range(200):
        if (await row(database, job_id)).status is InsightJobStatus.RUNNING:
            break
        await asyncio.sleep(0.01)
    await first.aclose()  # killed while polling: the job stays running with its operation id
    job = await row(database, job_id)
    assert job.status is InsightJobStatus.RUNNING
    assert job.operation_id
    fm.operations[job.operation_id]["polls_left"] = 1
    # Another process (or replica) finds it once the lease has expired.
    second = jobs_for(database, client, owner="replica-2")
    async with database.sessionmaker() as session:
        await session.execute(update(InsightJob).values(lease_until=None))
        await session.commit()
    assert await second.sweep() == 1
    await second.wait_idle()
    assert (await row(database, job_id)).status is InsightJobStatus.APPLIED
    assert submits(fm) == 1
    await second.aclose()


async def test_a_job_leased_by_a_live_owner_is_not_taken_by_another(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    one = jobs_for(database, client, owner="a")
    job_id = await one.submit("gap_label", ASK, schema=SCHEMA, start=False)
    async with database.sessionmaker() as session:
        repo = InsightJobRepository(session)
        now = dt.datetime.now(dt.UTC)
        assert await repo.claim(job_id, "a", now, dt.timedelta(seconds=60))
        assert not await repo.claim(job_id, "b", now, dt.timedelta(seconds=60))
        await session.commit()
    other = jobs_for(database, client, owner="b")
    assert await other.sweep() == 0
    assert submits(fm) == 0


@pytest.mark.slow
async def test_failures_are_retried_with_backoff_then_the_job_fails(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.fail_next(500, path=SUBMIT)
    jobs = jobs_for(sqlite_database, client, retry_base=0.3)
    job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    job = await row(sqlite_database, job_id)
    assert job.status is InsightJobStatus.PENDING
    assert job.attempts == 1
    assert await jobs.sweep() == 0  # not due yet
    await asyncio.sleep(0.35)
    assert await jobs.sweep() == 1
    await jobs.wait_idle()
    assert (await row(sqlite_database, job_id)).status is InsightJobStatus.APPLIED
    for _ in range(3):
        fm.fail_next(500, path=SUBMIT)
    failing = jobs_for(sqlite_database, client, max_attempts=3, retry_base=0.01)
    bad = await failing.submit("handoff_summary", ASK, schema=SCHEMA)
    for _ in range(3):
        await failing.wait_idle()
        await asyncio.sleep(0.1)
        await failing.sweep()
    await failing.wait_idle()
    job = await row(sqlite_database, bad)
    assert job.status is InsightJobStatus.FAILED
    assert job.attempts == 3
    assert job.error


async def test_an_answer_that_is_not_json_is_asked_again(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.queue_reply("I cannot help with that")
    jobs = jobs_for(sqlite_database, client, retry_base=0.2)
    job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    assert (await row(sqlite_database, job_id)).attempts == 1
    await asyncio.sleep(0.25)
    await jobs.sweep()
    await jobs.wait_idle()
    job = await row(sqlite_database, job_id)
    assert job.status is InsightJobStatus.APPLIED
    assert job.result is not None
    assert job.result["problem"] == "где мой заказ?"
    assert submits(fm) == 2


async def test_a_model_without_async_mode_runs_synchronously_and_says_so_once(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "bot.features.desk.insights.jobs")
    jobs = jobs_for(sqlite_database, client, model_name="qwen3-235b-a22b-fp8/latest")
    ids = [await jobs.submit("handoff_summary", ASK, schema=SCHEMA) for _ in range(3)]
    await jobs.wait_idle()
    for job_id in ids:
        job = await row(sqlite_database, job_id)
        assert job.status is InsightJobStatus.APPLIED
        assert job.mode == "sync"
    assert submits(fm) == 0
    assert "/foundationModels/v1/completion" in fm.paths()
    said = [r for r in caplog.records if "no asynchronous mode" in r.getMessage()]
    assert len(said) == 1


@pytest.mark.parametrize("wire", ["openai", "responses"])
async def test_a_synchronous_job_uses_the_deployments_wire_with_structured_output(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels,
    wire: str,
) -> None:
    from bot.foundation_models.auth import ApiKeyAuth
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
    from bot.foundation_models.responses import ResponsesChatModel
    from tests.conversation.conftest import API_KEY, FOLDER

    kind = OpenAICompatibleChatModel if wire == "openai" else ResponsesChatModel
    async with kind(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                    folder_id=FOLDER) as chat:
        jobs = jobs_for(sqlite_database, client, model_name="qwen3-235b-a22b-fp8/latest",
                        sync_model=chat)
        job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA)
        await jobs.wait_idle()
    job = await row(sqlite_database, job_id)
    assert job.status is InsightJobStatus.APPLIED
    assert job.result is not None
    assert job.result["problem"] == "где мой заказ?"
    path = "/v1/chat/completions" if wire == "openai" else "/v1/responses"
    (body,) = [r.json for r in fm.requests if r.path == path]
    if wire == "openai":
        assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    else:
        assert body["text"]["format"] == {"type": "json_schema", "name": "answer",
                                          "schema": SCHEMA}
    assert "/foundationModels/v1/completion" not in fm.paths()


async def test_a_failing_handler_leaves_the_result_for_another_try(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    jobs = jobs_for(sqlite_database, client, retry_base=0.2)
    calls: list[int] = []

    async def flaky(result: JobResult) -> None:
        calls.append(result.job_id)
        if len(calls) == 1:
            raise RuntimeError("telegram away")

    jobs.on_done("handoff_summary", flaky)
    job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    assert (await row(sqlite_database, job_id)).status is InsightJobStatus.DONE
    await asyncio.sleep(0.25)
    await jobs.sweep()
    await jobs.wait_idle()
    assert (await row(sqlite_database, job_id)).status is InsightJobStatus.APPLIED
    assert calls == [job_id, job_id]
    assert submits(fm) == 1


async def test_a_result_that_cannot_be_applied_yet_waits_quietly(
    sqlite_database: Database,
    client: FoundationModelsClient,
    fm: FakeFoundationModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expected race (a summary before its case's card is posted) is one INFO line, not
    an ERROR with a traceback, and the result is applied on the next try."""
    caplog.set_level(logging.INFO, "bot.features.desk.insights")
    jobs = jobs_for(sqlite_database, client, retry_base=0.2)
    calls: list[int] = []

    async def early(result: JobResult) -> None:
        calls.append(result.job_id)
        if len(calls) == 1:
            raise NotYet("case 2: its card is not posted yet")

    jobs.on_done("handoff_summary", early)
    job_id = await jobs.submit("handoff_summary", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    await asyncio.sleep(0.25)
    await jobs.sweep()
    await jobs.wait_idle()
    assert (await row(sqlite_database, job_id)).status is InsightJobStatus.APPLIED
    assert calls == [job_id, job_id]
    said = [r for r in caplog.records if "not posted yet" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in said] == [(logging.INFO, None)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_which_models_have_an_async_mode() -> None:
    assert supports_async("yandexgpt/latest")
    assert supports_async("yandexgpt-lite")
    assert supports_async("gpt://b1g/yandexgpt/rc")
    assert supports_async("aliceai-llm/latest")
    assert not supports_async("qwen3-235b-a22b-fp8/latest")
    assert not supports_async("gpt://b1g/gpt-oss-120b/latest")
    assert not supports_async("gemma-3-27b-it/latest")


def test_jobs_are_counted_by_kind_and_outcome() -> None:
    before = metrics.INSIGHT_JOBS.child("faq_drafts", "done")._value.get()
    metrics.insight_job("faq_drafts", "done")
    assert metrics.INSIGHT_JOBS.child("faq_drafts", "done")._value.get() == before + 1


async def test_a_periodic_run_is_claimed_by_one_replica_per_period(
    database: Database,
) -> None:
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)

    async def claim(at: dt.datetime) -> bool:
        async with database.sessionmaker() as session:
            won = await InsightJobRepository(session).claim_run("gap_report", at, day)
            await session.commit()
            return won

    assert await claim(now)
    assert not await claim(now)  # another replica, the same moment
    assert not await claim(now + dt.timedelta(hours=23))
    assert await claim(now + day)
    assert not await claim(now + day)


@pytest.mark.slow
async def test_submits_stay_under_the_hourly_quota(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    """5,000 submits an hour: the third of three jobs under a cap of 2 per (shrunk) hour waits
    for the hour to pass."""
    jobs = jobs_for(sqlite_database, client, submits_per_hour=2, hour=0.6)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):
        await jobs.submit("gap_label", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    assert submits(fm) == 3
    assert loop.time() - started >= 0.55
    await jobs.aclose()


@pytest.mark.slow
async def test_default_pacing_never_trips_the_async_quotas(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    """The fake refuses beyond 10 submits and 50 operation GETs in any second (the folder's
    quotas); twenty jobs at once at the default pacing get no 429."""
    fm.async_rps_limit, fm.operation_rps_limit = 10, 50
    fm.text_pending_polls = 2
    jobs = InsightJobs(sqlite_database.sessionmaker, client, model_name="yandexgpt/latest",
                       policy=FAST)  # the default submit and poll rates
    for _ in range(20):
        await jobs.submit("gap_label", ASK, schema=SCHEMA)
    await jobs.wait_idle()
    assert fm.async_429s == 0
    assert submits(fm) == 20
    await jobs.aclose()


async def test_one_process_starting_takes_over_the_leases_its_killed_predecessor_left(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    dead = jobs_for(sqlite_database, client, owner="killed")
    job_id = await dead.submit("gap_label", ASK, schema=SCHEMA, start=False)
    async with sqlite_database.sessionmaker() as session:
        repo = InsightJobRepository(session)
        assert await repo.claim(job_id, "killed", dt.datetime.now(dt.UTC),
                                dt.timedelta(minutes=5))
        await session.commit()
    starting = jobs_for(sqlite_database, client, owner="new")
    assert await starting.sweep() == 0  # a replica waits for the lease to expire
    assert await starting.sweep(take_over=True) == 1
    await starting.wait_idle()
    assert (await row(sqlite_database, job_id)).status is InsightJobStatus.APPLIED
    await starting.aclose()
