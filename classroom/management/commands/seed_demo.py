import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from classroom.services import DEMO_CLASS_CODE, seed_demo

DEFAULT_PASSWORD = "smartsession"
PASSWORD_VARIABLE = "SMARTSESSION_DEMO_PASSWORD"


class Command(BaseCommand):
    help = (
        f"Create (or bring back) the demo teacher, students and class {DEMO_CLASS_CODE} for trying SmartSession "
        "locally. Idempotent: running it again changes nothing but the passwords."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=3, help="How many students, student1..N (default 3).")
        parser.add_argument(
            "--password",
            help=f"Password for every demo account (default: ${PASSWORD_VARIABLE}, else {DEFAULT_PASSWORD!r}).",
        )

    def handle(self, *args, students: int, password: str | None, **options) -> None:
        if students < 0:
            raise CommandError(f"--students must be 0 or more, not {students}.")
        password = password or os.getenv(PASSWORD_VARIABLE) or None
        if password is None:
            if not settings.DEBUG:
                # A published password on a real server is an open door; demo accounts there need a chosen one.
                raise CommandError(
                    f"DEBUG is off: refusing to give demo accounts the published password {DEFAULT_PASSWORD!r}. "
                    f"Set {PASSWORD_VARIABLE} or pass --password."
                )
            password = DEFAULT_PASSWORD
            self.stderr.write(
                self.style.WARNING(
                    f"Demo accounts use the published password {DEFAULT_PASSWORD!r}: for local use only. "
                    f"Set {PASSWORD_VARIABLE} or pass --password to choose another."
                )
            )
        accounts = seed_demo(students=students, password=password)
        shown = repr(password) if password == DEFAULT_PASSWORD else "the one you chose"
        student_names = ", ".join(student.get_username() for student in accounts.students) or "none"
        self.stdout.write(
            f"Demo class {accounts.classroom.name!r}, join code {accounts.classroom.join_code}, "
            f"taught by {accounts.classroom.teacher.get_username()!r}; students: {student_names}; password: {shown}."
        )
