"""The console built from its section: its access (links, sessions, audit) on the bot's
database, its pages, and where they are served (the bot's own web server in polling mode,
the webhook's server in webhook mode)."""

from __future__ import annotations

from pathlib import Path

from bot.features.console.auth import Access, Keys
from bot.features.console.casemaking import CaseMaker
from bot.features.console.drafting import Drafting
from bot.features.console.models import ConsoleCaseDraft
from bot.features.console.settings import ConsoleSettings
from bot.features.console.telegram import ConsoleCommand
from bot.features.console.web import Console
from bot.plugin.built import Built
from bot.plugin.ground import TelegramGround
from bot.plugin.offers import CaseFacts, CaseFileCheck, CaseNotes, DeskFigures, ScoredCases
from bot.plugin.telegram import TelegramPart


def console_on_telegram(front: TelegramGround, built: Built) -> TelegramPart:
    ground = front.ground
    settings = ground.settings
    section = settings.section(ConsoleSettings)
    token = settings.telegram_bot_token
    secret = token.get_secret_value() if token is not None else ""
    access = Access(ground.db.sessionmaker, Keys(secret), section.session_ttl,
                    frozenset(settings.admin_user_ids), section.oidc_admins)
    provider = None
    if section.oidc_issuer:
        from bot.features.console.oidc import Provider

        client_secret = section.oidc_client_secret
        provider = Provider(
            section.oidc_issuer, section.oidc_client_id,
            client_secret.get_secret_value() if client_secret is not None else "",
            f"{settings.public_url}{section.path}/oidc/callback",
            Keys(secret, b"fmbot console openid connect"))
    cases = CaseMaker(ground.client, settings.text_model,
                      Path(section.eval_cases_file) if section.eval_cases_file else None,
                      built.find(CaseFileCheck))

    async def audit(draft: ConsoleCaseDraft, detail: str) -> None:
        if draft.identity:
            detail = f"{detail} (by {draft.identity})"
        await access.audit(draft.user_id or None, "eval case", detail)

    drafting = Drafting(ground.db.sessionmaker, cases, built.find(CaseFacts), audit=audit)
    console = Console(access, ground.db.sessionmaker, built.find(CaseFacts),
                      path=section.path, public_url=settings.public_url,
                      secure=settings.public_url.startswith("https://"),
                      figures=built.find(DeskFigures), drafting=drafting,
                      scored=built.find(ScoredCases), provider=provider,
                      notes=built.find(CaseNotes))

    return TelegramPart(
        early=[ConsoleCommand(console).build_router()],
        web=[console.mount],  # on the bot's web server, whichever serves
        services=[drafting],  # eval cases drafted in the background, resumed at start
    )

