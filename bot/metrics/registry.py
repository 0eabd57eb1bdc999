"""The metrics of one process, in the Prometheus model (prometheus-client): the core's series
and cheap functions the other layers call to update them, and `counter`, `gauge`, `histogram`,
with which a feature declares its own series on the same registry (in its own folder, e.g.
bot/features/knowledge/metrics.py; no feature's series is named here).

Labels are low-cardinality by construction: Bot API method names, Yandex endpoint names, error
class names, configured model names, fixed outcome and state words; never a chat or user id.
As a guard, a label takes at most `MAX_VALUES` distinct values; later ones count as "other".
Every function costs about a microsecond (a dictionary lookup and a locked add), so a turn's
dozen updates stay far below its CPU budget (bench/bench_load.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

MAX_VALUES = 64
# Seconds: a first visible frame is expected within a second or two, a final answer in tens.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # CPU seconds, resident memory, open files, start time


M = TypeVar("M", Counter, Gauge, Histogram)


class Family(Generic[M]):
    """One metric (a counter, gauge or histogram) with its children cached by label values and
    capped: past `MAX_VALUES` distinct values a label's new ones count as "other". Without
    labels, `child()` is the metric itself."""

    __slots__ = ("_children", "_labelled", "_metric")

    def __init__(self, metric: M, labelled: bool) -> None:
        self._metric: M = metric
        self._labelled = labelled
        self._children: dict[tuple[str, ...], M] = {}

    def child(self, *values: str) -> M:
        if not self._labelled:
            return self._metric
        found = self._children.get(values)
        if found is None:
            if len(self._children) >= MAX_VALUES:
                values = ("other",) * len(values)
                found = self._children.get(values)
            if found is None:
                found = self._children[values] = self._metric.labels(*values)
        return found


# Each series declared, by name: what it was declared as, and its family. A second
# declaration of the same series (a module imported again, under another name or after
# being dropped from sys.modules) gets the first's family; one that differs is refused.
_DECLARED: dict[str, tuple[tuple[object, ...], Family[Any]]] = {}


def _declare(kind: type[M], name: str, doc: str, labels: tuple[str, ...],
             **options: Any) -> Family[M]:
    declared = (kind, doc, labels, tuple(sorted(options.items())))
    found = _DECLARED.get(name)
    if found is not None:
        if found[0] != declared:
            raise ValueError(f"metric {name} is declared already, differently: {found[0]}")
        return cast("Family[M]", found[1])
    family = Family(kind(name, doc, labels, registry=REGISTRY, **options), bool(labels))
    _DECLARED[name] = (declared, family)
    return family


def counter(name: str, doc: str, *labels: str) -> Family[Counter]:
    """A counter on the bot's registry (shown on /metrics as `<name>_total`), by `labels`.
    Declared at a module's import: declared again with the same arguments, it is the same
    family; with others, ValueError."""
    return _declare(Counter, name, doc, labels)


def gauge(name: str, doc: str, *labels: str) -> Family[Gauge]:
    """A gauge on the bot's registry, by `labels` (see `counter`)."""
    return _declare(Gauge, name, doc, labels)


def histogram(name: str, doc: str, *labels: str,
              buckets: tuple[float, ...] = LATENCY_BUCKETS) -> Family[Histogram]:
    """A histogram on the bot's registry, by `labels`, of these `buckets` (see `counter`)."""
    return _declare(Histogram, name, doc, labels, buckets=buckets)


UPDATES = counter("fmbot_updates", "Updates received from Telegram, by kind", "kind")
TURNS = counter("fmbot_turns", "Answered turns by outcome", "outcome")
FIRST_VISIBLE = histogram(
    "fmbot_turn_first_visible_seconds", "From the question to the first visible answer text",
)
FINAL = histogram(
    "fmbot_turn_final_seconds", "From the question to the final answer delivered",
)
TELEGRAM_CALLS = counter("fmbot_telegram_calls", "Bot API calls, by method", "method")
TELEGRAM_429 = counter(
    "fmbot_telegram_429", "Bot API calls answered 429 Too Many Requests, by method", "method"
)
YANDEX_REQUESTS = counter(
    "fmbot_yandex_requests", "HTTP requests to Foundation Models (retries included)", "endpoint"
)
YANDEX_RETRIES = counter(
    "fmbot_yandex_retries", "Foundation Models requests retried, by reason", "endpoint", "reason"
)
YANDEX_ERRORS = counter(
    "fmbot_yandex_errors", "Foundation Models calls that failed, by error", "endpoint", "error"
)
GENERATION_WAIT = histogram(
    "fmbot_generation_wait_seconds", "Time generations waited for the concurrency cap",
    buckets=WAIT_BUCKETS,
)
TOKENS = counter("fmbot_tokens", "Tokens used, by model and kind (input, output)",
                 "model", "kind")
CHAT_SIGNALS = counter(
    "fmbot_chat_signals",
    "Wakes and stop-button stops between replicas: published (or not, Redis away), and on "
    "receipt acted on here or not_here (another replica's chat or draft); gap: subscribed "
    "again after a loss, every chat held here woken",
    "kind", "outcome",
)
QUEUE_DEPTH = gauge("fmbot_queue_depth", "Items waiting, by queue", "queue")
LEADER = gauge("fmbot_poller_leader", "1 while this replica holds the poller's lease")
REPLICA = gauge("fmbot_replica_info", "Always 1; the label names this replica", "replica")


def update_received(kind: str) -> None:
    UPDATES.child(kind).inc()


def turn_finished(outcome: str) -> None:
    """`outcome`: the stored answer's status (complete, truncated, cancelled, failed)."""
    TURNS.child(outcome).inc()


def turn_latency(first_visible: float | None, final: float | None) -> None:
    """Seconds from the question to the first visible text and to the final answer; None
    when the turn never got there."""
    if first_visible is not None:
        FIRST_VISIBLE.child().observe(first_visible)
    if final is not None:
        FINAL.child().observe(final)


def telegram_call(method: str) -> None:
    TELEGRAM_CALLS.child(method).inc()


def telegram_429(method: str) -> None:
    TELEGRAM_429.child(method).inc()


def chat_signal(kind: str, outcome: str) -> None:
    """`kind`: wake, stop or gap; `outcome`: published, unpublished, acted, not_here."""
    CHAT_SIGNALS.child(kind, outcome).inc()


def queue_depth_from(queue: str, depth: Callable[[], float]) -> None:
    """Read the queue's depth when /metrics is scraped (nothing per item)."""
    QUEUE_DEPTH.child(queue).set_function(depth)


def leader(is_leader: bool) -> None:
    LEADER.child().set(1 if is_leader else 0)


def replica(replica_id: str) -> None:
    REPLICA.child(replica_id).set(1)


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
        GENERATION_WAIT.child().observe(seconds)

    def usage(self, model: str, input_tokens: int, output_tokens: int) -> None:
        if input_tokens:
            TOKENS.child(model, "input").inc(input_tokens)
        if output_tokens:
            TOKENS.child(model, "output").inc(output_tokens)
