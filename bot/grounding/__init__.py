"""Answers grounded on sources, whoever found them (the knowledge base, file search): the
numbered sources in the prompt, the citations and the "not found" marker read back. Part of
the core: a turn keeps its grounding in its own slot (`turn.part(Grounded)`, turn.py), read
back by the turn's pipeline without naming the feature that set it, and read off the turn's
result by the front ends (`grounded_of(result)`)."""
