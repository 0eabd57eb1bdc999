"""The support desk, one feature in one folder: handoff to people in a forum-topic
supergroup, relays, ratings, the report and what the desk learns from its conversations.

- domain/: the desk's decisions (cases, hours, relays, the report); knows no Telegram.
- insights/: the learning loop (handoff and final summaries, FAQ drafts, content gaps).
- storage/: its tables (registered on the shared metadata when imported) and repositories.
- telegram/: topics, the card, relays, the handlers and the answers' 👍/👎.
- build.py: builds the desk from the settings for the composition root (bot/wiring).
- cli.py: the `insights` command.
"""
