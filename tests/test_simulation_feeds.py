"""What simulate_class's feeds send for a picture: the page's JPEG, on-device measurements, the naive base64 JSON."""

import base64
import json

import pytest

from classroom.simulation.behaviours import EMPTY_ROOM, FrameRef
from classroom.simulation.feeds import Base64JsonFeed, JpegFeed, MeasurementFeed
from vision.measurements import MESSAGE_BYTES_WITH_FACE, MESSAGE_BYTES_WITHOUT_FACE, read_measurement

FACE = FrameRef(280)  # looking at the camera, lips together (behaviours.STILL_AND_ATTENTIVE)


@pytest.fixture(scope="module")
def measurements() -> MeasurementFeed:
    return MeasurementFeed({FACE, EMPTY_ROOM}, width=640)


def test_it_sends_each_measurement_stamped_with_the_time_it_is_sent(measurements):
    first = measurements.message(FACE, capture_ms=1000.0)
    later = measurements.message(FACE, capture_ms=1100.5)

    assert len(first) == len(later) == MESSAGE_BYTES_WITH_FACE
    (first_ms, analysis), (later_ms, _) = read_measurement(first), read_measurement(later)
    assert (first_ms, later_ms) == (1000.0, 1100.5), "the server's stream clock follows these"
    assert first[12:] == later[12:], "only the capture time differs: the face was measured once"
    assert (analysis.width, analysis.height, analysis.faces) == (640, 360, 1)
    assert 0.2 < analysis.face.ear < 0.4, "open eyes, as the picture shows"


def test_it_measures_an_empty_room_as_no_face(measurements):
    message = measurements.message(EMPTY_ROOM, capture_ms=5.0)
    assert len(message) == MESSAGE_BYTES_WITHOUT_FACE
    assert read_measurement(message)[1].faces == 0


def test_it_sends_the_same_jpeg_as_base64_json_for_the_naive_server():
    jpegs = JpegFeed({FACE}, width=640, quality=0.7)
    text = Base64JsonFeed(jpegs).message(FACE, capture_ms=0.0)

    message = json.loads(text)
    assert message["type"] == "frame"
    assert base64.b64decode(message["image"]) == jpegs.message(FACE, capture_ms=0.0)
    assert len(text) > 4 / 3 * len(jpegs.jpegs[FACE]), "base64 costs a third more bytes up"
