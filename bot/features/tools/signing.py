"""RFC 9421 HTTP Message Signatures on the requests fmbot makes for tools.

An API that receives a tool call must be able to trust who is asking. Each request carries
`Signature-Input` and `Signature` with the label `fmbot`, covering the method, the whole target
URI (path and query), the identity headers `X-Fmbot-User-Id`, `-Chat-Id`, `-Language` (and
`-Email` and `-Groups` when the employee signed in with the company's provider), and on
writes the `Idempotency-Key` and an RFC 9530 `Content-Digest` of the exact body bytes; with
`created`, `expires` (`created` + 60 s), a random `nonce` and the tag `fmbot`, so a captured
signature is worth nothing for another path, another user, another body, or after a minute
(and, with the nonce kept for that minute, not even once more).

Keys: `TOOLS_SIGNING_SECRET` signs with `hmac-sha256` (the API holds the same secret);
`TOOLS_SIGNING_KEY` names an Ed25519 private key in PEM, signing with `ed25519`, so the API
holds only the public key. `TOOLS_SIGNING_KEY_ID` is the `keyid` (default `fmbot`).
The signing itself is the `http-message-signatures` library's, which APIs can also verify with.
https://www.rfc-editor.org/rfc/rfc9421 · https://www.rfc-editor.org/rfc/rfc9530
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from http_message_signatures.algorithms import HTTPSignatureAlgorithm

LABEL = "fmbot"
LIFETIME_S = 60
# What every request's signature covers; a write adds the two below.
COVERED = ("@method", "@target-uri", "x-fmbot-user-id", "x-fmbot-chat-id", "x-fmbot-language")
WRITE_COVERED = (*COVERED, "idempotency-key", "content-digest")
# Who the employee is, when signed in (issue 81): covered whenever the request carries them.
EMPLOYEE = ("x-fmbot-user-email", "x-fmbot-user-groups")
_SIGNATURE_FIELDS = ("signature-input", "signature", "content-digest")


class SigningKeyError(ValueError):
    """TOOLS_SIGNING_KEY cannot be used; the message is one line saying why."""


@dataclass(frozen=True)
class RequestSigner:
    """Signs an `httpx.Request` in place (RFC 9421)."""

    algorithm: type[HTTPSignatureAlgorithm]
    key: bytes | Ed25519PrivateKey
    key_id: str = LABEL

    @classmethod
    def with_secret(cls, secret: str, key_id: str = LABEL) -> RequestSigner:
        """`hmac-sha256` with a shared secret (TOOLS_SIGNING_SECRET)."""
        return cls(algorithms.HMAC_SHA256, secret.encode(), key_id)

    @classmethod
    def with_key_file(cls, path: Path, key_id: str = LABEL) -> RequestSigner:
        """`ed25519` with the private key in `path` (PEM, unencrypted: TOOLS_SIGNING_KEY)."""
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(
                f"TOOLS_SIGNING_KEY: cannot read {path}: {exc.strerror or exc}"
            ) from None
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SigningKeyError(
                f"TOOLS_SIGNING_KEY: {path} is not an unencrypted PEM private key ({reason}); "
                "make one with: openssl genpkey -algorithm ed25519 -out fmbot-signing.pem"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(
                f"TOOLS_SIGNING_KEY: {path} holds a {type(key).__name__.removeprefix('_')}, not "
                "an Ed25519 key; make one with: openssl genpkey -algorithm ed25519 -out "
                "fmbot-signing.pem"
            )
        return cls(algorithms.ED25519, key, key_id)

    def sign(self, request: httpx.Request, *, writes: bool, now: float | None = None) -> None:
        """Add `Signature-Input` and `Signature` (and on writes `Content-Digest`); a request
        signed before (a retry) gets a fresh signature and nonce."""
        employee = tuple(name for name in EMPLOYEE if name in request.headers)
        covered = (*COVERED, *employee, *(WRITE_COVERED[len(COVERED):-1] if writes else ()))
        self.sign_covering(request, covered, body=request.content if writes else None, now=now)

    def sign_mcp(self, request: Any) -> None:
        """A request to an MCP server over HTTP (`sign = true`; an `httpx2.Request`). A
        `tools/call` carries who asks in its `_meta`: those values become the identity headers
        (and the Idempotency-Key), signed with the body; other requests (initialize, listing,
        the event stream) sign their method, URL and body."""
        meta = _call_meta(request.content) if request.content else {}
        covered = ["@method", "@target-uri"]
        for key, header in _MCP_IDENTITY:
            value = meta.get(key)
            if value is not None:
                request.headers[header] = str(value)
                covered.append(header.lower())
        self.sign_covering(request, tuple(covered), body=request.content or None)

    def sign_covering(
        self, request: Any, covered: tuple[str, ...], *, body: bytes | None,
        now: float | None = None,
    ) -> None:
        """Sign `covered` (and the body's Content-Digest when `body` is given)."""
        for name in _SIGNATURE_FIELDS:
            request.headers.pop(name, None)
        created = (dt.datetime.fromtimestamp(now, dt.UTC) if now is not None
                   else dt.datetime.now(dt.UTC))
        signer = HTTPMessageSigner(
            signature_algorithm=self.algorithm,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.key_id: self.key}),
        )
        signer.sign(
            request,
            key_id=self.key_id,
            created=created,
            expires=created + dt.timedelta(seconds=LIFETIME_S),
            nonce=secrets.token_urlsafe(16),
            label=LABEL,
            tag=LABEL,  # signed, unlike the label: what a verifier selects the signature by
            covered_component_ids=covered,
            body=body,
        )


# `_meta` keys of a tools/call (bot/features/tools/mcpservers.py) and the headers they become.
_MCP_IDENTITY = (
    ("fmbot/user_id", "X-Fmbot-User-Id"),
    ("fmbot/chat_id", "X-Fmbot-Chat-Id"),
    ("fmbot/language", "X-Fmbot-Language"),
    ("fmbot/idempotency_key", "Idempotency-Key"),
)


def _call_meta(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return {}
    meta = (message.get("params") or {}).get("_meta")
    return meta if isinstance(meta, dict) else {}
