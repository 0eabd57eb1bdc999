"""The knowledge base in a turn (feature.py); the base itself is bot/knowledge."""
