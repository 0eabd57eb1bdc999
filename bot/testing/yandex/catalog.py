"""The model catalogue of the fake Foundation Models server: `GET /v1/models` and unknown models.

The listing has the shape Yandex records (`{"object": "list", "data": [{"id":
"gpt://<folder>/yandexgpt/latest", "object": "model", "owned_by": "Yandex", "created": 0},
...]}`, SDK cassette test_uri_parser) and, like the real one, is not complete: it never lists
image models, and `unlisted_models` leaves further served models out. With `served_models` set,
a request naming a model outside it (native `modelUri`, OpenAI and Responses `model`) is refused
as unknown: 404 with the model named; unset, every model is served.
"""

from __future__ import annotations

from typing import Any

from bot.testing.yandex.exchange import Response, json_response

MODELS_PATH = "/v1/models"
# The recorded listing's models (yandex-cloud-ml-sdk cassette, Nov 2025), by owner.
RECORDED = (
    ("gpt", "aliceai-llm/latest", "Yandex"), ("gpt", "gpt-oss-120b/latest", "OpenAI"),
    ("gpt", "gpt-oss-20b/latest", "OpenAI"), ("gpt", "gemma-3-27b-it/latest", "Google"),
    ("gpt", "qwen3-235b-a22b-fp8/latest", "Alibaba"), ("emb", "text-search-doc/latest", "Yandex"),
    ("emb", "text-search-query/latest", "Yandex"), ("emb", "text-embeddings/latest", "Yandex"),
    ("gpt", "yandexgpt-lite/latest", "Yandex"), ("gpt", "yandexgpt-lite/rc", "Yandex"),
    ("gpt", "yandexgpt/latest", "Yandex"), ("gpt", "yandexgpt/rc", "Yandex"),
)


class ModelCatalog:
    folder_id: str
    served_models: set[str] | None
    unlisted_models: set[str]
    model_listings: int

    def init_models(self) -> None:
        self.served_models = None
        self.unlisted_models = set()
        self.model_listings = 0

    def listed_ids(self) -> list[str]:
        if self.served_models is not None:
            ids = sorted(self.served_models)
        else:
            ids = [f"{scheme}://{self.folder_id}/{name}" for scheme, name, _ in RECORDED]
        return [i for i in ids if not i.startswith("art://") and i not in self.unlisted_models]

    def models_listing(self) -> Response:
        self.model_listings += 1
        return json_response({"object": "list", "data": [
            {"id": uri, "object": "model", "owned_by": "Yandex", "created": 0}
            for uri in self.listed_ids()
        ]})

    def unknown_model(self, body: Any) -> str | None:
        """The refusal of a request naming a model this folder does not serve."""
        if self.served_models is None or not isinstance(body, dict):
            return None
        uri = body.get("modelUri") or body.get("model")
        if isinstance(uri, str) and "://" in uri and uri not in self.served_models:
            return f"Model {uri} not found"
        return None
