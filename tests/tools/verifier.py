"""How a company API verifies fmbot's RFC 9421 signatures with `http-message-signatures` (the
same code as docs/tools.md's example): the key by its keyid, the components it must require,
`max_age`, the body's Content-Digest, and each nonce kept for the signature's lifetime so a
replay is refused. It imports nothing from `bot`: it is the other side of the wire."""

from __future__ import annotations

import datetime as dt
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
                   "x-fmbot-language")  # fmt: skip
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

    def check(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        if self.secret is not None:
            algorithm: Any = algorithms.HMAC_SHA256
            key: Any = self.secret.encode()
        else:
            algorithm, key = algorithms.ED25519, self.public_key
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithm,
            key_resolver=MappingKeyResolver(public_keys={self.key_id: key}, private_keys={}),
        )
        writes = method != "GET"
        try:
            (result,) = verifier.verify(
                Received(method, url, headers),
                max_age=dt.timedelta(seconds=60),
                expect_tag="fmbot",
                expect_label="fmbot",
                require_components=WRITE_COMPONENTS if writes else READ_COMPONENTS,
                body=body if writes else None,
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
