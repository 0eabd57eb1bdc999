"""The conversation core's fixtures (the real client over HTTP to the fake Foundation Models
service, the service and the image jobs on the test's database), for this feature's tests
that drive the core directly."""

from __future__ import annotations

from tests.conversation.conftest import client, fm, images, service

__all__ = ["client", "fm", "images", "service"]
