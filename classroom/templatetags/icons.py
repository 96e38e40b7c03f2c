"""Lucide icons (npm lucide-static), inlined once per page as an SVG sprite and used by reference.

lucide-static holds thousands of files; inlining only the few we name keeps them out of the static files
and lets icons take the text colour (stroke="currentColor"). Without node_modules (no Node.js on the
machine) the sprite is empty: every icon sits beside a text label, so pages still say everything.
"""

from __future__ import annotations

import logging
import re
from functools import cache

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
logger = logging.getLogger(__name__)

# The icons pages may use: classroom/states.py names the state icons, the templates the rest.
ICONS = (
    "eye", "smile", "circle-question-mark", "eye-off", "moon", "user-x", "circle-pause", "hourglass", "wifi-off",
    "triangle-alert", "camera", "camera-off", "download", "play", "pause", "log-out", "history",
    "users", "settings", "chart-line", "activity", "x", "chevron-left", "chevron-right", "arrow-left", "table",
    "wifi", "refresh-cw", "ban", "lightbulb", "qr-code", "square", "file-text", "upload", "printer", "user-plus",
    "link", "globe", "info", "trash-2", "shield-check", "cpu",
)
_SVG_BODY = re.compile(r"<svg\b[^>]*>(?P<body>.*)</svg>", re.DOTALL)


@cache
def sprite_markup() -> str:
    symbols = []
    missing = []
    for name in ICONS:
        path = settings.LUCIDE_ICONS_DIR / f"{name}.svg"
        try:
            body = _SVG_BODY.search(path.read_text(encoding="utf-8"))
        except OSError:
            missing.append(name)
            continue
        if body is None:
            missing.append(name)
            continue
        symbols.append(f'<symbol id="icon-{name}" viewBox="0 0 24 24">{body["body"].strip()}</symbol>')
    if missing:
        logger.warning("Icons missing from %s (run `make setup` with Node.js 18+): %s",
                       settings.LUCIDE_ICONS_DIR, ", ".join(missing))
    return (
        # Stroke and fill come from the .icon CSS rule: a <use> copy inherits from where it is used.
        '<svg xmlns="http://www.w3.org/2000/svg" class="icon-sprite" aria-hidden="true">'
        + "".join(symbols) + "</svg>"
    )


@register.simple_tag
def icon_sprite() -> SafeString:
    return mark_safe(sprite_markup())  # noqa: S308 - built from the icon files of a pinned npm package


@register.simple_tag
def icon(name: str) -> SafeString:
    if name not in ICONS:
        raise template.TemplateSyntaxError(f"Unknown icon {name!r}; add it to ICONS in {__name__}.")
    return format_html('<svg class="icon" aria-hidden="true" focusable="false"><use href="#icon-{}"></use></svg>', name)
