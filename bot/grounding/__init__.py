"""Answers grounded on sources, whoever found them (the knowledge base, file search): the
numbered sources in the prompt, the citations and the "not found" marker read back. Part of
the core: the turn's pipeline reads a turn's grounding (`turn.grounded`) without naming the
feature that set it."""
