"""The intent model: a pretrained sentence encoder with a classification head.

The encoder is fine-tuned end to end; sentences are mean-pooled over their tokens, the way
all-MiniLM-L6-v2 was trained, and a dropout + linear layer maps the pooled vector to intent
logits. A learned-free temperature, fitted after training, calibrates the softmax.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

WEIGHTS_FILE = "intent_model.safetensors"
META_FILE = "intent_model.json"


@dataclass(frozen=True)
class IntentModelMeta:
    """What a saved intent model needs besides its weights.

    Attributes:
        labels: Intent names, in logit order.
        max_length: Token limit used in training; longer texts are truncated.
        temperature: Softmax temperature fitted on held-out data (1.0 when not fitted).
        dropout: Dropout before the head, kept so that the module rebuilds identically.
    """

    labels: tuple[str, ...]
    max_length: int
    temperature: float = 1.0
    dropout: float = 0.1


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token vectors, ignoring padding.

    Args:
        hidden: ``(batch, tokens, dim)`` last hidden states.
        attention_mask: ``(batch, tokens)`` with 1 for real tokens.

    Returns:
        ``(batch, dim)`` sentence vectors.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class IntentEncoder(nn.Module):
    """Transformer encoder, mean pooling, dropout and a linear intent head.

    Args:
        encoder: A Hugging Face encoder (BERT-like) returning ``last_hidden_state``.
        num_labels: Number of intents.
        dropout: Dropout probability before the head.
    """

    def __init__(self, encoder: PreTrainedModel, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder: PreTrainedModel = encoder
        hidden_size = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return mean-pooled sentence vectors.

        Args:
            input_ids: Token ids.
            attention_mask: Attention mask.

        Returns:
            ``(batch, hidden)`` sentence vectors.
        """
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return intent logits.

        Args:
            input_ids: Token ids.
            attention_mask: Attention mask.

        Returns:
            ``(batch, num_labels)`` unnormalised scores.
        """
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))


def load_pretrained(
    path: Path, num_labels: int, dropout: float
) -> tuple[IntentEncoder, PreTrainedTokenizerBase]:
    """Build a fresh classifier on top of pretrained encoder weights.

    Args:
        path: Folder of a Hugging Face encoder checkpoint (config, tokenizer, weights).
        num_labels: Number of intents for the new head.
        dropout: Dropout before the head.

    Returns:
        The model (head randomly initialised from the current torch seed) and its tokenizer.
    """
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(path), local_files_only=True)
    return IntentEncoder(encoder, num_labels, dropout), tokenizer


def save(
    model: IntentEncoder,
    tokenizer: PreTrainedTokenizerBase,
    meta: IntentModelMeta,
    directory: Path,
) -> None:
    """Write a self-contained checkpoint: weights, encoder config, tokenizer and metadata.

    Args:
        model: The trained model.
        tokenizer: Its tokenizer.
        meta: Labels, limits and calibration.
        directory: Target folder; created if missing.
    """
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    model.encoder.config.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    payload: dict[str, Any] = asdict(meta)
    payload["labels"] = list(meta.labels)
    (directory / META_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")


def load(directory: Path) -> tuple[IntentEncoder, PreTrainedTokenizerBase, IntentModelMeta]:
    """Load a checkpoint written by :func:`save`, without touching the pretrained package.

    Args:
        directory: Folder written by :func:`save`.

    Returns:
        The model in eval mode, its tokenizer and its metadata.
    """
    raw = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    meta = IntentModelMeta(
        labels=tuple(raw["labels"]),
        max_length=int(raw["max_length"]),
        temperature=float(raw.get("temperature", 1.0)),
        dropout=float(raw.get("dropout", 0.1)),
    )
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    encoder = AutoModel.from_config(config)
    model = IntentEncoder(encoder, len(meta.labels), meta.dropout)
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    return model, tokenizer, meta
