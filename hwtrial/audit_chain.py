"""Pure hash-chain logic of the audit trail: canonical JSON, hashing, HMAC, verification.

No database here, so the tampering property test can run thousands of cases quickly on
plain row lists, and an export can be verified offline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def head_mac(key: bytes, seq: int, head_hash: str) -> str:
    return hmac.new(key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    """What verification needs of a stored entry."""

    seq: int
    payload: str
    prev_hash: str
    entry_hash: str
    #: Queryable columns that must agree with the payload.
    columns: dict[str, Any]


@dataclass(frozen=True)
class Head:
    seq: int
    entry_hash: str
    mac: str


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify_chain`.

    ``first_bad_seq`` is the sequence number of the first row that fails (or the head's
    seq when only the head is wrong); ``None`` when the chain is intact.
    """

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(rows: Sequence[ChainRow], head: Head | None, key: bytes) -> VerifyReport:
    """Check every link in order, then the authenticated head."""
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        problem = _row_problem(row, expected_seq, prev)
        if problem:
            return VerifyReport(False, len(rows), row.seq, problem)
        prev = row.entry_hash
    last_seq = len(rows)
    if head is None:
        return VerifyReport(False, len(rows), last_seq + 1 if rows else 1, "chain head is missing")
    if head.seq != last_seq or head.entry_hash != prev:
        bad = min(head.seq, last_seq) + 1
        return VerifyReport(False, len(rows), bad,
                            f"head says seq {head.seq}, chain ends at seq {last_seq}")
    if last_seq == 0 and head.mac == "":
        return VerifyReport(True, 0)
    if not hmac.compare_digest(head.mac, head_mac(key, head.seq, head.entry_hash)):
        return VerifyReport(False, len(rows), head.seq, "head MAC does not verify (wrong key or forged head)")
    return VerifyReport(True, len(rows))


def _row_problem(row: ChainRow, expected_seq: int, prev: str) -> str:
    if row.seq != expected_seq:
        return f"expected seq {expected_seq}, found {row.seq} (row missing, inserted or reordered)"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous entry"
    if entry_hash(row.prev_hash, row.payload) != row.entry_hash:
        return "entry hash does not match its payload (row edited)"
    try:
        data = json.loads(row.payload)
    except ValueError:
        return "payload is not JSON"
    if data.get("seq") != row.seq:
        return "payload seq differs from the row"
    for name, value in row.columns.items():
        if data.get(name) != value:
            return f"column {name} differs from the hashed payload"
    return ""
