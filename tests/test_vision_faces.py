"""Face presence on real photos and clips: faces found where people are, none where none are."""

import pytest

from vision.evaluate import TESTDATA_LABELS
from vision.media import analyze_file

pytestmark = pytest.mark.shared_data


def _labelled(with_faces: bool) -> list[str]:
    """Images of the shared data by their stated face count (vision/testdata_labels.csv, from SOURCE.txt)."""
    lines = [line for line in TESTDATA_LABELS.read_text().splitlines() if line and not line.startswith("#")][1:]
    rows = [line.split(",") for line in lines]
    return [image for image, faces, _ in rows if (int(faces) > 0) == with_faces]


NON_FACE_IMAGES = _labelled(with_faces=False)
FACE_IMAGES = [name for name in _labelled(with_faces=True) if name != "pyfeat/multi_face.jpg"]


@pytest.mark.parametrize("name", NON_FACE_IMAGES)
def test_it_reports_no_face_on_images_without_people(name, analyze_image):
    assert analyze_image(name).faces == 0


@pytest.mark.parametrize("name", FACE_IMAGES)
def test_it_finds_the_face_in_portraits(name, analyze_image):
    analysis = analyze_image(name)
    assert analysis.faces >= 1
    assert 0.15 < analysis.face.ear < 0.5


def test_it_finds_every_london_face(shared_testdata, analyze_image):
    images = sorted((shared_testdata / "london_faces").glob("*_front/*.jpg"))
    assert len(images) == 30
    missed = [path.name for path in images if analyze_image(path).faces == 0]
    assert missed == []


def test_it_counts_a_second_person_in_view(analyze_image):
    assert analyze_image("pyfeat/multi_face.jpg").faces >= 2


def test_it_says_absent_on_a_clip_without_people(shared_testdata, analyzer):
    result = analyze_file(shared_testdata / "pyfeat" / "no_face.mp4", analyzer)
    assert result["summary"]["face_frames"] == 0
    assert {frame["state"] for frame in result["frames"]} == {"absent"}
    assert result["frames"][-1]["engagement"] == 0


@pytest.mark.parametrize("name, faces", [("pyfeat/multi_face.jpg", 2), ("aflw2000/image00050.jpg", 1),
                                         (NON_FACE_IMAGES[0], 0)])
def test_it_reads_exactly_what_mediapipes_own_detect_returns(name, faces, shared_testdata, analyzer):
    # FaceAnalyzer.detect reads MediaPipe's C result as arrays instead of one Python object per landmark.
    import numpy as np
    from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

    from vision.media import read_frames

    _, _, rgb = next(read_frames(shared_testdata / name))
    ours = analyzer.detect(rgb)
    theirs = analyzer._landmarker.detect(Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))

    assert len(ours.landmarks) == len(theirs.face_landmarks) == faces
    for landmarks, face in zip(ours.landmarks, theirs.face_landmarks):
        assert landmarks.shape == (478, 3)
        assert np.array_equal(landmarks, [[point.x, point.y, point.z] for point in face])
    assert ours.blendshapes == [{category.category_name: category.score for category in face}
                                for face in theirs.face_blendshapes]
    assert all(np.array_equal(a, b) for a, b in zip(ours.transformations, theirs.facial_transformation_matrixes))
    assert len(ours.transformations) == len(theirs.facial_transformation_matrixes)
