"""The metrics of one process, in the Prometheus model (prometheus-client), and cheap functions
the other layers call to update them.

Labels are low-cardinality by construction: Bot API method names, Yandex endpoint names, error
class names, configured model names, fixed outcome and state words; never a chat or user id.
As a guard, a label takes at most `MAX_VALUES` distinct values; later ones count as "other".
Every function costs about a microsecond (a dictionary lookup and a locked add), so a turn's
dozen updates stay far below its CPU budget (bench/bench_load.py).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

MAX_VALUES = 64
# Seconds: a first visible frame is expected within a second or two, a final answer in tens.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # CPU seconds, resident memory, open files, start time


class _Family:
    """One labelled counter with its children cached by label values (and capped)."""

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Counter] = {}

    def child(self, *values: str) -> Counter:
        found = self._children.get(values)
        if found is None:
            if len(self._children) >= MAX_VALUES:
                values = ("other",) * len(values)
                found = self._children.get(values)
            if found is None:
                found = self._children[values] = self._metric.labels(*values)
        return found


def _counter(name: str, doc: str, *labels: str) -> _Family:
    return _Family(Counter(name, doc, labels, registry=REGISTRY))


UPDATES = _counter("fmbot_updates", "Updates received from Telegram, by kind", "kind")
TURNS = _counter("fmbot_turns", "Answered turns by outcome", "outcome")
FIRST_VISIBLE = Histogram(
    "fmbot_turn_first_visible_seconds", "From the question to the first visible answer text",
    buckets=LATENCY_BUCKETS, registry=REGISTRY,
)
FINAL = Histogram(
    "fmbot_turn_final_seconds", "From the question to the final answer delivered",
    buckets=LATENCY_BUCKETS, registry=REGISTRY,
)
TELEGRAM_CALLS = _counter("fmbot_telegram_calls", "Bot API calls, by method", "method")
TELEGRAM_429 = _counter(
    "fmbot_telegram_429", "Bot API calls answered 429 Too Many Requests, by method", "method"
)
YANDEX_REQUESTS = _counter(
    "fmbot_yandex_requests", "HTTP requests to Foundation Models (retries included)", "endpoint"
)
YANDEX_RETRIES = _counter(
    "fmbot_yandex_retries", "Foundation Models requests retried, by reason", "endpoint", "reason"
)
YANDEX_ERRORS = _counter(
    "fmbot_yandex_errors", "Foundation Models calls that failed, by error", "endpoint", "error"
)
GENERATION_WAIT = Histogram(
    "fmbot_generation_wait_seconds", "Time generations waited for the concurrency cap",
    buckets=WAIT_BUCKETS, registry=REGISTRY,
)
TOKENS = _counter("fmbot_tokens", "Tokens used, by model and kind (input, output)",
                  "model", "kind")
IMAGE_JOBS = _counter("fmbot_image_jobs", "Image jobs reaching a state", "state")
KB_SEARCHES = _counter("fmbot_kb_searches", "Knowledge base searches, by kind", "kind")
KB_ANSWERS = _counter(
    "fmbot_kb_answers", "Knowledge-base turns: covered by the passages or not found", "result"
)
KB_EMBEDDED = Counter(
    "fmbot_kb_passages_embedded", "Passages embedded by knowledge base syncs (new or changed)",
    registry=REGISTRY,
)
WEB_SEARCHES = Counter("fmbot_web_searches", "Web searches the model ran (the web_search tool)",
                       registry=REGISTRY)
HANDOFFS = _counter("fmbot_handoffs", "Conversations handed to a person, by reason", "reason")
DESK_ENDS = _counter(
    "fmbot_desk_conversations_ended", "Conversations a person owned, ended by resolution",
    "resolution",
)
RELAYS = _counter("fmbot_relays", "Messages relayed between users and operators", "direction")
RATINGS = _counter("fmbot_ratings", "Ratings of conversations a person handled, by score",
                   "score")
FEEDBACK = _counter("fmbot_answer_feedback", "👍/👎 pressed under answers", "value")
CHAT_SIGNALS = _counter(
    "fmbot_chat_signals",
    "Wakes and stop-button stops between replicas: published (or not, Redis away), and on "
    "receipt acted on here or not_here (another replica's chat or draft); gap: subscribed "
    "again after a loss, every chat held here woken",
    "kind", "outcome",
)
# Tools: per tool (names come from TOOLS_FILE and code, capped like every label).
TOOL_CALLS = _counter("fmbot_tool_calls", "Tool calls run, by tool and outcome (ok, error, "
                      "timeout)", "tool", "outcome")
TOOL_SECONDS = Histogram(
    "fmbot_tool_call_seconds", "Seconds a tool call took, by tool", ["tool"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0), registry=REGISTRY,
)
_TOOL_TIMERS: dict[str, Histogram] = {}
QUEUE_DEPTH = Gauge("fmbot_queue_depth", "Items waiting, by queue", ["queue"], registry=REGISTRY)
LEADER = Gauge("fmbot_poller_leader", "1 while this replica holds the poller's lease",
               registry=REGISTRY)
REPLICA = Gauge("fmbot_replica_info", "Always 1; the label names this replica", ["replica"],
                registry=REGISTRY)


def update_received(kind: str) -> None:
    UPDATES.child(kind).inc()


def turn_finished(outcome: str) -> None:
    """`outcome`: the stored answer's status (complete, truncated, cancelled, failed)."""
    TURNS.child(outcome).inc()


def turn_latency(first_visible: float | None, final: float | None) -> None:
    """Seconds from the question to the first visible text and to the final answer; None
    when the turn never got there."""
    if first_visible is not None:
        FIRST_VISIBLE.observe(first_visible)
    if final is not None:
        FINAL.observe(final)


def telegram_call(method: str) -> None:
    TELEGRAM_CALLS.child(method).inc()


def telegram_429(method: str) -> None:
    TELEGRAM_429.child(method).inc()


def chat_signal(kind: str, outcome: str) -> None:
    """`kind`: wake, stop or gap; `outcome`: published, unpublished, acted, not_here."""
    CHAT_SIGNALS.child(kind, outcome).inc()


def queue_depth(queue: str, depth: int) -> None:
    QUEUE_DEPTH.labels(queue).set(depth)


def queue_depth_from(queue: str, depth: Callable[[], float]) -> None:
    """Read the queue's depth when /metrics is scraped (nothing per item)."""
    QUEUE_DEPTH.labels(queue).set_function(depth)


def image_job(state: str) -> None:
    """`state`: started, delivered, refused, failed, resumed."""
    IMAGE_JOBS.child(state).inc()


def kb_search(kind: str) -> None:
    """`kind`: question (a chat turn's search; a follow-up searches twice) or command."""
    KB_SEARCHES.child(kind).inc()


def kb_answer(covered: bool) -> None:
    KB_ANSWERS.child("covered" if covered else "not_found").inc()


def kb_embedded(passages: int) -> None:
    if passages:
        KB_EMBEDDED.inc(passages)


def web_searches(count: int) -> None:
    if count:
        WEB_SEARCHES.inc(count)


def handoff(reason: str) -> None:
    HANDOFFS.child(reason).inc()


def desk_ended(resolution: str) -> None:
    """`resolution`: closed (/close), returned (/bot) or failed (no person could see it)."""
    DESK_ENDS.child(resolution).inc()


def relay(direction: str) -> None:
    """`direction`: to_topic (a user's message) or to_user (an operator's)."""
    RELAYS.child(direction).inc()


def rating(score: int) -> None:
    RATINGS.child(str(score)).inc()


def feedback(helpful: bool) -> None:
    FEEDBACK.child("up" if helpful else "down").inc()


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    """A call the toolbox ran (its ToolObserver); errors are the outcomes other than ok."""
    TOOL_CALLS.child(tool, outcome).inc()
    timer = _TOOL_TIMERS.get(tool)
    if timer is None:
        if len(_TOOL_TIMERS) >= MAX_VALUES:
            tool = "other"
        timer = _TOOL_TIMERS.get(tool)
        if timer is None:
            timer = _TOOL_TIMERS[tool] = TOOL_SECONDS.labels(tool)
    timer.observe(seconds)


def leader(is_leader: bool) -> None:
    LEADER.set(1 if is_leader else 0)


def replica(replica_id: str) -> None:
    REPLICA.labels(replica_id).set(1)


class YandexMetrics:
    """The Foundation Models client's observer (bot.foundation_models.observer.Observer),
    so that client knows nothing of Prometheus."""

    def request(self, endpoint: str) -> None:
        YANDEX_REQUESTS.child(endpoint).inc()

    def retry(self, endpoint: str, reason: str) -> None:
        YANDEX_RETRIES.child(endpoint, reason).inc()

    def failure(self, endpoint: str, error: str) -> None:
        YANDEX_ERRORS.child(endpoint, error).inc()

    def generation_wait(self, seconds: float) -> None:
        GENERATION_WAIT.observe(seconds)

    def usage(self, model: str, input_tokens: int, output_tokens: int) -> None:
        if input_tokens:
            TOKENS.child(model, "input").inc(input_tokens)
        if output_tokens:
            TOKENS.child(model, "output").inc(output_tokens)


# --- Desk insights -----------------------------------------------------------------
INSIGHT_JOBS = _counter(
    "fmbot_insight_jobs", "Deferred model jobs (summaries, tags, FAQ drafts, gap labels) "
    "reaching a step, by kind and outcome (stored, submitted, done, applied, retried, failed)",
    "kind", "outcome",
)
INSIGHT_TOKENS = _counter("fmbot_insight_tokens", "Tokens used by deferred model jobs",
                          "kind", "direction")


def insight_job(kind: str, outcome: str) -> None:
    INSIGHT_JOBS.child(kind, outcome).inc()


def insight_tokens(kind: str, input_tokens: int, output_tokens: int) -> None:
    INSIGHT_TOKENS.child(kind, "input").inc(input_tokens)
    INSIGHT_TOKENS.child(kind, "output").inc(output_tokens)


# --- Voice replies and long voice notes ---------------------------------------------
VOICE_REPLIES = _counter("fmbot_voice_replies", "Spoken answers reaching a state (sent, failed, "
                         "over_budget, resumed, resent)", "state")
TTS_CHARS = Counter("fmbot_tts_chars", "Characters synthesised by SpeechKit", registry=REGISTRY)
SPEECH_JOBS = _counter("fmbot_speech_jobs", "Long voice notes recognised asynchronously, by "
                       "step (stored, submitted, done, failed, resumed)", "state")


def voice_reply(state: str, chars: int = 0) -> None:
    VOICE_REPLIES.child(state).inc()
    if chars:
        TTS_CHARS.inc(chars)


def speech_job(state: str) -> None:
    SPEECH_JOBS.child(state).inc()
