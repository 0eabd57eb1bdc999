"""Credentials: API key, static IAM token, service-account authorized key, metadata service.

Each `Auth` gives the `Authorization` header value for a request. The refreshable ones
(`ServiceAccountKeyAuth`, `MetadataAuth`) cache an IAM token, refresh it well before it expires
(an hour at most, as the IAM docs advise) with one refresh in flight however many requests
wait, and drop it when the API answers 401 so the next request gets a fresh one.
Secrets never appear in reprs, logs or error messages.

Sources: https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa (JWT PS256),
https://yandex.cloud/en/docs/compute/operations/vm-connect/auth-inside-vm (metadata service).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from bot.foundation_models.error_mapping import status_error
from bot.foundation_models.errors import APIConnectionError, APIError, InvalidRequestError
from bot.foundation_models.wire import IamTokenResponse, MetadataTokenResponse

logger = logging.getLogger(__name__)

DEFAULT_IAM_URL = "https://iam.api.cloud.yandex.net"
DEFAULT_METADATA_URL = "http://169.254.169.254"
# The JWT's `aud` is always the public token endpoint, whatever address IAM is reached at (a
# proxy, a private endpoint): the endpoint checks the audience, not the URL it was called by
# (https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa#jwt-create).
IAM_TOKEN_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
_MAX_TOKEN_AGE = 3600.0  # refresh at least hourly (IAM docs)
_REFRESH_MARGIN = 300.0
_TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Secret:
    """A string that never shows itself in repr/str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


class Auth(ABC):
    """Where the Authorization header comes from."""

    #: Send `x-folder-id`: only user-account IAM tokens need it (reference §7).
    needs_folder_header: bool = False
    #: A 401 may be cured by fetching a new token.
    refreshable: bool = False

    @abstractmethod
    async def authorization(self, http: httpx.AsyncClient) -> str:
        """The `Authorization` header value."""

    async def invalidate(self, authorization: str) -> None:  # noqa: B027 - static: no-op
        """The API refused `authorization` (401); forget it if it is still the current one."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(**********)"


class ApiKeyAuth(Auth):
    def __init__(self, api_key: str) -> None:
        self._key = Secret(api_key)

    async def authorization(self, http: httpx.AsyncClient) -> str:
        return f"Api-Key {self._key.get()}"


class IamTokenAuth(Auth):
    """A static IAM token. `send_folder_id` because such tokens are usually a user's."""

    def __init__(self, iam_token: str, *, send_folder_id: bool = True) -> None:
        self._token = Secret(iam_token)
        self.needs_folder_header = send_folder_id

    async def authorization(self, http: httpx.AsyncClient) -> str:
        return f"Bearer {self._token.get()}"


class _RefreshingAuth(Auth):
    """Caches a token; single-flight refresh under a lock; refreshes before expiry."""

    refreshable = True

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        # `clock` schedules refreshes (monotonic); JWTs and expiresAt use wall time.
        self._clock = clock
        self._token: Secret | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        #: How many tokens were fetched (for tests and diagnostics).
        self.fetch_count = 0

    @abstractmethod
    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        """Get a new token: (token, lifetime in seconds)."""

    async def authorization(self, http: httpx.AsyncClient) -> str:
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return f"Bearer {token.get()}"
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                await self._refresh(http)
            assert self._token is not None
            return f"Bearer {self._token.get()}"

    async def _refresh(self, http: httpx.AsyncClient) -> None:
        now = self._clock()
        try:
            value, lifetime = await self._fetch(http)
        except (APIError, APIConnectionError) as exc:
            if self._token is not None and now < self._expires_at - 30:
                # The old token is still valid: keep working, try again on the next request.
                logger.warning("IAM token refresh failed, using the current token: %s", exc)
                return
            raise
        self.fetch_count += 1
        self._token = Secret(value)
        self._expires_at = now + lifetime
        self._refresh_at = now + min(_MAX_TOKEN_AGE, max(lifetime - _REFRESH_MARGIN, lifetime / 2))
        logger.debug("IAM token obtained, valid for %.0f s", lifetime)

    async def invalidate(self, authorization: str) -> None:
        async with self._lock:
            if self._token is not None and authorization == f"Bearer {self._token.get()}":
                self._token = None
                self._refresh_at = 0.0
                self._expires_at = 0.0


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise status_error(
            response.status_code,
            response.content,
            reason=f"{what}: {response.reason_phrase}",
            request_id=response.headers.get("x-request-id"),
        )


class ServiceAccountKeyAuth(_RefreshingAuth):
    """A service account's authorized key (`yc iam key create -o key.json`) -> IAM tokens."""

    def __init__(
        self,
        *,
        key_id: str,
        service_account_id: str,
        private_key: str,
        iam_url: str = DEFAULT_IAM_URL,
        jwt_lifetime: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.key_id = key_id
        self.service_account_id = service_account_id
        # Current keys start with "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID ..."
        # before the PEM block (https://yandex.cloud/en/docs/iam/concepts/authorization/key).
        begin = private_key.find("-----BEGIN")
        self._private_key = Secret(private_key[begin:] if begin >= 0 else private_key)
        self._url = iam_url.rstrip("/") + "/iam/v1/tokens"
        self._jwt_lifetime = min(jwt_lifetime, 3600.0)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> ServiceAccountKeyAuth:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                key_id=data["id"],
                service_account_id=data["service_account_id"],
                private_key=data["private_key"],
                **kwargs,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidRequestError(
                f"cannot read the service-account key file {str(path)!r}: {type(exc).__name__}"
            ) from None

    def make_jwt(self) -> str:
        now = int(time.time())
        payload = {
            "iss": self.service_account_id,
            "aud": IAM_TOKEN_AUDIENCE,
            "iat": now,
            "exp": now + int(self._jwt_lifetime),
        }
        # PyJWT (and cryptography under it: about 20 MB) only for a service account's key.
        import jwt

        return jwt.encode(
            payload, self._private_key.get(), algorithm="PS256", headers={"kid": self.key_id}
        )

    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        try:
            response = await http.post(
                self._url, json={"jwt": self.make_jwt()}, timeout=_TOKEN_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"IAM token exchange failed: {type(exc).__name__}") from None
        _check(response, "IAM token exchange")
        try:
            body = IamTokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise APIError("IAM token exchange: unreadable answer") from None
        return body.iam_token, _lifetime(body.expires_at, time.time())

    def __repr__(self) -> str:
        return f"ServiceAccountKeyAuth(key_id={self.key_id!r}, private_key=**********)"


class MetadataAuth(_RefreshingAuth):
    """IAM tokens of the service account attached to a VM or a cloud function."""

    def __init__(
        self, url: str = DEFAULT_METADATA_URL, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(clock=clock)
        self._url = url.rstrip("/") + "/computeMetadata/v1/instance/service-accounts/default/token"

    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        try:
            response = await http.get(
                self._url, headers={"Metadata-Flavor": "Google"}, timeout=_TOKEN_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"metadata service: {type(exc).__name__}") from None
        _check(response, "metadata service")
        try:
            body = MetadataTokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise APIError("metadata service: unreadable answer") from None
        return body.access_token, float(body.expires_in)

    def __repr__(self) -> str:
        return f"MetadataAuth(url={self._url!r})"


def _lifetime(expires_at: str, now: float) -> float:
    """Seconds until an RFC 3339 instant (nanoseconds trimmed); 12 h if unreadable."""
    text = expires_at.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits):]}"
    try:
        return max(60.0, datetime.fromisoformat(text).timestamp() - now)
    except ValueError:
        return 12 * 3600.0


def build_auth(
    *,
    api_key: str | None = None,
    iam_token: str | None = None,
    sa_key_file: str | Path | None = None,
    use_metadata: bool = False,
    iam_url: str = DEFAULT_IAM_URL,
    metadata_url: str = DEFAULT_METADATA_URL,
) -> Auth:
    """Exactly one credential source; InvalidRequestError naming the clash otherwise."""
    given = [
        name
        for name, value in (
            ("api_key", api_key),
            ("iam_token", iam_token),
            ("sa_key_file", sa_key_file),
            ("use_metadata", use_metadata or None),
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidRequestError(
            "give exactly one of api_key, iam_token, sa_key_file, use_metadata"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if api_key:
        return ApiKeyAuth(api_key)
    if iam_token:
        return IamTokenAuth(iam_token)
    if sa_key_file:
        return ServiceAccountKeyAuth.from_file(sa_key_file, iam_url=iam_url)
    return MetadataAuth(metadata_url)
