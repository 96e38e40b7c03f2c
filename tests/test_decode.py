import base64
import struct
import zlib

import cv2
import numpy as np
import pytest

from vision import decode
from vision.decode import (
    CorruptImage,
    EmptyFrame,
    FrameError,
    FrameTooLarge,
    NotAnImage,
    NotBase64,
    TooManyPixels,
    decode_frame,
    image_size,
)


def gradient_bgr(height=48, width=64):
    """A smooth picture (compresses like a photo) with distinct colours per corner."""
    rows = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    return np.dstack([np.broadcast_to(rows, (height, width)),
                      np.broadcast_to(cols, (height, width)),
                      np.full((height, width), 128, np.uint8)])


def encode(image, ext, params=()):
    ok, buffer = cv2.imencode(ext, image, list(params))
    assert ok
    return buffer.tobytes()


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width, height):
    """A complete-looking PNG whose header claims width x height over one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    """SOI, a baseline frame header claiming width x height, EOI."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def jpeg_with_tables_before_frame_header(jpeg):
    """Move the DHT segments (marker C4, inside the SOF range) in front of SOF0, as some encoders write them."""
    position, segments = 2, []
    while jpeg[position + 1] != 0xDA:  # up to the start of scan
        length = struct.unpack(">H", jpeg[position + 2 : position + 4])[0]
        segments.append(jpeg[position : position + 2 + length])
        position += 2 + length
    tables = [segment for segment in segments if segment[1] == 0xC4]
    others = [segment for segment in segments if segment[1] != 0xC4]
    assert tables and others[-1][1] == 0xC0
    return b"\xff\xd8" + b"".join(others[:-1] + tables + others[-1:]) + jpeg[position:]


@pytest.fixture
def jpeg_bytes():
    return encode(gradient_bgr(), ".jpg")


@pytest.fixture
def png_bytes():
    return encode(gradient_bgr(), ".png")


@pytest.fixture
def webp_bytes():
    return encode(gradient_bgr(), ".webp", [cv2.IMWRITE_WEBP_QUALITY, 90])


@pytest.fixture
def decoder_must_not_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("cv2.imdecode was called")
    monkeypatch.setattr(decode.cv2, "imdecode", refuse)


# Errors


def test_it_gives_every_error_a_distinct_code_and_value_error_base():
    classes = [EmptyFrame, NotBase64, NotAnImage, CorruptImage, FrameTooLarge, TooManyPixels]
    assert all(issubclass(cls, FrameError) and issubclass(cls, ValueError) for cls in classes)
    assert [cls.code for cls in classes] == ["empty", "not_base64", "not_image", "corrupt", "too_large", "too_many_pixels"]


def test_it_refuses_empty_bytes():
    with pytest.raises(EmptyFrame, match="The frame is empty."):
        decode_frame(b"")


def test_it_refuses_an_empty_or_blank_string():
    with pytest.raises(EmptyFrame):
        decode_frame("  \n")


def test_it_refuses_a_data_url_without_data():
    with pytest.raises(EmptyFrame):
        decode_frame("data:image/jpeg;base64,")


def test_it_refuses_bad_base64():
    with pytest.raises(NotBase64) as excinfo:
        decode_frame("this is not base64!")
    assert excinfo.value.code == "not_base64"


def test_it_refuses_base64_with_an_impossible_length():
    with pytest.raises(NotBase64):
        decode_frame("QUJDR")  # 5 characters: no base64 encoding has length 4n+1


def test_it_refuses_a_data_url_that_is_not_base64():
    with pytest.raises(NotBase64, match="not base64-encoded"):
        decode_frame("data:image/png,%89PNG")


def test_it_refuses_a_data_url_with_a_non_image_media_type():
    with pytest.raises(NotAnImage):
        decode_frame("data:text/plain;base64," + base64.b64encode(b"hello").decode())


def test_it_refuses_a_data_url_with_an_unsupported_image_type():
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    with pytest.raises(NotAnImage):
        decode_frame("data:image/gif;base64," + base64.b64encode(gif).decode())


def test_it_refuses_base64_text_that_is_no_image():
    with pytest.raises(NotAnImage) as excinfo:
        decode_frame(base64.b64encode(b"hello, this is a chat message").decode())
    assert excinfo.value.code == "not_image"


def test_it_refuses_random_bytes():
    random_bytes = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(NotAnImage, match="not a JPEG, PNG or WebP"):
        decode_frame(random_bytes)


def test_it_refuses_a_riff_file_that_is_not_webp():
    wav = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + bytes(28)
    with pytest.raises(NotAnImage):
        decode_frame(wav)


def test_it_refuses_a_truncated_jpeg(jpeg_bytes):
    with pytest.raises(CorruptImage, match=r"cut off \(truncated JPEG\)"):
        decode_frame(jpeg_bytes[: len(jpeg_bytes) * 2 // 3])


def test_it_refuses_a_jpeg_cut_inside_its_header(jpeg_bytes):
    with pytest.raises(CorruptImage):
        decode_frame(jpeg_bytes[:40])


def test_it_refuses_a_truncated_png(png_bytes):
    with pytest.raises(CorruptImage, match=r"truncated PNG"):
        decode_frame(png_bytes[: len(png_bytes) - 20])


def test_it_refuses_a_truncated_webp(webp_bytes):
    with pytest.raises(CorruptImage, match=r"truncated WebP"):
        decode_frame(webp_bytes[: len(webp_bytes) // 2])


def test_it_refuses_a_complete_jpeg_with_garbage_image_data(jpeg_bytes):
    header_end = jpeg_bytes.index(b"\xff\xda")  # start of scan
    broken = jpeg_bytes[:header_end] + b"\x00" * 64 + b"\xff\xd9"
    with pytest.raises(CorruptImage) as excinfo:
        decode_frame(broken)
    assert excinfo.value.code == "corrupt"


def test_it_refuses_a_zero_width_header():
    with pytest.raises(CorruptImage, match="0x480"):
        image_size(png_claiming(0, 480))


def test_it_refuses_raw_bytes_over_the_byte_limit(jpeg_bytes):
    with pytest.raises(FrameTooLarge) as excinfo:
        decode_frame(jpeg_bytes, max_bytes=len(jpeg_bytes) - 1)
    assert excinfo.value.code == "too_large"


def test_it_states_size_and_default_limit_in_megabytes():
    with pytest.raises(FrameTooLarge, match=r"^The frame is 3\.1 MB; the limit is 2\.0 MB\.$"):
        decode_frame(bytes(int(3.1 * 1024 * 1024)))


def test_it_refuses_oversized_base64_before_decoding_it():
    # Not even valid base64: FrameTooLarge rather than NotBase64 shows the length is checked first.
    with pytest.raises(FrameTooLarge, match=r"about 3\.0 MB; the limit is 2\.0 MB"):
        decode_frame("!" * (4 * 1024 * 1024))


def test_it_refuses_base64_whose_decoded_bytes_are_over_the_limit(jpeg_bytes):
    text = base64.b64encode(jpeg_bytes).decode()
    with pytest.raises(FrameTooLarge):
        decode_frame(text, max_bytes=len(jpeg_bytes) - 1)


def test_it_accepts_base64_of_exactly_the_byte_limit(jpeg_bytes):
    text = base64.encodebytes(jpeg_bytes).decode()  # with line breaks every 76 characters
    assert decode_frame(text, max_bytes=len(jpeg_bytes)).shape == (48, 64, 3)


def test_it_refuses_a_png_decompression_bomb_without_decoding(decoder_must_not_run):
    bomb = png_claiming(50_000, 50_000)
    assert len(bomb) < 200
    with pytest.raises(TooManyPixels, match=r"^The image is 50000x50000 pixels; the limit is 16\.8 megapixels\.$"):
        decode_frame(bomb)


def test_it_refuses_a_jpeg_decompression_bomb_without_decoding(decoder_must_not_run):
    bomb = jpeg_claiming(30_000, 20_000)
    assert len(bomb) < 200
    with pytest.raises(TooManyPixels) as excinfo:
        decode_frame(bomb)
    assert excinfo.value.code == "too_many_pixels"


def test_it_applies_a_custom_pixel_limit(png_bytes):
    with pytest.raises(TooManyPixels):
        decode_frame(png_bytes, max_pixels=64 * 48 - 1)


def test_it_keeps_frame_data_out_of_error_messages():
    with pytest.raises(NotBase64) as excinfo:
        decode_frame("SECRETSTUDENTFACE!")
    assert "SECRET" not in str(excinfo.value)


# Happy paths


def test_it_decodes_jpeg_bytes_to_rgb(jpeg_bytes):
    image = decode_frame(jpeg_bytes)
    assert image.shape == (48, 64, 3)
    assert image.dtype == np.uint8
    assert image.flags.c_contiguous


def test_it_decodes_png_bytes_losslessly_as_rgb(png_bytes):
    image = decode_frame(png_bytes)
    assert np.array_equal(image, gradient_bgr()[:, :, ::-1])


def test_it_decodes_webp_bytes(webp_bytes):
    assert decode_frame(webp_bytes).shape == (48, 64, 3)


def test_it_decodes_lossless_webp_exactly():
    webp = encode(gradient_bgr(), ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert np.array_equal(decode_frame(webp), gradient_bgr()[:, :, ::-1])


def test_it_decodes_bytearray_and_memoryview(png_bytes):
    expected = decode_frame(png_bytes)
    assert np.array_equal(decode_frame(bytearray(png_bytes)), expected)
    assert np.array_equal(decode_frame(memoryview(png_bytes)), expected)
    encoder_buffer = cv2.imencode(".png", gradient_bgr())[1]  # shape (n, 1): a 2-D memoryview
    assert np.array_equal(decode_frame(memoryview(encoder_buffer)), expected)


def test_it_decodes_base64(png_bytes):
    image = decode_frame(base64.b64encode(png_bytes).decode())
    assert np.array_equal(image, gradient_bgr()[:, :, ::-1])


def test_it_decodes_url_safe_base64_without_padding():
    # Find a frame whose base64 uses both '-'/'_' characters and needs padding.
    for width in range(64, 128):
        png = encode(gradient_bgr(48, width), ".png")
        text = base64.urlsafe_b64encode(png).decode()
        if ("-" in text or "_" in text) and text.endswith("="):
            break
    assert decode_frame(text.rstrip("=")).shape == (48, width, 3)


def test_it_decodes_a_data_url(jpeg_bytes):
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes).decode()
    assert decode_frame(url).shape == (48, 64, 3)


@pytest.mark.parametrize("media_type", ["image/png", "image/jpg", "IMAGE/WEBP"])
def test_it_decodes_data_urls_of_each_media_type(media_type, png_bytes):
    # The media type is only a gate: the bytes are sniffed, so a mislabelled frame still decodes.
    url = f"data:{media_type};base64," + base64.b64encode(png_bytes).decode()
    assert decode_frame(url).shape == (48, 64, 3)


def test_it_turns_grayscale_into_three_equal_channels():
    gray = gradient_bgr()[:, :, 1]
    image = decode_frame(encode(gray, ".png"))
    assert image.shape == (48, 64, 3)
    assert np.array_equal(image[:, :, 0], gray) and np.array_equal(image[:, :, 2], gray)


def test_it_decodes_a_grayscale_jpeg():
    assert decode_frame(encode(gradient_bgr()[:, :, 1], ".jpg")).shape == (48, 64, 3)


def test_it_returns_red_first():
    red_bgr = np.zeros((8, 8, 3), np.uint8)
    red_bgr[:, :, 2] = 255
    image = decode_frame(encode(red_bgr, ".png"))
    assert image[0, 0].tolist() == [255, 0, 0]


def test_it_drops_alpha_from_rgba_png():
    bgra = np.zeros((8, 8, 4), np.uint8)
    bgra[:, :, 2] = 255  # red
    bgra[:, :, 3] = 128
    image = decode_frame(encode(bgra, ".png"))
    assert image.shape == (8, 8, 3)
    assert image[0, 0].tolist() == [255, 0, 0]


def test_it_drops_alpha_from_rgba_webp():
    bgra = np.zeros((8, 8, 4), np.uint8)
    bgra[:, :, 1] = 255  # green
    bgra[:, :, 3] = 200
    image = decode_frame(encode(bgra, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]))
    assert image.shape == (8, 8, 3)
    assert image[0, 0].tolist() == [0, 255, 0]


def test_it_accepts_zero_padding_after_jpeg_end_marker(jpeg_bytes):
    assert decode_frame(jpeg_bytes + bytes(16)).shape == (48, 64, 3)


# image_size


def test_it_reads_jpeg_size_from_the_header(jpeg_bytes):
    assert image_size(jpeg_bytes) == ("jpeg", 64, 48)


def test_it_reads_progressive_jpeg_size():
    progressive = encode(gradient_bgr(30, 70), ".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert b"\xff\xc2" in progressive  # SOF2
    assert image_size(progressive) == ("jpeg", 70, 30)


def test_it_skips_huffman_tables_before_the_frame_header(jpeg_bytes):
    reordered = jpeg_with_tables_before_frame_header(jpeg_bytes)
    assert image_size(reordered) == ("jpeg", 64, 48)
    assert decode_frame(reordered).shape == (48, 64, 3)


def test_it_skips_fill_bytes_before_a_marker(jpeg_bytes):
    padded = jpeg_bytes[:2] + b"\xff" * 5 + jpeg_bytes[2:]
    assert image_size(padded) == ("jpeg", 64, 48)


def test_it_gives_up_on_a_jpeg_of_endless_empty_segments():
    endless = b"\xff\xd8" + b"\xff\xfe\x00\x02" * 500_000 + b"\xff\xd9"  # 2 MB of empty comments
    with pytest.raises(CorruptImage, match="too many segments"):
        image_size(endless)


def test_it_reads_png_size(png_bytes):
    assert image_size(png_bytes) == ("png", 64, 48)


def test_it_reads_webp_vp8_size(webp_bytes):
    assert webp_bytes[12:16] == b"VP8 "
    assert image_size(webp_bytes) == ("webp", 64, 48)


def test_it_reads_webp_vp8l_size():
    lossless = encode(gradient_bgr(33, 65), ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert lossless[12:16] == b"VP8L"
    assert image_size(lossless) == ("webp", 65, 33)


def test_it_reads_webp_vp8x_size():
    bgra = np.dstack([gradient_bgr(35, 67), np.full((35, 67), 100, np.uint8)])
    extended = encode(bgra, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 80])  # lossy with alpha
    assert extended[12:16] == b"VP8X"
    assert image_size(extended) == ("webp", 67, 35)


def test_it_reads_large_sizes_without_decoding():
    assert image_size(jpeg_claiming(30_000, 20_000)) == ("jpeg", 30_000, 20_000)


def test_it_refuses_image_size_of_text():
    with pytest.raises(NotAnImage):
        image_size(b"<html>hello</html>")


# Real photos


@pytest.mark.shared_data
def test_it_decodes_a_real_grayscale_photo(shared_testdata):
    data = (shared_testdata / "skimage" / "camera.png").read_bytes()
    _, width, height = image_size(data)
    image = decode_frame(data)
    assert image.shape == (height, width, 3) == (512, 512, 3)
    assert np.array_equal(image[:, :, 0], image[:, :, 1])


@pytest.mark.shared_data
def test_it_decodes_a_real_jpeg_photo_with_exif(shared_testdata):
    data = (shared_testdata / "pyfeat" / "single_face.jpg").read_bytes()
    assert b"Exif" in data[:64]  # APP1 before the frame header: the marker walk must skip it
    image_format, width, height = image_size(data)
    assert image_format == "jpeg"
    assert decode_frame(data).shape == (height, width, 3)
