"""The conversation core's fixtures (the real client over HTTP to the fake Foundation Models
service), for the vision tests that run turns through the service directly."""

from __future__ import annotations

from tests.conversation.conftest import client, fm

__all__ = ["client", "fm"]
