"""The test models a `BotTester` runs the bot against: `EchoModel` (the default),
`ScriptedModel` (rules: when the question contains X, call tool Y with Z, then answer W) and
`ServiceModel` (the fake service's own answers). `RecordedModel` (a real conversation
replayed) is in recorded.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.testing.wire import ModelAnswer, ModelRequest, TestModel
from bot.testing.yandex.scripts import Reply

Answer = str | Callable[[ModelRequest], str]


class EchoModel(TestModel):
    """Answers every question with its own text (and calls no tool)."""

    def answer(self, request: ModelRequest) -> ModelAnswer:
        return ModelAnswer(request.question)


class ServiceModel(TestModel):
    """Answers as the kit's fake Foundation Models service does when nothing is scripted,
    the model fmbot's own process tests run against: "Echo: <question>" (a picture named in
    it, "[image 640x480]"), "Result: <results>" after tool calls, a quote of the first
    knowledge-base source or of a document sent in chat with `service.quote_sources = True`,
    JSON for structured requests (the desk's handoff summary read from the transcript), the
    replies queued with `service.queue_reply(text, chunks=..., tool_calls=...)` first. Its
    embeddings are the service's own, further apart than the other test models': a knowledge
    base wants a lower KB_MIN_SCORE with it (fmbot's own tests use 0.19).
    `asked` stays empty: what was sent is in `service.requests`."""

    def answer(self, request: ModelRequest) -> ModelAnswer:
        return ModelAnswer("Echo: " + request.question)  # not used: the service answers

    def _decide(self, body: dict[str, Any], messages: list[dict[str, Any]],
                key: str) -> Reply | None:
        return None

    def _embed(self, text: str) -> list[float] | None:
        return None


@dataclass(slots=True)
class Rule:
    """One rule of a `ScriptedModel`: when it applies, the tool calls to make (one step per
    model request) and then the answer. Built with `ScriptedModel.when`."""

    match: Callable[[ModelRequest], bool]
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: Answer | None = None

    def call(self, tool: str, /, **arguments: Any) -> Rule:
        """Call `tool` with `arguments` (then the next step, once its result is back)."""
        self.steps.append((tool, arguments))
        return self

    def answer(self, text: Answer) -> Rule:
        """Answer `text` once the calls are made; `{result}` in it is replaced by the last
        tool result; a callable gets the `ModelRequest` and returns the text."""
        self.text = text
        return self

    def reply(self, request: ModelRequest) -> ModelAnswer:
        step = len(request.tool_results)
        if step < len(self.steps):
            tool, arguments = self.steps[step]
            return ModelAnswer(tool_calls=((tool, arguments),))
        text = self.text
        if callable(text):
            return ModelAnswer(text(request))
        result = _data(request.tool_results[-1]) if request.tool_results else ""
        return ModelAnswer((text or "").replace("{result}", result))


class ScriptedModel(TestModel):
    """A model that follows rules, tried in the order they were added; a question no rule
    matches is answered by `otherwise` (default: echoed).

    ```python
    model = ScriptedModel()
    model.when("A-1").call("order_status", order_id="A-1").answer("It is {result}.")
    model.when("hello").answer("Hi!")
    ```
    """

    def __init__(self, otherwise: Answer | None = None) -> None:
        super().__init__()
        self.rules: list[Rule] = []
        self.otherwise = otherwise

    def when(self, contains: str | Callable[[ModelRequest], bool]) -> Rule:
        """A rule for questions containing `contains` (case-insensitive), or for which the
        predicate is true."""
        if isinstance(contains, str):
            needle = contains.casefold()

            def match(request: ModelRequest) -> bool:
                return needle in request.question.casefold()

            rule = Rule(match)
        else:
            rule = Rule(contains)
        self.rules.append(rule)
        return rule

    def answer(self, request: ModelRequest) -> ModelAnswer:
        for rule in self.rules:
            if rule.match(request):
                return rule.reply(request)
        if self.otherwise is None:
            return ModelAnswer(request.question)
        if callable(self.otherwise):
            return ModelAnswer(self.otherwise(request))
        return ModelAnswer(self.otherwise)


def _data(result: str) -> str:
    """A tool result without the lines fmbot puts around it ("[data returned by the tool
    X]" ... "[end of the data returned by the tool X]": the model is told it is data, not
    instructions)."""
    first, _, rest = result.partition("\n")
    if not (first.startswith("[") and first.endswith("]") and rest):
        return result
    body, _, last = rest.rpartition("\n")
    return body if last.startswith("[end of the data") else rest
