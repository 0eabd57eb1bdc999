"""Credentials side of the fake: Authorization checks, the IAM token exchange (JWT PS256
verified against a public key the test registered) and the metadata service."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

MAX_JWT_LIFETIME = 3600
# The audience the real token endpoint checks, whatever address it was reached at (a proxy or a
# private endpoint): https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa
IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"


@dataclass
class AuthState:
    api_key: str
    iam_token_lifetime: float = 12 * 3600.0
    metadata_token_lifetime: int = 3600
    iam_delay: float = 0.0
    # key id -> (service account id, public key PEM)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    # token -> expiry (time.time()); `expired` tokens are answered with 401.
    tokens: dict[str, float] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    reject_next: int = 0
    iam_exchanges: int = 0
    metadata_requests: int = 0
    jwt_errors: list[str] = field(default_factory=list)

    def issue(self, lifetime: float) -> str:
        token = "t1.fake." + secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + lifetime
        return token

    def reject(self, times: int) -> None:
        """The next `times` checks fail whatever the credentials."""
        self.reject_next += times

    def lifetime(self, seconds: float) -> None:
        """IAM tokens issued from now on last `seconds`."""
        self.iam_token_lifetime = seconds

    def expire_all(self) -> None:
        """Every token issued so far now gets 401 (a token that expired mid-run)."""
        self.expired.update(self.tokens)

    def check(self, authorization: str | None, *, allow_bearer_key: bool = False) -> str | None:
        """None if allowed, else the 401 message."""
        if self.reject_next > 0:
            self.reject_next -= 1
            return "The token has expired"
        if not authorization:
            return "IAM token or API key has to be passed in request"
        scheme, _, value = authorization.partition(" ")
        if scheme == "Api-Key" and value == self.api_key:
            return None
        if scheme == "Bearer":
            if allow_bearer_key and value == self.api_key:
                return None
            if value in self.expired:
                return "The token has expired"
            expiry = self.tokens.get(value)
            if expiry is not None and expiry > time.time():
                return None
        return "Unknown api key or token"

    def verify_jwt(self, token: str, audience: str) -> str | None:
        """None if the JWT is good, else why not (recorded in `jwt_errors`)."""
        problem = self._verify(token, audience)
        if problem:
            self.jwt_errors.append(problem)
        return problem

    def _verify(self, token: str, audience: str) -> str | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            return f"bad JWT header: {exc}"
        if header.get("alg") != "PS256":
            return f"alg must be PS256, not {header.get('alg')}"
        registered = self.keys.get(str(header.get("kid")))
        if registered is None:
            return f"unknown key id {header.get('kid')!r}"
        account, public_key = registered
        try:
            claims: dict[str, Any] = jwt.decode(
                token, public_key, algorithms=["PS256"], audience=audience,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return f"JWT rejected: {type(exc).__name__}: {exc}"
        if claims["iss"] != account:
            return f"iss {claims['iss']!r} is not the key's service account"
        if int(claims["exp"]) - int(claims["iat"]) > MAX_JWT_LIFETIME:
            return "JWT lifetime exceeds one hour"
        return None

    def exchange_answer(self) -> dict[str, Any]:
        self.iam_exchanges += 1
        token = self.issue(self.iam_token_lifetime)
        expires = datetime.now(UTC) + timedelta(seconds=self.iam_token_lifetime)
        # Nanosecond precision, as the real service writes it.
        stamp = expires.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        return {"iamToken": token, "expiresAt": stamp}

    def metadata_answer(self) -> dict[str, Any]:
        self.metadata_requests += 1
        token = self.issue(self.metadata_token_lifetime)
        return {"access_token": token, "expires_in": self.metadata_token_lifetime,
                "token_type": "Bearer"}
