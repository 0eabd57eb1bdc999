"""Documents sent in chat: their passages kept per conversation (chat.py) and the best of
them put in front of the model for each question (turn.py)."""
