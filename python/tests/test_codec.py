"""tradebus.schema and tradebus.codec: the generated classes, byte equality with the C++
encoder (PROTOCOL.md's example tick), every validation rule of PROTOCOL.md "Validation rules and
limits" with the C++ error text, control-plane error codes, fixed point, and a fuzz loop."""

from __future__ import annotations

import dataclasses
import random
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tradebus import codec, schema
from tradebus.codec import DecodeError, EncodeError

PROTOCOL = Path(__file__).resolve().parents[2] / "schema" / "PROTOCOL.md"

# ---------------------------------------------------------------- helpers


def sample_value(t: dict[str, Any], n: int) -> Any:
    """A value of field type `t` that is not its default (n varies it)."""
    kind = t["type"]
    if kind == "int":
        return -(n + 1) * 1_000_003 if n % 2 else (1 << 62) + n
    if kind == "uint":
        return (1 << 63) + n
    if kind == "str":
        return f"v{n}-é"
    if kind == "bool":
        return True
    if kind == "float":
        return 0.25 + n
    if kind == "enum":  # a name other than the field's default (the C++ default)
        return next(v for v in reversed(schema.ENUMS[t["enum"]]) if v != t.get("default"))
    if kind == "array":
        return [sample_value(t["items"], n), sample_value(t["items"], n + 1)]
    assert kind == "struct", kind
    return sample(schema.STRUCTS[t["struct"]], n * 7)


def sample(cls: type, salt: int = 0) -> Any:
    """An instance of `cls` with every field off its default."""
    return cls(**{f["key"]: sample_value(f, salt + k) for k, f in enumerate(cls.FIELDS)})


ENV = schema.Envelope(src="md-1", seq=1001, ts_ns=1_700_000_000_000_000_000,
                      trace_id=0x9E3779B97F4A7C15, inc=0x2545F4914F6CDD1D)


class Raw(bytes):
    """Bytes already in msgpack form, put into a message as they are."""


class Pairs(list):  # type: ignore[type-arg]
    """A map given as (key, value) pairs: duplicates and non-str keys allowed."""


def enc(obj: Any) -> bytes:
    """msgpack of `obj`, where Raw parts are copied as they are and Pairs become maps."""
    if isinstance(obj, Raw):
        return bytes(obj)
    if isinstance(obj, dict):
        obj = Pairs(obj.items())
    if isinstance(obj, Pairs):
        return msgpack.Packer().pack_map_header(len(obj)) + b"".join(
            enc(k) + enc(v) for k, v in obj)
    if isinstance(obj, list):
        return msgpack.Packer().pack_array_header(len(obj)) + b"".join(enc(x) for x in obj)
    return msgpack.packb(obj, use_bin_type=True)


def raw_str(payload: bytes) -> Raw:
    """A msgpack str holding any bytes, valid UTF-8 or not."""
    n = len(payload)
    if n < 32:
        return Raw(bytes([0xA0 | n]) + payload)
    if n < 256:
        return Raw(b"\xd9" + bytes([n]) + payload)
    return Raw(b"\xda" + struct.pack(">H", n) + payload)


def nested(levels: int) -> Any:
    """`levels` arrays inside each other."""
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


DROP = object()


def event(type_name: str = "signal", top: dict[str, Any] | None = None, **data: Any) -> bytes:
    """An event message of `type_name` with sample data, changed by `data` and `top` (DROP
    removes a key)."""
    body = codec.encode_event(ENV, sample(schema.EVENTS[type_name]))
    message = msgpack.unpackb(body, raw=False)
    message["data"] = {k: v for k, v in {**message["data"], **data}.items() if v is not DROP}
    message.update(top or {})
    return enc({k: v for k, v in message.items() if v is not DROP})


def control(type_name: str = "register", **fields: Any) -> bytes:
    message = msgpack.unpackb(codec.encode_control(sample(schema.CONTROL[type_name])), raw=False)
    message.update(fields)
    return enc({k: v for k, v in message.items() if v is not DROP})


def decode_error(data: bytes, decoder: Any = codec.decode_event) -> str:
    with pytest.raises(DecodeError) as e:
        decoder(data)
    return str(e.value)


# ---------------------------------------------------------------- schema classes


def test_schema_constants() -> None:
    assert schema.VERSION == 1 and schema.MIN_VERSION == 1
    assert schema.PRICE_SCALE == 100_000_000
    assert schema.LIMITS == schema.Limits(max_message_bytes=1 << 20, max_string_bytes=4096,
                                          max_array_items=4096, max_map_keys=64, max_depth=16)
    assert schema.ENUMS["side"] == ("BUY", "SELL", "FLAT")
    assert schema.ENUMS["trading_state"] == ("active", "reducing", "halted")


def test_class_names_and_registries() -> None:
    assert schema.EVENTS["tick"] is schema.Tick and schema.Tick.TYPE == "tick"
    assert schema.EVENTS["order_rejected"] is schema.OrderRejected
    assert schema.EVENTS["trading_state"] is schema.TradingState
    assert schema.CONTROL["register_ok"] is schema.RegisterOk and schema.RegisterOk.REPLY
    assert not schema.Register.REPLY
    assert schema.STRUCTS["working_order"] is schema.WorkingOrder
    names = [c.__name__ for c in (*schema.EVENTS.values(), *schema.CONTROL.values(),
                                  *schema.STRUCTS.values(), schema.Envelope)]
    assert len(names) == len(set(names))
    assert [f["key"] for f in schema.Envelope.FIELDS] == ["src", "seq", "ts_ns", "trace_id",
                                                          "inc"]


def test_defaults() -> None:
    assert schema.Tick() == schema.Tick(symbol="", bid_px=0, bid_qty=0, ask_px=0, ask_qty=0,
                                        last_px=0, last_qty=0, exch_ts_ns=0)
    # The C++ defaults (`tradebus schema` gives every non-struct key's): a signal is FLAT.
    assert schema.Signal().side == "FLAT" and schema.Signal().confidence == 0.0
    assert schema.Status().max_topics == 1000 and schema.NodeStatus().last_heartbeat_age_ms == -1
    assert schema.Order().tif == "DAY"  # the JSON default of an optional key
    assert schema.RegisterOk().waiting_for == [] and schema.RegisterOk().ready is False
    assert schema.Heartbeat().counters == schema.NodeCounters()
    assert schema.Heartbeat().counters is not schema.Heartbeat().counters
    with pytest.raises(TypeError):
        schema.Tick("AAPL")  # type: ignore[misc]  # keyword construction only
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.Tick().bid_px = 1  # type: ignore[misc]


# ---------------------------------------------------------------- C++ bytes


def protocol_example() -> bytes:
    """The tick example's bytes, as tests/unit/protocol_example_test.cpp reads them."""
    inside, hex_parts = False, []
    for line in PROTOCOL.read_text(encoding="utf-8").splitlines():
        if line.startswith("<!-- tick-example:begin"):
            inside = True
            continue
        if line.startswith("<!-- tick-example:end"):
            break
        if inside and not line.startswith("```"):
            hex_parts.append(line.split("#", 1)[0].strip())
    return bytes.fromhex(" ".join(p for p in hex_parts if p))


EXAMPLE_TICK = schema.Tick(symbol="AAPL", bid_px=18_950_000_000, bid_qty=300,
                           ask_px=18_952_000_000, ask_qty=200, last_px=18_951_000_000,
                           last_qty=100, exch_ts_ns=1_699_999_999_998_000_000)


def test_protocol_example_bytes() -> None:
    expected = protocol_example()
    assert len(expected) == 194
    assert codec.encode_event(ENV, EXAMPLE_TICK) == expected
    decoded = codec.decode_event(expected)
    assert decoded.type == "tick"
    assert decoded.env == ENV and decoded.body == EXAMPLE_TICK


def test_encoder_formats_match_msgpack_c() -> None:
    # smallest int format, non-negative ints unsigned, floats always float 64 (0xcb)
    assert codec.encode_event(ENV, schema.Signal(qty=-1, confidence=1.0)).count(b"\xcb") == 1
    body = codec.encode_event(ENV, schema.Signal(qty=-33, confidence=-0.0))
    assert b"\xa3qty\xd0\xdf" in body and b"\xcb\x80" + bytes(7) in body
    assert b"\xa3qty\x7f" in codec.encode_event(ENV, schema.Signal(qty=127))
    assert b"\xa3qty\xcc\x80" in codec.encode_event(ENV, schema.Signal(qty=128))
    assert codec.encode_control(schema.Ok(detail="x")) == enc({"v": 1, "type": "ok",
                                                               "detail": "x"})


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("type_name", sorted(schema.EVENTS))
def test_event_round_trip(type_name: str) -> None:
    cls = schema.EVENTS[type_name]
    body = sample(cls)
    for f in cls.FIELDS:  # the sample tests every key off its default
        assert getattr(body, f["key"]) != getattr(cls(), f["key"]), f["key"]
    data = codec.encode_event(ENV, body)
    decoded = codec.decode_event(data)
    assert (decoded.type, decoded.env, decoded.body) == (type_name, ENV, body)
    wire = msgpack.unpackb(data, raw=False)
    assert list(wire) == ["v", "type", "src", "seq", "ts_ns", "trace_id", "inc", "data"]
    assert list(wire["data"]) == [f["key"] for f in cls.FIELDS]


@pytest.mark.parametrize("type_name", sorted(schema.CONTROL))
def test_control_round_trip(type_name: str) -> None:
    cls = schema.CONTROL[type_name]
    msg = sample(cls)
    data = codec.encode_control(msg)
    assert codec.decode_control(data) == msg
    assert list(msgpack.unpackb(data, raw=False)) == ["v", "type",
                                                      *(f["key"] for f in cls.FIELDS)]


def test_optional_keys_absent_take_their_defaults() -> None:
    decoded = codec.decode_event(event("order", tif=DROP, expire_ts_ns=DROP,
                                       top={"inc": DROP}))
    assert decoded.body.tif == "DAY" and decoded.body.expire_ts_ns == 0
    assert decoded.env.inc == 0
    snapshot = codec.decode_event(event("risk_snapshot", working=DROP)).body
    assert snapshot.working == [] and len(snapshot.positions) == 2
    halt = codec.decode_control(control("halt", symbol=DROP, strategy=DROP, reduce_only=DROP))
    assert (halt.symbol, halt.strategy, halt.reduce_only) == ("", "", False)


def test_unknown_keys_are_ignored_at_every_level() -> None:
    future = {"nil": None, "bin": b"\x00\xff", "ext": msgpack.ExtType(5, b"xy"),
              "f": 1.5, "deep": nested(10), "map": {"a": [1, "b"]}}
    expected = sample(schema.ExecSnapshot)
    resting = codec.decode_event(event("exec_snapshot")).body.resting
    wire = msgpack.unpackb(codec.encode_event(ENV, expected), raw=False)["data"]["resting"]
    data = event("exec_snapshot", top={"future": future}, future=future,
                 resting=[{**item, "future": future} for item in wire])
    assert codec.decode_event(data).body == expected and resting == expected.resting
    assert codec.decode_control(control("status", future=future)) == sample(schema.Status)


# ext type -1 is the msgpack timestamp, which msgpack-python parses itself, and ExtType refuses
# negative type codes
ODD_EXTS = [Raw(b"\xc7\x05\xff12345"), Raw(b"\xd7\xff" + b"\xff" * 4 + bytes(3) + b"\x01"),
                  Raw(b"\xd4\xa4\x00")]  # and a reserved type code (-92)


def test_any_ext_is_an_ext() -> None:
    for bad in ODD_EXTS:
        assert codec.decode_event(event(top={"t": bad}, t=[bad], side="SELL")).body.side == "SELL"
        assert decode_error(event(reason=bad)) == "data.reason: expected str, got ext"
    assert decode_error(event(reason=Raw(b"\xd6\xff\x00\x00\x00\x01"))) == \
        "data.reason: expected str, got ext"


def test_floats_accept_float32_and_any_integer() -> None:
    assert codec.decode_event(event(confidence=Raw(b"\xca\x3f\x00\x00\x00"))).body.confidence \
        == 0.5
    assert codec.decode_event(event(confidence=1)).body.confidence == 1.0
    assert codec.decode_event(event(confidence=-2)).body.confidence == -2.0
    assert codec.decode_event(event(confidence=(1 << 64) - 1)).body.confidence == 2.0**64


def test_ints_accept_every_format() -> None:
    for raw, value in [(b"\xd3" + struct.pack(">q", 5), 5), (b"\xd0\x05", 5),
                       (b"\xcf" + struct.pack(">Q", 7), 7), (b"\xd1\xff\xfe", -2),
                       (b"\xd3" + struct.pack(">q", -(1 << 63)), -(1 << 63))]:
        assert codec.decode_event(event(qty=Raw(raw))).body.qty == value
    assert codec.decode_event(event(qty=(1 << 63) - 1)).body.qty == (1 << 63) - 1
    assert codec.decode_event(event(signal_id=(1 << 64) - 1)).body.signal_id == (1 << 64) - 1


# ---------------------------------------------------------------- validation rules

LONG = 4097
VALID = event()


REJECTED_EVENTS = [
    # size, framing, top-level shape
    (b"", "empty message"),
    (enc({"x": "a" * (1 << 20)}), "message of 1048584 bytes, limit 1048576"),
    (VALID + b"\x00\x01", "2 trailing bytes after the message"),
    (VALID[:-1], "data: truncated, invalid or too deeply nested value"),
    (VALID[:4], "truncated map (key 1)"),
    (b"\xc1", "truncated or invalid msgpack"),
    (event(top={"future": Raw(b"\xc1")}),
     "future: truncated, invalid or too deeply nested value"),
    (b"\xdd\xff\xff\xff\xff", "expected map, got array"),
    (event(top={"future": Raw(b"\xdd\xff\xff\xff\xff")}),
     "future: truncated, invalid or too deeply nested value"),
    (enc([1, 2]), "expected map, got array"),
    (enc({f"k{n}": n for n in range(65)}), "map has 65 keys, limit 64"),
    # map keys
    (event(top={"future": 1}).replace(b"\xa6future", b"\x07"),
     "map key 8 is not a str, got unsigned int"),
    (event(**{"x" * LONG: 1}), "data: map key 7 of 4097 bytes, limit 4096"),
    (enc(Pairs([("v", 1), (raw_str(b"\xc0\x80"), 1)])), "map key 1 is not valid UTF-8"),
    (event(top={"future": Pairs([("a", 1), ("a", 2)])}), "future.a: duplicate key"),
    (enc(Pairs([("v", 1), ("v", 1)])), "v: duplicate key"),
    (event(top={"future": {"k": Pairs([(b"\x01", 2)])}}),
     "future.k: map key 0 is not a str, got bin"),
    (event(top={"future": [0, {"y" * LONG: 1}]}),
     "future[1]: map key 0: str of 4097 bytes, limit 4096"),
    # strs, known keys and unknown ones
    (event(symbol="A" * LONG), "data.symbol: str of 4097 bytes, limit 4096"),
    (event(symbol=raw_str(b"\xed\xa0\x80")), "data.symbol: str is not valid UTF-8"),
    (event(symbol=raw_str(b"\xf4\x90\x80\x80")), "data.symbol: str is not valid UTF-8"),
    (event(symbol=raw_str(b"\xe2\x82")), "data.symbol: str is not valid UTF-8"),
    (event(future_key=[0, 1, 2, "z" * LONG]),
     "data.future_key[3]: str of 4097 bytes, limit 4096"),
    (event(top={"future": {"a": [raw_str(b"\xff")]}}), "future.a[0]: str is not valid UTF-8"),
    # nesting: a value under a top-level key holds at most 16 levels of containers
    (event(top={"future": nested(17)}), "future: truncated, invalid or too deeply nested value"),
    (event(future=nested(16)), "data: truncated, invalid or too deeply nested value"),
    # v and type
    (event(top={"v": DROP}), "v: missing required key"),
    (event(top={"v": 2}), "v: unsupported schema version 2 (supported 1..1)"),
    (event(top={"v": 0}), "v: unsupported schema version 0 (supported 1..1)"),
    (event(top={"v": -1}), "v: expected unsigned int, got negative int"),
    (event(top={"v": "1"}), "v: expected unsigned int, got str"),
    (event(top={"type": DROP}), "type: missing required key"),
    (event(top={"type": 4}), "type: expected str, got unsigned int"),
    (event(top={"type": "nope"}), 'type: unknown event type "nope"'),
    (event(top={"type": "t" * 100}), f'type: unknown event type "{"t" * 64}"'),
    (event(top={"type": raw_str(b"\xff")}), 'type: unknown event type "<not UTF-8>"'),
    (event(top={"type": "register"}), 'type: unknown event type "register"'),
    # envelope and data
    (event(top={"src": DROP}), "src: missing required key"),
    (event(top={"seq": -5}), "seq: expected unsigned int, got negative int"),
    (event(top={"ts_ns": 1 << 63}), "ts_ns: int out of range for int64"),
    (event(top={"data": DROP}), "data: missing required key"),
    (event(top={"data": [1]}), "data: expected map, got array"),
    # known keys: presence, msgpack type, range, enum names
    (event(qty=DROP), "data.qty: missing required key"),
    (event(qty="5"), "data.qty: expected int, got str"),
    (event(qty=True), "data.qty: expected int, got bool"),
    (event(qty=None), "data.qty: expected int, got nil"),
    (event(qty=1.5), "data.qty: expected int, got float"),
    (event(qty=1 << 63), "data.qty: int out of range for int64"),
    (event(signal_id=-1), "data.signal_id: expected unsigned int, got negative int"),
    (event(signal_id=False), "data.signal_id: expected unsigned int, got bool"),
    (event(side="buy"), 'data.side: expected one of BUY|SELL|FLAT, got "buy"'),
    (event(side="X" * 40), f'data.side: expected one of BUY|SELL|FLAT, got "{"X" * 32}"'),
    (event(side=1), "data.side: expected str, got unsigned int"),
    (event(confidence="high"), "data.confidence: expected float, got str"),
    (event(confidence=None), "data.confidence: expected float, got nil"),
    (event(reason=b"bytes"), "data.reason: expected str, got bin"),
    (event(reason=msgpack.ExtType(1, b"")), "data.reason: expected str, got ext"),
    (event("cancel_request", all=1), "data.all: expected bool, got unsigned int"),
    (event("risk_limits", allowed_symbols="AAPL"), "data.allowed_symbols: expected array, got str"),
    (event("risk_limits", allowed_symbols=["A", 5]),
     "data.allowed_symbols[1]: expected str, got unsigned int"),
    (event("risk_snapshot", positions=[{"symbol": "A"}]),
     "data.positions[0].qty: missing required key"),
    (event("risk_snapshot", positions=[5]), "data.positions[0]: expected map, got unsigned int"),
    (event("risk_snapshot", working=[{"order_id": "o", "symbol": "A", "side": "BUY",
                                      "open_qty": 1, "x": Pairs([("a", 1), ("a", 1)])}]),
     "data.working[0].x.a: duplicate key"),
]


@pytest.mark.parametrize("data, expected", REJECTED_EVENTS,
                         ids=[expected for _, expected in REJECTED_EVENTS])
def test_decode_event_rejects(data: bytes, expected: str) -> None:
    assert decode_error(data) == expected


def test_limits_are_inclusive() -> None:
    assert codec.decode_event(event(symbol="A" * 4096)).body.symbol == "A" * 4096
    assert codec.decode_event(event(symbol="\u00e9" * 2048)).body.symbol == "\u00e9" * 2048
    assert decode_error(event(symbol="\u00e9" * 2049)) == \
        "data.symbol: str of 4098 bytes, limit 4096"
    assert codec.decode_event(event(symbol="a\x00b")).body.symbol == "a\x00b"  # NUL is UTF-8
    symbols = [f"S{n}" for n in range(4096)]
    assert codec.decode_event(event("risk_limits", allowed_symbols=symbols)).body \
        .allowed_symbols == symbols
    assert decode_error(event("risk_limits", allowed_symbols=[*symbols, "X"])) == \
        "data.allowed_symbols: array of 4097 items, limit 4096"
    assert decode_error(event(top={"future": [{"k": [0] * 4097}]})) == \
        "future[0].k: array of 4097 items, limit 4096"
    assert codec.decode_event(event(top={"future": nested(16)}, future=nested(15)))
    many = {f"k{n}": n for n in range(64 - 8)}
    assert codec.decode_event(event(top=many)).type == "signal"
    assert decode_error(event(top={**many, "one_more": 1})) == "map has 65 keys, limit 64"
    assert decode_error(event(future={f"k{n}": n for n in range(65)})) == \
        "data.future: map has 65 keys, limit 64"


def test_decode_control_rejects_with_error_codes() -> None:
    cases = [
        (control(v=2), "v: unsupported schema version 2 (supported 1..1)",
         "unsupported_version"),
        (control(v=DROP), "v: missing required key", "unsupported_version"),
        (enc(Pairs([("v", 1), ("v", 1), ("type", "ok"), ("detail", "")])), "v: duplicate key",
         "unsupported_version"),
        (control(type="nope"), 'type: unknown control message type "nope"', "unknown_type"),
        (control(type="tick"), 'type: unknown control message type "tick"', "unknown_type"),
        (control(type=DROP), "type: missing required key", "bad_request"),
        (control(type=1), "type: expected str, got unsigned int", "bad_request"),
        (control(pid=DROP), "pid: missing required key", "bad_request"),
        (control(publishes=["a", None]), "publishes[1]: expected str, got nil", "bad_request"),
        (control("heartbeat", state="HEALTHY"), "state: expected one of starting|healthy|"
         'degraded|unhealthy|stopping|stopped, got "HEALTHY"', "bad_request"),
        (control("heartbeat", counters={"published": 1}),
         "counters.received: missing required key", "bad_request"),
        (control("status_ok", nodes=[{**msgpack.unpackb(codec.encode_control(
            sample(schema.StatusOk)), raw=False)["nodes"][0], "pid": "1"}]),
         "nodes[0].pid: expected int, got str", "bad_request"),
        (b"\x93", "expected map, got array", "bad_request"),
        (b"\xdf", "truncated or invalid msgpack", "bad_request"),
    ]
    for data, text, code in cases:
        with pytest.raises(DecodeError) as e:
            codec.decode_control(data)
        assert (str(e.value), codec.error_code_for(e.value)) == (text, code)


def test_control_keys_are_required_unless_optional() -> None:
    msg = codec.decode_control(control("heartbeat", counters={
        "published": 1, "received": 2, "gaps": 3, "decode_errors": 4, "queue_depth": 5,
        "misrouted": 6}))
    assert msg.counters == schema.NodeCounters(published=1, received=2, gaps=3,
                                               decode_errors=4, queue_depth=5, misrouted=6)
    assert decode_error(control("status", max_topics=DROP), codec.decode_control) == \
        "max_topics: missing required key"


def test_decode_error_fields() -> None:
    with pytest.raises(DecodeError) as e:
        codec.decode_event(event(qty="5"))
    assert (e.value.path, e.value.reason) == ("data.qty", "expected int, got str")
    assert isinstance(e.value, ValueError)
    assert str(DecodeError("", "empty message")) == "empty message"


def test_decode_accepts_bytes_like() -> None:
    assert codec.decode_event(bytearray(VALID)).type == "signal"
    assert codec.decode_event(memoryview(VALID)).type == "signal"


# ---------------------------------------------------------------- encoding errors


@pytest.mark.parametrize("env, body, expected", [
    (ENV, schema.Tick(bid_px=True), "data.bid_px: expected int, got bool"),  # type: ignore
    (ENV, schema.Tick(bid_px=1 << 63), f"data.bid_px: {1 << 63} out of range for int64"),
    (ENV, schema.Signal(signal_id=-1), "data.signal_id: -1 out of range for uint64"),
    (ENV, schema.Signal(side="buy"), "data.side: expected one of BUY|SELL|FLAT, got 'buy'"),
    (ENV, schema.Signal(confidence="1"), "data.confidence: expected float, got str"),
    (ENV, schema.Signal(reason="r" * 4097), "data.reason: str of 4097 bytes, limit 4096"),
    (ENV, schema.Signal(reason="\udc80"), "data.reason: str is not valid UTF-8 (lone surrogate)"),
    (ENV, schema.RiskLimits(allowed_symbols=["A"] * 4097),
     "data.allowed_symbols: array of 4097 items, limit 4096"),
    (ENV, schema.RiskSnapshot(working=[schema.FlattenLeft()]),
     "data.working[0]: expected WorkingOrder, got FlattenLeft"),
    (ENV, schema.Register(), "not an event: Register"),
    (schema.Tick(), schema.Tick(), "expected an Envelope, got Tick"),
    (schema.Envelope(seq=-1), schema.Tick(), "seq: -1 out of range for uint64"),
])
def test_encode_event_refuses(env: Any, body: Any, expected: str) -> None:
    with pytest.raises(EncodeError) as e:
        codec.encode_event(env, body)
    assert str(e.value) == expected


def test_encode_control_refuses() -> None:
    with pytest.raises(EncodeError, match="not a control message: Tick"):
        codec.encode_control(schema.Tick())
    with pytest.raises(EncodeError, match=r"^publishes\[0\]: expected str, got int$"):
        codec.encode_control(schema.Register(publishes=[1]))  # type: ignore[list-item]
    with pytest.raises(EncodeError, match="^message of 1229810 bytes, limit 1048576$"):
        codec.encode_control(schema.Register(publishes=["x" * 4096] * 300))


def test_encoder_accepts_int_for_float_and_tuple_for_array() -> None:
    data = codec.encode_event(ENV, schema.Signal(confidence=1))
    assert b"\xaaconfidence\xcb" + struct.pack(">d", 1.0) in data  # float 64, as C++ writes it
    assert codec.decode_event(data).body.confidence == 1.0
    limits = schema.RiskLimits(allowed_symbols=("A", "B"))  # type: ignore[arg-type]
    assert codec.decode_event(codec.encode_event(ENV, limits)).body.allowed_symbols == ["A", "B"]


# ---------------------------------------------------------------- fixed point


@pytest.mark.parametrize("value, fixed", [
    ("189.50", 18_950_000_000), (Decimal("-12.3456789"), -1_234_567_890), (3, 300_000_000),
    ("0.000000005", 1), ("-0.000000005", -1), ("0.0000000049", 0), ("0.000000015", 2),
    (0.1, 10_000_000), (189.51, 18_951_000_000), ("92233720368.54775807", (1 << 63) - 1),
    ("-92233720368.54775808", -(1 << 63)), (" 1e-8 ", 1),
])
def test_to_fixed(value: Any, fixed: int) -> None:
    assert codec.to_fixed(value) == fixed


@pytest.mark.parametrize("value", ["92233720368.54775808", "abc", "NaN", "inf", float("inf"),
                                   float("nan"), True, None, "1e999999", "9" * 100])
def test_to_fixed_refuses(value: Any) -> None:
    with pytest.raises(ValueError, match="^to_fixed: "):
        codec.to_fixed(value)


def test_from_fixed() -> None:
    assert codec.from_fixed(18_950_000_000) == Decimal("189.5")
    assert str(codec.from_fixed(-1_234_567_890)) == "-12.34567890"
    assert codec.from_fixed(-(1 << 63)) == Decimal("-92233720368.54775808")
    for fixed in (0, 1, -1, 12345678901, (1 << 63) - 1):
        assert codec.to_fixed(codec.from_fixed(fixed)) == fixed
    with pytest.raises(TypeError):
        codec.from_fixed(1.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- fuzz


def corpus() -> list[tuple[Any, bytes]]:
    out = [(codec.decode_event, codec.encode_event(ENV, sample(cls, 3)))
           for cls in schema.EVENTS.values()]
    out += [(codec.decode_control, codec.encode_control(sample(cls, 5)))
            for cls in schema.CONTROL.values()]
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[at % len(b)] = rng.randrange(256)
        elif op == 1:
            b[at:at] = bytes(rng.choice([[0xC1], [0xDD, 0xFF, 0xFF, 0xFF, 0xFF], [0xDF, 0, 0, 0,
                             0x41], [0xDB, 0x7F, 0xFF, 0xFF, 0xFF], [0xC0], [0x91] * 20,
                             [rng.randrange(256)]]))
        elif op == 2:
            del b[at:at + rng.randint(1, 8)]
        elif op == 3:
            b = b[:at]
        elif b:
            start = rng.randrange(len(b))
            b[at:at] = b[start:start + rng.randint(1, 16)]
    return bytes(b)


def test_fuzz_never_crashes() -> None:
    rng = random.Random(20231114)
    seeds = corpus()
    outcomes = {"ok": 0, "error": 0}
    for n in range(30000):
        decoder, seed = rng.choice(seeds)
        data = (mutate(rng, seed) if n % 3 else
                bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
        try:
            result = decoder(data)
        except DecodeError as e:
            assert str(e) and codec.error_code_for(e)
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        # whatever decodes encodes again and decodes to the same value
        if decoder is codec.decode_event:
            assert codec.decode_event(codec.encode_event(result.env, result.body)) == result
        else:
            assert codec.decode_control(codec.encode_control(result)) == result
    assert outcomes["ok"] > 100 and outcomes["error"] > 20000, outcomes
