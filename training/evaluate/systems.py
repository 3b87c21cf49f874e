"""The NLU pipelines compared by ``training.evaluate intents``.

Both go through the same path: Rasa's ``train_nlu`` on the same YAML, then
``Agent.parse_message`` one message at a time, as the server does.
"""

from __future__ import annotations

from typing import Any

DIET_DEFAULT_EPOCHS = 100


def transformer_pipeline(options: dict[str, Any]) -> list[dict[str, Any]]:
    """This project's pipeline, without the fallback step (thresholds are swept offline).

    Args:
        options: Extra options for the classifier (epochs, device...).

    Returns:
        The Rasa pipeline.
    """
    return [
        {"name": "WhitespaceTokenizer"},
        {"name": "bot.nlu.intent_classifier.TransformerIntentClassifier", **options},
    ]


def diet_pipeline(epochs: int = DIET_DEFAULT_EPOCHS, seed: int = 42) -> list[dict[str, Any]]:
    """Rasa 3.6's default NLU pipeline (what ``rasa init`` writes), intent part only.

    Args:
        epochs: DIET epochs; Rasa's default is 100.
        seed: DIET's random seed.

    Returns:
        The Rasa pipeline.
    """
    return [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {
            "name": "DIETClassifier",
            "epochs": epochs,
            "constrain_similarities": True,
            "random_seed": seed,
        },
    ]


def rasa_config(pipeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap a pipeline into a complete Rasa config (NLU only).

    Args:
        pipeline: The NLU pipeline.

    Returns:
        The config document.
    """
    return {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "evaluation",
        "pipeline": pipeline,
        "policies": [],
    }
