"""Tools in a turn (feature.py); the tool loop is bot/features/tools/loop.py and the
toolbox bot/tools."""
