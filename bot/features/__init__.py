"""fmbot's features, one folder each, each declared by one `Feature` object (its
`feature.py`: settings section, tables, texts, commands, checks, report parts, secrets and the
build of its parts) on the feature API (bot/plugin), the only module of fmbot a feature imports
besides its own folder. The bot's list of them is bot/features/installed.py; what needs the
features loops over that list and names none.
"""
