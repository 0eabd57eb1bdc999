"""The bot's features, one line each (Django's INSTALLED_APPS): each is a folder under
bot/features/ whose `feature.py` declares it as one `Feature` (bot/plugin/feature.py).

The order is the order a turn asks them (on whose behalf the answer speaks, the App's
context, the chat's documents, the knowledge base, images, web and file search, then the tool
loop, which runs the stream when the turn's model takes tools) and the order their parts on
Telegram see
updates. A feature builds after the ones above it, so it finds what they offer (the desk's
case state, asked by the App's context and the tools). Adding a feature is one folder and
one line here; a plugin ships one through its `fmbot.plugins` entry point instead."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from bot.features.business.feature import FEATURE as business
from bot.features.console.feature import FEATURE as console
from bot.features.desk.feature import FEATURE as desk
from bot.features.documents.feature import FEATURE as documents
from bot.features.evaluation.feature import FEATURE as evaluation
from bot.features.extensions.feature import FEATURE as extensions
from bot.features.grounding.feature import FEATURE as grounding
from bot.features.guest.feature import FEATURE as guest
from bot.features.identity.feature import FEATURE as identity
from bot.features.images.feature import FEATURE as images
from bot.features.knowledge.feature import FEATURE as knowledge
from bot.features.rich.feature import FEATURE as rich
from bot.features.tools.feature import FEATURE as tools
from bot.features.vision.feature import FEATURE as vision
from bot.features.voice.feature import FEATURE as voice
from bot.features.websearch.feature import FEATURE as websearch
from bot.plugin.feature import Feature

FEATURES: tuple[Feature, ...] = (
    identity,     # who the employee is: /login with the company's provider (OIDC_ISSUER)
    grounding,    # the answer read back against its sources; "not found" shown last
    guest,        # guest queries: the bot @mentioned in chats it is not in (GUEST_MODE)
    business,     # chat automation: connected accounts' customers answered (BUSINESS_REPLIES)
    desk,         # the support desk (SUPPORT_CHAT_ID); 👍/👎 in KB_MODE=strict without one
    extensions,   # the App's and plugins' context providers and hooks
    documents,    # documents sent in chat
    knowledge,    # the knowledge base (KB_PATH), /kb, `fmbot kb`
    vision,       # photos and albums (VISION_MODEL)
    voice,        # voice notes heard, answers spoken (SPEECH_RECOGNITION, VOICE_REPLIES)
    images,       # /image (YandexART, Alice AI ART)
    websearch,    # web and file search on the Responses wire (WEB_SEARCH, KB_BACKEND=yandex)
    tools,        # TOOLS_FILE and the App's tools: the tool loop, cards, `fmbot tools`
    rich,         # rich messages (RICH_MESSAGES)
    evaluation,   # simulated customers: `fmbot eval`
    console,      # the support lead's console on the bot's web server (CONSOLE)
)


def bot_features(added: Iterable[Feature] = ()) -> tuple[Feature, ...]:
    """The bot's whole feature list, the one every loop over the features reads (build,
    checks, models, secrets, commands): fmbot's (`FEATURES`), then those `added` (the App's
    and its plugins', `App.add_feature`)."""
    return FEATURES + tuple(added)


def load_tables(features: Iterable[Feature] = FEATURES) -> None:
    """Import each feature's tables, so that the shared metadata holds every table (the
    Alembic environment, the schema checks, the composition root before /forget erases)."""
    for feature in features:
        for module in feature.tables:
            import_module(module)


def load_texts(features: Iterable[Feature] = FEATURES) -> None:
    """Import each feature's texts modules (`Feature.texts`), whose import registers its texts
    with the Translator: the one way a feature's texts are loaded, by the composition root
    before any feature is built (`run`, `chat`, `eval`, `bot.testing`, the commands)."""
    for feature in features:
        for module in feature.texts:
            import_module(module)
