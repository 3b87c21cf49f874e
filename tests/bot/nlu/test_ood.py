import numpy as np
import pytest

from bot.nlu.ood import NeighbourGate, neighbour_similarity, normalise_rows
from common.errors import ConfigError


def _unit(*rows):
    return normalise_rows(np.array(rows, dtype=np.float32))


def test_neighbour_similarity_is_the_mean_of_the_k_closest():
    bank = _unit([1, 0, 0], [0, 1, 0], [1, 1, 0])
    query = _unit([1, 0, 0])
    assert neighbour_similarity(query, bank, k=1)[0] == pytest.approx(1.0)
    assert neighbour_similarity(query, bank, k=2)[0] == pytest.approx((1.0 + 0.7071) / 2, 1e-3)
    assert neighbour_similarity(query, bank, k=99)[0] == pytest.approx((1.0 + 0.7071) / 3, 1e-3)
    assert neighbour_similarity(query, bank[:0], k=1)[0] == 0.0


def _gate(quantile=0.1):
    rng = np.random.default_rng(0)
    centre = np.zeros(16, dtype=np.float32)
    centre[0] = 1.0
    train = centre + 0.15 * rng.standard_normal((200, 16)).astype(np.float32)
    hold = centre + 0.15 * rng.standard_normal((60, 16)).astype(np.float32)
    return NeighbourGate.fit(train, hold, k=1, quantile=quantile), centre


def test_fit_measures_the_reference_on_unseen_examples_and_banks_both():
    gate, _ = _gate()
    assert gate.bank.shape == (260, 16)
    assert len(gate.reference) == 60
    assert np.all(np.diff(gate.reference) >= 0)
    assert np.allclose(np.linalg.norm(gate.bank, axis=1), 1.0, atol=1e-5)


def test_a_refit_model_keeps_its_own_bank_and_the_twins_reference():
    gate, centre = _gate()
    refit_bank = np.tile(centre * 3.0, (7, 1))  # not unit length: fit must normalise it
    refit = NeighbourGate.fit(
        np.asarray(gate.bank[:200]), np.asarray(gate.bank[200:]), k=1, bank_vectors=refit_bank
    )
    assert refit.bank.shape == (7, 16)
    assert np.allclose(refit.bank, normalise_rows(refit_bank))
    assert np.allclose(refit.reference, gate.reference)


def test_typical_messages_keep_their_confidence_and_strange_ones_lose_it():
    gate, centre = _gate(quantile=0.1)
    far = np.zeros(16, dtype=np.float32)
    far[5] = 1.0
    factors = gate.factors(np.stack([centre, far]))
    assert factors[0] == 1.0
    assert 0.0 < factors[1] < 0.2
    typical = gate.typicality(np.array([gate.reference[-1] + 0.01, gate.reference[0] - 0.01]))
    assert typical[0] == pytest.approx(1.0)
    assert typical[1] == pytest.approx(1 / 61)


def test_quantile_zero_turns_the_gate_off():
    gate, _ = _gate(quantile=0.0)
    assert not gate.active
    far = np.eye(16, dtype=np.float32)[5:6]
    assert gate.factors(far).tolist() == [1.0]


def test_save_and_load_round_trip_with_an_overridden_quantile(tmp_path):
    gate, centre = _gate(quantile=0.1)
    gate.save(tmp_path)
    loaded = NeighbourGate.load(tmp_path)
    assert loaded is not None and loaded.k == 1 and loaded.quantile == 0.1
    probe = np.stack([centre, np.eye(16, dtype=np.float32)[5]])
    assert np.allclose(loaded.factors(probe), gate.factors(probe), atol=1e-2)
    off = NeighbourGate.load(tmp_path, quantile=0.0)
    assert off is not None and not off.active
    assert NeighbourGate.load(tmp_path / "missing") is None


@pytest.mark.parametrize("kwargs", [{"quantile": 1.0}, {"quantile": -0.1}, {"k": 0}])
def test_bad_settings_are_clear_errors(kwargs):
    with pytest.raises(ConfigError, match="ood"):
        NeighbourGate(bank=np.zeros((1, 2)), reference=np.zeros(1), **kwargs)
