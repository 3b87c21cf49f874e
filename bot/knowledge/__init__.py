"""Company knowledge at run time: the chunk model, hybrid retrieval and the answer gate.

``training/knowledge`` turns a help centre (Markdown, HTML, PDF, text, FAQ CSV) into
chunks; this package reads them (:mod:`bot.knowledge.chunks`), searches them and checks the
answers written from them.
"""
