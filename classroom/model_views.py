"""The face model for students' browsers (on-device analysis): the very file the server verified.

Not a static file: the model is found and checked by vision.model (never committed to the repository), so the
browser runs the same model, byte for byte, as the server would. Its SHA-256 is the ETag, so a browser that has it
asks again cheaply (304) and a changed model is a new tag.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import condition, require_safe

from vision.model import MODEL_SHA256, load_model_bytes

# Cached for a day by the student's own browser only (it is served to logged-in students); after that, asked
# again with If-None-Match.
CACHE_CONTROL = "private, max-age=86400"


@cache
def _model_bytes() -> bytes:
    """Read and verified once per process (about 3.7 MB); load_model_bytes raises if the file is not the one."""
    return load_model_bytes()


@login_required
@require_safe
@condition(etag_func=lambda request: MODEL_SHA256)
def face_model(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_model_bytes(), content_type="application/octet-stream")
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Disposition"] = 'attachment; filename="face_landmarker.task"'
    return response
