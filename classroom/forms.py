from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import JOIN_CODE_MAX_LENGTH, validate_time_zone


class JoinForm(forms.Form):
    code = forms.CharField(
        label="Class code",
        max_length=JOIN_CODE_MAX_LENGTH,
        help_text="The code your teacher gave you, for example DEMOCLASS. Capital letters or not, either works.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "aria-describedby": "code-help",
            }
        ),
    )


class ClassroomCreateForm(forms.Form):
    name = forms.CharField(label="Class name", max_length=120)


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        validators=[validate_time_zone],
        help_text="Where the class meets, as a name such as Europe/Berlin or America/New_York.",
        widget=forms.TextInput(attrs={"list": "time-zone-names", "autocomplete": "off", "spellcheck": "false"}),
    )


class ExpressionsOnForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have read the above. Reading expressions is lawful for this class, and its students know.",
    )


class SwitchForm(forms.Form):
    """One on/off setting, posted by a button (the class settings page)."""

    enabled = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1")


class AnalysisForm(forms.Form):
    """Where the class's faces are analysed (Classroom.on_device, frame_fallback): the class settings page."""

    SERVER, DEVICE = "server", "device"

    analysis = forms.ChoiceField(
        choices=[(SERVER, "On the server"), (DEVICE, "On the student's device")], widget=forms.RadioSelect
    )
    frame_fallback = forms.BooleanField(
        required=False,
        label="When a student's device cannot run the face model, send camera pictures to the server instead",
    )


class AccommodationForm(SwitchForm):
    student = forms.IntegerField(min_value=1)


class LessonEndForm(forms.Form):
    lesson = forms.IntegerField(min_value=1)


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file of students",
        help_text="A row per student: username, display name, and an email address if you have one. "
        "A first row of column names is fine. Save it from your spreadsheet as \"CSV UTF-8\".",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "aria-describedby": "id_file_helptext"}),
    )


class SignUpForm(UserCreationForm):
    """A new student account, made with a class's join code (when the class allows it)."""

    code = forms.CharField(
        label="Class code",
        max_length=JOIN_CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    display_name = forms.CharField(
        label="Your name", max_length=150, help_text="As your teacher should see it, for example Ada Lovelace."
    )

    field_order = ["code", "display_name", "username", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ("username",)
