import random

import torch

from bot.nlu.batching import collate, length_bucketed_batches


def test_length_buckets_cover_every_index_once_and_group_similar_lengths():
    lengths = [random.Random(0).randint(3, 60) for _ in range(500)]
    batches = length_bucketed_batches(lengths, 16, random.Random(3), pool_factor=50)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(500))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread / len(batches) < 10  # random batches would spread ~45 tokens


def test_collate_pads_to_longest_and_masks_padding():
    ids, mask = collate([[5, 6, 7], [8]], [0, 1], pad_id=0, device=torch.device("cpu"))
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
