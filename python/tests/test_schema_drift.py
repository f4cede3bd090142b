"""The package's schema.json is exactly what the C++ side says the wire is (`tradebus schema
--json`, from the fields() lists the C++ codec runs on). When a C++ event or control message
changes, this fails until python/tradebus/schema.json is regenerated:

    build/cli/tradebus schema --json > python/tradebus/schema.json
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bus import build_dir

import tradebus
from tradebus import schema

SHIPPED = Path(tradebus.__file__).with_name("schema.json")


def cpp_schema_text() -> str:
    r = subprocess.run([str(build_dir() / "cli" / "tradebus"), "schema", "--json"],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout


def test_shipped_schema_is_what_the_cpp_side_prints() -> None:
    text = cpp_schema_text()
    assert json.loads(text) == json.loads(SHIPPED.read_text()), (
        "python/tradebus/schema.json differs from `tradebus schema --json`: regenerate it")
    assert text == SHIPPED.read_text()  # byte for byte: no hand edits either


def test_the_package_has_a_class_for_every_type_the_cpp_side_knows() -> None:
    cpp = json.loads(cpp_schema_text())
    assert set(schema.EVENTS) == {e["type"] for e in cpp["events"]}
    assert set(schema.CONTROL) == {c["type"] for c in cpp["control"]}
    assert set(schema.STRUCTS) == {s["name"] for s in cpp["structs"]}
    for e in cpp["events"]:
        cls = schema.EVENTS[e["type"]]
        assert [f["key"] for f in cls.FIELDS] == [f["key"] for f in e["fields"]], e["type"]
