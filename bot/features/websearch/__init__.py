"""Web search and file search (the Responses API's built-in tools) in a turn."""
