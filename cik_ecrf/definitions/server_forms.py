"""Forms the central server fills: every field `entry: "server"` (the randomization form).

Their values come only from a server event (`randomized`), so nobody saves such a form by hand: the
laptop's save path refuses to, the client shows no save buttons for it, and the server refuses a
laptop that starts one. Decided from the definitions, not from a form's name.
"""

from __future__ import annotations

from .spec import FormSpec


def server_set(form: FormSpec) -> bool:
    """True when the central server sets every field of `form`."""
    return bool(form.fields) and all(spec.definition.entry == "server" for spec in form.fields.values())
