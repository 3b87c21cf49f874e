"""Knowledge in: a help centre (Markdown, HTML, PDF, text, FAQ CSV) to redacted chunks.

One module per step: find and read files (:mod:`.files`, :mod:`.readers`, with one parser
per format: :mod:`.markdown`, :mod:`.html`, :mod:`.pdf`, :mod:`.text`, :mod:`.faq`),
redact (:mod:`.redact`), chunk (:mod:`.chunking`), embed incrementally (:mod:`.embed`) and
report (:mod:`.report`). :func:`~training.knowledge.pipeline.build_knowledge_base` chains
them; ``python -m training kb`` is the command line (:mod:`.cli`). The chunk file format
is :mod:`bot.knowledge.chunks`, the vector files :mod:`bot.knowledge.chunk_vectors`.
"""

from training.knowledge.pipeline import KbOptions, KbResult, NoDocumentsError, build_knowledge_base

__all__ = ["KbOptions", "KbResult", "NoDocumentsError", "build_knowledge_base"]
