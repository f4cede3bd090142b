"""tradebus.topics: the constants, the symbol/node-name/topic rules with schema/topics.cpp's
reason texts, prefix matching and which event types belong on which topics."""

from __future__ import annotations

import pytest

from tradebus import schema, topics


def test_constants() -> None:
    assert topics.MD_TICK == "md.tick." and topics.MD_BAR == "md.bar."
    assert topics.SIGNAL == "strategy.signal." and topics.APPROVED == "risk.approved."
    assert topics.PROBE == "sys.probe." and topics.TRADING == "sys.trading"
    assert topics.BROKER_STARTED == "sys.broker.started" and topics.BENCH == "bench."
    assert topics.TOPICS["risk_state"] == "risk.state"
    assert all(getattr(topics, name.upper()) == value for name, value in topics.TOPICS.items())
    assert len(topics.TOPICS) >= 32


def test_builders() -> None:
    assert topics.for_symbol(topics.MD_TICK, "AAPL") == "md.tick.AAPL"
    assert topics.for_trading_scope() == "sys.trading"
    assert topics.for_trading_scope(symbol="BRK/B") == "sys.trading.symbol.BRK/B"
    assert topics.for_trading_scope(strategy="mom-1") == "sys.trading.strategy.mom-1"
    assert topics.for_trading_scope("AAPL", "mom-1") == "sys.trading.symbol.AAPL"


@pytest.mark.parametrize("symbol, ok", [
    ("AAPL", True), ("BRK/B", True), ("ES:H5", True), ("a_b-c", True), ("A" * 32, True),
    ("", False), ("A" * 33, False), ("BRK.B", False), ("A B", False), ("Ä", False),
    ("A\n", False), ("A*", False),
])
def test_valid_symbol(symbol: str, ok: bool) -> None:
    assert topics.valid_symbol(symbol) is ok


@pytest.mark.parametrize("name, ok", [
    ("risk", True), ("md-1", True), ("exec_2", True), ("a" * 64, True),
    ("", False), ("a" * 65, False), ("Risk", False), ("a.b", False), ("a b", False),
    ("é", False), ("risk\n", False),
])
def test_valid_node_name(name: str, ok: bool) -> None:
    assert topics.valid_node_name(name) is ok


@pytest.mark.parametrize("topic, topic_why, prefix_why", [
    ("md.tick.AAPL", None, None),
    ("md.tick.", "ends with '.'", None),
    ("", "empty", None),
    ("x" * 255, None, None),
    ("x" * 256, "longer than 255 bytes", "longer than 255 bytes"),
    ("é" * 128, "longer than 255 bytes", "longer than 255 bytes"),  # bytes, not characters
    (b"md.\xff", "not valid UTF-8", "not valid UTF-8"),
    ("md.\udcff", "not valid UTF-8", "not valid UTF-8"),
    ("md tick", "contains a space or control character", "contains a space or control character"),
    ("md.\x7f", "contains a space or control character", "contains a space or control character"),
    ("md.\x00", "contains a space or control character", "contains a space or control character"),
    ("md.*", "contains a wildcard character ('*' or '>')",
     "contains a wildcard character ('*' or '>')"),
    ("a>b c", "contains a wildcard character ('*' or '>')",
     "contains a wildcard character ('*' or '>')"),  # the first problem is the one reported
    ("a b>c", "contains a space or control character", "contains a space or control character"),
    (".md", "starts with '.'", "starts with '.'"),
    ("md..tick", "has an empty token ('..')", "has an empty token ('..')"),
    ("md.tick.Ä", None, None),
])
def test_topic_and_prefix_errors(topic: str | bytes, topic_why: str | None,
                                 prefix_why: str | None) -> None:
    assert topics.topic_error(topic) == topic_why
    assert topics.prefix_error(topic) == prefix_why


def test_matches_is_byte_prefix() -> None:
    assert topics.matches("md.tick.AAPL", "md.tick.AAPLX")
    assert topics.matches("", "anything")
    assert topics.matches(b"md.tick.", b"md.tick.A")
    assert topics.matches("md.tick.", b"md.tick.A")
    assert not topics.matches("md.tick.AAPL", "md.tick.AAP")
    assert not topics.matches("md.bar.", "md.tick.A")


@pytest.mark.parametrize("type_name, topic, belongs", [
    ("tick", "md.tick.AAPL", True),
    ("tick", b"md.tick.AAPL", True),
    ("tick", "md.tick.", False),  # a prefix needs something after it
    ("tick", "md.bar.AAPL", False),
    ("broker_started", "sys.broker.started", True),
    ("broker_started", "sys.broker.started.x", False),  # a fixed topic exactly
    ("broker_started", "md.tick.AAPL", False),
    ("trading_state", "sys.trading", True),
    ("trading_state", "risk.state", True),
    ("trading_state", "sys.trading.symbol.AAPL", True),
    ("trading_state", "sys.trading.strategy.mom", True),
    ("trading_state", "sys.trading.other", False),
    ("trading_state", "sys.trading.symbol.", False),
    ("probe", "sys.probe.risk", True),
    ("probe", "bench.run1.x", True),
    ("probe", "sys.probe.", False),
    ("order", "risk.approved.AAPL", True),
    ("flatten_done", "risk.flatten.risk", True),
    ("cancel_request", "sys.cancel", True),
    ("acl_violation", "sys.acl.violation", True),
    ("no_such_type", "md.tick.AAPL", False),
    ("register", "sys.probe.x", False),
])
def test_type_belongs(type_name: str, topic: str | bytes, belongs: bool) -> None:
    assert topics.type_belongs(type_name, topic) is belongs


def test_every_event_has_a_home_it_belongs_to() -> None:
    for name, cls in schema.EVENTS.items():
        assert cls.HOMES, name
        for home, is_prefix in cls.HOMES:
            topic = topics.for_symbol(home, "X") if is_prefix else home
            assert topics.type_belongs(name, topic), (name, topic)
            assert topics.topic_error(topic) is None, topic
            others = [t for t in schema.EVENTS if t != name and topics.type_belongs(t, topic)]
            assert others == [], (topic, others)
