"""Settings per area: each feature's section in its folder (bot/features/<name>/settings.py),
one nested model, the core's in bot/config, composed as one `Settings` whose environment names
and keyword arguments are the ones they always were; each section read as a frozen value
object with its defaults resolved (`settings.voice.replies`)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from bot import Settings as PublicSettings
from bot.config import ConfigError, CoreSettings
from bot.config.parsing import Section
from bot.features.desk.settings import DeskSettings
from bot.features.knowledge.settings import KnowledgeSettings
from bot.features.settings import Settings, load_settings
from bot.features.voice.settings import VoiceSettings
from tests.conftest import REPO_ROOT

ENV_EXAMPLE = REPO_ROOT / ".env.example"
# NAME=value, set or shown in a comment (`# TELEGRAM_DRAFT_RATE=200`).
_LINE = re.compile(
    r"^(?P<comment>#\s*(?:e\.g\.\s+|or\s+)?)?(?P<name>[A-Z][A-Z0-9_]+)=(?P<value>.*)$"
)

# Every variable Settings read before the areas were split (116 of them): none renamed,
# none lost, none added by the split. Settings added since are in ADDED_SINCE.
NAMES_BEFORE = [
    "WEB_SEARCH", "WEB_SEARCH_DOMAINS", "WEB_SEARCH_REGION", "WEB_SEARCH_CONTEXT",
    "WEB_SEARCHES_PER_USER_DAY", "KB_BACKEND", "KB_VECTOR_STORE_ID", "KB_VECTOR_STORE_DAYS",
    "DATABASE_URL", "DATABASE_OUTAGE_GRACE", "LOG_LEVEL", "LOG_FORMAT", "REDIS_URL",
    "REPLICA_ID", "METRICS_LISTEN", "VOICE_REPLIES", "VOICE_REPLIES_GROUPS", "TTS_URL",
    "TTS_VOICE", "TTS_VOICE_RU", "TTS_VOICE_EN", "TTS_SPEED", "TTS_CHARS_PER_USER_DAY",
    "MAX_VOICE_SECONDS", "STT_POLL_INTERVAL", "VISION_MODEL", "MAX_IMAGE_MB",
    "SPEECH_RECOGNITION", "STT_URL", "MEDIA_DOWNLOAD_TIMEOUT", "MAX_DOCUMENT_MB",
    "TOOLS_MAX_ROUNDS", "TOOLS_CONFIRM_TTL", "TOOLS_RESULT_CHARS", "TOOLS_PARALLEL",
    "TOOLS_MODELS", "TOOLS_FILE", "TOOLS_SIGNING_SECRET", "TOOLS_SIGNING_KEY",
    "TOOLS_CALLS_PER_USER_HOUR", "TOOLS_WRITES_PER_USER_DAY", "TOOLS_SIGNING_KEY_ID",
    "SUPPORT_CHAT_ID", "SUPPORT_HOURS", "SUPPORT_TIMEZONE", "HANDOFF_CLASSIFIER", "CSAT",
    "ALLOWED_CHAT_MEMBERS_OF", "DESK_INSIGHTS", "INSIGHTS_MODEL", "INSIGHTS_INTERVAL",
    "KB_DRAFTS_FILE", "KB_DRAFTS_SIMILARITY", "KB_PATH", "KB_MODE", "KB_TOP_K", "KB_MIN_SCORE",
    "KB_SYNC_INTERVAL", "EMBEDDING_DOC_MODEL", "EMBEDDING_QUERY_MODEL", "EMBEDDING_RPS",
    "KB_REMOVAL_LIMIT", "KB_NOT_FOUND_CONTACT", "SYSTEM_PROMPT", "SYSTEM_PROMPT_FILE",
    "ALLOWED_USER_IDS", "ALLOWED_CHAT_IDS", "ADMIN_USER_IDS", "RATE_LIMIT_PER_MINUTE",
    "DAILY_TOKEN_LIMIT", "DAILY_IMAGE_LIMIT", "RETENTION_DAYS", "QUEUE_MAX_AGE",
    "QUEUE_STALE_ACTION", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "TELEGRAM_MODE",
    "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_LISTEN", "GUEST_MODE",
    "RICH_MESSAGES", "BUSINESS_REPLIES", "BUSINESS_TAKEOVER_MINUTES", "TELEGRAM_MESSAGE_BURST",
    "TELEGRAM_DRAFT_INTERVAL", "TELEGRAM_DRAFT_RATE", "TELEGRAM_DRAFT_RATE_FLOOR",
    "TELEGRAM_DRAFT_RECOVERY", "TELEGRAM_FINAL_PREVIEW", "TELEGRAM_FRAME_GRACE",
    "YANDEX_FOLDER_ID", "YANDEX_API_KEY", "YANDEX_IAM_TOKEN", "YANDEX_SA_KEY_FILE",
    "YANDEX_USE_METADATA", "YANDEX_LLM_URL", "YANDEX_OPERATION_URL", "YANDEX_IAM_URL",
    "YANDEX_METADATA_URL", "YANDEX_DATA_LOGGING", "YANDEX_MAX_CONCURRENT_GENERATIONS",
    "YANDEX_IDLE_TIMEOUT", "TEXT_API", "YANDEX_OPENAI_URL", "YANDEX_RESPONSES_URL",
    "REASONING", "REASONING_EFFORT", "TEXT_MODEL", "IMAGE_MODEL", "ALLOWED_TEXT_MODELS",
    "TEMPERATURE", "MAX_REPLY_TOKENS", "MODEL_CONTEXT_SIZES", "FMBOT_PLUGINS",
    "EXTENSION_TIMEOUT",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in Settings.variables():
        monkeypatch.delenv(name, raising=False)


def example_values() -> dict[str, str]:
    """Each variable `.env.example` names, set or in a comment, with its first value there
    (empty ones too: `SUPPORT_CHAT_ID=` is read as "not set", but read)."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line.strip())
        if match is not None:
            found.setdefault(match["name"], match["value"])
    return found


# Settings added after the split, each on purpose (and in .env.example), by the issue that
# needed it.
ADDED_SINCE = [
    "ALLOWED_CHAT_MEMBERS_TTL",  # issue 61: a connected account's owner who leaves
    "BUSINESS_DAILY_TOKEN_LIMIT",  # issue 61: business customers' budget
    "YANDEX_IMAGES_URL",  # issue 61: the Images API's own host
    "DOCUMENT_READ_SECONDS",  # issue 61: a wall-clock limit per document read
    "EVAL_CUSTOMER_MODEL",  # issue 66: the model playing simulated customers
    "EVAL_JUDGE_MODEL",  # issue 66: the model scoring their conversations
    "DESK_IDLE_HOURS",  # issue 78: the quiet before a bot-only conversation is over
    "CONSOLE",  # issue 80: the support lead's console
    "CONSOLE_PATH",  # issue 80: where its pages are
    "CONSOLE_SESSION_TTL",  # issue 80: how long a signed-in session lasts
    "WEB_LISTEN",  # issue 80: the bot's web server in polling mode
    "PUBLIC_URL",  # issue 80: how browsers reach it
    "EVAL_CASES_FILE",  # issue 80: where the console's eval cases go
    "CONSOLE_OIDC_ISSUER",  # issue 80: the company's OpenID Connect provider
    "CONSOLE_OIDC_CLIENT_ID",  # issue 80: the console's client there
    "CONSOLE_OIDC_CLIENT_SECRET",  # issue 80: its secret
    "CONSOLE_OIDC_ADMINS",  # issue 80: who may sign in with it
    "OIDC_ISSUER",  # issue 81: the company's provider the employees sign in with
    "OIDC_CLIENT_ID",  # issue 81: the bot's client there
    "OIDC_CLIENT_SECRET",  # issue 81: its secret (empty: a public client)
    "OIDC_SCOPES",  # issue 81: the scopes asked for
    "OIDC_GROUPS_CLAIM",  # issue 81: the claim that lists the groups
    "IDENTITY_REQUIRED",  # issue 81: a private chat answered only once signed in
    "IDENTITY_TTL",  # issue 81: how long a sign-in lasts
    "KB_GROUP_CHATS",  # issue 81: group chats whose members alone are an access group
    "APPROVAL_REMIND",  # issue 81: when an approver is reminded of a request
    "APPROVAL_EXPIRE",  # issue 81: when an unanswered request expires
]


def test_the_names_are_the_ones_settings_always_read() -> None:
    assert len(NAMES_BEFORE) == 116
    names = set(NAMES_BEFORE) | set(ADDED_SINCE)
    assert set(example_values()) == names
    assert set(Settings.variables()) == names
    assert PublicSettings is Settings  # `from bot import Settings`
    # No alias at the root: a core field's variable is its name in upper case; a section's
    # fields name theirs.
    assert not [name for name, field in Settings.model_fields.items()
                if field.alias or field.validation_alias]
    assert {where for where in Settings.variables().values() if len(where) == 1} == {
        (name,) for name, field in Settings.model_fields.items()
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, Section))}


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("name", sorted(example_values()))
def test_each_variable_env_example_sets_reaches_the_field_of_its_name(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    value = example_values()[name]
    monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    where = Settings.variables()[name]
    assert settings.model_fields_set == {where[0]}
    if len(where) == 2:  # a section's: the one field of the section
        assert getattr(settings, where[0]).model_fields_set == {where[1]}


def test_each_field_has_one_home_a_core_area_or_one_feature_section() -> None:
    homes: dict[str, list[str]] = {}
    for base in Settings.__mro__:
        if issubclass(base, BaseSettings) and base not in (BaseSettings, CoreSettings):
            for name in inspect.get_annotations(base):
                if name in Settings.model_fields:
                    homes.setdefault(name, []).append(base.__module__)
    assert set(homes) == set(Settings.model_fields)
    assert {name: where for name, where in homes.items() if len(where) != 1} == {}
    # Each feature's fields are its section's, declared once there, in its folder.
    sections = {name: field.annotation for name, field in Settings.model_fields.items()
                if isinstance(field.annotation, type) and issubclass(field.annotation, Section)}
    assert set(sections) == {"voice", "desk", "knowledge", "tools", "vision", "documents",
                             "websearch", "guest", "rich", "business", "evaluation",
                             "console", "identity"}
    assert {name: section.__module__ for name, section in sections.items()} == {
        name: f"bot.features.{name}.settings" for name in sections}
    assert {homes[name] == ["bot.features.settings"] for name in sections} == {True}
    feature_owned = {variable for variable, where in Settings.variables().items()
                     if where[0] in sections}
    assert {"VOICE_REPLIES", "TTS_VOICE", "SUPPORT_CHAT_ID", "KB_TOP_K", "TOOLS_FILE",
            "VISION_MODEL", "MAX_DOCUMENT_MB", "WEB_SEARCH", "GUEST_MODE", "RICH_MESSAGES",
            "BUSINESS_REPLIES", "SPEECH_RECOGNITION", "KB_BACKEND"} <= feature_owned
    assert not feature_owned & {"YANDEX_FOLDER_ID", "TELEGRAM_BOT_TOKEN", "DATABASE_URL",
                                "ADMIN_USER_IDS", "MEDIA_DOWNLOAD_TIMEOUT",
                                "ALLOWED_CHAT_MEMBERS_OF", "EXTENSION_TIMEOUT"}


@pytest.mark.usefixtures("clean_env")
def test_flat_keywords_still_work_and_reach_their_sections() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, voice_replies="always", support_chat_id=-1001, kb_top_k=7,
        tools_max_rounds=3, guest_mode="off",
    )
    assert settings.voice.replies == "always"
    assert settings.desk.chat_id == -1001
    assert settings.knowledge.top_k == 7
    assert settings.tools.max_rounds == 3
    assert not settings.guest.on
    # Read by section only: no flat attribute declares a field twice.
    assert not hasattr(settings, "voice_replies")
    assert not hasattr(settings, "kb_top_k")


@pytest.mark.usefixtures("clean_env")
def test_a_section_given_whole_or_as_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTS_SPEED", "2")
    whole = Settings(_env_file=None,  # type: ignore[call-arg]
                     voice=VoiceSettings(replies="always"), desk=DeskSettings(chat_id=-1001))
    assert (whole.voice.replies, whole.voice.tts_speed) == ("always", 1.0)  # given whole
    assert whole.desk.insights  # its own defaults resolved
    # A dict (by field names or variables) is filled from the environment, and wins over it.
    merged = Settings(_env_file=None, voice={"replies": "always"})  # type: ignore[call-arg]
    assert (merged.voice.replies, merged.voice.tts_speed) == ("always", 2.0)
    assert Settings(_env_file=None,  # type: ignore[call-arg]
                    voice={"TTS_SPEED": "3"}).voice.tts_speed == 3.0
    with pytest.raises(TypeError, match="give voice= or its variables"):
        Settings(_env_file=None, voice=VoiceSettings(), voice_replies="off")  # type: ignore[call-arg]


@pytest.mark.usefixtures("clean_env")
def test_the_variables_are_read_whatever_their_case_and_a_section_name_is_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("voice_replies", "always")
    monkeypatch.setenv("VOICE", "not json")  # a section is no variable
    (tmp_path / "settings.env").write_text("Kb_Top_K=9\nTOOLS=x\n", encoding="utf-8")
    settings = Settings(_env_file=tmp_path / "settings.env")  # type: ignore[call-arg]
    assert (settings.voice.replies, settings.knowledge.top_k) == ("always", 9)


@pytest.mark.usefixtures("clean_env")
def test_voice_replies_unset_means_mirror_when_speech_is_on() -> None:
    without = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (without.voice.speech, without.voice.replies) == (False, "off")
    keyed = Settings(_env_file=None, yandex_api_key="k")  # type: ignore[call-arg]
    assert (keyed.voice.speech, keyed.voice.replies) == (True, "mirror")
    assert keyed.voice.speech_recognition == "on"
    deaf = Settings(_env_file=None, yandex_api_key="k",  # type: ignore[call-arg]
                    speech_recognition="off")
    assert (deaf.voice.speech, deaf.voice.replies) == (False, "off")
    blank = Settings(_env_file=None, yandex_api_key="k",  # type: ignore[call-arg]
                     speech_recognition=" ", voice_replies="")
    assert (blank.voice.speech, blank.voice.replies) == (True, "mirror")
    # The section alone knows no credentials: it resolves with what it is told.
    assert VoiceSettings().resolved(credentials=False).replies == "off"
    assert VoiceSettings().resolved(credentials=True).replies == "mirror"
    assert VoiceSettings(replies="always").resolved(credentials=False).replies == "always"


@pytest.mark.usefixtures("clean_env")
def test_desk_insights_unset_means_on_with_a_support_chat() -> None:
    assert not Settings(_env_file=None).desk.insights  # type: ignore[call-arg]
    desk = Settings(_env_file=None, support_chat_id="-1001").desk  # type: ignore[call-arg]
    assert desk.on
    assert desk.insights
    assert desk.csat
    assert not desk.handoff_classifier
    off = Settings(_env_file=None, support_chat_id=-1001,  # type: ignore[call-arg]
                   desk_insights="off")
    assert not off.desk.insights
    assert not Settings(_env_file=None,  # type: ignore[call-arg]
                        desk_insights="on").desk.insights  # no desk, no insights
    assert DeskSettings(SUPPORT_CHAT_ID="").chat_id == 0  # type: ignore[call-arg]


@pytest.mark.usefixtures("clean_env")
def test_kb_mode_unset_means_assist_with_kb_path(tmp_path: Path) -> None:
    assert Settings(_env_file=None).knowledge.mode == "off"  # type: ignore[call-arg]
    kb = Settings(_env_file=None, kb_path=f"{tmp_path}, {tmp_path}").knowledge  # type: ignore[call-arg]
    assert (kb.mode, kb.on, kb.paths) == ("assist", True, (tmp_path, tmp_path))
    strict = KnowledgeSettings(KB_MODE=" STRICT ")  # type: ignore[call-arg]
    assert strict.mode == "strict"
    assert KnowledgeSettings(paths=(tmp_path,)).mode == "assist"


@pytest.mark.usefixtures("clean_env")
def test_the_other_areas_resolve_their_switches() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, web_search="ON", web_search_domains="Example.com, docs.example.com",
        business_replies="approve", business_takeover_minutes=5, rich_messages="off",
        vision_model="", tools_models="a, b", tools_signing_secret="s" * 16,
    )
    assert settings.websearch.on
    assert settings.websearch.domains == ("example.com",
                                                                     "docs.example.com")
    assert settings.business.replies == "approve"
    assert settings.business.on
    assert settings.business.takeover.total_seconds() == 300
    assert not settings.rich.on
    assert not settings.vision.on
    assert settings.tools.models == frozenset({"a", "b"})
    assert isinstance(settings.tools.signing_secret, SecretStr)
    assert settings.documents.max_mb == 20.0


@pytest.mark.usefixtures("clean_env")
def test_the_value_objects_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    areas = (settings.voice, settings.desk, settings.knowledge, settings.tools,
             settings.vision, settings.documents, settings.websearch, settings.guest,
             settings.rich, settings.business, settings.evaluation)
    for area in areas:
        field = next(iter(type(area).model_fields))
        with pytest.raises(ValidationError, match="frozen"):
            setattr(area, field, None)


@pytest.mark.usefixtures("clean_env")
def test_check_support_names_every_problem_of_the_desk_at_once() -> None:
    settings = Settings(_env_file=None, support_chat_id=5,  # type: ignore[call-arg]
                        support_timezone="Mars/Olympus", support_hours="Someday 9-5")
    with pytest.raises(ConfigError) as caught:
        settings.desk.check()
    lines = str(caught.value).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "SUPPORT_TIMEZONE:", "SUPPORT_CHAT_ID", "SUPPORT_HOURS:"]


@pytest.mark.usefixtures("clean_env")
def test_check_yandex_still_names_speechkit_endpoints_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YANDEX_LLM_URL", "llm")
    monkeypatch.setenv("STT_URL", "stt")
    monkeypatch.setenv("TTS_URL", "tts")
    settings = load_settings(None)
    with pytest.raises(ConfigError) as caught:
        settings.check_yandex()
    names = [line.split(":", 1)[0] for line in str(caught.value).splitlines()]
    assert names[-3:] == ["YANDEX_LLM_URL", "STT_URL", "TTS_URL"]


@pytest.mark.usefixtures("clean_env")
def test_load_settings_names_each_bad_variable_of_any_section(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTS_SPEED", "9")
    monkeypatch.setenv("KB_TOP_K", "0")
    monkeypatch.setenv("TELEGRAM_MODE", "carrier-pigeon")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    names = sorted(line.split(":", 1)[0] for line in str(caught.value).splitlines())
    assert names == ["KB_TOP_K", "TELEGRAM_MODE", "TTS_SPEED"]


@pytest.mark.usefixtures("clean_env")
def test_load_settings_names_the_variable_of_a_section_given_by_field_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOOLS_SIGNING_SECRET", "s" * 16)
    monkeypatch.setenv("TOOLS_SIGNING_KEY", "key.pem")
    monkeypatch.setenv("CSAT", "yes")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert str(caught.value).splitlines() == [
        "CSAT: Input should be 'on' or 'off'",
        "TOOLS_SIGNING_KEY: set together with TOOLS_SIGNING_SECRET: keep one (the key signs "
        "with ed25519 and the API holds only its public key; the secret signs with "
        "hmac-sha256)",
    ]


@pytest.mark.usefixtures("clean_env")
def test_group_chats_map_to_access_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_GROUP_CHATS", " -1001234567890=hr , -1009876543210 = finance,")
    assert load_settings(None).knowledge.group_chats == {-1001234567890: "hr",
                                                         -1009876543210: "finance"}
    for wrong in ("1001=hr", "-1001", "hr=-1001", "-1001="):
        monkeypatch.setenv("KB_GROUP_CHATS", wrong)
        with pytest.raises((ConfigError, ValidationError), match="KB_GROUP_CHATS"):
            load_settings(None)
