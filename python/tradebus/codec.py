"""Validating msgpack encode and decode of tradebus events and control messages.

The encoder writes the same bytes as the C++ ``encode_event`` / ``encode_control``: keys in the
C++ ``fields()`` order, every int in its smallest msgpack format, floats as float 64, an enum as
its wire name, a nested struct as a map. Unlike the C++ encoder it refuses (EncodeError) what
every reader would reject: a str or array over its limit, a message over 1 MiB.

The decoder checks everything PROTOCOL.md "Validation rules and limits" lists, in the C++
decoder's order, and fails with :class:`DecodeError` carrying the C++ ``decode_error``'s path
and text (``data.qty: missing required key``, ``data.side: expected one of BUY|SELL|FLAT, got
"buy"``). No input makes it raise anything else, nor allocate by a length the input merely
claims. msgpack-python parses (its C code, refusing array and map headers over the limits
before allocating); only bytes it refuses go through :class:`_Reader`, a port of the C++
reader, so that those get the C++ text too.

Fixed point (PROTOCOL.md "Numbers"): :func:`to_fixed` and :func:`from_fixed` convert between
decimals and the wire's int64 units of 1e-8, exactly.
"""

from __future__ import annotations

import dataclasses
import decimal
from decimal import Decimal
from typing import Any

import msgpack

from . import schema

__all__ = [
    "DecodeError",
    "Decoded",
    "EncodeError",
    "decode_control",
    "decode_event",
    "encode_control",
    "encode_event",
    "error_code_for",
    "from_fixed",
    "to_fixed",
]

_LIMITS = schema.LIMITS
_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64 = (0, (1 << 64) - 1)


class DecodeError(ValueError):
    """Bytes that are not a valid message. `path` names the key (``data.qty``,
    ``nodes[2].name``; ``""`` for the whole message), `reason` what is wrong with it; ``str()``
    is ``"path: reason"`` (just the reason when the path is empty), as C++ ``decode_error``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class EncodeError(ValueError):
    """A value the wire cannot carry (wrong Python type, out of range, over a limit), found
    before any byte is written. `path` and `reason` as in :class:`DecodeError`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded event: its envelope and its body (an instance of ``schema.EVENTS[type]``)."""

    env: Any  # schema.Envelope (generated, so not usable as an annotation here)
    body: Any

    @property
    def type(self) -> str:
        """The wire type name (``"tick"``)."""
        return self.body.TYPE  # type: ignore[no-any-return]


# ---------------------------------------------------------------- compiled field lists

# A field type as (kind, argument): ("int", None), ("enum", names), ("array", item type),
# ("struct", class).
_Type = tuple[str, Any]
_UINT: _Type = ("uint", None)


def _compile(t: dict[str, Any]) -> _Type:
    kind = t["type"]
    if kind == "enum":
        return kind, schema.ENUMS[t["enum"]]
    if kind == "array":
        return kind, _compile(t["items"])
    if kind == "struct":
        return kind, schema.STRUCTS[t["struct"]]
    return kind, None


_CLASSES = (schema.Envelope, *schema.EVENTS.values(), *schema.CONTROL.values(),
            *schema.STRUCTS.values())
# class -> ((key, type, optional on read), ...) in encoder order
_FIELDS: dict[type, tuple[tuple[str, _Type, bool], ...]] = {
    cls: tuple((f["key"], _compile(f), bool(f.get("optional"))) for f in cls.FIELDS)
    for cls in _CLASSES
}
# class -> the keys its decoder looks up (the rest of a map is unknown keys)
_KNOWN: dict[type, frozenset[str]] = {cls: frozenset(f[0] for f in fs)
                                      for cls, fs in _FIELDS.items()}
_EVENT_TOP = frozenset({"v", "type", "data"}) | _KNOWN[schema.Envelope]
_CONTROL_TOP = {cls: _KNOWN[cls] | {"v", "type"} for cls in schema.CONTROL.values()}


def _join(path: str, key: str) -> str:
    """``data`` + ``qty`` -> ``data.qty``; ``nodes`` + ``[2]`` -> ``nodes[2]``."""
    if path and key and key[0] != "[":
        return f"{path}.{key}"
    return path + key


# ---------------------------------------------------------------- decoding


class _Map(list):  # type: ignore[type-arg]
    """A decoded msgpack map: its (key, value) pairs in wire order, duplicates kept, so the
    decoder can refuse duplicate and non-str keys (a dict would keep the last one silently)."""

    __slots__ = ()


class _Ext:
    """Any decoded ext: no decoder reads an ext's content, whatever its type code."""

    __slots__ = ()


_EXT = _Ext()


def _kind(v: Any) -> str:
    """The msgpack type of a decoded value, named as C++ ``kind_name`` names it."""
    t = type(v)
    if t is str:
        return "str"
    if t is bool:
        return "bool"
    if t is int:
        return "unsigned int" if v >= 0 else "negative int"
    if t is float:
        return "float"
    if t is _Map:
        return "map"
    if t is list:
        return "array"
    if t is bytes:
        return "bin"
    if v is None:
        return "nil"
    return "ext"  # _Ext, msgpack.Timestamp


def _got(v: Any) -> str:
    return "got " + _kind(v)


def _measure(s: str) -> tuple[int, bool]:
    """(bytes on the wire, is valid UTF-8) of a str decoded with surrogateescape: invalid
    bytes became lone surrogates, which valid UTF-8 never decodes to."""
    if s.isascii():
        return len(s), True
    try:
        return len(s.encode("utf-8")), True
    except UnicodeEncodeError:
        return len(s.encode("utf-8", "surrogateescape")), False


def _over_limit(v: Any) -> str | None:
    """Why a str, array or map breaks the limits every value is held to, known key or not."""
    t = type(v)
    if t is str:
        size, valid = _measure(v)
        if size > _LIMITS.max_string_bytes:
            return f"str of {size} bytes, limit {_LIMITS.max_string_bytes}"
        return None if valid else "str is not valid UTF-8"
    if t is list and len(v) > _LIMITS.max_array_items:
        return f"array of {len(v)} items, limit {_LIMITS.max_array_items}"
    if t is _Map and len(v) > _LIMITS.max_map_keys:
        return f"map has {len(v)} keys, limit {_LIMITS.max_map_keys}"
    return None


def _shown(s: str, limit: int) -> str:
    """The first `limit` bytes of `s` for an error text, or ``<not UTF-8>`` (as C++)."""
    try:
        return s.encode("utf-8", "surrogateescape")[:limit].decode("utf-8")
    except UnicodeDecodeError:
        return "<not UTF-8>"


def _unpackb(data: bytes, max_items: int, max_keys: int) -> Any:
    # A str, bin or ext cannot claim more bytes than the message holds; an array or map header
    # is refused above its limit before msgpack-python allocates room for its items.
    return msgpack.unpackb(
        data, raw=False, unicode_errors="surrogateescape", strict_map_key=False,
        object_pairs_hook=_Map, ext_hook=lambda code, payload: _EXT, use_list=True,
        max_str_len=_LIMITS.max_message_bytes,
        max_bin_len=_LIMITS.max_message_bytes, max_ext_len=_LIMITS.max_message_bytes,
        max_array_len=max_items, max_map_len=max_keys)


def _unpack(data: bytes) -> Any:
    """The one msgpack value `data` holds, maps as :class:`_Map`; DecodeError otherwise."""
    try:
        return _unpackb(data, _LIMITS.max_array_items, _LIMITS.max_map_keys)
    except MemoryError:
        raise DecodeError("", "out of memory while decoding") from None
    except Exception:  # whatever msgpack-python refuses: the reason comes next
        pass
    reader = _Reader(data)
    if (err := _framing_error(reader)) is not None:
        raise err
    # Sound framing, so every count is backed by bytes: what is left is an array or map over
    # its limit, which the decoder names with its path once the value is parsed without the
    # count limits, or an ext of type -1 that is not a valid msgpack timestamp (msgpack-python
    # parses those itself; the C++ decoder, like this one, reads no ext's content): retyped.
    patched = bytearray(data)
    for at in reader.timestamps:
        patched[at] = 0
    try:
        return _unpackb(patched, len(data), len(data))
    except Exception:  # not expected: the framing is sound
        raise DecodeError("", "truncated or invalid msgpack") from None


class _Reader:
    """A port of the C++ bounded msgpack cursor (schema/msgpack_reader.cpp), run only on bytes
    msgpack-python refused, to report what the C++ decoder reports for them."""

    __slots__ = ("data", "pos", "timestamps")
    _INTS = {0xCC: (1, False), 0xCD: (2, False), 0xCE: (4, False), 0xCF: (8, False),
             0xD0: (1, True), 0xD1: (2, True), 0xD2: (4, True), 0xD3: (8, True)}
    _SIZED = {0xC4: ("bin", 1), 0xC5: ("bin", 2), 0xC6: ("bin", 4), 0xD9: ("str", 1),
              0xDA: ("str", 2), 0xDB: ("str", 4), 0xC7: ("ext", 1), 0xC8: ("ext", 2),
              0xC9: ("ext", 4)}
    _FIXED = {0xC0: ("nil", 0), 0xC2: ("bool", 0), 0xC3: ("bool", 0), 0xCA: ("float", 4),
              0xCB: ("float", 8), 0xD4: ("ext", 2), 0xD5: ("ext", 3), 0xD6: ("ext", 5),
              0xD7: ("ext", 9), 0xD8: ("ext", 17)}
    _COUNTED = {0xDC: ("array", 2), 0xDD: ("array", 4), 0xDE: ("map", 2), 0xDF: ("map", 4)}

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.timestamps: list[int] = []  # where the type byte of an ext of type -1 is

    def _take(self, n: int) -> bytes | None:
        if len(self.data) - self.pos < n:
            return None
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def read(self) -> tuple[str, int, bytes] | None:
        """(kind name, item count, str payload) of the next value's header, consuming a str,
        bin or ext payload but no array or map item; None when truncated or 0xc1."""
        head = self._take(1)
        if head is None:
            return None
        b = head[0]
        if b <= 0x7F or b >= 0xE0:
            return ("unsigned int" if b <= 0x7F else "negative int"), 0, b""
        if b <= 0x9F:
            return ("map" if b <= 0x8F else "array"), b & 0x0F, b""
        if b <= 0xBF:
            payload = self._take(b & 0x1F)
            return None if payload is None else ("str", 0, payload)
        if b in self._INTS:
            size, signed = self._INTS[b]
            raw = self._take(size)
            if raw is None:
                return None
            negative = signed and int.from_bytes(raw, "big", signed=True) < 0
            return ("negative int" if negative else "unsigned int"), 0, b""
        if b in self._FIXED:
            kind, size = self._FIXED[b]
            payload = self._take(size)
            if payload is None:
                return None
            if kind == "ext" and payload[0] == 0xFF:
                self.timestamps.append(self.pos - size)
            return kind, 0, b""
        if b in self._SIZED or b in self._COUNTED:
            kind, width = self._SIZED.get(b) or self._COUNTED[b]
            length = self._take(width)
            if length is None:
                return None
            n = int.from_bytes(length, "big")
            if b in self._COUNTED:
                return kind, n, b""
            payload = self._take(n + (kind == "ext"))  # an ext's type byte
            if payload is None:
                return None
            if kind == "ext" and payload[0] == 0xFF:
                self.timestamps.append(self.pos - len(payload))
            return kind, 0, payload
        return None  # 0xc1, never used

    def skip(self, depth_left: int) -> bool:
        """Skips one whole value; False on bad bytes or containers nested deeper than allowed."""
        head = self.read()
        if head is None:
            return False
        kind, count, _ = head
        if kind not in ("array", "map"):
            return True
        items = count * 2 if kind == "map" else count
        if depth_left == 0 or items > len(self.data) - self.pos:
            return False
        return all(self.skip(depth_left - 1) for _ in range(items))


def _framing_error(r: _Reader) -> DecodeError | None:
    """What the C++ decoder reports while it reads the top-level map (its keys, the framing and
    nesting of every value, trailing bytes), or None when all that is sound."""
    head = r.read()
    if head is None:
        return DecodeError("", "truncated or invalid msgpack")
    kind, count, _ = head
    if kind != "map":
        return DecodeError("", f"expected map, got {kind}")
    if count > _LIMITS.max_map_keys:
        return DecodeError("", f"map has {count} keys, limit {_LIMITS.max_map_keys}")
    seen: set[str] = set()
    for k in range(count):
        key = r.read()
        if key is None:
            return DecodeError("", f"truncated map (key {k})")
        if key[0] != "str":
            return DecodeError("", f"map key {k} is not a str, got {key[0]}")
        if len(key[2]) > _LIMITS.max_string_bytes:
            return DecodeError("", f"map key {k} of {len(key[2])} bytes, limit "
                                   f"{_LIMITS.max_string_bytes}")
        try:
            name = key[2].decode("utf-8")
        except UnicodeDecodeError:
            return DecodeError("", f"map key {k} is not valid UTF-8")
        if name in seen:
            return DecodeError(name, "duplicate key")
        seen.add(name)
        if not r.skip(_LIMITS.max_depth):
            return DecodeError(name, "truncated, invalid or too deeply nested value")
    if r.pos != len(r.data):
        return DecodeError("", f"{len(r.data) - r.pos} trailing bytes after the message")
    return None


def _nests_within(v: Any, levels: int) -> bool:
    """True when `v` holds at most `levels` levels of arrays and maps (itself included)."""
    t = type(v)
    if t is not list and t is not _Map:
        return True
    if levels == 0:
        return False
    items = (x for pair in v for x in pair) if t is _Map else v  # a map's keys count too
    return all(_nests_within(x, levels - 1) for x in items
               if type(x) is list or type(x) is _Map)


def _read_map(v: Any, path: str, top: bool = False) -> dict[str, Any]:
    """The entries of map `v` after checking its keys (str, bounded, UTF-8, unique). At the top
    level also each value's nesting, as the C++ reader does while skipping values: that bounds
    every deeper walk, so nothing below checks depth again."""
    if type(v) is not _Map:
        raise DecodeError(path, f"expected map, {_got(v)}")
    if (why := _over_limit(v)) is not None:
        raise DecodeError(path, why)
    entries: dict[str, Any] = {}
    for k, (key, value) in enumerate(v):
        if type(key) is not str:
            raise DecodeError(path, f"map key {k} is not a str, {_got(key)}")
        size, valid = _measure(key)
        if size > _LIMITS.max_string_bytes:
            raise DecodeError(path, f"map key {k} of {size} bytes, limit "
                                    f"{_LIMITS.max_string_bytes}")
        if not valid:
            raise DecodeError(path, f"map key {k} is not valid UTF-8")
        if key in entries:
            raise DecodeError(_join(path, key), "duplicate key")
        entries[key] = value
        if top and not _nests_within(value, _LIMITS.max_depth):
            raise DecodeError(_join(path, key), "truncated, invalid or too deeply nested value")
    return entries


def _check_unknown(v: Any) -> tuple[str, str] | None:
    """(path relative to `v`, reason) when a value no decoder reads breaks a limit: every str,
    array and map within its limit, every map key a unique str (depth is bounded already)."""
    if (why := _over_limit(v)) is not None:
        return "", why
    t = type(v)
    if t is list:
        for k, item in enumerate(v):
            if (e := _check_unknown(item)) is not None:
                return _join(f"[{k}]", e[0]), e[1]
    elif t is _Map:
        seen: set[str] = set()
        for k, (key, item) in enumerate(v):
            if type(key) is not str:
                return "", f"map key {k} is not a str, {_got(key)}"
            if (why := _over_limit(key)) is not None:
                return "", f"map key {k}: {why}"
            if key in seen:
                return key, "duplicate key"
            seen.add(key)
            if (e := _check_unknown(item)) is not None:
                return _join(key, e[0]), e[1]
    return None


def _check_unknown_keys(entries: dict[str, Any], path: str, known: frozenset[str]) -> None:
    for key, value in entries.items():
        if key not in known and (e := _check_unknown(value)) is not None:
            raise DecodeError(_join(_join(path, key), e[0]), e[1])


def _value(v: Any, path: str, t: _Type) -> Any:
    """The value of a known key, checked against its field type."""
    kind, arg = t
    vt = type(v)
    if kind == "int":
        if vt is not int:
            raise DecodeError(path, f"expected int, {_got(v)}")
        if v > _INT64[1]:
            raise DecodeError(path, "int out of range for int64")
        return v
    if kind == "uint":
        if vt is not int:
            raise DecodeError(path, f"expected unsigned int, {_got(v)}")
        if v < 0:
            raise DecodeError(path, "expected unsigned int, got negative int")
        return v
    if kind == "str":
        if vt is not str:
            raise DecodeError(path, f"expected str, {_got(v)}")
        if (why := _over_limit(v)) is not None:
            raise DecodeError(path, why)
        return v
    if kind == "bool":
        if vt is not bool:
            raise DecodeError(path, f"expected bool, {_got(v)}")
        return v
    if kind == "float":
        if vt is float:
            return v
        if vt is int:  # JSON-minded writers send 1 for 1.0
            return float(v)
        raise DecodeError(path, f"expected float, {_got(v)}")
    if kind == "enum":
        if vt is not str:
            raise DecodeError(path, f"expected str, {_got(v)}")
        if v not in arg:
            raise DecodeError(path, f'expected one of {"|".join(arg)}, got "{_shown(v, 32)}"')
        return v
    if kind == "array":
        if vt is not list:
            raise DecodeError(path, f"expected array, {_got(v)}")
        if (why := _over_limit(v)) is not None:
            raise DecodeError(path, why)
        return [_value(item, f"{path}[{k}]", arg) for k, item in enumerate(v)]
    return _struct(v, path, arg)


def _fields(entries: dict[str, Any], path: str, cls: type) -> Any:
    """An instance of `cls` from the entries of its map; absent optional keys keep their
    default, absent required ones fail."""
    values = {}
    for key, t, optional in _FIELDS[cls]:
        if key in entries:
            values[key] = _value(entries[key], _join(path, key), t)
        elif not optional:
            raise DecodeError(_join(path, key), "missing required key")
    return cls(**values)


def _struct(v: Any, path: str, cls: type) -> Any:
    entries = _read_map(v, path)
    obj = _fields(entries, path, cls)
    _check_unknown_keys(entries, path, _KNOWN[cls])
    return obj


def _header(data: bytes) -> tuple[dict[str, Any], str]:
    """The top-level entries and the ``type`` of a message, after the size, framing, key,
    nesting and version checks every message gets."""
    size = memoryview(data).nbytes  # TypeError for what is not bytes-like: a caller's bug
    if size == 0:
        raise DecodeError("", "empty message")
    if size > _LIMITS.max_message_bytes:
        raise DecodeError("", f"message of {size} bytes, limit {_LIMITS.max_message_bytes}")
    top = _read_map(_unpack(data), "", top=True)
    if "v" not in top:
        raise DecodeError("v", "missing required key")
    version = _value(top["v"], "v", _UINT)
    if not schema.MIN_VERSION <= version <= schema.VERSION:
        raise DecodeError("v", f"unsupported schema version {version} "
                               f"(supported {schema.MIN_VERSION}..{schema.VERSION})")
    if "type" not in top:
        raise DecodeError("type", "missing required key")
    type_name = top["type"]
    if type(type_name) is not str:
        raise DecodeError("type", f"expected str, {_got(type_name)}")
    return top, type_name


def decode_event(data: bytes) -> Decoded:
    """Decodes and validates one event body (the frame after the topic)."""
    try:
        top, type_name = _header(data)
        cls = schema.EVENTS.get(type_name)
        if cls is None:
            raise DecodeError("type", f'unknown event type "{_shown(type_name, 64)}"')
        env = _fields(top, "", schema.Envelope)
        if "data" not in top:
            raise DecodeError("data", "missing required key")
        body = _struct(top["data"], "data", cls)
        _check_unknown_keys(top, "", _EVENT_TOP)
    except MemoryError:
        raise DecodeError("", "out of memory while decoding") from None
    return Decoded(env, body)


def decode_control(data: bytes) -> Any:
    """Decodes and validates one control-plane frame into an instance of
    ``schema.CONTROL[type]`` (a request or a reply)."""
    try:
        top, type_name = _header(data)
        cls = schema.CONTROL.get(type_name)
        if cls is None:
            raise DecodeError("type", f'unknown control message type "{_shown(type_name, 64)}"')
        msg = _fields(top, "", cls)
        _check_unknown_keys(top, "", _CONTROL_TOP[cls])
    except MemoryError:
        raise DecodeError("", "out of memory while decoding") from None
    return msg


def error_code_for(err: DecodeError) -> str:
    """The ``error`` code a control endpoint answers a request that did not decode with:
    ``unsupported_version`` when key ``v`` is the problem, ``unknown_type`` when ``type`` is a
    str naming no control message, ``bad_request`` for anything else (C++ error_code_for)."""
    if err.path == "v":
        return "unsupported_version"
    if err.path == "type" and err.reason.startswith("unknown"):
        return "unknown_type"
    return "bad_request"


# ---------------------------------------------------------------- encoding


def _wire(value: Any, path: str, t: _Type) -> Any:
    """`value` as msgpack-python should pack it for field type `t`; EncodeError when the wire
    cannot carry it or a reader would refuse it (over a limit)."""
    kind, arg = t
    if kind in ("int", "uint"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise EncodeError(path, f"expected int, got {type(value).__name__}")
        low, high = _INT64 if kind == "int" else _UINT64
        if not low <= value <= high:
            raise EncodeError(path, f"{int(value)} out of range for {kind}64")
        return int(value)
    if kind == "str":
        if not isinstance(value, str):
            raise EncodeError(path, f"expected str, got {type(value).__name__}")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise EncodeError(path, "str is not valid UTF-8 (lone surrogate)") from None
        if size > _LIMITS.max_string_bytes:
            raise EncodeError(path, f"str of {size} bytes, limit {_LIMITS.max_string_bytes}")
        return str(value)
    if kind == "bool":
        if type(value) is not bool:
            raise EncodeError(path, f"expected bool, got {type(value).__name__}")
        return value
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise EncodeError(path, f"expected float, got {type(value).__name__}")
        return float(value)  # always float 64 on the wire, as the C++ encoder writes it
    if kind == "enum":
        if not isinstance(value, str) or value not in arg:
            raise EncodeError(path, f"expected one of {'|'.join(arg)}, got {value!r}")
        return str(value)
    if kind == "array":
        if not isinstance(value, (list, tuple)):
            raise EncodeError(path, f"expected list, got {type(value).__name__}")
        if len(value) > _LIMITS.max_array_items:
            raise EncodeError(path, f"array of {len(value)} items, limit "
                                    f"{_LIMITS.max_array_items}")
        return [_wire(item, f"{path}[{k}]", arg) for k, item in enumerate(value)]
    if type(value) is not arg:
        raise EncodeError(path, f"expected {arg.__name__}, got {type(value).__name__}")
    return _wire_fields({}, value, path)


def _wire_fields(out: dict[str, Any], obj: Any, path: str) -> dict[str, Any]:
    for key, t, _ in _FIELDS[type(obj)]:
        out[key] = _wire(getattr(obj, key), _join(path, key), t)
    return out


def _pack(message: dict[str, Any]) -> bytes:
    data: bytes = msgpack.packb(message, use_bin_type=True)
    if len(data) > _LIMITS.max_message_bytes:
        raise EncodeError("", f"message of {len(data)} bytes, limit "
                              f"{_LIMITS.max_message_bytes}")
    return data


def encode_event(env: Any, body: Any) -> bytes:
    """One event body: `env` (a ``schema.Envelope``) and `body` (an instance of a class in
    ``schema.EVENTS``), byte for byte what the C++ ``encode_event`` writes for them."""
    cls = type(body)
    if schema.EVENTS.get(getattr(cls, "TYPE", None)) is not cls:  # type: ignore[arg-type]
        raise EncodeError("", f"not an event: {cls.__name__}")
    if type(env) is not schema.Envelope:
        raise EncodeError("", f"expected an Envelope, got {type(env).__name__}")
    message = _wire_fields({"v": schema.VERSION, "type": cls.TYPE}, env, "")
    message["data"] = _wire_fields({}, body, "data")
    return _pack(message)


def encode_control(msg: Any) -> bytes:
    """One control frame for `msg` (an instance of a class in ``schema.CONTROL``), byte for
    byte what the C++ ``encode_control`` writes: ``v``, ``type``, then the message's keys."""
    cls = type(msg)
    if schema.CONTROL.get(getattr(cls, "TYPE", None)) is not cls:  # type: ignore[arg-type]
        raise EncodeError("", f"not a control message: {cls.__name__}")
    return _pack(_wire_fields({"v": schema.VERSION, "type": cls.TYPE}, msg, ""))


# ---------------------------------------------------------------- fixed point

# Private: independent of the caller's decimal context, every operation exact or refused.
_DECIMAL = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP,
                           traps=[decimal.InvalidOperation, decimal.Overflow])
_DIGITS = len(str(schema.PRICE_SCALE)) - 1  # 8: PRICE_SCALE is 10**8
if 10**_DIGITS != schema.PRICE_SCALE:
    raise schema.SchemaError(f"price_scale {schema.PRICE_SCALE} is not a power of 10")
_UNIT = Decimal(1).scaleb(-_DIGITS)


def to_fixed(value: Decimal | int | str | float) -> int:
    """`value` in units of 1e-8 (the wire's prices and money), rounded half away from zero at
    the 8th decimal: ``to_fixed("189.50") == 18950000000``,
    ``to_fixed(Decimal("-12.3456789")) == -1234567890``. Exact for Decimal, int and str. A
    float is taken by its shortest repr (``0.1`` as ``"0.1"``), not by its binary value, so
    ``to_fixed(0.1) == 10000000``. ValueError for a bool, NaN, an infinity, text that is not a
    number, or a result outside int64."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str, float)):
        raise ValueError(f"to_fixed: expected Decimal, int, str or float, got "
                         f"{type(value).__name__}")
    try:
        d = Decimal(repr(value) if isinstance(value, float) else value, context=_DECIMAL)
        if not d.is_finite():
            raise ValueError(f"to_fixed: {value!r} is not a finite number")
        fixed = int(d.quantize(_UNIT, context=_DECIMAL).scaleb(_DIGITS, context=_DECIMAL))
    except decimal.DecimalException:
        raise ValueError(f"to_fixed: {value!r} is not a number in int64 range of 1e-8 "
                         f"units") from None
    if not _INT64[0] <= fixed <= _INT64[1]:
        raise ValueError(f"to_fixed: {value!r} is outside the int64 range of 1e-8 units")
    return fixed


def from_fixed(fixed: int) -> Decimal:
    """The exact decimal value of `fixed` units of 1e-8: ``from_fixed(18950000000) ==
    Decimal("189.50000000")``."""
    if not isinstance(fixed, int) or isinstance(fixed, bool):
        raise TypeError(f"from_fixed: expected int, got {type(fixed).__name__}")
    return Decimal(fixed).scaleb(-_DIGITS, context=_DECIMAL)
