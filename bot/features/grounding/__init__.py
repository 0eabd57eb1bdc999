"""The turn's grounding as a feature: the answer read back against its sources first, its
"not found" text shown last (steps.py, feature.py)."""
