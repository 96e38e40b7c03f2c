"""make bench's search for the most students that pass: steps up or down from a guess, then bisection."""

from bench.capacity import largest_passing


def search(limit: int, *, start: int, ceiling: int = 300, resolution: float = 0.0):
    """A server that keeps up with at most `limit` students; returns the search's answer and who it tried."""
    tried = []

    def measure(students: int) -> dict:
        tried.append(students)
        return {"students": students}

    best, first_failing, runs = largest_passing(measure, lambda run: run["students"] <= limit, start=start,
                                                ceiling=ceiling, resolution=resolution)
    return best, first_failing, tried, runs


def test_it_steps_up_from_a_low_guess_then_bisects_to_the_exact_limit():
    best, first_failing, tried, _ = search(23, start=10)
    assert (best, first_failing) == (23, 24)
    assert tried[:3] == [10, 15, 22], "x1.5 steps while runs pass"
    assert len(tried) == len(set(tried)), "no number of students is measured twice"


def test_it_steps_down_from_a_high_guess():
    best, first_failing, tried, _ = search(23, start=100)
    assert (best, first_failing) == (23, 24)
    assert tried[:4] == [100, 67, 45, 30]


def test_it_stops_within_the_resolution_to_save_runs():
    best, first_failing, tried, _ = search(100, start=50, resolution=0.05)
    assert best <= 100 < first_failing and first_failing - best <= 5
    assert len(tried) < len(search(100, start=50)[2])


def test_it_stops_at_the_ceiling_when_every_run_passes():
    best, first_failing, tried, _ = search(10_000, start=50, ceiling=400)
    assert (best, first_failing) == (400, None)
    assert tried[-1] == 400


def test_it_answers_zero_when_even_one_student_fails():
    best, first_failing, tried, _ = search(0, start=8)
    assert (best, first_failing) == (0, 1)
    assert tried[-1] == 1


def test_it_keeps_every_run_in_the_order_made_with_its_verdict():
    _, _, tried, runs = search(23, start=10)
    assert [run["tried"] for run in runs] == tried
    assert [run["passed"] for run in runs] == [students <= 23 for students in tried]
