"""`fmbot check`'s lines for the employee sign-in: the provider's discovery document and its
published keys (JWKS) reached, and what is wrong with them, each with what to do."""

from __future__ import annotations

from bot.features.identity.settings import CALLBACK_PATH, IdentitySettings
from bot.plugin.oidc import OidcError, RelyingParty
from bot.plugin.outcome import Outcome, failed, passed

NAME = "identity provider"


async def check_provider(section: IdentitySettings, public_url: str) -> list[Outcome]:
    party = RelyingParty(section.issuer, section.client_id, "",
                         f"{public_url}{CALLBACK_PATH}", timeout=5.0)
    try:
        config = await party.discovery()
    except OidcError as exc:
        return [failed(NAME, f"{section.issuer}/.well-known/openid-configuration: {exc}",
                       "check OIDC_ISSUER: the issuer URL exactly as the provider names it "
                       "(Keycloak: https://host/realms/<realm>; Entra ID: "
                       "https://login.microsoftonline.com/<tenant>/v2.0)")]
    outcomes = [passed(NAME, f"{section.issuer}: discovery document read")]
    try:
        keys = await party.keys(fresh=True)
    except OidcError as exc:
        return [*outcomes, failed(f"{NAME} keys", str(exc),
                                  "the provider must publish its signing keys at jwks_uri")]
    if not keys:
        outcomes.append(failed(f"{NAME} keys", f"{config['jwks_uri']} lists no signing key",
                               "the provider must publish its signing keys at jwks_uri"))
    else:
        outcomes.append(passed(f"{NAME} keys", f"{len(keys)} signing key(s) published"))
    methods = config.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        outcomes.append(failed(f"{NAME} PKCE", "the provider does not offer PKCE with S256",
                               "enable PKCE (S256) for the bot's client at the provider"))
    claims = config.get("claims_supported")
    if isinstance(claims, list) and claims and section.groups_claim not in claims:
        outcomes.append(failed(
            f"{NAME} groups", f"the provider does not list the {section.groups_claim!r} "
            "claim among those it supports",
            "map the groups into the ID token (Keycloak: a Group Membership mapper; Entra ID: "
            "groupMembershipClaims in the app's manifest), or set OIDC_GROUPS_CLAIM"))
    return outcomes
