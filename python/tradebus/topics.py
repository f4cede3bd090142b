"""Topic names and rules, as ``schema/topics.cpp`` has them (PROTOCOL.md "Topics").

The constants come from ``schema.json`` (the C++ ``topics::all_topics``), upper-cased:
``MD_TICK == "md.tick."``, ``PROBE == "sys.probe."``, ``TRADING == "sys.trading"``. A constant
ending in ``.`` is a prefix to append a symbol or node name to (:func:`for_symbol`); any other
is a fixed topic.

Topics are checked as the UTF-8 bytes they travel as: functions taking a topic accept ``str``
or ``bytes``. A ``str`` holding lone surrogates (from a lenient decode) is invalid UTF-8.
"""

from __future__ import annotations

import re

from . import schema

__all__ = [
    "MAX_SYMBOL_BYTES",
    "MAX_TOPIC_BYTES",
    "NODE_NAME_RULE",
    "TOPICS",
    "for_symbol",
    "for_trading_scope",
    "matches",
    "prefix_error",
    "topic_error",
    "type_belongs",
    "valid_node_name",
    "valid_symbol",
]

MAX_TOPIC_BYTES = 255
MAX_SYMBOL_BYTES = 32
#: The node-name rule, worded as error messages say it.
NODE_NAME_RULE = "1..64 bytes of [a-z0-9_-]"

#: Every topic constant by its C++ name (``"md_tick": "md.tick."``), in PROTOCOL.md's order.
TOPICS: dict[str, str] = schema.TOPICS

for _name, _value in TOPICS.items():
    if not _name.isidentifier() or _name.upper() in globals():
        raise schema.SchemaError(f"topic constant {_name!r} is not a usable Python name")
    globals()[_name.upper()] = _value
    __all__.append(_name.upper())
del _name, _value

_SYMBOL = re.compile(r"[A-Za-z0-9_\-/:]{1,32}")
_NODE_NAME = re.compile(r"[a-z0-9_\-]{1,64}")
_FORBIDDEN = re.compile(rb"[\x00-\x20\x7f*>]")  # control, space, DEL, wildcards

# event type -> its (topic, is_prefix) homes: the events table of PROTOCOL.md.
_HOMES: dict[str, tuple[tuple[str, bool], ...]] = {
    name: cls.HOMES for name, cls in schema.EVENTS.items()
}


def _raw(text: str | bytes) -> bytes:
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)


def for_symbol(prefix: str, symbol: str) -> str:
    """``prefix + symbol``: ``for_symbol(MD_TICK, "AAPL") == "md.tick.AAPL"``."""
    return prefix + symbol


def for_trading_scope(symbol: str = "", strategy: str = "") -> str:
    """The topic of a kill-switch scope: ``sys.trading`` for the desk (both empty), else
    ``sys.trading.symbol.<symbol>``, else ``sys.trading.strategy.<strategy>``."""
    if symbol:
        return for_symbol(TOPICS["trading_symbol"], symbol)
    if strategy:
        return for_symbol(TOPICS["trading_strategy"], strategy)
    return TOPICS["trading"]


def valid_symbol(symbol: str) -> bool:
    """Symbols: 1..32 bytes of ``[A-Za-z0-9_-/:]`` (no dot: it separates topic tokens)."""
    return isinstance(symbol, str) and _SYMBOL.fullmatch(symbol) is not None


def valid_node_name(name: str) -> bool:
    """Node names: 1..64 bytes of ``[a-z0-9_-]`` (one topic token, a key file's name)."""
    return isinstance(name, str) and _NODE_NAME.fullmatch(name) is not None


def _check(topic: str | bytes, as_prefix: bool) -> str | None:
    t = _raw(topic)
    if len(t) > MAX_TOPIC_BYTES:
        return f"longer than {MAX_TOPIC_BYTES} bytes"
    if not t:
        return None if as_prefix else "empty"
    try:
        t.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    forbidden = _FORBIDDEN.search(t)  # the first one is reported, as by the C++ loop
    if forbidden is not None:
        if forbidden.group() in (b"*", b">"):
            return "contains a wildcard character ('*' or '>')"
        return "contains a space or control character"
    if t.startswith(b"."):
        return "starts with '.'"
    if b".." in t:
        return "has an empty token ('..')"
    if not as_prefix and t.endswith(b"."):
        return "ends with '.'"
    return None


def topic_error(topic: str | bytes) -> str | None:
    """Why `topic` is not a valid published topic (1..255 bytes of printable UTF-8, no space,
    no ``*`` or ``>``, non-empty dot-separated tokens), or None when it is valid."""
    return _check(topic, as_prefix=False)


def prefix_error(prefix: str | bytes) -> str | None:
    """Why `prefix` is not a valid subscription prefix (a topic that may also be empty, for
    every topic, and may end with ``.``), or None when it is valid."""
    return _check(prefix, as_prefix=True)


def matches(prefix: str | bytes, topic: str | bytes) -> bool:
    """True when a subscription to `prefix` receives `topic` (ZeroMQ byte-prefix matching:
    ``md.tick.AAPL`` also receives ``md.tick.AAPLX``)."""
    return _raw(topic).startswith(_raw(prefix))


def type_belongs(type_name: str, topic: str | bytes) -> bool:
    """True when the events table gives events of wire type `type_name` the topic `topic`:
    under one of its prefixes with something after it, or one of its fixed topics exactly.
    False for a type it does not know. A receiver drops an event whose type does not belong to
    the topic it came on (a ``broker_started`` body on ``md.tick.AAPL`` is nobody's restart)."""
    t = topic.decode("utf-8", "surrogateescape") if isinstance(topic, bytes) else topic
    for home, is_prefix in _HOMES.get(type_name, ()):
        if (len(t) > len(home) and t.startswith(home)) if is_prefix else t == home:
            return True
    return False
