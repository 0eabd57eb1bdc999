"""How a company API verifies fmbot's RFC 9421 signatures with `http-message-signatures` (the
same code as docs/tools.md's example): the key by its keyid, the components it must require,
`max_age`, the body's Content-Digest, and each nonce kept for the signature's lifetime so a
replay is refused. It imports nothing from `bot`: it is the other side of the wire."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

READ_COMPONENTS = ("@method", "@target-uri", "x-fmbot-user-id", "x-fmbot-chat-id",
                   "x-fmbot-language")
WRITE_COMPONENTS = (*READ_COMPONENTS, "idempotency-key", "content-digest")


@dataclass
class Received:
    """The request as the API received it: method, absolute URL, header fields."""

    method: str
    url: str
    headers: Any


@dataclass
class SignatureChecker:
    secret: str | None = None  # hmac-sha256
    public_key: bytes | None = None  # ed25519, PEM
    key_id: str = "fmbot"
    nonces: dict[str, float] = field(default_factory=dict)  # nonce -> when it expires
    reasons: list[str] = field(default_factory=list)  # why each refused request was refused

    def check_mcp(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        """An MCP request (`sign = true`): method, URL and body always; a tools/call also its
        identity headers and key, which must be the `_meta` values the body carries."""
        required = ["@method", "@target-uri"] + (["content-digest"] if body else [])
        meta: dict[str, Any] = {}
        if body:
            message = json.loads(body)
            if isinstance(message, dict) and message.get("method") == "tools/call":
                meta = (message.get("params") or {}).get("_meta") or {}
        for key, header in (("fmbot/user_id", "x-fmbot-user-id"),
                            ("fmbot/chat_id", "x-fmbot-chat-id"),
                            ("fmbot/idempotency_key", "idempotency-key")):
            if key in meta:
                required.append(header)
                if headers.get(header) != str(meta[key]):
                    self.reasons.append(f"{header} is not the call's {key}")
                    return False
        return self._verified(method, url, headers, body if body else None, tuple(required))

    def check(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        writes = method != "GET"
        return self._verified(method, url, headers, body if writes else None,
                              WRITE_COMPONENTS if writes else READ_COMPONENTS)

    def _verified(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
        required: tuple[str, ...],
    ) -> bool:
        if self.secret is not None:
            algorithm: Any = algorithms.HMAC_SHA256
            key: Any = self.secret.encode()
        else:
            algorithm, key = algorithms.ED25519, self.public_key
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithm,
            key_resolver=MappingKeyResolver(public_keys={self.key_id: key}, private_keys={}),
        )
        try:
            (result,) = verifier.verify(
                Received(method, url, headers),
                max_age=dt.timedelta(seconds=60),
                expect_tag="fmbot",
                expect_label="fmbot",
                require_components=required,
                body=body,
            )
        except (HTTPMessageSignaturesException, ValueError) as exc:
            self.reasons.append(str(exc))
            return False
        now = time.time()
        self.nonces = {n: until for n, until in self.nonces.items() if until > now}
        nonce = str(result.parameters.get("nonce", ""))
        if not nonce or nonce in self.nonces:
            self.reasons.append(f"nonce {nonce!r} seen before: a replay")
            return False
        self.nonces[nonce] = float(str(result.parameters["expires"]))
        return True
