"""The identity feature built on the Telegram front: the relying party, the store, the
router and the callback's page."""

from __future__ import annotations

import datetime as dt

from bot.features.identity.settings import CALLBACK_PATH, IdentitySettings
from bot.features.identity.store import Identities
from bot.features.identity.telegram import SignIn
from bot.plugin.conversation import Employee
from bot.plugin.ground import TelegramGround
from bot.plugin.oidc import RelyingParty
from bot.plugin.telegram import TelegramPart


class Employees:
    """Who a user is signed in as, for the update's Principal (the admission's lookup)."""

    def __init__(self, identities: Identities) -> None:
        self.identities = identities

    async def of(self, user_id: int) -> Employee | None:
        return await self.identities.employee(user_id)


def identity_on_telegram(front: TelegramGround) -> TelegramPart:
    settings = front.ground.settings
    section = settings.section(IdentitySettings)
    secret = section.client_secret
    party = RelyingParty(
        section.issuer, section.client_id, secret.get_secret_value() if secret else "",
        f"{settings.public_url}{CALLBACK_PATH}", scopes=section.scopes,
        groups_claim=section.groups_claim)
    identities = Identities(front.ground.db.sessionmaker, dt.timedelta(seconds=section.ttl))
    sign_in = SignIn(identities, party, section.required)
    sign_in.outbox = front.outbox
    return TelegramPart(front=[sign_in.build_router()], web=[sign_in.mount],
                        employees=Employees(identities))
