"""Operations, YandexART, classifiers and the IAM exchange of the fake Foundation Models
server (mixed into `FakeFoundationModels`, which holds the state)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from bot.testing.yandex import payloads as p
from bot.testing.yandex.auth import IAM_AUDIENCE, AuthState
from bot.testing.yandex.exchange import Response, json_response
from bot.testing.yandex.scripts import Reply


class OperationHandlers:
    url: str
    auth: AuthState
    operations: dict[str, dict[str, Any]]
    image_pending_polls: int
    image_gate: int
    images_started: int
    text_pending_polls: int
    async_completions: int
    refuse_images: bool
    refuse_images_in_operation: bool
    image_bytes: bytes

    def decide(self, body: dict[str, Any], messages: list[dict[str, Any]], key: str = "text",
               *, schema: dict[str, Any] | None = None,
               sent: list[dict[str, Any]] | None = None) -> Reply:
        raise NotImplementedError

    @staticmethod
    def error(status: int, message: str, *, form: str = "object",
              headers: dict[str, str] | None = None) -> Response:
        raise NotImplementedError

    def model_problem(self, uri: Any, scheme: str) -> str | None:
        raise NotImplementedError

    async def _iam(self, body: dict[str, Any]) -> Response:
        if self.auth.iam_delay:
            await asyncio.sleep(self.auth.iam_delay)
        problem = self.auth.verify_jwt(str(body.get("jwt") or ""), IAM_AUDIENCE)
        if problem is not None:
            return self.error(401, problem)
        return json_response(self.auth.exchange_answer())

    def _new_operation(self, polls: int, description: str, **result: Any) -> Response:
        op_id = ("d7q" if description else "fbv") + uuid.uuid4().hex[:17]
        self.operations[op_id] = {"polls_left": polls, "description": description, **result}
        return json_response(p.operation(op_id, done=False, description=description))

    def _start_text_operation(self, body: dict[str, Any]) -> Response:
        problem = self.model_problem(body.get("modelUri"), "gpt")
        if problem is not None:
            return self.error(400, problem)
        messages = body.get("messages") or []
        reply = self.decide(body, messages, schema=body.get("jsonSchema") or None)
        self.async_completions += 1
        result = p.completion_result(reply.cumulative(p.split_cumulative)[-1], reply.status,
                                     input_tokens=sum(p.word_count(str(m.get("text") or ""))
                                                      for m in messages))
        result["@type"] = "type.googleapis.com/yandex.cloud.ai.foundation_models.v1." \
                          "CompletionResponse"
        return self._new_operation(self.text_pending_polls, "Async GPT Completion",
                                   response=result)

    def _start_image_operation(self, body: dict[str, Any]) -> Response:
        problem = self.model_problem(body.get("modelUri"), "art")
        messages = body.get("messages") or []
        prompt = " ".join(str(m.get("text") or "") for m in messages)
        if problem is None and not prompt.strip():
            problem = "messages must not be empty"
        if problem is None and len(prompt) > 500:
            problem = f"prompt is too long: {len(prompt)} characters, the limit is 500"
        if problem is not None:
            return self.error(400, problem)
        if self.refuse_images:
            return self.error(400, p.REFUSAL, form="string")
        if self.refuse_images_in_operation:
            return self._new_operation(self.image_pending_polls, "",
                                       error={"code": 3, "message": p.REFUSAL, "details": []})
        self.images_started += 1
        return self._new_operation(self.image_pending_polls, "", image=True,
                                   response=p.image_response(self.image_bytes))

    def _operation(self, method: str, tail: str) -> Response:
        op_id, _, verb = tail.partition(":")
        state = self.operations.get(op_id)
        if state is None:
            return self.error(404, f"operation {op_id} not found")
        if method == "POST" and verb == "cancel":
            if not state.get("done"):
                state.update(polls_left=0, error={"code": 1, "message": "cancelled"},
                             response=None)
        elif method != "GET" or verb:
            return self.error(404, f"no such method: {method} {tail}")
        elif state["polls_left"] > 0 or (state.get("image") and
                                         self.images_started < self.image_gate):
            state["polls_left"] = max(0, state["polls_left"] - 1)
            return json_response(p.operation(op_id, done=False,
                                                 description=state["description"]))
        state["done"] = True
        return json_response(p.operation(
            op_id, done=bool(state.get("done")), description=state["description"],
            response=state.get("response"), error=state.get("error")))

    def _classify(self, body: dict[str, Any]) -> Response:
        problem = self.model_problem(body.get("modelUri"), "cls")
        if problem is not None:
            return self.error(400, problem)
        text = str(body.get("text") or "")
        labels = [str(label) for label in body.get("labels") or ["label"]]
        scores = [2.0 if label.lower() in text.lower() else 1.0 for label in labels]
        total = sum(scores)
        return json_response({
            "predictions": [{"label": lb, "confidence": s / total}
                            for lb, s in zip(labels, scores, strict=True)],
            "modelVersion": "23.10.2024", "inputTokens": str(p.word_count(text) + 40)})
