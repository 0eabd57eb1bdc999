"""The evaluation's section of the settings (EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL): the models
`fmbot eval` lets play the customers and score the conversations. A leaf: pydantic only
(bot/features/settings.py composes it and gives the default, TEXT_MODEL)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class EvaluationArea:
    """The evaluation's models, the defaults resolved."""

    customer_model: str
    judge_model: str


class EvaluationSettings(BaseSettings):
    """Simulated customers and their judge (`fmbot eval`)."""

    # The model that plays each case's customer; empty = TEXT_MODEL.
    eval_customer_model: str = ""
    # The model that scores each conversation against the case's criteria; empty = TEXT_MODEL.
    eval_judge_model: str = ""

    def evaluation_with(self, text_model: str) -> EvaluationArea:
        """The evaluation's settings as one value, an empty model meaning `text_model`."""
        return EvaluationArea(
            customer_model=self.eval_customer_model.strip() or text_model,
            judge_model=self.eval_judge_model.strip() or text_model,
        )
