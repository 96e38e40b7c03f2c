"""Limits on guessing class codes at /join/ and /signup/: wrong codes per student and per client address.

The counts live in the cache (settings.CACHES: Redis, shared by every Daphne process, when REDIS_URL is set)
in fixed windows of SMARTSESSION_JOIN_GUESS_WINDOW_S. A POST answered with its form again is a wrong guess (an
unknown code, or one the student may not join) unless the view marks the answer with code_not_tried (the
sign-up form refused for its password never looked the code up); a successful join costs nothing, so a class
joining together from one school address is never slowed down.
"""

from __future__ import annotations

import math
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .forms import JoinForm

TOO_MANY = "Too many wrong class codes. Wait {minutes} minutes and try again, or check the code with your teacher."


def _window() -> tuple[int, float]:
    """The current window's number, and the seconds until it ends."""
    length = settings.SMARTSESSION_JOIN_GUESS_WINDOW_S
    now = time.time()
    return int(now // length), length - now % length


def _counters(request: HttpRequest, window: int) -> dict[str, int]:
    """Cache key -> the limit for that key, for this request's student (when logged in) and address."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    counters = {f"join-guesses:address:{address}:{window}": settings.SMARTSESSION_JOIN_GUESSES_PER_ADDRESS}
    if request.user.is_authenticated:
        counters[f"join-guesses:user:{request.user.pk}:{window}"] = settings.SMARTSESSION_JOIN_GUESSES_PER_USER
    return counters


CODE_NOT_TRIED = "smartsession_code_not_tried"


def code_not_tried(response: HttpResponse) -> HttpResponse:
    """`response`, marked as an answer that never looked the class code up: limit_code_guesses does not count it."""
    setattr(response, CODE_NOT_TRIED, True)
    return response


def limit_code_guesses(template: str, form_class):
    """A view decorator: past either limit a POST is refused with 429, whatever code it carries, on the view's own
    page (`template` with its `form_class` form) saying how long to wait."""

    def decorate(view):
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            window, seconds_left = _window()
            counters = _counters(request, window)
            counts = cache.get_many(list(counters))
            if any(counts.get(key, 0) >= limit for key, limit in counters.items()):
                return _refusal(request, seconds_left, template, form_class)
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not getattr(response, CODE_NOT_TRIED, False):
                for key in counters:
                    # Twice the window, so a count never expires while its window is still current.
                    cache.add(key, 0, timeout=2 * settings.SMARTSESSION_JOIN_GUESS_WINDOW_S)
                    cache.incr(key)
            return response

        return limited

    return decorate


def _refusal(request: HttpRequest, seconds_left: float, template: str, form_class) -> HttpResponse:
    form = form_class(request.POST)
    form.is_valid()
    form.add_error("code", TOO_MANY.format(minutes=max(1, math.ceil(seconds_left / 60))))
    response = render(request, template, {"form": form}, status=429)
    response["Retry-After"] = str(math.ceil(seconds_left))
    return response


limit_join_guesses = limit_code_guesses("classroom/join.html", JoinForm)
