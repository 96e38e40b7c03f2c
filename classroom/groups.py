"""Channel-layer group names and WebSocket close codes, defined once for consumers and tests."""

# Close codes in the 4000-4999 range are the application's own (RFC 6455 7.4.2); these mirror HTTP.
from .services import CLOSE_FORBIDDEN, CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_FOUND  # noqa: F401

# Group names must match ^[a-zA-Z0-9\-_.]+$ and stay under 100 characters; join codes are upper-case
# letters and digits, at most 16.


def teachers_group(code: str) -> str:
    """Every teacher socket watching the class: student updates, joins, leaves and alerts go here."""
    return f"class.{code}.teachers"


def students_group(code: str) -> str:
    """Every student socket streaming in the class, on any server process: asked for a snapshot."""
    return f"class.{code}.students"
