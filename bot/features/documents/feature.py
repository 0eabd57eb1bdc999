"""Documents sent in chat as one `Feature`: their passages kept per conversation and the
best of them put in front of the model (on the Telegram front only: the terminal takes no
files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.documents.settings import DocumentsSettings
from bot.plugin.feature import CoreParts, Feature, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.ground import Groundwork, TelegramGround


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    if not ground.front.telegram:
        return None
    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.turn import DocumentsFeature

    documents = ChatDocuments(ground.db.sessionmaker)
    built.add("documents", documents)
    return CoreParts(turn=[DocumentsFeature(documents)])


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.documents.build import build_documents
    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.telegram import documents_on_telegram

    support = build_documents(front.ground.settings.section(DocumentsSettings), front.files,
                              front.ground.stack, built.find(ChatDocuments))
    return TelegramParts(part=documents_on_telegram(support))


FEATURE = Feature(
    name="documents",
    settings=DocumentsSettings,
    tables=("bot.features.documents.models",),
    texts=("bot.features.documents.support",),
    build=_build,
    on_telegram=_on_telegram,
)
