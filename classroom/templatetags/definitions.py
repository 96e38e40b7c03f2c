"""{% page_definitions %}: the states and close codes (classroom/states.py) as JSON for the pages' scripts."""

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from classroom.states import page_definitions as definitions

register = template.Library()

ELEMENT_ID = "smartsession-definitions"


@register.simple_tag
def page_definitions() -> SafeString:
    return json_script(definitions(), ELEMENT_ID)
