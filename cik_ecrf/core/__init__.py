"""The shared vocabulary of laptop, server and printouts: roles and what they may do, form statuses,
the root of user-facing errors, and the canonical content a signature covers. Imports nothing of
the rest of the package, so every layer can use it."""
