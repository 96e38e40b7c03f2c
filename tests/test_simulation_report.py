"""The simulated class's percentiles (latency p50, p95, p99 in the capacity runs): nearest rank."""

import pytest

from classroom.simulation.report import percentile


@pytest.mark.parametrize(("values", "fraction", "expected"), [
    ([1, 2, 3, 4, 5, 6], 0.5, 3),  # rank 3 exactly: not the 4th, where round(3.5) to even would go
    (list(range(1, 11)), 0.9, 9),
    (list(range(1, 11)), 0.95, 10),
    (list(range(1, 101)), 0.07, 7),  # 0.07 * 100 is a hair above 7 in floating point
    ([5, 1, 3], 0.0, 1),
    ([5, 1, 3], 1.0, 5),
    ([42], 0.5, 42),
])
def test_it_takes_the_nearest_rank(values, fraction, expected):
    assert percentile(values, fraction) == expected


def test_it_has_no_percentile_of_nothing():
    assert percentile([], 0.5) is None
