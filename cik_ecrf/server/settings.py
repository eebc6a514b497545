"""How a server runs: limits, lockout, logging and docs, from `cik-ecrf server` options.

uvicorn's workers are separate processes that build the app themselves, so the settings travel to
them in the environment (`to_env` in the command, `from_env` in each worker).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from .defaults import MAX_BODY_MB as DEFAULT_MAX_BODY_MB
from .limits import MB
from .ratelimit import Limits

ENV = "CIK_ECRF_SERVER_"


@dataclass(frozen=True)
class ServerSettings:
    max_body_mb: int = DEFAULT_MAX_BODY_MB
    docs: bool = False  # /docs, /redoc and /openapi.json
    login: Limits = field(default_factory=Limits)

    @property
    def max_body(self) -> int:
        return self.max_body_mb * MB

    def to_env(self) -> dict[str, str]:
        return {
            f"{ENV}MAX_BODY_MB": str(self.max_body_mb),
            f"{ENV}DOCS": "1" if self.docs else "0",
            f"{ENV}LOGIN_FAILURES": str(self.login.user_failures),
            f"{ENV}ADDRESS_FAILURES": str(self.login.address_failures),
            f"{ENV}LOCKOUT_MINUTES": str(int(self.login.lockout.total_seconds() // 60)),
        }

    @classmethod
    def from_env(cls) -> ServerSettings:
        default = cls()

        def number(name: str, fallback: int) -> int:
            return int(os.environ.get(f"{ENV}{name}", fallback))

        return cls(
            max_body_mb=number("MAX_BODY_MB", default.max_body_mb),
            docs=os.environ.get(f"{ENV}DOCS") == "1",
            login=Limits(
                user_failures=number("LOGIN_FAILURES", default.login.user_failures),
                address_failures=number("ADDRESS_FAILURES", default.login.address_failures),
                lockout=dt.timedelta(
                    minutes=number("LOCKOUT_MINUTES", int(default.login.lockout.total_seconds() // 60))
                ),
            ),
        )
