"""The images feature's series on /metrics: image jobs by the state they reach."""

from __future__ import annotations

from bot.plugin.metrics import counter

IMAGE_JOBS = counter("fmbot_image_jobs", "Image jobs reaching a state", "state")


def image_job(state: str) -> None:
    """`state`: started, delivered, refused, failed, resumed."""
    IMAGE_JOBS.child(state).inc()
