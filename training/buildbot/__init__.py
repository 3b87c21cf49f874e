"""``python -m training build-bot``: transcripts in, a complete standalone Rasa project out.

Steps: :mod:`training.prepare` (ingest, redaction, dedupe, split) writes the NLU data and
generation pairs; :mod:`~training.buildbot.flows` groups the pairs back into conversations;
:mod:`~training.buildbot.mining` picks each intent's response from what the agents said and
chooses its route; :mod:`~training.buildbot.project` renders the Rasa project;
:mod:`~training.buildbot.pipeline` chains it all behind prepare's manifest.
"""
