"""The class's join link and its QR code: the code decodes back to the link, and the link leads to joining."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.django_db


def decode_png(data: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "not a PNG image"
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None, "no QR code found in the image"
    return text


def test_it_draws_a_qr_code_that_decodes_to_the_join_link_on_the_page(client, teacher, classroom):
    client.force_login(teacher)
    page = client.get(f"/teach/{classroom.join_code}/students/").content.decode()
    join_url = f"http://testserver/join/{classroom.join_code}/"
    assert f'href="{join_url}"' in page
    assert f'src="/teach/{classroom.join_code}/join-qr.png"' in page
    response = client.get(f"/teach/{classroom.join_code}/join-qr.png")
    assert response["Content-Type"] == "image/png"
    assert decode_png(response.content) == join_url


def test_it_links_the_qr_code_from_the_dashboard(client, teacher, classroom):
    client.force_login(teacher)
    page = client.get(f"/teach/{classroom.join_code}/").content.decode()
    assert f'href="/teach/{classroom.join_code}/students/#join"' in page


def test_it_gives_the_qr_code_to_the_classes_teacher_only(client, student, other_teacher, classroom):
    for user in (student, other_teacher):
        client.force_login(user)
        assert client.get(f"/teach/{classroom.join_code}/join-qr.png").status_code == 403


def test_it_takes_a_logged_in_student_from_the_link_to_the_join_form_with_the_code(client, other_student, classroom):
    client.force_login(other_student)
    response = client.get(f"/join/{classroom.join_code}/", follow=True)
    assert response.redirect_chain[-1][0] == f"/join/?code={classroom.join_code}"
    assert f'value="{classroom.join_code}"' in response.content.decode()


def test_it_offers_log_in_or_sign_up_to_a_visitor_and_says_nothing_about_the_class(client, classroom):
    page = client.get(f"/join/{classroom.join_code}/").content.decode()
    assert f'href="/accounts/login/?next=/join/%3Fcode%3D{classroom.join_code}"' in page
    assert f'href="/signup/?code={classroom.join_code}"' in page
    assert classroom.name not in page
    assert client.get("/join/NOSUCHCODE/").status_code == 200  # the same page: no oracle for codes


def test_it_keeps_a_code_with_url_characters_one_value_in_the_join_links(client, other_student):
    # What a mistyped or crafted link might carry: it must never add a parameter of its own.
    visitor = client.get("/join/AB%26next%3Devil/").content.decode()
    assert 'href="/accounts/login/?next=/join/%3Fcode%3DAB%2526next%253Devil"' in visitor
    client.force_login(other_student)
    assert client.get("/join/AB%26next%3Devil/").url == "/join/?code=AB%26next%3Devil"
