"""The Yandex Cloud Foundation Models client (AI Studio), knowing nothing of Telegram or the
database. Its modules are imported by name (`bot.foundation_models.client`, `.errors`, ...);
features reach the clients and values through `bot.plugin.models`.

- Clients, each on one base (`ApiClient`: its HTTP client, the transport with auth, retries
  and error mapping, `async with`/`aclose()`): `FoundationModelsClient` (the native API:
  completions, streams, operations, images, tokenizer, embeddings), `OpenAICompatibleChatModel`,
  `ResponsesChatModel`, `SpeechRecognizer`, `AsyncSpeechRecognizer`, `SpeechSynthesizer`,
  `VectorStoreClient`.
- Credentials (`Auth` and its kinds), timeouts and retries, the errors a call raises, and the
  plain values requests and answers are made of.
"""
