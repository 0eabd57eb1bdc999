"""The App's extensions (context providers, `on_answer` hooks) in a turn."""
