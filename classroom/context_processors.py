from django.http import HttpRequest

from .roles import is_teacher


def roles(request: HttpRequest) -> dict[str, bool]:
    """`is_teacher` for the navigation of every page (one query, only for a logged-in user)."""
    return {"is_teacher": is_teacher(request.user) if hasattr(request, "user") else False}
