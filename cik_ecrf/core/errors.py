"""The root of every error meant for a user: the CLI prints it as one line and exits 1, the client
shows it in a dialog. A traceback is only ever a bug."""

from __future__ import annotations


class UserError(Exception):
    """A refusal that says what is wrong and, where it helps, where (a field, a file, a line)."""
