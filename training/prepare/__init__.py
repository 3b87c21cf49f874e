"""Prepare: transcripts in, Rasa NLU YAML and generation pairs out.

The steps, each in its own module: redact (:mod:`.redact`), remove exact and near
duplicates (:mod:`.dedupe`), cap each intent (:mod:`.balance`), split train/test
(:mod:`.split`), build generation pairs (:mod:`.pairs`), write Rasa YAML (:mod:`.export`),
guard hand-edited files (:mod:`.manifest`) and report (:mod:`.report`).
:func:`~training.prepare.pipeline.prepare` chains them; ``python -m training prepare`` is
the command line (:mod:`.cli`).
"""

from training.prepare.options import PrepareOptions
from training.prepare.pipeline import PrepareResult, prepare

__all__ = ["PrepareOptions", "PrepareResult", "prepare"]
