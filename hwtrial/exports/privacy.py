"""Who sees what in an export: blinding, direct identifiers, withdrawal, date shifting.

Pure: decides per table and per column from the declarations' flags, and shifts dates.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from .spec import Column, Table

#: Default and largest per-participant date shift.
DEFAULT_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3650


@dataclass(frozen=True)
class Scope:
    """What one export may contain.

    Attributes
    ----------
    sees_arms : bool
        Arm keys, factor levels and arm-revealing tables/columns (else blinded codes only).
    single_arm : bool
        The study has one arm: tables that are arm-revealing only by who has rows (reminders,
        decision points) conceal nothing and are included; arm-revealing columns still are not.
    identified : bool
        Direct identifiers and free text (the identified-export permission).
    shift_key : bytes or None
        Secret of this export's date shifting (never stored); None: true dates.
    max_shift_days : int
        Each participant's dates move back by 1..max_shift_days whole days.
    """

    sees_arms: bool = False
    single_arm: bool = False
    identified: bool = False
    shift_key: bytes | None = None
    max_shift_days: int = DEFAULT_SHIFT_DAYS

    def includes(self, table: Table) -> bool:
        return self.sees_arms or self.single_arm or not table.arm_revealing

    def shows(self, column: Column) -> bool:
        if column.arm_revealing and not self.sees_arms:
            return False
        return self.identified or not column.hidden_unless_identified

    def visible(self, columns: list[Column]) -> list[Column]:
        return [c for c in columns if self.shows(c)]

    def shift(self, participant_id: int) -> timedelta:
        """The participant's shift: the same for every date of theirs, so intervals stay."""
        digest = hmac.new(self.shift_key, str(participant_id).encode(), hashlib.sha256).digest()
        return timedelta(days=-(1 + int.from_bytes(digest[:8], "big") % self.max_shift_days))

    @property
    def filters(self) -> dict:
        """The scope as audited and written to the manifest (never the shift secret)."""
        return {"blinded": not self.sees_arms, "identified": self.identified,
                "date_shift_days": self.max_shift_days if self.shift_key else None,
                "excluded": "participants who withdrew consent to data use"}
