"""`X-Fmbot-Signature`: lets an API trust the identity headers of an HTTP action.

The signature is `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with TOOLS_SIGNING_SECRET as
the key and `X-Fmbot-Timestamp` (Unix seconds) as the timestamp; the body is the request's
bytes (empty for GET and DELETE). The identity headers themselves are not signed: the API
verifies that the request came from fmbot, and fmbot never takes them from the model. To bind
them too, an API can require that the body or query it receives is what fmbot signed.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return PREFIX + digest.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300
) -> bool:
    """What an API does with a request: the signature matches and the timestamp is recent
    (a replayed request older than `tolerance` seconds is refused)."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), header)
