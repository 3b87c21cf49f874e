import pytest

from training.evaluate import metrics


def test_accuracy_and_macro_f1():
    gold = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "b"]
    assert metrics.accuracy(gold, pred) == 0.75
    # a: P=1 R=.5 F=.667; b: P=.667 R=1 F=.8
    assert metrics.macro_f1(gold, pred) == pytest.approx((2 / 3 + 0.8) / 2)


def test_retention_threshold_keeps_the_requested_share():
    conf = [i / 100 for i in range(1, 101)]
    t = metrics.retention_threshold(conf, 0.95)
    kept = sum(c >= t for c in conf) / len(conf)
    assert kept == pytest.approx(0.95, abs=0.01)


def test_oos_scores_at_threshold():
    scores = metrics.oos_scores(
        in_conf=[0.9, 0.8, 0.3, 0.95], oos_conf=[0.2, 0.6, 0.1], threshold=0.5
    )
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["precision"] == pytest.approx(2 / 3)  # 2 true OOS, 1 in-scope rejected
    assert scores["in_scope_rejected"] == pytest.approx(0.25)


def test_accepted_accuracy_counts_rejections_as_errors():
    assert metrics.accepted_accuracy(["a", "b", "c"], ["a", "b", "x"], [0.9, 0.4, 0.9], 0.5) == (
        pytest.approx(1 / 3)
    )


def test_auroc_perfect_and_chance():
    assert metrics.oos_auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert metrics.oos_auroc([0.5, 0.5], [0.5, 0.5]) == 0.5


def test_ece_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    assert metrics.expected_calibration_error([True, False] * 50, [0.5] * 100) == pytest.approx(0)
    assert metrics.expected_calibration_error([False] * 10, [0.99] * 10) == pytest.approx(0.99)


def test_percentile_ms():
    assert metrics.percentile_ms([0.001, 0.002, 0.003], 50) == pytest.approx(2.0)
