"""The turn's features built by hand, for the tests and benchmarks that drive the conversation
core without the composition root: the order is the bot's (bot/features/installed.py), and
each argument turns one feature on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.conversation.contributors import PromptContributor
    from bot.conversation.features import TurnFeature
    from bot.features.documents.chat import ChatDocuments
    from bot.features.extensions import ExtensionRunner
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.tools.loop import ToolLoop
    from bot.features.vision.images import Vision
    from bot.features.websearch.hosted import HostedSearch
    from bot.plugin.asker import Asker


def turn_features(
    *,
    extras: ExtensionRunner | None = None,
    documents: ChatDocuments | None = None,
    knowledge: KnowledgeBase | None = None,
    contributors: Sequence[PromptContributor] = (),
    vision: Vision | None = None,
    hosted: HostedSearch | None = None,
    tools: ToolLoop | None = None,
    asker: Asker | None = None,
    business: bool = False,
    not_found_next_step: str = "",
) -> list[TurnFeature]:
    """The features that are on, in the order a turn asks them: the App's context providers,
    the chat's documents, the knowledge base (skipped when the documents answer), the added
    contributors, images; then web and file search, and the tool loop (which runs the
    stream when the turn's model takes tools). The App's hooks hear the stored answer.
    `asker`: who asks, as the App's context providers see it (the tools' own says the same).
    `business`: chat automation is on (connected accounts' chats are told whose voice the
    answer is in). First and last, the grounding's steps (bot/features/grounding), as the
    wiring puts them: `not_found_next_step` is shown below a "not found" answer."""
    from bot.conversation.features import Contributing
    from bot.features.documents.turn import DocumentsFeature
    from bot.features.extensions.turn import ExtensionsFeature
    from bot.features.grounding.steps import GroundingStep, NotFoundStep
    from bot.features.tools.turn import ToolsFeature
    from bot.features.vision.turn import VisionFeature

    chosen: list[TurnFeature] = [GroundingStep()]
    if business:
        from bot.features.business.prompt import OnBehalf

        chosen.append(Contributing([OnBehalf()]))
    if extras is not None:
        from bot.features.tools.feature import calls_of_answer

        chosen.append(ExtensionsFeature(extras, tool_calls=calls_of_answer if tools else None,
                                        asker=asker))
    if documents is not None:
        chosen.append(DocumentsFeature(documents))
    if knowledge is not None:  # imported only when on: it brings numpy
        from bot.features.knowledge.turn import KnowledgeFeature

        chosen.append(KnowledgeFeature(knowledge))
    if contributors:
        chosen.append(Contributing(contributors))
    if vision is not None:
        chosen.append(VisionFeature(vision))
    if hosted is not None:
        chosen.append(hosted)
    if tools is not None:
        chosen.append(ToolsFeature(tools))
    return [*chosen, NotFoundStep(not_found_next_step)]

