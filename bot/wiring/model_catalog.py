"""The deployment's models against what the folder serves: `fmbot check` and the start-up log.

Yandex retires model versions on announced dates, so every configured model URI (text, vision,
image, embeddings) is compared with the folder's `GET /v1/models` listing. The listing is not
complete (image models, for one, never appear), so a model missing from it is probed with a
minimal request (one output token; one embedding) on the client that uses it; only a model
the API refuses as unknown is reported, naming the setting to change. Image models are not
probed (any request that is not refused would draw, and bill, an image): IMAGE_MODEL is
compared with Yandex's documented model list instead (docs/images.md), so a retired one
(YandexART 2.0, retired on 18 August 2026) is reported with the model Yandex recommends, and
stops `run` as it fails `check`.

The models are the core's (`core_models`) and those of the bot's whole feature list, fmbot's
and the plugins' (`configured_models`): a plugin's model is checked like fmbot's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.features.settings import Settings
from bot.foundation_models import errors
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.images_api import model_name
from bot.foundation_models.types import ChatMessage, ChatModel, CompletionOptions, Role
from bot.foundation_models.uris import Scheme, resolve_model_uri
from bot.plugin.clients import build_vision_model

if TYPE_CHECKING:
    from bot.plugin.feature import Feature

log = logging.getLogger("bot.models")

Kind = Literal["text", "vision", "image", "embedding"]
State = Literal["listed", "answered", "documented", "retired", "unknown", "unverified"]
_SCHEME: dict[Kind, Scheme] = {"text": "gpt", "vision": "gpt", "image": "art",
                               "embedding": "emb"}
# What an "unknown model" refusal says (404, or a 400 naming the model).
_UNKNOWN = ("not found", "unknown model", "does not exist", "no such model", "invalid model")
_PING = (ChatMessage(Role.USER, "ping"),)
MODELS_PAGE = ("https://yandex.cloud/en/docs/ai-studio/concepts/generation/models and the "
               "retirement dates there")
# Image models by the model segment of their URI, from Yandex's model list (docs/images.md).
RECOMMENDED_IMAGE_MODEL = "aliceai-image-art-3.0"
CURRENT_IMAGE_MODELS = {"aliceai-image-art-3.0": "Alice AI ART 3.0"}
RETIRED_IMAGE_MODELS = {  # segment -> (name, retired on)
    "yandex-art": ("YandexART 2.0", "18 August 2026"),
    "yandex-art-2.0": ("YandexART 2.0", "18 August 2026"),
}


@dataclass(frozen=True, slots=True)
class Configured:
    setting: str
    name: str
    kind: Kind
    uri: str


@dataclass(frozen=True, slots=True)
class Finding:
    model: Configured
    state: State
    detail: str = ""


def core_models(settings: Settings) -> list[Configured]:
    """The models the core's settings name (TEXT_MODEL, ALLOWED_TEXT_MODELS, IMAGE_MODEL)."""
    found: list[tuple[str, str, Kind]] = [("TEXT_MODEL", settings.text_model, "text")]
    found += [("ALLOWED_TEXT_MODELS", m, "text") for m in settings.text_models[1:]]
    found.append(("IMAGE_MODEL", settings.image_model, "image"))
    return _resolved(settings, found)


def configured_models(settings: Settings, features: Sequence[Feature]) -> list[Configured]:
    """Every model this deployment uses: the core's, then those of `features` (the bot's:
    the vision model, the embedding models, the desk's insights, the plugins' models)."""
    from bot.plugin.lifespan import declared

    found = [(use.setting, use.name, use.kind) for use in declared(features, settings).models]
    return core_models(settings) + _resolved(settings, found)


def _resolved(settings: Settings, found: list[tuple[str, str, Kind]]) -> list[Configured]:
    models = []
    for setting, name, kind in found:
        try:
            uri = resolve_model_uri(name, settings.yandex_folder_id, _SCHEME[kind])
        except errors.InvalidRequestError:
            uri = name
        models.append(Configured(setting, name, kind, uri))
    return models


def _is_unknown(exc: errors.FoundationModelsError) -> bool:
    if isinstance(exc, errors.NotFoundError):
        return True
    if isinstance(exc, errors.BadRequestError):
        return any(marker in exc.message.lower() for marker in _UNKNOWN)
    return False


def image_finding(model: Configured) -> Finding:
    """An image model against Yandex's documented list (no request: it would draw)."""
    segment = model_name(model.uri)
    if segment in RETIRED_IMAGE_MODELS:
        name, day = RETIRED_IMAGE_MODELS[segment]
        return Finding(model, "retired", f"{name} was retired on {day}; Yandex recommends "
                                         f"{RECOMMENDED_IMAGE_MODEL}")
    if segment in CURRENT_IMAGE_MODELS:
        return Finding(model, "documented")
    return Finding(model, "unverified", "image models are not listed and a probe would draw "
                                        "an image")


def retired_image_model(settings: Settings) -> str | None:
    """The line that stops `run` when IMAGE_MODEL is retired (None: it is not). Known without a
    request, so it stops the bot before anything starts, as an unknown TEXT_MODEL does once
    Yandex has answered: every /image on it would fail with the bot otherwise running."""
    [image] = [m for m in core_models(settings) if m.kind == "image"]
    finding = image_finding(image)
    return f"{refusal(finding)}; {advice(finding)}" if finding.state == "retired" else None


async def _probe(model: Configured, client: FoundationModelsClient, chat: ChatModel,
                 vision: ChatModel | None) -> Finding:
    try:
        if model.kind == "embedding":
            await client.embedding("ping", model=model.name)
        elif model.kind == "image":
            return image_finding(model)
        else:
            target = vision if model.kind == "vision" and vision is not None else chat
            await target.complete(_PING, model=model.name,
                                  options=CompletionOptions(max_tokens=1, temperature=0.0))
    except errors.FoundationModelsError as exc:
        if _is_unknown(exc):
            return Finding(model, "unknown", getattr(exc, "message", str(exc)))
        return Finding(model, "unverified", f"the probe failed: {exc}")
    return Finding(model, "answered")


async def review_models(settings: Settings, features: Sequence[Feature],
                        client: FoundationModelsClient, chat: ChatModel,
                        auth: Auth | None) -> tuple[list[Finding], str]:
    """A finding per configured model (the core's and `features`'), and a note on the
    listing ("" when it was read)."""
    note = ""
    try:
        listed = set(await client.list_models())
    except errors.FoundationModelsError as exc:
        listed, note = set(), f"the listing failed ({exc}); every model was probed"
    findings: list[Finding] = []
    async with AsyncExitStack() as stack:
        vision = None
        models = configured_models(settings, features)
        if auth is not None and any(m.kind == "vision" for m in models):
            # A vision model is set (VISION_MODEL): probed with an image.
            vision = build_vision_model(settings, chat, auth, stack)
        for model in models:
            if model.uri in listed:
                findings.append(Finding(model, "listed"))
            else:
                findings.append(await _probe(model, client, chat, vision))
    return findings, note


async def find_model(model: Configured, client: FoundationModelsClient,
                     chat: ChatModel) -> Finding:
    """One configured model: in the folder's listing, or answering a one-token probe."""
    try:
        if model.uri in set(await client.list_models()):
            return Finding(model, "listed")
    except errors.FoundationModelsError:
        pass  # the probe decides
    return await _probe(model, client, chat, None)


def summary(findings: list[Finding]) -> str:
    count = {state: sum(f.state == state for f in findings)
             for state in ("listed", "answered", "documented", "unverified")}
    line = (f"{len(findings)} configured: {count['listed']} listed, {count['answered']} not "
            f"listed but answered a probe")
    if count["documented"]:
        line += f", {count['documented']} in Yandex's current image model list"
    unverified = [f"{f.model.setting}={f.model.name} ({f.detail})"
                  for f in findings if f.state == "unverified"]
    return line + (f"; not verified: {'; '.join(unverified)}" if unverified else "")


def refusal(finding: Finding) -> str:
    if finding.state == "retired":
        return f"{finding.model.setting}={finding.model.name}: {finding.detail}"
    return (f"{finding.model.setting}={finding.model.name}: the API refuses "
            f"{finding.model.uri} as unknown ({finding.detail})")


def advice(finding: Finding) -> str:
    """What to do about a refused or retired model: the setting to change, and to what."""
    if finding.state == "retired":
        return (f"set {finding.model.setting}={RECOMMENDED_IMAGE_MODEL} (see {MODELS_PAGE})")
    return f"set {finding.model.setting} to a model the folder serves (see {MODELS_PAGE})"


async def log_models(settings: Settings, features: Sequence[Feature],
                     client: FoundationModelsClient, chat: ChatModel, auth: Auth | None) -> None:
    """At start-up: a warning per model the API refuses, a line for the rest; never fails (a
    retired IMAGE_MODEL never gets here: `retired_image_model` stopped the start)."""
    try:
        findings, note = await review_models(settings, features, client, chat, auth)
    except Exception:  # the bot runs on; this is advice
        log.warning("models: the check could not run", exc_info=True)
        return
    if note:
        log.warning("models: %s", note)
    for finding in findings:
        if finding.state == "unknown":
            log.warning("models: %s; set %s to a model the folder serves",
                        refusal(finding), finding.model.setting)
    log.info("models: %s", summary(findings))
