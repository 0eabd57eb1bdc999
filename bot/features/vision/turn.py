"""Images in a turn: opening reads which images the turn shows (its own, and those of the
latest questions, shown again) and names the others in the history; a turn that shows any
is answered by the vision model, with the images on the question's message."""

from __future__ import annotations

from collections.abc import Sequence

from bot.features.vision.images import SeenImages, TurnImages, Vision, fetch_all, name_images
from bot.features.vision.store import MessageImageRepository, StoredImage
from bot.features.vision.usage import count_photos
from bot.plugin.conversation import Opening, PromptContributor, PromptDraft, TurnFeature, TurnState
from bot.plugin.models import ChatModel
from bot.plugin.storage import utc_today


class ImagesContributor:
    """The turn's images on the question's message: earlier ones fetched again (those that
    cannot be are named, not sent), then its own."""

    name = "images"
    required = False

    def __init__(self, vision: Vision) -> None:
        self.vision = vision

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        images = turn.parts.get(TurnImages)
        if not isinstance(images, TurnImages) or not images.uses_vision:
            return
        draft.images_again = tuple(await fetch_all(self.vision, images.resend or []))
        draft.images_new = images.new
        draft.attach_images = True


class VisionFeature(TurnFeature):
    name = "vision"

    def __init__(self, vision: Vision) -> None:
        self.vision = vision
        self.seen = SeenImages()
        self._contributors = (ImagesContributor(vision),)

    def contributors(self) -> Sequence[PromptContributor]:
        return self._contributors

    async def opening(self, opening: Opening) -> None:
        question = opening.question
        if opening.question_images:  # the new question's, stored with it by Telegram file id
            image_tokens = self.vision.image_tokens
            await MessageImageRepository(opening.session).add(question.id, [
                StoredImage(i.file_id, i.file_unique_id, i.width, i.height, image_tokens)
                for i in opening.question_images
            ])
            # Counted with the question, in its transaction (/stats).
            await count_photos(opening.session, opening.speaker.user_id, utc_today(),
                               len(opening.question_images))
        images = await self.seen.for_turn(
            opening.session, self.vision, opening.window, question.id,
            question.conversation_id, opening.new_images,
        )
        opening.parts[TurnImages] = images
        if images.uses_vision:
            opening.model = self.vision.model_name
        if images.earlier:
            opening.window = name_images(opening.window, images.earlier)

    def client(self, turn: TurnState) -> ChatModel | None:
        images = turn.parts.get(TurnImages)
        if isinstance(images, TurnImages) and images.uses_vision:
            return self.vision.model
        return None
