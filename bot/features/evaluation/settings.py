"""The evaluation's section of the settings (EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL): the models
`fmbot eval` lets play the customers and score the conversations. A leaf: pydantic and the
settings' parsing helpers only (bot/features/settings.py composes it as `settings.evaluation`
and gives the default, TEXT_MODEL)."""

from __future__ import annotations

from pydantic import Field

from bot.plugin.config import Core, Section


class EvaluationSettings(Section):
    """Simulated customers and their judge (`fmbot eval`); an empty model is resolved by the
    composed Settings to TEXT_MODEL (`resolved`)."""

    # The model that plays each case's customer; empty = TEXT_MODEL.
    customer_model: str = Field(default="", validation_alias="EVAL_CUSTOMER_MODEL")
    # The model that scores each conversation against the case's criteria; empty = TEXT_MODEL.
    judge_model: str = Field(default="", validation_alias="EVAL_JUDGE_MODEL")

    def resolved_with(self, core: Core) -> EvaluationSettings:
        """Resolved against TEXT_MODEL (`resolved`)."""
        return self.resolved(core.text_model)

    def resolved(self, text_model: str) -> EvaluationSettings:
        """A copy with an empty model meaning `text_model`."""
        copy = self.model_copy()
        copy._settle(customer_model=self.customer_model.strip() or text_model,
                     judge_model=self.judge_model.strip() or text_model)
        return copy
