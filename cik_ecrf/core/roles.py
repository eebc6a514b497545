"""Roles and what each may do: the one table laptops and server both read, so a laptop's refusal and
the server's agree (the server decides; the laptop only spares the user a round trip)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    NURSE = "nurse"
    INVESTIGATOR = "investigator"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    ADMIN = "admin"
    PHARMACIST = "pharmacist"  # randomization: unblinded, works on the server only (product codes per arm)
    STATISTICIAN = "statistician"  # randomization: unblinded on the server (reads and verifies the list)


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
#: who enters and corrects clinical data (monitors read and query, never edit)
ENTRY_ROLES = frozenset({Role.NURSE.value, Role.INVESTIGATOR.value, Role.DATA_MANAGER.value})
#: who signs forms, visits and casebooks (21 CFR 11: the investigator attests)
SIGNER_ROLES = frozenset({Role.INVESTIGATOR.value})
#: who manages users on a laptop
ADMIN_ROLES = frozenset({Role.ADMIN.value})
#: who resolves a sync conflict: the same people who may change the value
RESOLVER_ROLES = ENTRY_ROLES
#: randomization: who may read the allocation list (arms); server roles, never a laptop's
UNBLINDED_ROLES = frozenset({Role.PHARMACIST.value, Role.STATISTICIAN.value})
#: randomization: who randomizes a subject and who may break the blind in an emergency
RANDOMIZER_ROLES = frozenset({Role.INVESTIGATOR.value})
#: randomization: who marks a randomization as made in error and allows a subject to be randomized again
RANDOMIZATION_CORRECTOR_ROLES = frozenset({Role.DATA_MANAGER.value})
