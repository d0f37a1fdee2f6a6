"""Pure questionnaire core: instrument definitions (PHQ-9, GAD-7) and scoring."""

from hwtrial.questionnaires.scoring import BUILTINS, GAD7, PHQ9, Score, resolve_instrument, score

__all__ = ["BUILTINS", "GAD7", "PHQ9", "Score", "resolve_instrument", "score"]
