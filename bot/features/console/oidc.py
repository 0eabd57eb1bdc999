"""Signing in to the console with the company's OpenID Connect provider (the authorization
code flow with PKCE, https://openid.net/specs/openid-connect-core-1_0.html section 3.1):
the provider's configuration read from its discovery document, the browser sent to it with
a state, a nonce and a code challenge, the code exchanged for an ID token on the way back,
the token's signature checked against the provider's published keys, its issuer, audience,
expiry and nonce checked, and the e-mail it vouches for (verified) looked up among
CONSOLE_OIDC_ADMINS.

The state, the nonce and the code verifier travel in a cookie of their own, signed with the
console's key and sent back only to the callback (SameSite=Lax: the provider's redirect is a
navigation from another site, which a Strict cookie would not be sent with)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from bot.features.console.auth import Keys, OidcError

#: How long the browser may take at the provider.
FLOW_SECONDS = 600
#: The signature algorithms an ID token may use (never "none", never a shared secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass(frozen=True, slots=True)
class Flow:
    state: str
    nonce: str
    verifier: str


class Provider:
    """The company's provider, as the console's settings name it."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str,
                 keys: Keys, *, timeout: float = 10.0) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.keys = keys
        self.timeout = timeout
        self._config: dict[str, Any] | None = None

    async def _configuration(self, http: httpx.AsyncClient) -> dict[str, Any]:
        if self._config is None:
            found = await _json(http, "GET", f"{self.issuer}/.well-known/openid-configuration")
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcError("the provider's discovery document names another issuer")
            self._config = found
        return self._config

    async def start(self) -> tuple[str, str]:
        """Where to send the browser, and the flow's cookie."""
        flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                    secrets.token_urlsafe(48))
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            config = await self._configuration(http)
        challenge = _b64(hashlib.sha256(flow.verifier.encode()).digest())
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "scope": "openid email",
            "redirect_uri": self.redirect_uri, "state": flow.state, "nonce": flow.nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        cookie = self.keys.sign(_b64(json.dumps(
            [flow.state, flow.nonce, flow.verifier, int(time.time()) + FLOW_SECONDS]).encode()))
        return f"{config['authorization_endpoint']}?{query}", cookie

    async def finish(self, cookie: str, state: str, code: str) -> str:
        """The verified e-mail the provider vouches for (OidcError otherwise)."""
        flow = self._flow(cookie)
        if not secrets.compare_digest(flow.state, state):
            raise OidcError("the sign-in's state does not match this browser's")
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            config = await self._configuration(http)
            tokens = await _json(http, "POST", config["token_endpoint"], data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri, "client_id": self.client_id,
                "client_secret": self.client_secret, "code_verifier": flow.verifier,
            })
            id_token = tokens.get("id_token")
            if not isinstance(id_token, str):
                raise OidcError("the provider gave no ID token")
            published = await _json(http, "GET", config["jwks_uri"])
        claims = self._verified(id_token, published)
        if claims.get("nonce") != flow.nonce:
            raise OidcError("the ID token's nonce is not this sign-in's")
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") is False:
            raise OidcError("the provider vouched for no verified e-mail address")
        return email

    def _flow(self, cookie: str) -> Flow:
        token = self.keys.verified(cookie)
        if token is None:
            raise OidcError("the sign-in's cookie is missing or forged")
        try:
            state, nonce, verifier, until = json.loads(base64.urlsafe_b64decode(
                token + "=" * (-len(token) % 4)))
        except (ValueError, TypeError) as exc:
            raise OidcError("the sign-in's cookie does not read") from exc
        if int(until) < time.time():
            raise OidcError("the sign-in took longer than 10 minutes")
        return Flow(str(state), str(nonce), str(verifier))

    def _verified(self, id_token: str, published: dict[str, Any]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
            key = next((jwt.PyJWK(k) for k in published.get("keys", [])
                        if k.get("kid") == header.get("kid")), None)
            if key is None:
                raise OidcError("the ID token's key is not among the provider's")
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=ALGORITHMS, audience=self.client_id,
                issuer=self.issuer, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token does not verify ({exc})") from None
        return claims


async def _json(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise OidcError(f"the provider cannot be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise OidcError(f"the provider answered {response.status_code} at {url}")
    try:
        return response.json()
    except ValueError:
        raise OidcError(f"the provider's answer at {url} is not JSON") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
