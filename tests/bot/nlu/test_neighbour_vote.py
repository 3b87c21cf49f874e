import numpy as np
import pytest
import torch

from bot.nlu.neighbour_vote import NeighbourVote
from common.errors import ConfigError


def _vote(weight=0.5, k=3, sharpness=0.02):
    # Intent 0 around the x axis, intent 1 around the y axis, intent 2 has no examples.
    bank = np.array([[1, 0.1], [1, -0.1], [0.9, 0.2], [0.1, 1], [-0.1, 1]], dtype=np.float32)
    labels = np.array([0, 0, 0, 1, 1])
    return NeighbourVote.fit(bank, labels, num_labels=3, k=k, sharpness=sharpness, weight=weight)


def test_fit_normalises_the_bank():
    vote = _vote()
    assert np.allclose(np.linalg.norm(vote.bank, axis=1), 1.0, atol=1e-5)
    assert vote.labels.dtype == np.int64


def test_the_vote_follows_the_nearest_examples_and_sums_to_one():
    vote = _vote()
    probs = vote.probabilities(np.array([[1, 0], [0, 1], [0.7, 0.7]], dtype=np.float32))
    assert probs.shape == (3, 3)
    assert probs.sum(dim=1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert probs[0].argmax() == 0 and probs[0, 0] > 0.99
    assert probs[1].argmax() == 1
    assert probs[:, 2].tolist() == [0.0, 0.0, 0.0]  # no examples, no votes


def test_a_soft_vote_spreads_over_the_neighbours_and_k_caps_at_the_bank():
    query = np.array([[0.7, 0.7]], dtype=np.float32)
    sharp = _vote(k=5, sharpness=0.01).probabilities(query)[0]
    soft = _vote(k=99, sharpness=10.0).probabilities(query)[0]
    assert soft.tolist() == pytest.approx([0.6, 0.4, 0.0], abs=0.02)  # nearly 3 vs 2 votes
    assert max(sharp.tolist()) > max(soft.tolist())


def test_blend_mixes_by_weight_and_weight_zero_is_the_softmax():
    vote = _vote(weight=0.25)
    probs = torch.tensor([[0.2, 0.7, 0.1]])
    vector = np.array([[1, 0]], dtype=np.float32)
    blended = vote.blend(probs, vector)
    expected = 0.75 * probs + 0.25 * vote.probabilities(vector)
    assert torch.allclose(blended, expected)
    assert blended[0].argmax() == 1  # a quarter of the weight does not overrule the head
    off = _vote(weight=0.0)
    assert not off.active
    assert torch.equal(off.blend(probs, vector), probs)


def test_save_and_load_round_trip_with_an_overridden_weight(tmp_path):
    vote = _vote(weight=0.3)
    vote.save(tmp_path)
    loaded = NeighbourVote.load(tmp_path)
    assert loaded is not None
    assert (loaded.k, loaded.sharpness, loaded.weight, loaded.num_labels) == (3, 0.02, 0.3, 3)
    assert loaded.labels.tolist() == vote.labels.tolist()
    query = np.array([[0.6, 0.8]], dtype=np.float32)
    assert torch.allclose(loaded.probabilities(query), vote.probabilities(query), atol=1e-2)
    off = NeighbourVote.load(tmp_path, weight=0.0)
    assert off is not None and not off.active
    assert NeighbourVote.load(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight": 1.5}, "weight"),
        ({"weight": -0.1}, "weight"),
        ({"k": 0}, "k must"),
        ({"sharpness": 0.0}, "sharpness"),
        ({"labels": np.array([0, 7])}, "index"),
        ({"labels": np.array([0])}, "2 vectors but 1 labels"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, match):
    settings = {"bank": np.zeros((2, 2)), "labels": np.array([0, 1]), "num_labels": 2, **kwargs}
    with pytest.raises(ConfigError, match=match):
        NeighbourVote(**settings)
