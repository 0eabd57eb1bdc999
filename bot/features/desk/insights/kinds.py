"""The kinds of deferred model jobs (numpy-free, so the Telegram layer may import them)."""

from __future__ import annotations

HANDOFF = "handoff_summary"  # a handoff's summary and tags
FINAL = "case_summary"  # a resolved case's final summary
FAQ = "faq_drafts"  # FAQ drafts from a case an operator answered
GAP = "gap_label"  # a content gap's suggested article title
QA = "qa_score"  # a finished conversation's quality score (issue 66)
