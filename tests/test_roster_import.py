"""A teacher adds students from a CSV file: all rows or none, problems by line number, invite links shown once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from classroom.models import Membership
from classroom.roster import RosterFileError, read_roster, roster_import

pytestmark = pytest.mark.django_db

GOOD = """username,display name,email
ada.l,Ada Lovelace,ada@example.org
alan.t,Alan Turing,
"""


def usernames_in(classroom) -> set[str]:
    return set(Membership.objects.filter(classroom=classroom).values_list("student__username", flat=True))


def upload(client, classroom, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        f"/teach/{classroom.join_code}/students/", {"file": SimpleUploadedFile("class.csv", data, "text/csv")}
    )


def test_it_creates_accounts_for_new_students_and_adds_them_with_invite_links(classroom):
    result = roster_import(classroom=classroom, data=GOOD.encode())
    assert result.ok
    ada = get_user_model().objects.get(username="ada.l")
    assert (ada.get_full_name(), ada.email, ada.has_usable_password()) == ("Ada Lovelace", "ada@example.org", False)
    assert usernames_in(classroom) == {"student", "ada.l", "alan.t"}
    assert [(added.user.username, added.created) for added in result.added] == [("ada.l", True), ("alan.t", True)]
    assert all(added.invite_url and added.invite_url.startswith("/invite/") for added in result.added)


def test_it_only_adds_an_existing_account_and_changes_nothing_about_it(classroom, make_user, other_student):
    existing = make_user("Ada.L", first_name="Ada", password="her-own-passphrase")
    result = roster_import(classroom=classroom, data=GOOD.encode())
    assert result.ok
    existing.refresh_from_db()
    assert existing.check_password("her-own-passphrase") and existing.first_name == "Ada"
    assert get_user_model().objects.filter(username__iexact="ada.l").count() == 1  # no second "ada.l"
    ada = next(added for added in result.added if added.user == existing)
    assert (ada.created, ada.invite_url) == (False, None)
    assert "Ada.L" in usernames_in(classroom)


def test_it_reports_each_bad_row_by_line_number_and_adds_nobody(classroom, teacher):
    text = (
        "username,display name,email\n"
        "ada.l,Ada Lovelace,ada@example.org\n"
        ",No Username,\n"
        "bad name!,Bad Name,\n"
        "grace.h,,grace@example.org\n"
        "linus.t,Linus Torvalds,not-an-email\n"
        "teacher,The Teacher,\n"
    )
    result = roster_import(classroom=classroom, data=text.encode())
    assert not result.ok
    assert [problem.line for problem in result.problems] == [3, 4, 5, 6, 7]
    assert "username is empty" in str(result.problems[0])
    assert str(result.problems[1]).startswith("Line 4: username 'bad name!'")
    assert "no display name" in str(result.problems[2])
    assert "not an email address" in str(result.problems[3])
    assert "this class's teacher" in str(result.problems[4])
    assert not get_user_model().objects.filter(username="ada.l").exists()  # the good row was not added either
    assert usernames_in(classroom) == {"student"}


def test_it_reports_a_duplicate_username_with_both_lines(classroom):
    text = "ada.l,Ada Lovelace\nalan.t,Alan Turing\nADA.L,Ada Again\n"
    result = roster_import(classroom=classroom, data=text.encode())
    assert [str(problem) for problem in result.problems] == ["Line 3: username 'ADA.L' is also on line 1."]
    assert usernames_in(classroom) == {"student"}


def test_it_reads_semicolons_a_byte_order_mark_and_blank_lines(classroom):
    text = "\ufeffusername;display name;email\r\n\r\nada.l;Ada Lovelace;\r\n"
    rows = read_roster(text.encode("utf-8"))
    assert [(row.line, row.username, row.display_name) for row in rows] == [(3, "ada.l", "Ada Lovelace")]


@pytest.mark.parametrize("header", ["username,display name,email", "Student,Name,Email", "Login;Full name"])
def test_it_takes_a_first_row_naming_the_columns_for_no_student(header):
    rows = read_roster(f"{header}\nada.l,Ada Lovelace\n".replace(";", ",").encode())
    assert [row.username for row in rows] == ["ada.l"]


def test_it_reads_a_first_student_whose_name_looks_like_a_word():
    assert [row.username for row in read_roster(b"student,Sam Student\n")] == ["student"]


def test_it_says_the_file_is_wrong_instead_of_failing_on_a_huge_cell_or_binary_data():
    with pytest.raises(RosterFileError, match="cannot be read as CSV"):
        read_roster(b'ada.l,"' + b"x" * 140_000 + b'"\n')
    with pytest.raises(RosterFileError, match="binary data"):
        read_roster(b"ada.l,Ada\x00Lovelace\n")


def test_it_reports_every_problem_of_a_row(classroom):
    result = roster_import(classroom=classroom, data=b"bad user!,X,notanemail\n")
    assert [problem.line for problem in result.problems] == [1, 1]
    assert "notanemail" in str(result.problems[1])


def test_it_refuses_a_file_that_is_not_utf8_text(classroom):
    with pytest.raises(RosterFileError, match="CSV UTF-8"):
        read_roster("ada.l,Adà Lovelace\n".encode("latin-1"))


def test_it_keeps_an_existing_member_and_says_so(classroom, student):
    result = roster_import(classroom=classroom, data=b"student,Sam Student\n")
    assert result.ok and result.added[0].already_member


# The page


def test_it_shows_the_class_sheet_with_the_invite_links_once(client, teacher, classroom):
    client.force_login(teacher)
    response = upload(client, classroom, GOOD)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    links = re.findall(r'class="invite-url" href="(http://testserver/invite/[^"]+)"', page)
    assert len(links) == 2
    assert "Ada Lovelace" in page and "<svg" in page  # a QR code per invite
    # Nothing stores the links: the students page shown again has none.
    assert "/invite/" not in client.get(f"/teach/{classroom.join_code}/students/").content.decode()


def test_it_lists_the_problems_on_the_page_and_adds_nobody(client, teacher, classroom):
    client.force_login(teacher)
    response = upload(client, classroom, "ada.l,Ada Lovelace\nada.l,Ada Twice\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was added" in page and "Line 2: username &#x27;ada.l&#x27; is also on line 1." in page
    assert usernames_in(classroom) == {"student"}


def test_it_refuses_the_roster_to_anyone_but_the_teacher(client, student, other_teacher, classroom):
    for user in (student, other_teacher):
        client.force_login(user)
        assert upload(client, classroom, GOOD).status_code == 403
    assert usernames_in(classroom) == {"student"}


def test_it_lets_an_invited_student_choose_a_password_once(client, teacher, classroom):
    client.force_login(teacher)
    page = upload(client, classroom, GOOD).content.decode()
    link = re.search(r'class="invite-url" href="http://testserver(/invite/[^"]+)"', page).group(1)
    client.logout()

    form_page = client.get(link, follow=True)
    assert "Choose your password" in form_page.content.decode() and "ada.l" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]  # Django moves the token out of the address bar first
    done = client.post(set_url, {"new_password1": "a-long-fresh-passphrase", "new_password2": "a-long-fresh-passphrase"})
    assert done.status_code == 302 and done.url == "/"
    ada = get_user_model().objects.get(username="ada.l")
    assert ada.check_password("a-long-fresh-passphrase")
    assert client.get("/").context["user"] == ada  # logged in

    client.logout()
    again = client.get(link, follow=True).content.decode()
    assert "does not work any more" in again


def test_it_prints_a_new_link_for_a_student_who_never_used_theirs_and_the_lost_one_stops_working(client, classroom):
    lost = roster_import(classroom=classroom, data=GOOD.encode()).added[0].invite_url
    again = roster_import(classroom=classroom, data=GOOD.encode())
    assert all(added.invite_url for added in again.added) and not any(added.created for added in again.added)

    assert "does not work any more" in client.get(lost, follow=True).content.decode()
    assert "Choose your password" in client.get(again.added[0].invite_url, follow=True).content.decode()


def test_it_refuses_rows_naming_a_superuser_staff_or_a_teacher_and_adds_nobody(classroom, make_user, other_teacher):
    # Accounts an administrator made and nobody has used yet: no password, never logged in, in no class.
    make_user("root", is_superuser=True, is_staff=True)
    make_user("helpdesk", is_staff=True)
    text = "ada.l,Ada Lovelace\nroot,Root\nHelpdesk,Help Desk\nother_teacher,Other Teacher\n"
    result = roster_import(classroom=classroom, data=text.encode())
    assert [str(problem) for problem in result.problems] == [
        f"Line {line}: {name!r} is a teacher's or an administrator's account, not a student's."
        for line, name in ((2, "root"), (3, "Helpdesk"), (4, "other_teacher"))
    ]
    assert result.added == []  # nothing printed, nobody added: no invite link that sets an administrator's password
    assert usernames_in(classroom) == {"student"}
    assert not get_user_model().objects.filter(username="ada.l").exists()


def test_it_shows_a_refused_administrator_row_on_the_page(client, teacher, classroom, make_user):
    make_user("root", is_superuser=True, is_staff=True)
    client.force_login(teacher)
    response = upload(client, classroom, "root,Root\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 1: &#x27;root&#x27; is a teacher&#x27;s or an administrator&#x27;s account" in page
    assert "/invite/" not in page


def test_it_sets_no_password_through_an_invite_link_for_an_administrator(client, make_user, fast_password_hashing):
    from classroom.roster import invite_path

    root = make_user("root", is_superuser=True, is_staff=True)
    page = client.get(invite_path(root), follow=True)  # a link printed before the roster refused such accounts
    assert "does not work any more" in page.content.decode()
    set_url = page.redirect_chain[-1][0] if page.redirect_chain else invite_path(root)
    client.post(set_url, {"new_password1": "a-long-fresh-passphrase", "new_password2": "a-long-fresh-passphrase"})
    root.refresh_from_db()
    assert not root.has_usable_password()


def test_it_finds_an_existing_account_whose_username_python_and_the_database_fold_differently(classroom, make_user):
    # Python folds "ß" to "ss"; the database's lower() keeps it. The import must still find "straße", not create
    # it a second time (an IntegrityError: a server error for the teacher).
    greta = make_user("straße", first_name="Greta", password="her-own-passphrase")
    result = roster_import(classroom=classroom, data="straße,Greta Straße\n".encode())
    assert result.ok
    assert [(added.user, added.created, added.invite_url) for added in result.added] == [(greta, False, None)]
    assert get_user_model().objects.filter(username__iexact="straße").count() == 1
    assert "straße" in usernames_in(classroom)


def test_it_reads_no_more_of_an_upload_than_it_may_take(client, teacher, classroom, monkeypatch):
    from classroom import roster, roster_views

    lengths_read = []
    real_import = roster_views.roster_import

    def recording_import(*, classroom, data):
        lengths_read.append(len(data))
        return real_import(classroom=classroom, data=data)

    monkeypatch.setattr(roster_views, "roster_import", recording_import)
    client.force_login(teacher)
    response = upload(client, classroom, b"ada.l,Ada\n" * roster.MAX_FILE_BYTES)  # ten times the limit
    assert response.status_code == 400 and "larger than 256 KB" in response.content.decode()
    assert lengths_read == [roster.MAX_FILE_BYTES + 1]


def test_it_shows_when_each_student_joined_in_the_class_time_zone(client, teacher, student, classroom):
    from datetime import UTC, datetime

    from classroom.services import classroom_set_time_zone

    classroom_set_time_zone(classroom=classroom, time_zone="Pacific/Auckland")
    # 20:00 UTC on 2 March is 09:00 on 3 March in Auckland.
    joined = datetime(2026, 3, 2, 20, tzinfo=UTC)
    Membership.objects.filter(classroom=classroom, student=student).update(joined_at=joined)
    client.force_login(teacher)
    page = client.get(f"/teach/{classroom.join_code}/students/").content.decode()
    assert '2026-03-03T09:00:00+13:00">3 Mar 2026</time>' in page
