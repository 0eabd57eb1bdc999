"""Documents sent in chat as one `Feature`: their passages kept per conversation and the
best of them put in front of the model (on the Telegram front only: the terminal takes no
files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.documents.settings import DocumentsSettings
from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext


async def lifespan(ctx: FeatureContext) -> None:
    """Documents sent in chat: read into the turn; on Telegram, taken and listed."""
    ground = await ctx.core()
    if not ground.front.telegram:
        return
    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.turn import DocumentsFeature

    documents = ChatDocuments(ground.db.sessionmaker)
    ctx.offer(documents)
    ctx.turn(DocumentsFeature(documents))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.documents.build import build_documents
    from bot.features.documents.telegram import documents_on_telegram

    support = build_documents(ctx.section(DocumentsSettings), front.files, front.ground.stack,
                              documents)
    ctx.on_front(documents_on_telegram(front.parts, support))


FEATURE = Feature(
    name="documents",
    settings=DocumentsSettings,
    tables=("bot.features.documents.models",),
    texts=("bot.features.documents.support",),
    lifespan=lifespan,
)
