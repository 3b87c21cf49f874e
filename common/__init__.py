"""The shared core: what the runtime, the channels and training all stand on.

It holds privacy (PII detection and redaction), email text decoding and cleanup, sentence
embeddings, the conversation turn model, the error tree, and the pretrained-model, device,
seed and precision helpers. It imports none of ``bot``, ``channels``, ``actions`` or
``training``; ``make lint`` checks that with import-linter.
"""
