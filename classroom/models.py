"""Classes, their members, join codes and the per-class and per-student accommodations.

Sessions and metric samples belong to sessions_app, which refers to Classroom by its string name.
Who is a teacher is not a field here: teachers are the users in the auth Group "teachers"
(classroom/roles.py), so an administrator grants the role in the admin without a migration.
"""

from __future__ import annotations

import secrets
import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

# No 0/O, 1/I: a code read aloud or copied from a projector should not be mistyped.
JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# 32**10 is about 10**15 codes: guessing a live class's code by trying them is hopeless, and
# two generated codes colliding is rare enough that classroom_create simply retries.
JOIN_CODE_LENGTH = 10
JOIN_CODE_MAX_LENGTH = 16


def generate_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_join_code(code: str) -> str:
    """Codes are stored upper-case, so people may type them in any case and with stray spaces."""
    return code.strip().upper()


def default_time_zone() -> str:
    return settings.TIME_ZONE


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA names the system (or the tzdata package) knows, e.g. Europe/Berlin."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(name: str) -> None:
    if name not in time_zone_names():
        raise ValidationError(f"{name!r} is not a time zone name such as Europe/Berlin or America/New_York.")


class Classroom(models.Model):
    name = models.CharField(max_length=120)
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="taught_classes")
    join_code = models.CharField(
        max_length=JOIN_CODE_MAX_LENGTH,
        unique=True,
        default=generate_join_code,
        help_text="What students type to join. Letters and digits only; stored upper-case.",
    )
    # Off by default: inferring emotions in education is prohibited in the EU (AI Act art. 5(1)(f)), so a
    # teacher turns expressions on deliberately, on the settings page that says what that means.
    expressions = models.BooleanField(
        default=False,
        help_text=(
            "Off: expression-free mode, no happy or confused is ever inferred for this class. "
            "Inferring emotions in education is prohibited in the EU (AI Act art. 5(1)(f))."
        ),
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Times on this class's pages are shown in this zone (an IANA name such as Europe/Berlin).",
    )
    self_signup = models.BooleanField(
        default=False,
        help_text="On: someone without an account may create one with the join code, and is then a member.",
    )
    on_device = models.BooleanField(
        default=False,
        help_text=(
            "On: each student's browser runs the face model itself and sends only its measurements; no camera "
            "picture leaves the student's device. Off: the page sends camera frames and the server analyses them."
        ),
    )
    frame_fallback = models.BooleanField(
        default=True,
        help_text=(
            "With analysis on the device: a student whose device cannot run the face model (too old or too slow) "
            "sends frames to the server instead. Off: that student is told, and is not monitored."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # The code goes into channel-layer group names (classroom/groups.py), which allow only
            # [a-zA-Z0-9-_.]; holding it to upper-case letters and digits here keeps every group name valid.
            models.CheckConstraint(
                condition=models.Q(join_code__regex=r"^[A-Z0-9]{6,16}$"),
                name="classroom_join_code_upper_alnum",
                violation_error_message="A join code is 6 to 16 letters and digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.join_code})"

    def clean(self) -> None:
        # Before the constraint is validated, so "democlass" typed in the admin is accepted as DEMOCLASS.
        self.join_code = normalize_join_code(self.join_code)

    def save(self, *args, **kwargs) -> None:
        # Also here, for code that saves without full_clean (services, the shell, fixtures).
        self.join_code = normalize_join_code(self.join_code)
        super().save(*args, **kwargs)


class Membership(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="memberships")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    attention_rules = models.BooleanField(
        default=True,
        help_text=(
            "Off: gaze and head-pose rules are not applied to this student, an accommodation for "
            "head-tracking users or nystagmus. Presence and drowsiness still are."
        ),
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the student agreed to be monitored in this class; empty until then or after withdrawing. "
        "No frame is analysed without it.",
    )

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["classroom", "student"], name="membership_one_per_student_and_class"),
        ]

    def __str__(self) -> str:
        return f"{self.student} in {self.classroom}"
