"""Alert rules for teachers, on exact times: held states, the face lost, a silent camera, once a minute."""

from classroom.alerts import AlertPolicy


def kinds(alerts):
    return [alert.kind for alert in alerts]


def test_it_alerts_when_a_state_is_held_for_more_than_ten_seconds():
    policy = AlertPolicy()
    assert kinds(policy.on_status(0.0, "distracted", True)) == []
    assert kinds(policy.on_status(9.5, "distracted", True)) == []
    alerts = policy.on_status(10.5, "distracted", True)
    assert kinds(alerts) == ["distracted"]
    assert alerts[0].reason == "distracted for 10 s"


def test_it_does_not_alert_on_short_episodes_that_add_up():
    policy = AlertPolicy()
    for start in (0, 8, 16):
        policy.on_status(start, "drowsy", True)
        assert kinds(policy.on_status(start + 6, "focused", True)) == []


def test_it_repeats_an_alert_at_most_once_a_minute():
    policy = AlertPolicy()
    sent = [alert for t in range(0, 130) for alert in policy.on_status(float(t), "absent", False)]
    assert [alert.t for alert in sent if alert.kind == "absent"] == [11.0, 71.0]


def test_it_alerts_when_the_face_is_lost():
    policy = AlertPolicy()
    policy.on_status(0.0, "focused", True)
    assert kinds(policy.on_status(0.1, "focused", False)) == ["face_lost"]
    assert kinds(policy.on_status(0.2, "focused", True)) == []
    assert kinds(policy.on_status(0.3, "focused", False)) == []  # within the minute


def test_it_alerts_when_the_camera_goes_silent():
    policy = AlertPolicy()
    assert kinds(policy.on_silence(100.0, 3.0)) == []
    alerts = policy.on_silence(102.0, 5.0)
    assert kinds(alerts) == ["camera_stopped"]
    assert "5 s" in alerts[0].reason


def test_it_times_a_state_afresh_after_a_pause_or_a_reconnect():
    policy = AlertPolicy()
    policy.on_status(0.0, "distracted", True)
    policy.on_status(9.0, "distracted", True)
    policy.restart()  # paused (or reconnected) for ten minutes, still looking away when back
    assert kinds(policy.on_status(609.0, "distracted", False)) == [], "neither 609 s distracted nor a face lost"
    alerts = policy.on_status(619.5, "distracted", True)
    assert kinds(alerts) == ["distracted"] and alerts[0].reason == "distracted for 10 s"


def test_a_restart_keeps_the_once_a_minute_limit():
    policy = AlertPolicy()
    policy.on_status(0.0, "absent", False)
    assert kinds(policy.on_status(11.0, "absent", False)) == ["absent"]
    policy.restart()
    policy.on_status(12.0, "absent", False)
    assert kinds(policy.on_status(23.0, "absent", False)) == [], "a reconnect does not repeat it within the minute"
