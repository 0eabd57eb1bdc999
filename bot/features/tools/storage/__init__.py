"""The tool loop's store: the `tool_calls` table (models.py, registered on the shared `Base`
by bot/features/installed.py), its repository (calls.py, with the rows it takes and gives in
rows.py) and the per-user counts the limits read (limits.py). Knows no aiogram or httpx."""
