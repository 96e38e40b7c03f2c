"""Rostering: a teacher adds a whole class from a CSV file, and new students get one-time invite links.

The file has a row per student: username, display name, and an optional email; a first row of column names
is allowed. Every row is checked before anything is saved, and the import is one transaction, so a file
with a bad row changes nothing: the teacher gets every problem with its line number and fixes the file.

New accounts get no password. Each gets an invite link instead (InviteTokenGenerator), shown once on a sheet
the teacher prints; the student opens it, chooses a password and is in. The link works once (setting the
password changes what it was signed with) and for INVITE_VALID_DAYS. Existing accounts are only added to
the class: nothing about them changes, except that an account whose invite was lost (never used) gets a new link
that replaces the old one. Only students' accounts: a row naming a teacher, staff or a superuser
is a bad row, and none of them ever gets an invite link.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from .models import Classroom, Membership
from .roles import is_teacher
from .services import student_display_name

# A school class is 20-40 students; a year group fits too. More is a mistake (the wrong file) or abuse.
MAX_ROWS = 500
MAX_FILE_BYTES = 256 * 1024
INVITE_VALID_DAYS = 14
# A first row that names its columns (spreadsheets say it many ways) is not a student: its first cell is a name
# for the username column, or another cell names the display name or email column, which no student's row holds.
USERNAME_COLUMN_NAMES = {"username", "user name", "user", "login", "account"}
OTHER_COLUMN_NAMES = {"display name", "name", "full name", "email", "e-mail", "email address"}
DISPLAY_NAME_MAX_LENGTH = get_user_model()._meta.get_field("first_name").max_length


class RosterFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8 text, too big, empty)."""


@dataclass(frozen=True)
class RosterRow:
    line: int
    username: str
    display_name: str
    email: str


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class AddedStudent:
    """One row's outcome. `invite_url` (an account made now, or one never activated) is shown only this once."""

    user: AbstractBaseUser
    display_name: str
    created: bool
    already_member: bool
    invite_url: str | None = None


@dataclass
class RosterResult:
    problems: list[RowProblem] = field(default_factory=list)
    added: list[AddedStudent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token, with its own salt and lifetime.

    It is signed over the account's password and last login, so it stops working once the student has set a
    password and logged in: a one-time link, with nothing stored on the server.
    """

    key_salt = "smartsession.classroom.roster.InviteTokenGenerator"
    valid_seconds = INVITE_VALID_DAYS * 24 * 3600

    def check_token(self, user, token) -> bool:
        if not (user and token):
            return False
        try:
            timestamp = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - timestamp > self.valid_seconds:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invite_tokens = InviteTokenGenerator()


def invite_path(user: AbstractBaseUser) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invite", kwargs={"uidb64": uid, "token": invite_tokens.make_token(user)})


def read_roster(data: bytes) -> list[RosterRow]:
    """The rows of an uploaded CSV (comma, semicolon or tab separated; a header row is skipped)."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError(f"The file is larger than {MAX_FILE_BYTES // 1024} KB; is it the right file?")
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start UTF-8 files with a byte-order mark
    except UnicodeDecodeError:
        raise RosterFileError("The file is not UTF-8 text. In your spreadsheet, save it as \"CSV UTF-8\".") from None
    if not text.strip():
        raise RosterFileError("The file is empty.")
    if "\x00" in text:
        raise RosterFileError("The file holds binary data, not text. In your spreadsheet, save it as \"CSV UTF-8\".")
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        for cells in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue  # blank lines are harmless
            if not rows and line == 1 and _names_columns(cells):
                continue
            cells += [""] * (3 - len(cells))
            rows.append(RosterRow(line=line, username=cells[0], display_name=cells[1], email=cells[2]))
    except csv.Error as error:  # a cell too long for the csv module, say: the file, not a row, is wrong
        raise RosterFileError(f"Line {reader.line_num} cannot be read as CSV ({error}); is it the right file?") from None
    return rows


def _names_columns(cells: list[str]) -> bool:
    return (cells[0].lower() in USERNAME_COLUMN_NAMES
            or any(cell.lower() in OTHER_COLUMN_NAMES for cell in cells[1:3]))


def _delimiter(text: str) -> str:
    """Comma, or what a spreadsheet in a decimal-comma locale writes (semicolon), or tab: the most common in line one.

    csv.Sniffer guesses wrong on short files with spaces in the names, so the first line decides.
    """
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    return max(",;\t", key=first_line.count)


def _check_rows(rows: list[RosterRow], classroom: Classroom) -> tuple[list[RowProblem], dict[int, AbstractBaseUser]]:
    """Every row's problems, and the existing account each good row names (by line)."""
    User = get_user_model()
    username_field = User._meta.get_field(User.USERNAME_FIELD)
    problems = []
    if not rows:
        return [RowProblem(1, "no students in the file: a row is username, display name, email (optional).")], {}
    if len(rows) > MAX_ROWS:
        return [RowProblem(rows[MAX_ROWS].line, f"more than {MAX_ROWS} students; split the file.")], {}
    seen: dict[str, int] = {}
    named: list[RosterRow] = []
    for row in rows:
        # Every problem of a row at once, so the teacher fixes the file in one go.
        if not row.username:
            problems.append(RowProblem(row.line, "the username is empty."))
        else:
            try:
                username_field.run_validators(row.username)
            except ValidationError as error:
                problems.append(RowProblem(row.line, f"username {row.username!r}: {' '.join(error.messages)}"))
            else:
                key = row.username.casefold()
                if key in seen:
                    problems.append(RowProblem(row.line, f"username {row.username!r} is also on line {seen[key]}."))
                else:
                    seen[key] = row.line
                    named.append(row)
        if not row.display_name:
            problems.append(RowProblem(row.line, f"no display name for {row.username!r}." if row.username
                                                 else "no display name."))
        elif len(row.display_name) > DISPLAY_NAME_MAX_LENGTH:
            problems.append(RowProblem(row.line, f"the display name is longer than {DISPLAY_NAME_MAX_LENGTH} characters."))
        if row.email:
            try:
                validate_email(row.email)
            except ValidationError:
                problems.append(RowProblem(row.line, f"{row.email!r} is not an email address."))
    existing: dict[int, AbstractBaseUser] = {}
    for row in named:
        accounts = _accounts_named(row.username)
        user = _the_account(row.username, accounts)
        if user is None and accounts:
            problems.append(RowProblem(row.line, f"{row.username!r} matches more than one account; "
                                                 "write the username exactly as it is."))
        elif user is None:
            continue
        elif user.pk == classroom.teacher_id:
            problems.append(RowProblem(row.line, f"{row.username!r} is this class's teacher."))
        elif not is_plain_student(user):
            # A roster adds students. It never touches an account with more rights than its uploader's, nor
            # prints a link that would set such an account's password.
            problems.append(RowProblem(row.line, f"{row.username!r} is a teacher's or an administrator's account, "
                                                 "not a student's."))
        else:
            existing[row.line] = user
    problems.sort(key=lambda problem: problem.line)
    return problems, existing


def _accounts_named(username: str) -> list[AbstractBaseUser]:
    """The accounts whose username is `username`, capital letters or not: "Ana" in a file never makes a second "ana".

    The database compares both sides (iexact), so the exact username is always found, whatever its letters
    ("straße"): folding here in Python would disagree with the database's own lower() and miss it.
    """
    User = get_user_model()
    return list(User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}))


def _the_account(username: str, accounts: list[AbstractBaseUser]) -> AbstractBaseUser | None:
    """The one account a row means: the exact username if there is one, else the only one that differs in case."""
    exact = [user for user in accounts if user.get_username() == username]
    if exact:
        return exact[0]
    return accounts[0] if len(accounts) == 1 else None


def is_plain_student(user: AbstractBaseUser) -> bool:
    """Not staff, not a superuser, not a teacher: an account a teacher's roster may add to a class and invite."""
    return not (user.is_staff or user.is_superuser or is_teacher(user))


def _not_activated_and_only_yours(user: AbstractBaseUser, classroom: Classroom) -> bool:
    """A student's account that never set a password or logged in, in no class of another teacher's.

    Such an account is one a teacher's import made and whose invite was lost: importing it again prints a
    new link. An account someone already uses, that another teacher manages, or that was switched off never
    gets one from here.
    """
    if not (user.is_active and is_plain_student(user)):
        return False
    if user.has_usable_password() or user.last_login is not None:
        return False
    return not user.memberships.exclude(classroom__teacher_id=classroom.teacher_id).exists()


def roster_import(*, classroom: Classroom, data: bytes) -> RosterResult:
    """Adds the students in the CSV `data` to `classroom`, all or none. RosterFileError for an unreadable file."""
    rows = read_roster(data)
    User = get_user_model()
    with transaction.atomic():
        problems, existing = _check_rows(rows, classroom)
        result = RosterResult(problems=problems)
        if not result.ok:
            return result
        for row in rows:
            user = existing.get(row.line)
            created = user is None
            if created:
                user = User(**{User.USERNAME_FIELD: row.username}, first_name=row.display_name, email=row.email)
                user.set_unusable_password()
                user.save()
            invite = created or _not_activated_and_only_yours(user, classroom)
            if invite and not created:
                # A new link replaces the lost one: a new unusable password changes what links are signed over,
                # so whoever finds the lost sheet cannot take the account with it.
                user.set_unusable_password()
                user.save(update_fields=["password"])
            _, joined = Membership.objects.get_or_create(classroom=classroom, student=user)
            result.added.append(
                AddedStudent(
                    user=user,
                    display_name=row.display_name if created else student_display_name(user),
                    created=created,
                    already_member=not joined,
                    invite_url=invite_path(user) if invite else None,
                )
            )
    return result
