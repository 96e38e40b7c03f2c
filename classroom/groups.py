"""Channel-layer group names and WebSocket close codes, defined once for consumers and tests."""

# WebSocket close codes; 4000-4999 are the application's own (RFC 6455 7.4.2), and these mirror
# HTTP's 401/403/404 so a client can tell "log in" from "not yours" from "no such class".
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# A newer socket of the same student in the same class took over (another tab, a reconnect); not retried.
CLOSE_REPLACED = 4409
# Try again shortly, with the page's backoff: the server cannot reach its database, or this server process is
# stopping (a deploy, a restart). RFC 6455's own 1012 "Service Restart" would say the latter, but Daphne's
# WebSocket library sends only 1000 and 3000-4999.
CLOSE_UNAVAILABLE = 4503
# Sent by a page, not the server: it sent and heard nothing back for a while, so it drops the socket and reconnects
# (a connection can die without a close). Mirrors HTTP's 408 Request Timeout.
CLOSE_SILENT = 4408

# Group names must match ^[a-zA-Z0-9\-_.]+$ and stay under 100 characters; join codes are upper-case
# letters and digits, at most 16.


def teachers_group(code: str) -> str:
    """Every teacher socket watching the class: student updates, joins, leaves and alerts go here."""
    return f"class.{code}.teachers"


def students_group(code: str) -> str:
    """Every student socket streaming in the class, on any server process: asked for a snapshot."""
    return f"class.{code}.students"


def student_group(code: str, student_id: int) -> str:
    """Every socket of one student in the class, on any server process: a newer one tells older ones to go."""
    return f"class.{code}.student.{student_id}"
