"""Head pose against AFLW2000's fitted angles, with its sign convention."""

import pytest

pytestmark = pytest.mark.shared_data


def test_it_estimates_head_pose_within_7_degrees_per_axis(head_pose_report):
    assert head_pose_report["faces_found"] >= 9
    for axis, error in head_pose_report["mae_deg"].items():
        assert error <= 7.0, (axis, head_pose_report["mae_deg"])


@pytest.mark.parametrize(
    ("image", "axis", "sign"),
    [
        ("aflw2000/image02616.jpg", "yaw", 1),  # turned toward the image's left, 38 degrees
        ("aflw2000/image00251.jpg", "yaw", -1),  # turned toward the image's right, 55 degrees
        ("aflw2000/image00430.jpg", "pitch", 1),  # looking up, 34 degrees
        ("aflw2000/image01322.jpg", "pitch", -1),  # looking down, 14 degrees
    ],
)
def test_it_uses_the_aflw_sign_convention(image, axis, sign, analyze_image):
    assert sign * getattr(analyze_image(image).face, axis) > 8.0
