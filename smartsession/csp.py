"""The Content-Security-Policy header, from settings.CONTENT_SECURITY_POLICY, on every response.

A few lines of our own rather than django-csp: the policy is one fixed string (no nonces), and this works unchanged
on the async path Daphne serves. A view that sets its own header keeps it: allow_webassembly is the one such
policy, for the page that runs the face model in the browser.
"""

from __future__ import annotations

from asyncio import iscoroutinefunction

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

HEADER = "Content-Security-Policy"


def _with_policy(response: HttpResponse) -> HttpResponse:
    if settings.CONTENT_SECURITY_POLICY:
        response.headers.setdefault(HEADER, settings.CONTENT_SECURITY_POLICY)
    return response


def allow_webassembly(response: HttpResponse) -> HttpResponse:
    """This response's page may compile WebAssembly (settings.CONTENT_SECURITY_POLICY_WEBASSEMBLY), nothing more."""
    if settings.CONTENT_SECURITY_POLICY:
        response.headers[HEADER] = settings.CONTENT_SECURITY_POLICY_WEBASSEMBLY
    return response


@sync_and_async_middleware
def content_security_policy(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return _with_policy(await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return _with_policy(get_response(request))

    return middleware
