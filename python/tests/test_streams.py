"""Per-(src, topic) stream bookkeeping without a broker (tradebus/streams.py): the gap tracker
and the late-join merge, with the cases of the C++ runtime's tests (tests/unit/runtime_test.cpp
"gap tracker", tests/unit/runtime_late_join_test.cpp) and the rules of PROTOCOL.md "Sequence
numbers and gap detection" and `snapshot_ok`."""

from __future__ import annotations

import pytest

from tradebus import codec, schema
from tradebus.streams import GapTracker, LateJoin, Observation, Outcome

# ---------------------------------------------------------------------------- gap tracker


def test_first_event_sets_the_baseline_then_in_order() -> None:
    g = GapTracker()
    # Events published before we subscribed are not gaps: the first seen may be any seq.
    assert g.observe("md", "md.tick.AAPL", 41, 7) == Observation(Outcome.FIRST)
    assert g.observe("md", "md.tick.AAPL", 42, 7) == Observation(Outcome.IN_ORDER)
    assert g.observe("md", "md.tick.AAPL", 43, 7).what is Outcome.IN_ORDER
    assert g.gaps == 0 and g.untracked == 0


def test_streams_are_per_source_and_topic() -> None:
    g = GapTracker()
    assert g.observe("md", "md.tick.AAPL", 1, 7).what is Outcome.FIRST
    assert g.observe("md", "md.tick.AAPL", 2, 7).what is Outcome.IN_ORDER
    # Another topic of the same source, and the same topic from another source: own baselines.
    assert g.observe("md", "md.bar.AAPL", 1, 7).what is Outcome.FIRST
    assert g.observe("md2", "md.tick.AAPL", 9, 3).what is Outcome.FIRST
    assert g.observe("md2", "md.tick.AAPL", 10, 3).what is Outcome.IN_ORDER
    assert g.observe("md", "md.tick.AAPL", 3, 7).what is Outcome.IN_ORDER
    assert g.gaps == 0


def test_a_gap_counts_exactly_the_missing_events() -> None:
    g = GapTracker()
    g.observe("md", "md.tick.AAPL", 1, 7)
    g.observe("md", "md.tick.AAPL", 2, 7)
    gap = g.observe("md", "md.tick.AAPL", 6, 7)
    assert gap == Observation(Outcome.GAP, missing=3, expected=3)
    assert g.gaps == 3
    assert g.observe("md", "md.tick.AAPL", 7, 7).what is Outcome.IN_ORDER  # new baseline: 6
    assert g.observe("md", "md.tick.AAPL", 9, 7) == Observation(Outcome.GAP, 1, 8)
    assert g.gaps == 4


def test_another_inc_is_a_restarted_publisher_at_any_seq() -> None:
    g = GapTracker()
    assert g.observe("md", "md.tick.AAPL", 1, 7).what is Outcome.FIRST
    assert g.observe("md", "md.tick.AAPL", 3, 7).what is Outcome.GAP  # 1 lost
    # Restarted (inc 8), first seen at seq 5: neither a gap (3 -> 5) nor a duplicate.
    assert g.observe("md", "md.tick.AAPL", 5, 8) == Observation(Outcome.RESTART, 0, 4)
    assert g.observe("md", "md.tick.AAPL", 6, 8).what is Outcome.IN_ORDER
    # Restarted again (inc 9) at seq 2, below the last: still a restart, not a duplicate.
    assert g.observe("md", "md.tick.AAPL", 2, 9).what is Outcome.RESTART
    assert g.observe("md", "md.tick.AAPL", 5, 9) == Observation(Outcome.GAP, 2, 3)
    assert g.observe("md", "md.tick.AAPL", 5, 9).what is Outcome.DUPLICATE
    assert g.gaps == 3  # exactly the events missing within each incarnation


def test_seq_1_after_a_higher_one_restarts_the_topic() -> None:
    g = GapTracker()
    g.observe("broker", "sys.trading.symbol.SPY", 1, 7)
    g.observe("broker", "sys.trading.symbol.SPY", 2, 7)
    g.observe("broker", "sys.trading.symbol.SPY", 3, 7)
    assert g.observe("broker", "sys.trading.symbol.SPY", 1, 7) == \
        Observation(Outcome.RESTART, 0, 4)
    assert g.observe("broker", "sys.trading.symbol.SPY", 2, 7).what is Outcome.IN_ORDER
    assert g.gaps == 0


def test_duplicates_and_reorders_keep_the_baseline() -> None:
    g = GapTracker()
    g.observe("risk", "risk.approved.SPY", 1, 7)
    g.observe("risk", "risk.approved.SPY", 2, 7)
    assert g.observe("risk", "risk.approved.SPY", 2, 7) == Observation(Outcome.DUPLICATE, 0, 3)
    assert g.observe("risk", "risk.approved.SPY", 5, 7) == Observation(Outcome.GAP, 2, 3)
    # 3 arrives late (reordered): a duplicate, and the baseline stays at 5.
    assert g.observe("risk", "risk.approved.SPY", 3, 7) == Observation(Outcome.DUPLICATE, 0, 6)
    assert g.observe("risk", "risk.approved.SPY", 6, 7).what is Outcome.IN_ORDER
    assert g.gaps == 2  # the late 3 does not take a gap back, nor adds one


def test_the_number_of_streams_is_bounded() -> None:
    g = GapTracker(max_streams=2)
    assert g.observe("a", "t", 1, 7).what is Outcome.FIRST
    assert g.observe("b", "t", 1, 7).what is Outcome.FIRST
    assert g.observe("c", "t", 1, 7) == Observation(Outcome.UNTRACKED)
    assert g.observe("c", "t", 9, 7).what is Outcome.UNTRACKED  # not checked: no gap counted
    assert g.observe("a", "u", 1, 7).what is Outcome.UNTRACKED  # a new topic of a known source
    assert g.untracked == 3 and g.gaps == 0
    # The tracked streams are still checked.
    assert g.observe("a", "t", 2, 7).what is Outcome.IN_ORDER
    assert g.observe("b", "t", 4, 7) == Observation(Outcome.GAP, 2, 2)
    assert g.gaps == 2 and g.untracked == 3


# ---------------------------------------------------------------------------- late join

def tick(src: str, seq: int, symbol: str, inc: int = 1) -> bytes:
    """Incarnation 1 of ``src`` publishes seq n at n s; another incarnation (a restart) at
    1000 + n s (as the C++ test's env_of)."""
    at_s = seq + (0 if inc == 1 else 1000)
    env = schema.Envelope(src=src, seq=seq, ts_ns=at_s * 1_000_000_000, trace_id=7, inc=inc)
    return codec.encode_event(env, schema.Tick(
        symbol=symbol, bid_px=100_00000000, bid_qty=10, ask_px=101_00000000, ask_qty=20,
        last_px=0, last_qty=0, exch_ts_ns=0))


def env_of(raw: bytes):
    return codec.decode_event(raw).env


def envelope_or_none(raw: bytes):
    """What the engine passes to take_for_start: the envelope, None for an undecodable body."""
    try:
        return env_of(raw)
    except codec.DecodeError:
        return None


def pairs(*items: tuple[str, bytes]) -> list[bytes]:
    """The frames after a snapshot_ok header: [topic][body] pairs."""
    out: list[bytes] = []
    for topic, body in items:
        out += [topic.encode(), body]
    return out


def seen(lj: LateJoin, topic: str, raw: bytes) -> None:
    e = env_of(raw)
    lj.seen_before_start(topic, e.src, e.inc, e.seq, e.ts_ns, raw)


def dup(lj: LateJoin, topic: str, src: str, seq: int, inc: int = 1) -> bool:
    return lj.is_duplicate(topic, src, inc, seq)


def test_asks_each_prefix_in_turn_and_follows_the_paging_cursor() -> None:
    lj = LateJoin(["md.tick.", "exec.fill."])
    assert not lj.done()
    assert lj.next_request() == ("md.tick.", "")
    assert lj.on_reply(1, "md.tick.AAPL", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")))) is None
    assert lj.next_request() == ("md.tick.", "md.tick.AAPL")  # the next page of the same prefix
    assert lj.on_reply(1, "", pairs(("md.tick.MSFT", tick("md", 3, "MSFT")))) is None
    assert lj.next_request() == ("exec.fill.", "")  # not cached: an empty answer
    assert lj.on_reply(0, "", []) is None
    assert lj.done() and lj.next_request() is None
    got = lj.take_for_start(envelope_or_none)
    assert got == [("md.tick.AAPL", tick("md", 5, "AAPL")), ("md.tick.MSFT", tick("md", 3, "MSFT"))]


@pytest.mark.parametrize("cursor", ["md.tick.AAPL", "md.tick.A"])
def test_a_cursor_that_does_not_advance_ends_the_prefix(cursor: str) -> None:
    lj = LateJoin(["md.tick.", "md.bar."])
    assert lj.on_reply(1, "md.tick.AAPL", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")))) is None
    assert lj.next_request() == ("md.tick.", "md.tick.AAPL")
    # A broker answering with the same (or an earlier) cursor would loop forever: move on.
    assert lj.on_reply(1, cursor, pairs(("md.tick.MSFT", tick("md", 3, "MSFT")))) is None
    assert lj.next_request() == ("md.bar.", "")
    assert lj.on_reply(0, "", []) is None
    assert lj.done()
    assert [t for t, _ in lj.take_for_start(envelope_or_none)] == ["md.tick.AAPL", "md.tick.MSFT"]


def test_a_topic_outside_the_prefix_skips_that_prefix_and_keeps_nothing_of_the_reply() -> None:
    lj = LateJoin(["md.tick.", "md.bar."])
    assert lj.on_reply(1, "md.tick.AAPL", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")))) is None
    why = lj.on_reply(2, "md.tick.ZZ", pairs(("md.tick.MSFT", tick("md", 3, "MSFT")),
                                              ("exec.fill.X", tick("md", 4, "X"))))
    assert why is not None and 'topic "exec.fill.X" is not under the prefix asked for' in why
    assert lj.next_request() == ("md.bar.", "")  # the cursor is not followed after an error
    assert lj.on_reply(0, "", []) is None
    # The earlier page stays; nothing of the bad reply (not even its good MSFT pair) is used.
    assert lj.take_for_start(envelope_or_none) == [("md.tick.AAPL", tick("md", 5, "AAPL"))]


@pytest.mark.parametrize("count,frames", [
    (2, pairs(("md.tick.AAPL", tick("md", 5, "AAPL")))),  # 1 pair of 2
    (1, pairs(("md.tick.AAPL", tick("md", 5, "AAPL")), ("md.tick.MSFT", tick("md", 6, "MSFT")))),
    (1, [b"md.tick.AAPL"]),  # a topic without its body
    (0, [b"md.tick.AAPL"]),
])
def test_a_frame_count_mismatch_skips_the_prefix(count: int, frames: list[bytes]) -> None:
    lj = LateJoin(["md.tick."])
    why = lj.on_reply(count, "md.tick.ZZZ", frames)
    assert why is not None and f"{count} pair(s)" in why and f"{len(frames)} frame(s)" in why
    assert lj.done()
    assert lj.take_for_start(envelope_or_none) == []


def test_a_topic_frame_that_is_not_utf8_is_refused() -> None:
    lj = LateJoin(["md.tick."])
    why = lj.on_reply(1, "", [b"md.tick.\xff", tick("md", 5, "AAPL")])
    assert why is not None and "UTF-8" in why
    assert lj.done() and lj.take_for_start(envelope_or_none) == []


def test_live_before_start_newer_than_the_cache_replaces_it_older_does_not() -> None:
    lj = LateJoin(["md.tick."])
    assert lj.on_reply(3, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")),
                                    ("md.tick.MSFT", tick("md", 9, "MSFT")),
                                    ("md.tick.SPY", b"not msgpack"))) is None
    seen(lj, "md.tick.MSFT", tick("md", 10, "MSFT"))  # newer: wins
    seen(lj, "md.tick.MSFT", tick("md", 8, "MSFT"))  # older than the held 10: ignored
    seen(lj, "md.tick.AAPL", tick("md", 4, "AAPL"))  # older than the cache: the cache wins
    seen(lj, "md.tick.QQQ", tick("md", 2, "QQQ"))  # nothing cached for it: the logic gets it live
    got = lj.take_for_start(envelope_or_none)
    # The undecodable SPY body is left out.
    assert got == [("md.tick.AAPL", tick("md", 5, "AAPL")),
                   ("md.tick.MSFT", tick("md", 10, "MSFT"))]


def test_a_restarted_source_before_the_start_wins_and_is_never_a_repeat() -> None:
    lj = LateJoin(["md.tick."])
    assert lj.on_reply(2, "", pairs(("md.tick.AAPL", tick("md", 50, "AAPL")),
                                    ("md.tick.MSFT", tick("md", 60, "MSFT")))) is None
    # md restarted before the start: its seq 3 (incarnation 2) is newer than the cache's 50.
    seen(lj, "md.tick.AAPL", tick("md", 3, "AAPL", inc=2))
    got = lj.take_for_start(envelope_or_none)
    assert got == [("md.tick.AAPL", tick("md", 3, "AAPL", inc=2)),
                   ("md.tick.MSFT", tick("md", 60, "MSFT"))]
    assert dup(lj, "md.tick.AAPL", "md", 2, inc=2)
    # MSFT's cached value was incarnation 1 at 60: the restarted md's seq 7 is new (by seq alone
    # it would be a repeat: 7 <= 60).
    assert not dup(lj, "md.tick.MSFT", "md", 7, inc=2)


def test_after_the_start_repeats_of_the_snapshot_are_suppressed() -> None:
    lj = LateJoin(["md.tick."])
    lj.on_reply(2, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")),
                             ("md.tick.MSFT", tick("md", 9, "MSFT"))))
    assert len(lj.take_for_start(envelope_or_none)) == 2
    assert dup(lj, "md.tick.AAPL", "md", 5)  # the very message delivered from the cache
    assert dup(lj, "md.tick.AAPL", "md", 4)  # older
    assert dup(lj, "md.tick.MSFT", "md", 9)
    assert not dup(lj, "md.tick.AAPL", "md", 6)  # newer: delivered
    # Live traffic is past the snapshot for that stream for good: no more suppression there.
    assert not dup(lj, "md.tick.AAPL", "md", 5)
    assert dup(lj, "md.tick.MSFT", "md", 8)  # the other stream still is suppressed
    assert not dup(lj, "md.tick.MSFT", "md2", 3)  # another source
    assert not dup(lj, "md.tick.QQQ", "md", 1)  # a topic the snapshot had nothing of


def test_seq_1_after_a_higher_one_is_a_restarted_topic_not_a_repeat() -> None:
    lj = LateJoin(["md.tick."])
    lj.on_reply(1, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL"))))
    lj.take_for_start(envelope_or_none)
    assert not dup(lj, "md.tick.AAPL", "md", 1)
    # A snapshot that delivered seq 1 itself: a live seq 1 is that very message.
    lj = LateJoin(["md.tick."])
    lj.on_reply(1, "", pairs(("md.tick.AAPL", tick("md", 1, "AAPL"))))
    lj.take_for_start(envelope_or_none)
    assert dup(lj, "md.tick.AAPL", "md", 1)


def test_overlapping_prefixes_deliver_once_per_stream() -> None:
    lj = LateJoin(["md.", "md.tick."])
    assert lj.next_request() == ("md.", "")
    assert lj.on_reply(2, "", pairs(("md.bar.AAPL", tick("md", 3, "AAPL")),
                                    ("md.tick.AAPL", tick("md", 5, "AAPL")))) is None
    assert lj.next_request() == ("md.tick.", "")
    # md.tick.AAPL again under the narrower prefix; by then the broker had a newer one.
    assert lj.on_reply(2, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")),
                                    ("md.tick.AAPL", tick("md", 6, "AAPL")))) is None
    got = lj.take_for_start(envelope_or_none)
    delivered: dict[tuple[str, str], int] = {}
    for topic, raw in got:
        e = env_of(raw)
        assert e.seq > delivered.get((e.src, topic), 0), "a stream went back or repeated"
        delivered[(e.src, topic)] = e.seq
    assert delivered == {("md", "md.bar.AAPL"): 3, ("md", "md.tick.AAPL"): 6}
    # The same value under two prefixes: exactly once.
    lj = LateJoin(["md.", "md.tick."])
    lj.on_reply(1, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL"))))
    lj.on_reply(1, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL"))))
    assert lj.take_for_start(envelope_or_none) == [("md.tick.AAPL", tick("md", 5, "AAPL"))]


def test_give_up_and_no_prefixes_deliver_nothing() -> None:
    lj = LateJoin(["md."])
    lj.give_up()
    assert lj.done() and lj.next_request() is None
    assert lj.take_for_start(envelope_or_none) == []
    assert not dup(lj, "md.tick.AAPL", "md", 1)
    none = LateJoin([])  # a node that does not want last values
    assert none.done() and none.next_request() is None


def test_live_messages_remembered_before_the_start_are_bounded() -> None:
    lj = LateJoin(["md.tick."])
    lj.MAX_BEFORE_START = 1
    lj.on_reply(2, "", pairs(("md.tick.AAPL", tick("md", 5, "AAPL")),
                             ("md.tick.MSFT", tick("md", 9, "MSFT"))))
    seen(lj, "md.tick.AAPL", tick("md", 6, "AAPL"))
    seen(lj, "md.tick.MSFT", tick("md", 10, "MSFT"))  # over the bound: not remembered
    seen(lj, "md.tick.AAPL", tick("md", 7, "AAPL"))  # a held stream still moves on
    assert lj.take_for_start(envelope_or_none) == [("md.tick.AAPL", tick("md", 7, "AAPL")),
                                                   ("md.tick.MSFT", tick("md", 9, "MSFT"))]
