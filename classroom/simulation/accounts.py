"""The simulated students' accounts, memberships, consent and tokens, in the database the settings point at.

The server checks the tokens against its own database, so the load generator must run with the server's
DATABASE_URL. Simulated accounts have no usable password, so nobody can log in as one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from rest_framework.authtoken.models import Token

from classroom.models import Classroom
from classroom.services import classroom_join, membership_consent

SIMULATED_FIRST_NAME = "Simulated"


class NotASimulatedAccount(Exception):
    pass


@dataclass
class SimulatedAccounts:
    student_tokens: list[tuple[str, str]]  # (username, token key)
    teacher_token: str
    # Tokens this run made: deleted at the end, so the run leaves no credential behind.
    made_tokens: list[Token] = field(default_factory=list)

    def delete_made_tokens(self) -> None:
        for token in self.made_tokens:
            token.delete()


def _token(user, made: list[Token]) -> str:
    token, created = Token.objects.get_or_create(user=user)
    if created:
        made.append(token)
    return token.key


@transaction.atomic
def simulated_accounts(*, classroom: Classroom, students: int, prefix: str) -> SimulatedAccounts:
    """Students prefix01..prefixNN, members of `classroom` who have consented, and tokens for them and its teacher.

    Idempotent: a later run reuses the same accounts. A username taken by a real account (one with a password,
    or not made here) raises NotASimulatedAccount and nothing is made, so nobody's consent is ever given for them.
    """
    User = get_user_model()
    width = max(2, len(str(students)))
    accounts = SimulatedAccounts(student_tokens=[], teacher_token="")
    for number in range(1, students + 1):
        username = f"{prefix}{number:0{width}d}"
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": SIMULATED_FIRST_NAME, "last_name": f"student {number}"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        elif user.has_usable_password() or user.first_name != SIMULATED_FIRST_NAME:
            raise NotASimulatedAccount(
                f"{username} is a real account, not one simulate_class made; choose another --prefix."
            )
        try:
            membership = classroom_join(student=user, code=classroom.join_code)
        except PermissionDenied as error:
            raise NotASimulatedAccount(f"{username}: {error}") from error
        membership_consent(membership=membership)
        accounts.student_tokens.append((username, _token(user, accounts.made_tokens)))
    accounts.teacher_token = _token(classroom.teacher, accounts.made_tokens)
    return accounts


def analyse_on_devices(*, classroom: Classroom) -> None:
    """Makes `classroom` a class whose students' devices run the face model, with no frames as a fallback (issue 13's
    class setting, `Classroom.on_device`): the server refuses measurements in a class that analyses frames. For
    make bench and the tests, which measure that mode; a teacher chooses it on the class's settings page."""
    from classroom.services import classroom_set_analysis

    classroom_set_analysis(classroom=classroom, on_device=True, frame_fallback=False)
