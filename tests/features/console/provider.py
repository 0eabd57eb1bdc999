"""An OpenID Connect provider on loopback, speaking the protocol's wire (discovery, the
authorization endpoint, the token endpoint with PKCE, the published keys) with one RSA key:
whoever the test names is signed in at once, as a company's provider does for a user who is
signed in there already."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.ports import free_port

CLIENT_ID, CLIENT_SECRET = "fmbot-console", "s3cret"


@dataclass
class Provider:
    base: str
    redirect_uri: str
    email: str = "lead@example.com"
    email_verified: bool = True
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.base, "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        })

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if (q.get("client_id") != CLIENT_ID or q.get("redirect_uri") != self.redirect_uri
                or q.get("response_type") != "code" or q.get("code_challenge_method") != "S256"
                or "openid" not in q.get("scope", "").split()):
            return web.Response(status=400, text="invalid_request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = (q["nonce"], q["code_challenge"], self.email)
        back = urlencode({"code": code, "state": q["state"]})
        raise web.HTTPFound(f"{self.redirect_uri}?{back}")

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        found = self.codes.pop(str(form.get("code")), None)  # a code is used once
        if (found is None or form.get("client_secret") != CLIENT_SECRET
                or form.get("client_id") != CLIENT_ID
                or form.get("redirect_uri") != self.redirect_uri):
            return web.json_response({"error": "invalid_grant"}, status=400)
        nonce, challenge, email = found
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if digest.rstrip(b"=").decode() != challenge:
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = int(time.time())
        id_token = jwt.encode(
            {"iss": self.base, "aud": CLIENT_ID, "sub": email.split("@")[0], "email": email,
             "email_verified": self.email_verified, "nonce": nonce, "iat": now,
             "exp": now + 300},
            self.key, algorithm="RS256", headers={"kid": "key-1"})
        self.tokens_issued += 1
        return web.json_response({"access_token": secrets.token_urlsafe(16),
                                  "token_type": "Bearer", "id_token": id_token})

    async def jwks(self, request: web.Request) -> web.Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid="key-1", use="sig", alg="RS256")
        return web.json_response({"keys": [public]})


@asynccontextmanager
async def provider_on_loopback(redirect_uri: str) -> AsyncIterator[Provider]:
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}", redirect_uri)
    runner = web.AppRunner(provider.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield provider
    finally:
        await runner.cleanup()
