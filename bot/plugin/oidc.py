"""Signing people in with the company's OpenID Connect provider: the one relying party the
console's admin sign-in and the identity feature's employee sign-in share (bot/oidc.py)."""

from __future__ import annotations

from bot.oidc import ALGORITHMS, Flow, Identity, OidcError, RelyingParty

__all__ = ["ALGORITHMS", "Flow", "Identity", "OidcError", "RelyingParty"]
