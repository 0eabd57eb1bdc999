"""Guest mode (Bot API 10.0): the bot @mentioned in a chat it is not a member of.

Telegram sends a `guest_message` update (the question, and the message it replies to) and
nothing else of that chat; the bot answers once with `answerGuestQuery` and may then edit the
message it posted through its `inline_message_id`. Here:

- `answering.py` (`GuestAnswers`): the model's side. The prompt is the bot's system prompt,
  the message replied to and the question, nothing more; no history is kept (no conversation
  is stored for that chat); the asker's daily token budget is checked and their usage charged.
  No tools are offered (nothing that writes, no support desk): the model only answers.
- `telegram.py` (`GuestQueries`): the Telegram side, a router for `guest_message` that the
  composition root hands the Dispatcher in `FeatureRouters`: the rate limit, the placeholder
  posted with `answerGuestQuery`, the answer streamed by paced edits, the final rendered text.

`GUEST_MODE=off` leaves the router out: `allowed_updates` (resolved from the routers in use)
then does not ask Telegram for `guest_message` at all.
"""
