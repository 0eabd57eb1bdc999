"""The one OpenID Connect relying party of fmbot (the authorization code flow with PKCE,
https://openid.net/specs/openid-connect-core-1_0.html section 3.1), used by the console's
admin sign-in and the employee sign-in alike (through `bot.plugin.oidc`).

The provider's configuration is read from its discovery document; the browser is sent to it
with a state, a nonce and a code challenge; the code is exchanged for an ID token on the way
back, and PyJWT checks the token's signature against the provider's published keys (JWKS), its
issuer, audience and expiry (fmbot writes no JWT verification of its own). The keys are kept;
a token naming a key that is not among them fetches the JWKS again, once, so that a provider
that rotated its keys is followed and a forged `kid` costs one request. Where the flow's state
is kept (a cookie, a table) is the caller's; this module checks it.

Everything the provider says is untrusted and bounded: answers of at most `MAX_ANSWER` bytes,
claims cut to their lengths, at most `MAX_GROUPS` groups."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

log = logging.getLogger(__name__)

#: The signature algorithms an ID token may use (never "none", never a shared secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
#: The largest answer read from the provider (discovery, JWKS, token), in bytes.
MAX_ANSWER = 256 * 1024
#: The most groups kept from a token, and the longest name, e-mail and group kept.
MAX_GROUPS, MAX_NAME, MAX_EMAIL, MAX_GROUP = 200, 200, 320, 200


class OidcError(Exception):
    """A sign-in the provider or the browser got wrong: one line, for the user and the log."""


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in's secrets, kept by the caller between the start and the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                   secrets.token_urlsafe(48))


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider vouches for, from a verified ID token."""

    subject: str
    name: str
    email: str
    email_verified: bool
    groups: tuple[str, ...]
    expires_at: int  # the ID token's exp, seconds since the epoch


class RelyingParty:
    """fmbot as a client of the company's provider."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str,
                 *, scopes: str = "openid email", groups_claim: str = "groups",
                 timeout: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret  # empty: a public client (PKCE alone)
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self.groups_claim = groups_claim
        self.timeout = timeout
        self._config: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout)

    async def discovery(self, http: httpx.AsyncClient | None = None) -> dict[str, Any]:
        """The provider's discovery document, read once and checked to name this issuer."""
        if self._config is None:
            async with _borrowed(http, self) as client:
                found = await _json(client, "GET",
                                    f"{self.issuer}/.well-known/openid-configuration")
            if not isinstance(found, dict) or str(found.get("issuer", "")).rstrip("/") \
                    != self.issuer:
                raise OidcError("the provider's discovery document names another issuer")
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(needed), str):
                    raise OidcError(f"the provider's discovery document has no {needed}")
            self._config = found
        return self._config

    async def keys(self, http: httpx.AsyncClient | None = None, *,
                   fresh: bool = False) -> dict[str, Any]:
        """The provider's published signing keys by `kid` (fetched again when `fresh`)."""
        if self._keys is None or fresh:
            async with _borrowed(http, self) as client:
                config = await self.discovery(client)
                published = await _json(client, "GET", config["jwks_uri"])
            found: dict[str, Any] = {}
            listed = published.get("keys") if isinstance(published, dict) else None
            for key in listed if isinstance(listed, list) else []:
                if isinstance(key, dict) and key.get("use", "sig") == "sig":
                    found[str(key.get("kid", ""))] = key
            self._keys = found
        return self._keys

    async def authorization_url(self, flow: Flow) -> str:
        """Where to send the browser for this flow."""
        config = await self.discovery()
        challenge = _b64(hashlib.sha256(flow.verifier.encode()).digest())
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "scope": self.scopes,
            "redirect_uri": self.redirect_uri, "state": flow.state, "nonce": flow.nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        return f"{config['authorization_endpoint']}?{query}"

    async def finish(self, flow: Flow, state: str, code: str) -> Identity:
        """The identity the callback's code stands for (OidcError otherwise)."""
        if not secrets.compare_digest(flow.state.encode(), state.encode()):
            raise OidcError("the sign-in's state does not match")
        async with self._client() as http:
            config = await self.discovery(http)
            form = {"grant_type": "authorization_code", "code": code[:2048],
                    "redirect_uri": self.redirect_uri, "client_id": self.client_id,
                    "code_verifier": flow.verifier}
            if self.client_secret:
                form["client_secret"] = self.client_secret
            tokens = await _json(http, "POST", config["token_endpoint"], data=form)
            id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
            if not isinstance(id_token, str) or len(id_token) > MAX_ANSWER:
                raise OidcError("the provider gave no ID token")
            claims = await self._verified(http, id_token)
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
                claims["nonce"].encode(), flow.nonce.encode()):
            raise OidcError("the ID token's nonce is not this sign-in's")
        return self._identity(claims)

    async def _verified(self, http: httpx.AsyncClient, id_token: str) -> dict[str, Any]:
        import jwt  # PyJWT[crypto]: imported only where a provider is configured

        try:
            kid = str(jwt.get_unverified_header(id_token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token does not read ({exc})") from None
        keys = await self.keys(http)
        if kid not in keys:  # the provider may have rotated its keys: ask again, once
            keys = await self.keys(http, fresh=True)
        if kid not in keys:
            raise OidcError("the ID token is signed with a key the provider does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, jwt.PyJWK(keys[kid]), algorithms=ALGORITHMS,
                audience=self.client_id, issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise OidcError("the ID token has expired") from None
        except jwt.InvalidAudienceError:
            raise OidcError("the ID token was issued for another client (audience)") from None
        except jwt.InvalidSignatureError:
            raise OidcError("the ID token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token does not verify ({exc})") from None
        return claims

    def _identity(self, claims: dict[str, Any]) -> Identity:
        def text(name: str, limit: int) -> str:
            value = claims.get(name)
            return value[:limit] if isinstance(value, str) else ""

        raw = claims.get(self.groups_claim)
        names = claims.get("_claim_names")
        if raw is None and isinstance(names, dict) and self.groups_claim in names:
            # Entra ID's "overage": too many groups for a token, so it names where to fetch
            # them instead (https://learn.microsoft.com/security/zero-trust/develop/
            # configure-tokens-group-claims-app-roles). fmbot does not call Microsoft Graph:
            # the employee reads as a member of no group, and the deployment is told why.
            log.warning("OpenID Connect: the ID token of %s lists no groups but says they are "
                        "elsewhere (too many groups for a token): this employee reads only the "
                        "open documents; assign the bot's groups to the application instead",
                        str(claims.get("sub", "?"))[:MAX_NAME])
        if isinstance(raw, str):
            raw = [raw]
        groups = tuple(dict.fromkeys(
            g.strip()[:MAX_GROUP] for g in (raw if isinstance(raw, list) else [])
            if isinstance(g, str) and g.strip()))[:MAX_GROUPS]
        subject = text("sub", MAX_NAME)
        if not subject:
            raise OidcError("the ID token names no subject")
        return Identity(subject=subject, name=text("name", MAX_NAME),
                        email=text("email", MAX_EMAIL).lower(),
                        email_verified=claims.get("email_verified") is not False,
                        groups=groups, expires_at=int(claims["exp"]))


@asynccontextmanager
async def _borrowed(http: httpx.AsyncClient | None,
                    party: RelyingParty) -> AsyncIterator[httpx.AsyncClient]:
    """The caller's HTTP client, or a short-lived one of the relying party's."""
    if http is not None:
        yield http
        return
    async with party._client() as own:
        yield own


async def _json(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    try:
        async with http.stream(method, url, **kwargs) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise OidcError(f"the provider's answer at {url} is too large")
    except httpx.HTTPError as exc:
        raise OidcError(f"the provider cannot be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        detail = ""
        try:
            error = json.loads(body)
            if isinstance(error, dict) and isinstance(error.get("error"), str):
                detail = f" ({error['error'][:80]})"
        except ValueError:
            pass
        raise OidcError(f"the provider answered {response.status_code}{detail} at {url}")
    try:
        return json.loads(body)
    except ValueError:
        raise OidcError(f"the provider's answer at {url} is not JSON") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
