"""The audit chain detects every kind of tampering (property test on the pure chain logic)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hwtrial.audit_chain import (
    GENESIS,
    ChainRow,
    Head,
    canonical_json,
    entry_hash,
    head_mac,
    verify_chain,
)

KEY = b"audit-key-outside-the-database"


def build_chain(actions: list[str], key: bytes = KEY, start_prev: str = GENESIS, start_seq: int = 1):
    rows, prev = [], start_prev
    for offset, action in enumerate(actions):
        seq = start_seq + offset
        payload = canonical_json({"seq": seq, "actor": "user:1", "action": action, "target": "study:x",
                                  "study_key": "x", "before": None, "after": {"n": offset}, "reason": None})
        digest = entry_hash(prev, payload)
        rows.append(ChainRow(seq, payload, prev, digest,
                             {"actor": "user:1", "action": action, "target": "study:x", "study_key": "x"}))
        prev = digest
    head = Head(len(rows) + start_seq - 1, prev, head_mac(key, len(rows) + start_seq - 1, prev))
    return rows, head


actions = st.lists(st.sampled_from(["study.create", "participant.enrol", "token.issue", "study.amend"]),
                   min_size=2, max_size=12)


def test_intact_chain_verifies():
    rows, head = build_chain(["a", "b", "c"])
    report = verify_chain(rows, head, KEY)
    assert report.ok and report.entries == 3 and report.first_bad_seq is None


def test_empty_chain_with_genesis_head_verifies():
    assert verify_chain([], Head(0, GENESIS, ""), KEY).ok


@settings(max_examples=300, deadline=None)
@given(actions=actions, data=st.data())
def test_edit_is_detected(actions, data):
    rows, head = build_chain(actions)
    i = data.draw(st.integers(0, len(rows) - 1))
    field = data.draw(st.sampled_from(["payload", "column"]))
    row = rows[i]
    if field == "payload":
        body = json.loads(row.payload)
        body["after"] = {"n": "forged"}
        rows[i] = ChainRow(row.seq, canonical_json(body), row.prev_hash, row.entry_hash, row.columns)
    else:
        rows[i] = ChainRow(row.seq, row.payload, row.prev_hash, row.entry_hash,
                           {**row.columns, "actor": "user:999"})
    report = verify_chain(rows, head, KEY)
    assert not report.ok and report.first_bad_seq == row.seq


@settings(max_examples=300, deadline=None)
@given(actions=actions, data=st.data())
def test_delete_is_detected(actions, data):
    rows, head = build_chain(actions)
    i = data.draw(st.integers(0, len(rows) - 1))
    del rows[i]
    report = verify_chain(rows, head, KEY)
    assert not report.ok
    assert report.first_bad_seq == min(i + 2, len(actions))  # the row after the gap, or the head


@settings(max_examples=300, deadline=None)
@given(actions=actions, data=st.data())
def test_insert_is_detected(actions, data):
    rows, head = build_chain(actions)
    i = data.draw(st.integers(0, len(rows)))
    forged, _ = build_chain(["forged"], start_prev=rows[i - 1].entry_hash if i else GENESIS, start_seq=i + 1)
    rows.insert(i, forged[0])
    report = verify_chain(rows, head, KEY)
    assert not report.ok and report.first_bad_seq is not None


@settings(max_examples=300, deadline=None)
@given(actions=actions, data=st.data())
def test_reorder_is_detected(actions, data):
    rows, head = build_chain(actions)
    i = data.draw(st.integers(0, len(rows) - 2))
    rows[i], rows[i + 1] = rows[i + 1], rows[i]
    report = verify_chain(rows, head, KEY)
    assert not report.ok and report.first_bad_seq == rows[i].seq


@settings(max_examples=300, deadline=None)
@given(actions=actions, data=st.data())
def test_truncate_is_detected(actions, data):
    rows, head = build_chain(actions)
    keep = data.draw(st.integers(0, len(rows) - 1))
    report = verify_chain(rows[:keep], head, KEY)
    assert not report.ok and report.first_bad_seq == keep + 1


@settings(max_examples=300, deadline=None)
@given(actions=actions, rewrite=st.lists(st.sampled_from(["x", "y"]), min_size=0, max_size=5), data=st.data())
def test_truncate_and_rewrite_is_detected(actions, rewrite, data):
    """An attacker without the HMAC key rebuilds a consistent chain and head: the MAC fails."""
    rows, _ = build_chain(actions)
    keep = data.draw(st.integers(0, len(rows) - 1))
    prefix = rows[:keep]
    forged_rows, forged_head = build_chain(
        rewrite, key=b"attacker-guess", start_prev=prefix[-1].entry_hash if prefix else GENESIS,
        start_seq=keep + 1)
    if not prefix and not forged_rows:
        forged_head = Head(0, GENESIS, "forged")
    report = verify_chain(prefix + forged_rows, forged_head, KEY)
    assert not report.ok
    assert "MAC" in report.problem


def test_missing_head_is_detected():
    rows, _ = build_chain(["a"])
    assert not verify_chain(rows, None, KEY).ok
