"""Token batches for the intent encoder: tokenize, length buckets, padding, batched scoring.

Support messages are short and vary in length, so batches group examples of similar length
and are padded only to their longest member (dynamic padding); scoring sorts by length the
same way and returns results in input order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from bot.nlu.encoder import IntentEncoder


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: random.Random, pool_factor: int = 50
) -> list[list[int]]:
    """Group examples of similar length so that dynamic padding wastes little compute.

    Indices are shuffled, cut into pools of ``batch_size * pool_factor``, sorted by length
    inside each pool, cut into batches, and the batches are shuffled again.

    Args:
        lengths: Token count of every example.
        batch_size: Examples per batch.
        generator: Source of randomness (seeded by the caller).
        pool_factor: Batches per sorting pool.

    Returns:
        Lists of example indices, one per batch.
    """
    order = list(range(len(lengths)))
    generator.shuffle(order)
    pool = batch_size * pool_factor
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    generator.shuffle(batches)
    return batches


def collate(
    encoded: Sequence[list[int]], indices: Sequence[int], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch of token id lists to its longest member.

    Args:
        encoded: Token ids of every example.
        indices: Examples in this batch.
        pad_id: The tokenizer's padding id.
        device: Where to put the tensors.

    Returns:
        ``(input_ids, attention_mask)``.
    """
    width = max(len(encoded[i]) for i in indices)
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        seq = encoded[i]
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def tokenize(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> list:
    """Tokenize texts without padding.

    Args:
        tokenizer: The model's tokenizer.
        texts: Messages.
        max_length: Truncation limit in tokens.

    Returns:
        One list of token ids per text.
    """
    out = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return list(out["input_ids"])


@torch.inference_mode()
def predict_outputs(
    model: IntentEncoder,
    encoded: Sequence[list[int]],
    pad_id: int,
    device: torch.device,
    batch_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score pre-tokenized texts in length-sorted batches, returned in input order.

    Args:
        model: The model (put in eval mode here).
        encoded: Token ids per text.
        pad_id: Padding id.
        device: Model device.
        batch_size: Texts per forward pass.

    Returns:
        ``(n, num_labels)`` logits and ``(n, hidden)`` sentence vectors, on the CPU.
    """
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    logit_chunks: list[torch.Tensor] = []
    vector_chunks: list[torch.Tensor] = []
    # no_grad, not inference_mode: the temperature fit differentiates through the logits.
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = collate(encoded, idx, pad_id, device)
            vectors = model.embed(ids, mask)
            logit_chunks.append(model.head(vectors).float().cpu())
            vector_chunks.append(vectors.float().cpu())
    if not logit_chunks:
        hidden = int(model.head.in_features)
        return torch.empty(0, model.head.out_features), torch.empty(0, hidden)
    positions = torch.tensor(order, dtype=torch.long)
    logits, vectors = torch.cat(logit_chunks), torch.cat(vector_chunks)
    logits_out, vectors_out = torch.empty_like(logits), torch.empty_like(vectors)
    logits_out[positions] = logits
    vectors_out[positions] = vectors
    return logits_out, vectors_out


def predict_logits(
    model: IntentEncoder,
    encoded: Sequence[list[int]],
    pad_id: int,
    device: torch.device,
    batch_size: int = 64,
) -> torch.Tensor:
    """Return only the logits of :func:`predict_outputs`."""
    return predict_outputs(model, encoded, pad_id, device, batch_size)[0]
