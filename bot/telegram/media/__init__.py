"""Photos, albums and audio in the messages users send: the Telegram front's side of them
(the vision feature answers photos, bot/features/vision/photos.py; the voice feature voice
notes, bot/features/voice/notes.py)."""
