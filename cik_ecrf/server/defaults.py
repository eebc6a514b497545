"""The server's default limits, in a module the command line can import without loading the server."""

from __future__ import annotations

MAX_BODY_MB = 32  # a push of 5,000 changes is a few MB; larger bodies get 413
LOGIN_FAILURES = 5  # failed passwords for one user name before it is locked out
ADDRESS_FAILURES = 30  # failed passwords from one source address (any user names) before it is locked out
LOCKOUT_MINUTES = 15  # the first lockout; each next one in a row lasts twice as long, up to a day
LOG_LEVELS = ("debug", "info", "warning", "error")
