"""Tools in a turn (feature.py); the tool loop is bot/conversation/tools_loop.py and the
toolbox bot/tools."""
