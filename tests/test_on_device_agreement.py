"""On-device analysis gives what the server's own analysis gives: every shared ZJU clip through both paths.

The server side of the agreement: the Python model's landmarks, blendshapes and matrix go through the
measurement message a browser sends (quantised, read back, validated) and the same tracker. The browser side,
with the real in-browser model, is tests/test_browser_on_device.py.
"""

import pytest

pytestmark = pytest.mark.shared_data


def test_it_counts_the_same_blinks_within_one_on_every_clip(zju_blinks):
    device = zju_blinks["on_device"]
    assert len(device) == zju_blinks["clips"] == 40
    assert all(abs(server - on_device) <= 1 for server, on_device in (item["blinks"] for item in device)), device


def test_it_reads_the_same_state_pose_and_eyes(zju_blinks):
    for item in zju_blinks["on_device"]:
        assert item["same_state"] >= 0.95, item
        assert item["pose_diff_deg"] <= 2.0 and item["ear_diff"] <= 0.01, item
