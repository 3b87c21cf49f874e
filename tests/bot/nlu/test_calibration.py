import pytest
import torch

from bot.nlu.calibration import fit_temperature, stratified_split


def test_stratified_split_holds_out_per_class_and_keeps_rare_classes():
    labels = [0] * 20 + [1] * 10 + [2] * 3
    train, hold = stratified_split(labels, 0.2, seed=1)
    assert sorted(train + hold) == list(range(len(labels)))
    held = [labels[i] for i in hold]
    assert held.count(0) == 4 and held.count(1) == 2
    assert held.count(2) == 0  # fewer than 5 examples: never held out


def test_stratified_split_is_deterministic():
    labels = [i % 4 for i in range(40)]
    assert stratified_split(labels, 0.25, seed=7) == stratified_split(labels, 0.25, seed=7)
    assert stratified_split(labels, 0.25, seed=7) != stratified_split(labels, 0.25, seed=8)


def test_fit_temperature_recovers_the_temperature_of_the_data():
    torch.manual_seed(0)
    true_logits = torch.randn(4000, 5) * 3
    targets = torch.distributions.Categorical(logits=true_logits).sample()
    # The model is overconfident by a factor 2.5: the fitted temperature must undo it.
    fitted = fit_temperature(true_logits * 2.5, targets)
    assert fitted == pytest.approx(2.5, rel=0.1)
