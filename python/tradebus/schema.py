"""The tradebus wire schema as Python classes, generated at import from ``schema.json``.

``schema.json`` is what ``tradebus schema --json`` prints: every event type, control message
and nested map with its keys in the C++ encoder's order, straight from the ``fields()`` lists
the C++ codec runs on. Generating the classes from it (rather than writing them by hand) is
what keeps this package from drifting from the C++ side (PROTOCOL.md "Events", "Control
plane").

Every class is a frozen, keyword-only dataclass named in CamelCase of its wire name (``tick``
-> ``Tick``, ``register_ok`` -> ``RegisterOk``, ``working_order`` -> ``WorkingOrder``), with
defaults for every key: 0, ``""``, ``False``, ``0.0``, an enum's first name, an empty list, a
default nested instance, or, for a key that is optional on read, the default the JSON gives
(what a decoder takes when the key is absent). Enum values are their wire names (``"BUY"``).
Class attributes: ``FIELDS`` (the JSON field list), ``TYPE`` (the wire name) on events and
control messages, ``HOMES`` (``(topic, is_prefix)`` pairs: where it is published) on events,
``REPLY`` on control messages.

The environment variable ``TRADEBUS_SCHEMA_JSON`` names another schema file to load instead
of the one next to this module (to test against a newer C++ build).
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import os
from pathlib import Path
from typing import Any

__all__ = [
    "CONTROL",
    "ENUMS",
    "EVENTS",
    "LIMITS",
    "MIN_VERSION",
    "PRICE_SCALE",
    "STRUCTS",
    "TOPICS",
    "VERSION",
    "Envelope",
    "Limits",
    "SchemaError",
    "class_name",
]


class SchemaError(Exception):
    """``schema.json`` is unreadable or inconsistent (a packaging error, not bad input)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds every decoder enforces (C++ ``tradebus::schema::limits``)."""

    max_message_bytes: int
    max_string_bytes: int
    max_array_items: int
    max_map_keys: int
    max_depth: int


def class_name(wire_name: str) -> str:
    """CamelCase of a wire name: ``order_rejected`` -> ``OrderRejected``."""
    return "".join(part[:1].upper() + part[1:] for part in wire_name.split("_"))


def _schema_path() -> Path:
    override = os.environ.get("TRADEBUS_SCHEMA_JSON")
    return Path(override) if override else Path(__file__).with_name("schema.json")


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SchemaError(f"{path}: cannot load the wire schema: {e}") from e
    if not isinstance(doc, dict):
        raise SchemaError(f"{path}: expected a JSON object")
    return doc


_PATH = _schema_path()
_DOC = _load(_PATH)


def _get(doc: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """doc[key] checked to be a `kind`, or a SchemaError naming the key."""
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SchemaError(f"{_PATH}: {where}{key}: expected {kind.__name__}")
    return value


VERSION: int = _get(_DOC, "version", int)
MIN_VERSION: int = _get(_DOC, "min_version", int)
PRICE_SCALE: int = _get(_DOC, "price_scale", int)
LIMITS = Limits(**{f.name: _get(_get(_DOC, "limits", dict), f.name, int, "limits.")
                   for f in dataclasses.fields(Limits)})
ENUMS: dict[str, tuple[str, ...]] = {
    name: tuple(names) for name, names in _get(_DOC, "enums", dict).items()
}
TOPICS: dict[str, str] = dict(_get(_DOC, "topics", dict))

_SCALAR_DEFAULTS: dict[str, Any] = {"int": 0, "uint": 0, "str": "", "bool": False, "float": 0.0}
_SCALAR_ANNOTATIONS: dict[str, type] = {"int": int, "uint": int, "str": str, "bool": bool,
                                        "float": float}

_struct_specs: dict[str, list[dict[str, Any]]] = {
    _get(s, "name", str, "structs[]."): _get(s, "fields", list, "structs[].")
    for s in _get(_DOC, "structs", list)
}

STRUCTS: dict[str, type] = {}
_building: set[str] = set()


def _struct(name: str, where: str) -> type:
    """The class of nested map type `name`, built on first use (structs may refer forward)."""
    if name in STRUCTS:
        return STRUCTS[name]
    if name not in _struct_specs:
        raise SchemaError(f"{_PATH}: {where}: unknown struct {name!r}")
    if name in _building:
        raise SchemaError(f"{_PATH}: struct {name!r} contains itself")
    _building.add(name)
    cls = _make_class(name, _struct_specs[name], {}, f"structs.{name}")
    _building.discard(name)
    STRUCTS[name] = cls
    return cls


def _annotation(t: dict[str, Any], where: str) -> Any:
    kind = t.get("type")
    if kind in _SCALAR_ANNOTATIONS:
        return _SCALAR_ANNOTATIONS[kind]
    if kind == "enum":
        if t.get("enum") not in ENUMS:
            raise SchemaError(f"{_PATH}: {where}: unknown enum {t.get('enum')!r}")
        return str
    if kind == "array":
        items = t.get("items")
        if not isinstance(items, dict):
            raise SchemaError(f"{_PATH}: {where}: array without items")
        return list[_annotation(items, where + "[]")]  # type: ignore[misc]
    if kind == "struct":
        return _struct(t.get("struct", ""), where)
    raise SchemaError(f"{_PATH}: {where}: unknown field type {kind!r}")


def _field(spec: dict[str, Any], where: str) -> tuple[str, Any, Any]:
    """(name, annotation, dataclasses.field) for one JSON FIELD."""
    key = spec.get("key")
    if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
        raise SchemaError(f"{_PATH}: {where}: key {key!r} is not a Python identifier")
    where = f"{where}.{key}"
    annotation = _annotation(spec, where)
    kind = spec["type"]
    if "default" in spec:
        default = spec["default"]
        if kind == "array":
            if default != []:
                raise SchemaError(f"{_PATH}: {where}: an array's default must be []")
            return key, annotation, dataclasses.field(default_factory=list)
        if kind == "float" and isinstance(default, int):
            default = float(default)
        return key, annotation, dataclasses.field(default=default)
    if kind in _SCALAR_DEFAULTS:
        return key, annotation, dataclasses.field(default=_SCALAR_DEFAULTS[kind])
    if kind == "enum":
        return key, annotation, dataclasses.field(default=ENUMS[spec["enum"]][0])
    if kind == "array":
        return key, annotation, dataclasses.field(default_factory=list)
    return key, annotation, dataclasses.field(default_factory=annotation)


def _make_class(wire_name: str, fields: list[dict[str, Any]], attrs: dict[str, Any],
                where: str) -> type:
    cls = dataclasses.make_dataclass(
        class_name(wire_name),
        [_field(spec, where) for spec in fields],
        namespace={"FIELDS": tuple(fields), **attrs},
        frozen=True, kw_only=True, slots=True,
    )
    cls.__module__ = __name__
    return cls


def _unique_names(doc: dict[str, Any]) -> None:
    """Fails unless every event, control message and struct has its own class name."""
    seen: dict[str, str] = {"Envelope": "envelope"}
    for section, name_key in (("events", "type"), ("control", "type"), ("structs", "name")):
        for entry in _get(doc, section, list):
            wire = _get(entry, name_key, str, f"{section}[].")
            name = class_name(wire)
            if name in seen:
                raise SchemaError(f"{_PATH}: {section} {wire!r} and {seen[name]!r} would both "
                                  f"be class {name}")
            seen[name] = f"{section} {wire}"


def _build_events(doc: dict[str, Any]) -> dict[str, type]:
    events: dict[str, type] = {}
    for entry in _get(doc, "events", list):
        wire = entry["type"]
        homes = tuple((_get(h, "topic", str, f"events.{wire}.homes[]."),
                       _get(h, "prefix", bool, f"events.{wire}.homes[]."))
                      for h in _get(entry, "homes", list, f"events.{wire}."))
        events[wire] = _make_class(wire, _get(entry, "fields", list, f"events.{wire}."),
                                   {"TYPE": wire, "HOMES": homes}, f"events.{wire}")
    return events


def _build_control(doc: dict[str, Any]) -> dict[str, type]:
    control: dict[str, type] = {}
    for entry in _get(doc, "control", list):
        wire = entry["type"]
        control[wire] = _make_class(
            wire, _get(entry, "fields", list, f"control.{wire}."),
            {"TYPE": wire, "REPLY": _get(entry, "reply", bool, f"control.{wire}.")},
            f"control.{wire}")
    return control


_unique_names(_DOC)
Envelope = _make_class("envelope", _get(_DOC, "envelope", list), {}, "envelope")
EVENTS: dict[str, type] = _build_events(_DOC)
CONTROL: dict[str, type] = _build_control(_DOC)
for _name in _struct_specs:
    _struct(_name, "structs")

# Every class is also a module attribute: schema.Tick, schema.RegisterOk, schema.WorkingOrder.
for _cls in (*EVENTS.values(), *CONTROL.values(), *STRUCTS.values()):
    if _cls.__name__ in globals():
        raise SchemaError(f"{_PATH}: class {_cls.__name__} shadows a name of this module")
    globals()[_cls.__name__] = _cls
    __all__.append(_cls.__name__)
del _name, _cls
