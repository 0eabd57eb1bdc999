"""Signing in to the console with the company's OpenID Connect provider: the shared relying
party (`bot.plugin.oidc`) does the protocol; the console keeps the flow's state, nonce and
code verifier in a cookie of its own, signed with the console's key, sent back only to the
callback (SameSite=Lax: the provider's redirect is a navigation from another site, which a
Strict cookie would not be sent with), and takes the verified e-mail address the provider
vouches for, which the console's access then looks up among CONSOLE_OIDC_ADMINS."""

from __future__ import annotations

import base64
import json
import time

from bot.features.console.auth import Keys
from bot.plugin.oidc import Flow, OidcError, RelyingParty

#: How long the browser may take at the provider.
FLOW_SECONDS = 600


class Provider:
    """The company's provider, as the console's settings name it."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str,
                 keys: Keys, *, timeout: float = 10.0) -> None:
        self.party = RelyingParty(issuer, client_id, client_secret, redirect_uri,
                                  scopes="openid email", timeout=timeout)
        self.keys = keys

    async def start(self) -> tuple[str, str]:
        """Where to send the browser, and the flow's cookie."""
        flow = Flow.new()
        where = await self.party.authorization_url(flow)
        cookie = self.keys.sign(_b64(json.dumps(
            [flow.state, flow.nonce, flow.verifier, int(time.time()) + FLOW_SECONDS]).encode()))
        return where, cookie

    async def finish(self, cookie: str, state: str, code: str) -> str:
        """The verified e-mail the provider vouches for (OidcError otherwise)."""
        identity = await self.party.finish(self._flow(cookie), state, code)
        if not identity.email or not identity.email_verified:
            raise OidcError("the provider vouched for no verified e-mail address")
        return identity.email

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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
