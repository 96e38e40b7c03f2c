"""The rate limit on POST /api/auth/token/, per client address, logged in or not."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class TokenRequestThrottle(SimpleRateThrottle):
    """settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"] requests per address; then 429.

    Every request counts, not only failed ones: the endpoint hands out long-lived keys. django-axes also locks
    a username and address pair out after repeated wrong passwords here, as on the login page.
    """

    scope = "auth_token"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
