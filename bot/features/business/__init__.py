"""Chat automation (Bot API business connections): the bot answers the customers of the
accounts connected to it, on the owner's behalf.

- `store.py` (`BusinessStore`): connections, customers' chats (each with its own
  conversation, apart from the customer's private chat with the bot), the owner's messages as
  history, suggestions waiting for a press.
- `replies.py` (`BusinessReplies`): who is answered (switched off, no right to reply, paused,
  the owner's takeover, the rate limit: no model call), the turn (read-only: no tool that
  writes) and its delivery: streamed as the owner (`auto`) or suggested to the owner first
  (`approve`, sent once on "Send").
- `telegram.py` (`BusinessUpdates`): the router the composition root hands the Dispatcher
  (`business_connection`, `business_message`, the owner's presses, /business).

`BUSINESS_REPLIES=off` leaves the router out: `allowed_updates` (resolved from the routers in
use) then does not ask Telegram for business updates at all.
"""
