from __future__ import annotations

from django import forms

from .models import JOIN_CODE_MAX_LENGTH


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
    expression_free = forms.BooleanField(
        label="Expression-free mode",
        required=False,
        help_text="Never infer expressions (happy, confused) in this class. Required where the law forbids "
        "emotion recognition in education, as the EU AI Act does.",
    )


class SwitchForm(forms.Form):
    """One on/off setting, posted by a button (the class settings page)."""

    enabled = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1")


class AccommodationForm(SwitchForm):
    student = forms.IntegerField(min_value=1)
