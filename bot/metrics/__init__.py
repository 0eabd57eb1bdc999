"""Prometheus metrics of this process (`registry`) and the HTTP endpoints (`server`).

Import the functions from `bot.metrics.registry`; they are cheap enough for every turn.
"""
