"""What the desk learns: deferred model work on its conversations, done in Yandex's
asynchronous mode (half the price, nobody waits for it): handoff summaries and tags, final
summaries, FAQ drafts, content gaps. Knows nothing of Telegram.
"""

from __future__ import annotations

from bot.features.desk.insights.jobs import InsightJobs
from bot.features.desk.insights.protocol import AsyncModel, JobResult, NotYet, supports_async

__all__ = ["AsyncModel", "InsightJobs", "JobResult", "NotYet", "supports_async"]
