"""QR codes of the links a class hands out (joining, invites), drawn by segno in pure Python: no network, no files."""

from __future__ import annotations

import io

import segno
from django.utils.safestring import SafeString, mark_safe

# Level M recovers from about 15% damage: a code on a projector or a crumpled sheet still reads.
ERROR_LEVEL = "m"


def qr_png(text: str, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    segno.make(text, error=ERROR_LEVEL).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = 3, title: str = "") -> SafeString:
    """Inline SVG markup for a page (a printed sheet of invite links)."""
    markup = segno.make(text, error=ERROR_LEVEL).svg_inline(scale=scale, border=2, title=title or None)
    return mark_safe(markup)  # noqa: S308 - segno draws it from our own link; a title it escapes itself
