"""tradebus.config: the getters and their messages, toml++'s positions and syntax errors, CURVE
key files, the trading session, read_node_config, and a drift test against a real C++ node.

The drift test writes bad node files, runs ``tradebus-strategy --check-config`` on each (from
$TRADEBUS_BUILD_DIR, which ctest sets; skipped when it is not set) and requires the
Python reader to print exactly what the C++ node prints: every ``file:line:col: key: message``
line and the final ``tradebus-strategy: N config errors in FILE, not starting``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import zmq

from tradebus import config
from tradebus.config import ConfigError, Section

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = os.environ.get("TRADEBUS_BUILD_DIR", "")
# Without a build dir, a path that does not exist: the drift tests skip, naming it.
STRATEGY_EXE = (Path(BUILD_DIR, "nodes", "strategy", "tradebus-strategy") if BUILD_DIR
                else Path("$TRADEBUS_BUILD_DIR/nodes/strategy/tradebus-strategy"))


def section(text: str, file: str = "t.toml") -> Section:
    return config.loads(text, file)


def syntax_error(text: str | bytes) -> str:
    with pytest.raises(ConfigError) as e:
        config.loads(text, "t.toml")
    assert len(e.value.lines) == 1
    return e.value.lines[0]


# ---------------------------------------------------------------------------------------------
# getters


def test_string() -> None:
    s = section('a = "x"\nb = 5\n')
    assert s.string("a") == "x"
    assert s.string("absent", "dflt") == "dflt"
    assert s.string("b", "dflt") == "dflt"
    assert s.string("req", required=True) == ""
    assert s.errors == ["t.toml:2:5: b: expected a string, got 5",
                        "t.toml: req: missing required key (expected a string)"]


def test_integer() -> None:
    s = section("a = 7\nb = 100\nc = true\nd = 1.0\ne = -9223372036854775808\n")
    assert s.integer("a", 1, 0, 10) == 7
    assert s.integer("b", 1, 0, 10) == 1
    assert s.integer("c", 2, 0, 10) == 2
    assert s.integer("d", 3, 0, 10) == 3
    assert s.integer("e", 0, -(2**63), 0) == -(2**63)
    assert s.integer("absent", 4, 0, 10) == 4
    s.integer("req", 0, 0, 1, required=True)
    assert s.errors == [
        "t.toml:2:5: b: expected an integer in [0, 10], got 100",
        "t.toml:3:5: c: expected an integer, got true",
        "t.toml:4:5: d: expected an integer, got 1",
        "t.toml: req: missing required key (expected an integer)",
    ]


def test_number() -> None:
    s = section("a = 2\nb = 0.25\nc = 2e9\nd = nan\ne = \"1\"\nf = -inf\n")
    assert s.number("a", 0.0, 0.0, 10.0) == 2.0 and isinstance(s.number("a", 0.0, 0.0, 10.0), float)
    assert s.number("b", 0.0, 0.0, 1.0) == 0.25
    assert s.number("c", 1.5, 0.0, 1e9) == 1.5
    assert s.number("d", 1.5, 0.0, 1.0) == 1.5
    assert s.number("e", 1.5, 0.0, 1.0) == 1.5
    assert s.number("f", 1.5, -1.5, 0.000125) == 1.5
    s.number("req", 0.0, 0.0, 1.0, required=True)
    assert s.errors == [
        "t.toml:3:5: c: expected a number in [0, 1e+09], got 2e+09",
        "t.toml:4:5: d: expected a number in [0, 1], got nan",
        't.toml:5:5: e: expected a number, got "1"',
        "t.toml:6:5: f: expected a number in [-1.5, 0.000125], got -inf",
        "t.toml: req: missing required key (expected a number)",
    ]


def test_boolean() -> None:
    s = section('a = true\nb = "yes"\n')
    assert s.boolean("a", False) is True
    assert s.boolean("b", False) is False
    assert s.boolean("absent", True) is True
    assert s.errors == ['t.toml:2:5: b: expected true or false, got "yes"']


def test_strings() -> None:
    s = section('a = ["x", "y"]\nb = "x"\nc = [\n  "x",\n  2,\n]\nd = []\n[t]\ne = [1]\n')
    assert s.strings("a") == ["x", "y"]
    assert s.strings("b", ["f"]) == ["f"]
    assert s.strings("c", ["f"]) == ["f"]
    assert s.strings("d", ["f"]) == []
    assert s.strings("absent", ("f",)) == ["f"]
    assert s.table("t").strings("e") == []
    assert s.errors == [
        't.toml:2:5: b: expected an array of strings, got "x"',
        "t.toml:5:3: c[1]: expected a string, got 2",
        "t.toml:9:6: t.e[0]: expected a string, got 1",
    ]


def test_endpoint() -> None:
    good = ["tcp://127.0.0.1:5552", "tcp://*:5552", "tcp://host:*", "ipc:///run/x", "inproc://x",
            "tcp://[::1]:1", "tcp://h:65535"]
    bad = {
        "localhost:5552": "missing transport (tcp://, ipc://, inproc://)",
        "udp://h:1": 'unsupported transport "udp"',
        "ipc://": "empty ipc path",
        "inproc://": "empty inproc path",
        "tcp://host": "expected tcp://host:port",
        "tcp://:5": "expected tcp://host:port",
        "tcp://h:0": "port must be 1..65535 or *",
        "tcp://h:65536": "port must be 1..65535 or *",
        "tcp://h:": "port must be 1..65535 or *",
        "tcp://h:+5": "port must be 1..65535 or *",
        "tcp://h:5x": "port must be 1..65535 or *",
    }
    for ep in good:
        assert config.endpoint_error(ep) is None, ep
    for ep, why in bad.items():
        assert config.endpoint_error(ep) == why, ep
    s = section('a = "tcp://h:1"\nb = "tcp://h"\nc = 1\n')
    assert s.endpoint("a") == "tcp://h:1"
    assert s.endpoint("b", "fb") == "fb"
    assert s.endpoint("c", "fb") == "fb"
    assert s.endpoint("d", "fb", required=True) == "fb"
    assert s.errors == [
        't.toml:2:5: b: expected a ZeroMQ endpoint (tcp://host:port or ipc://path): expected '
        'tcp://host:port, got "tcp://h"',
        "t.toml:3:5: c: expected a ZeroMQ endpoint (tcp://host:port or ipc://path), got 1",
        "t.toml: d: missing required key (expected an endpoint)",
    ]


def test_choice() -> None:
    s = section('a = "b"\nc = "z"\nd = 1\n')
    assert s.choice("a", "x", ["x", "b"]) == "b"
    assert s.choice("c", "x", ["x", "b"]) == "x"
    assert s.choice("d", "x", ["x", "b"]) == "x"
    assert s.choice("absent", "x", ["x"]) == "x"
    assert s.errors == ['t.toml:2:5: c: expected one of x|b, got "z"',
                        "t.toml:3:5: d: expected one of x|b, got 1"]


def test_table_and_paths() -> None:
    s = section("x = 5\n[a.b]\nc = 1\n[[arr]]\n")
    b = s.table("a").table("b")
    assert b.present() and b.path == "a.b" and b.integer("c", 0, 0, 9) == 1
    missing = s.table("m", required=True)
    assert not missing.present() and missing.path == "m"
    assert missing.integer("k", 3, 0, 9) == 3 and not missing.has("k")
    assert not s.table("x").present()
    assert not s.table("arr").present()
    assert s.table("opt").path == "opt"
    assert s.errors == ["t.toml: m: missing required table [m]",
                        "t.toml:1:5: x: expected a table, got 5",
                        "t.toml:4:1: arr: expected a table, got an array"]


def test_tables() -> None:
    s = section("empty = []\nnot = 1\n[[items]]\nx = 1\n[[items]]\nx = 99\n")
    items = s.tables("items")
    assert [t.path for t in items] == ["items[0]", "items[1]"]
    assert [t.integer("x", 0, 0, 10) for t in items] == [1, 0]
    assert s.tables("absent") == []
    assert s.tables("empty") == []
    assert s.tables("not") == []
    assert s.errors == [
        "t.toml:6:5: items[1].x: expected an integer in [0, 10], got 99",
        "t.toml:1:9: empty: expected an array of tables ([[empty]]), got an array",
        "t.toml:2:7: not: expected an array of tables ([[not]]), got 1",
    ]


def test_table_keys_has_present() -> None:
    s = section("z = 1\n[b]\n[a]\n[c.d]\n")
    assert s.table_keys() == ["a", "b", "c"]
    assert s.has("z") and not s.has("y") and s.present()
    assert s.table("nope").table_keys() == []


def test_describe_values() -> None:
    s = section('a = 1979-05-27\nb = 07:32:00\nc = 1979-05-27T07:32:00Z\nd = {x = 1}\ne = 1.0\n'
                'f = 123456789.0\ng = "multi\\nline"\n')
    for key in "abcdefg":
        s.integer(key, 0, 0, 1)
    assert s.errors == [
        "t.toml:1:5: a: expected an integer, got a date/time",
        "t.toml:2:5: b: expected an integer, got a date/time",
        "t.toml:3:5: c: expected an integer, got a date/time",
        "t.toml:4:5: d: expected an integer, got a table",
        "t.toml:5:5: e: expected an integer, got 1",
        "t.toml:6:5: f: expected an integer, got 1.23457e+08",
        't.toml:7:5: g: expected an integer, got "multi\nline"',
    ]


def test_error_positions() -> None:
    s = section('a = "x"\n[t]\n')
    s.error("a", "bad a")
    s.error("absent", "bad absent")
    s.error("t", "bad t")
    s.table("t").error("k", "bad k")
    assert s.errors == ["t.toml:1:5: a: bad a", "t.toml: absent: bad absent",
                        "t.toml:2:1: t: bad t", "t.toml: t.k: bad k"]


def test_finish_reports_unknown_keys_in_order() -> None:
    text = ("zeta = 1\ntimeout = 5\nretry_mx_ms = 1\nabc = 2\n[known]\nx = 1\ny = 2\n"
            "[unread]\nq = 1\n[[many]]\nw = 1\n")
    s = section(text)
    s.integer("timeout_ms", 0, 0, 9)
    s.integer("retry_max_ms", 0, 0, 9)
    s.integer("abd", 0, 0, 9)
    s.table("known").integer("x", 0, 0, 9)
    for t in s.tables("many"):
        t.string("v")
    with pytest.raises(ConfigError) as e:
        s.finish()
    assert e.value.lines == [
        't.toml:4:1: abc: unknown key (did you mean "abd"?)',
        't.toml:3:1: retry_mx_ms: unknown key (did you mean "retry_max_ms"?)',
        't.toml:2:1: timeout: unknown key (did you mean "timeout_ms"?)',
        "t.toml:8:2: unread: unknown key",
        "t.toml:1:1: zeta: unknown key",
        't.toml:7:1: known.y: unknown key (did you mean "x"?)',
        't.toml:11:1: many[0].w: unknown key (did you mean "v"?)',
    ]


def test_finish_passes_and_check() -> None:
    s = section("a = 1\n")
    s.integer("a", 0, 0, 1)
    s.check()
    s.finish()
    s.error("a", "cross-field problem")
    with pytest.raises(ConfigError):
        s.check()


def test_config_error_text_and_report() -> None:
    e = ConfigError("f.toml", ["f.toml:1:1: a: x", "f.toml: b: y"])
    assert str(e) == "f.toml:1:1: a: x\nf.toml: b: y\n2 config errors in f.toml"
    assert e.summary == "2 config errors in f.toml"
    assert e.report("tradebus-x") == ("f.toml:1:1: a: x\nf.toml: b: y\n"
                                      "tradebus-x: 2 config errors in f.toml, not starting\n")
    assert ConfigError("f", ["l"]).summary == "1 config error in f"


def test_edit_distance_and_node_names() -> None:
    assert config.edit_distance("kitten", "sitting") == 3
    assert config.edit_distance("", "abc") == 3
    assert config.edit_distance(b"same", b"same") == 0
    for good in ["a", "risk", "md-feed_2", "x" * 64]:
        assert config.valid_node_name(good), good
    for bad in ["", "x" * 65, "Risk", "a b", "a.b", "é", "a/b"]:
        assert not config.valid_node_name(bad), bad


# ---------------------------------------------------------------------------------------------
# toml++ positions and syntax errors (expected lines taken from toml++ 3.3)


def test_positions_of_keys_and_values() -> None:
    text = ('\ufeff# comment\r\nlist = [\r\n  "a",\r\n  2,\r\n]\r\n"quoted key" = 1\r\n'
            '"n\u00e4me".sub = "\u00e9" # note\r\ntext = """\r\nline\r\n"""\r\n[t.u]\r\n'
            "inl = { a = [1, { b = true }] }\r\n[[arr]]\r\nx = 1\r\n[[arr]]\r\nx = 2\r\n")
    s = section(text)
    s.strings("list")
    s.table("n\u00e4me").integer("sub", 0, 0, 1)
    s.integer("text", 0, 0, 1)
    inl = s.table("t").table("u").table("inl")
    inl.integer("a", 0, 0, 1)
    s.tables("arr")[1].string("x")
    with pytest.raises(ConfigError) as e:
        s.finish()
    assert e.value.lines == [
        "t.toml:4:3: list[1]: expected a string, got 2",
        't.toml:7:14: n\u00e4me.sub: expected an integer, got "\u00e9"',
        't.toml:8:8: text: expected an integer, got "line\n"',
        "t.toml:12:13: t.u.inl.a: expected an integer, got an array",
        "t.toml:16:5: arr[1].x: expected a string, got 2",
        "t.toml:6:1: quoted key: unknown key",
        "t.toml:14:1: arr[0].x: unknown key",
    ]


# (document, where, what toml++ says after "Error while parsing ")
SYNTAX_ERRORS = [
    ('a = 1\nname "x"\n', "2:6", "key-value pair: expected '=', saw '\"'"),
    ('name = "abc\n', "1:12",
     "string: unescaped control characters other than TAB (U+0009) are explicitly prohibited"),
    ('name = "abc', "1:12", "string: encountered end-of-file"),
    ('name = "a"\nname = "b"\n', "2:8", "key-value pair: cannot redefine existing string 'name'"),
    ("[node]\n[node]\n", "2:1", "table header: cannot redefine existing table 'node'"),
    ("timeout_ms = 1000ms\n", "1:18", "decimal integer: expected digit, saw 'm'"),
    ("log_level = info\n", "1:16", "floating-point: expected value-terminator, saw 'o'"),
    ("log_level = debug\n", "1:13", "value: could not determine value type"),
    ("n = 9223372036854775808\n", "1:24",
     "decimal integer: '9223372036854775808' is not representable in 64 bits"),
    ("d = 2023-02-29\n", "1:15", "date: expected day between 1 and 28 (inclusive), saw 29"),
    ("a =\nb = 1\n", "1:4", "key-value pair: expected value, saw '\\n'"),
    ('[node\nkind = "x"\n', "1:6", "table header: expected ']', saw '\\n'"),
    ("a = [1 2]\n", "1:8", "array: expected comma or closing ']', saw '2'"),
    ("a = {b = 1}\na.c = 2\n", "2:1",
     "key-value pair: cannot redefine existing table as dotted key-value pair"),
    ('"k y" = 1\n"k y" = 2\n', "2:9",
     "key-value pair: cannot redefine existing integer '\"k k y\" '"),  # sic: toml++'s record
    ('a = "x" y\n', "1:9", "key-value pair: expected a comment or whitespace, saw 'y'"),
    ("\u00e9 = 1\n", "1:1",
     "root table: expected keys, tables, whitespace or comments, saw '\u00e9'"),
    ("x = 1e400\n", "1:10", "floating-point: '1e400' could not be interpreted as a value"),
    ('s = "a\\qb"\n', "1:8", "string: unknown escape sequence '\\q'"),
    ("t = {a = 1,}\n", "1:12",
     "inline table: expected key-value pair, saw closing '}' (dangling comma)"),
    ("b = tru\n", "1:8", "boolean: expected 'true', saw 'tru\n'"),
]


@pytest.mark.parametrize(("text", "where", "what"), SYNTAX_ERRORS)
def test_syntax_errors(text: str, where: str, what: str) -> None:
    assert syntax_error(text) == f"t.toml:{where}: (syntax): Error while parsing {what}"


def test_invalid_utf8_and_bom() -> None:
    assert syntax_error(b'a = "\xff"\n') == (
        "t.toml:1:5: (syntax): Encountered invalid utf-8 sequence")
    assert syntax_error(b"a = 1\n" + b"#" * 40 + b"\xc3") == (
        "t.toml:2:40: (syntax): Encountered EOF during incomplete utf-8 code point sequence")
    # a syntax error read before the block holding the bad byte is reported first
    assert syntax_error(b"a = \n" + b"#" * 60 + b"\xff") == (
        "t.toml:1:5: (syntax): Error while parsing key-value pair: expected value, saw '\\n'")
    assert config.loads(b"\xef\xbb\xbfa = 1\n").has("a")


def test_load_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as e:
        config.load(missing)
    assert e.value.lines == [f"{missing}: (file): cannot open: No such file or directory"]
    # a directory reads as an empty document, as with toml::parse_file
    assert not config.load(tmp_path).has("x")
    good = tmp_path / "good.toml"
    good.write_text("x = 1\n")
    assert config.load(str(good)).integer("x", 0, 0, 1) == 1
    assert config.load(good).file == str(good)


# ---------------------------------------------------------------------------------------------
# CURVE keys


def write_key_files(directory: Path, name: str, mode: int = 0o600, public: str | None = None,
                    secret: str | None = None) -> tuple[Path, Path, str, str]:
    pub, sec = (k.decode() for k in zmq.curve_keypair())
    key = directory / f"{name}.key"
    key.write_text(f'public_key = "{public or pub}"\nsecret_key = "{secret or sec}"\n')
    key.chmod(mode)
    pub_file = directory / f"{name}.pub"
    pub_file.write_text(f'public_key = "{pub}"\n')
    return key, pub_file, pub, sec


def test_z85_key_error() -> None:
    pub = zmq.curve_keypair()[0].decode()
    assert config.z85_key_error(pub) is None
    assert config.z85_key_error("abc") == "expected a 40-character Z85 key, got 3 characters"
    assert config.z85_key_error("\u00e9" * 20) == (
        "expected a 40-character Z85 key, got a character outside the Z85 alphabet")
    assert config.z85_key_error(" " * 40) == (
        "expected a 40-character Z85 key, got a character outside the Z85 alphabet")
    assert config.z85_key_error("#####" + pub[5:]) == "expected a 40-character Z85 key"


def test_key_files(tmp_path: Path) -> None:
    key, pub_file, pub, sec = write_key_files(tmp_path, "node")
    pair = config.load_key_file(str(key))
    assert (pair.public_key, pair.secret_key) == (pub, sec)
    assert sec not in repr(pair)
    assert config.load_public_key_file(str(pub_file)) == pub
    assert config.load_public_key_file(str(key)) == pub

    loose, _, _, _ = write_key_files(tmp_path, "loose", mode=0o640)
    other = zmq.curve_keypair()[0].decode()
    wrong, _, _, _ = write_key_files(tmp_path, "wrong", public=other)
    short, _, _, _ = write_key_files(tmp_path, "short", secret="abc")
    syntax = tmp_path / "syntax.key"
    syntax.write_text("secret_key = \n")
    syntax.chmod(0o600)
    nokey = tmp_path / "nokey.key"
    nokey.write_text("public_key = 5\n")
    nokey.chmod(0o600)
    missing = tmp_path / "missing.key"
    cases = {
        loose: f"{loose}: permissions 0640 are too open: a file holding a secret key must be "
               f"accessible by its owner only (chmod 600 {loose})",
        wrong: f"{wrong}: public_key: does not belong to secret_key (expected ",
        short: f"{short}: secret_key: expected a 40-character Z85 key (value not shown)",
        syntax: f"{syntax}:1:14: not a key file (Error while parsing key-value pair: expected "
                "value, saw '\\n')",
        nokey: f"{nokey}: secret_key: missing",
        missing: f"{missing}: cannot read: No such file or directory",
    }
    for path, message in cases.items():
        with pytest.raises(config.KeyFileError) as e:
            config.load_key_file(str(path))
        assert str(e.value).startswith(message), str(e.value)
        assert "abc" not in str(e.value) or path != short
    with pytest.raises(config.KeyFileError, match="public_key: expected a Z85 key string"):
        config.load_public_key_file(str(nokey))
    with pytest.raises(config.KeyFileError, match="cannot read: No such file"):
        config.load_public_key_file(str(missing))


def test_read_curve_client(tmp_path: Path) -> None:
    key, _, pub, sec = write_key_files(tmp_path, "client")
    _, broker_pub, server, _ = write_key_files(tmp_path, "broker")
    assert not config.read_curve_client(section("").table("security")).enabled
    s = section(f'[security]\nbroker_public_key_file = "{broker_pub}"\nkey_file = "{key}"\n')
    client = config.read_curve_client(s.table("security"))
    assert client == config.CurveClient(server, pub, sec) and client.enabled
    assert sec not in repr(client)
    s = section(f'[security]\nbroker_public_key = "{server}"\n')
    assert config.read_curve_client(s.table("security")) == config.CurveClient()
    assert s.errors == ["t.toml: security.key_file: missing: expected this client's key file "
                        "(NAME.key from tradebus keygen) next to the broker's public key"]


# ---------------------------------------------------------------------------------------------
# trading session (expected instants from the C++ trading_session)


def test_trading_session_dst() -> None:
    gap = config.TradingSession("America/New_York", "02:30")  # 2024-03-10 02:30 does not exist
    for ts in (1710054000000000000, 1710055800000000000, 1710061200000000000):
        assert gap.start_of(ts) == 1710054000000000000  # the instant the clocks jumped
        assert gap.day_of(ts) == "2024-03-10"
        assert gap.next_start(ts) == 1710138600000000000
    assert gap.start_of(1710140400000000000) == 1710138600000000000
    twice = config.TradingSession("America/New_York", "01:30")  # 2024-11-03 01:30 happens twice
    for ts in (1730611800000000000, 1730615400000000000, 1730700000000000000):
        assert twice.start_of(ts) == 1730611800000000000  # the first one
        assert twice.next_start(ts) == 1730701800000000000
    india = config.TradingSession("Asia/Kolkata", "09:15")
    assert india.start_of(1700000000000000000) == 1699933500000000000
    assert india.day_of(1700000000000000000) == "2023-11-14"
    assert india.next_start(1700000000000000000) == 1700019900000000000
    utc = config.TradingSession()
    assert (utc.start_of(0), utc.day_of(0), utc.next_start(0)) == (0, "1970-01-01", 86400 * 10**9)
    assert utc.start_of(-1) == -86400 * 10**9
    assert utc.horizon_start(100 * 86400 * 10**9) == 70 * 86400 * 10**9


def test_trading_session_errors() -> None:
    for start in ["24:00", "9:30", "09-30", "0930 ", "\u0669\u0669:00"]:
        with pytest.raises(config.SessionError, match=r'expected a time of day "HH:MM"'):
            config.TradingSession("UTC", start)
    for tz in ["Mars/Base", "posixrules", "right/UTC", "Factory", "../zoneinfo/UTC", ""]:
        with pytest.raises(config.SessionError, match="expected an IANA time zone name"):
            config.TradingSession(tz, "00:00")
    assert config.TradingSession("Etc/UTC", "23:59").timezone == "Etc/UTC"


def test_read_session() -> None:
    s = section('[session]\nsession_timezone = "Europe/London"\nsession_start = "08:00"\n'
                "recovery_horizon_days = 7\n")
    assert config.read_session(s) == config.TradingSession("Europe/London", "08:00", 7)
    s = section('[session]\nsession_timezone = "Nowhere"\nsession_start = "8:00"\n')
    session = config.read_session(s)
    assert (session.timezone, session.start, session.recovery_horizon_days) == ("UTC", "00:00", 30)
    assert s.errors == [
        't.toml:2:20: session.session_timezone: expected an IANA time zone name such as '
        '"America/New_York" or "UTC" (from /usr/share/zoneinfo), got "Nowhere"',
        't.toml:3:17: session.session_start: expected a time of day "HH:MM" (00:00 .. 23:59), '
        'got "8:00"',
    ]


# ---------------------------------------------------------------------------------------------
# read_node_config


def test_node_config_defaults() -> None:
    cfg = config.NodeConfig()
    assert (cfg.log_level, cfg.heartbeat_interval_ms, cfg.request_timeout_ms, cfg.retry_max_ms,
            cfg.sndhwm, cfg.rcvhwm, cfg.recovery_retry_ms, cfg.start_fresh) == (
        "info", 1000, 1000, 5000, 100_000, 100_000, 1000, False)
    assert cfg.depends_on == [] and not cfg.curve.enabled
    assert cfg.session == config.TradingSession("UTC", "00:00", 30)


def test_read_node_config() -> None:
    s = section("""\
[node]
kind = "risk"
name = "risk-1"
depends_on = ["journal"]
executable = "/opt/x"
heartbeat_interval_ms = 500
log_level = "debug"
start_fresh = true
recovery_retry_ms = 20
[broker]
control_endpoint = "tcp://b:1"
xsub_endpoint = "tcp://b:2"
xpub_endpoint = "tcp://b:3"
request_timeout_ms = 50
retry_max_ms = 60
sndhwm = 0
rcvhwm = 7
[session]
session_timezone = "America/Chicago"
session_start = "17:00"
""", "risk.toml")
    cfg = config.read_node_config(s, "risk")
    s.finish()
    assert cfg == config.NodeConfig(
        file="risk.toml", kind="risk", name="risk-1", log_level="debug", executable="/opt/x",
        depends_on=["journal"], heartbeat_interval_ms=500, control_endpoint="tcp://b:1",
        xsub_endpoint="tcp://b:2", xpub_endpoint="tcp://b:3", request_timeout_ms=50,
        retry_max_ms=60, sndhwm=0, rcvhwm=7, start_fresh=True, recovery_retry_ms=20,
        session=config.TradingSession("America/Chicago", "17:00"))


def test_read_node_config_errors() -> None:
    s = section('[node]\nkind = "strategy"\nname = "s"\ndepends_on = ["s", "Bad"]\n')
    cfg = config.read_node_config(s, "risk")
    assert (cfg.kind, cfg.name, cfg.depends_on) == ("strategy", "s", ["s", "Bad"])
    assert s.errors == [
        't.toml:2:8: node.kind: this is the tradebus-risk executable; expected kind = "risk", '
        'got "strategy"',
        "t.toml:4:14: node.depends_on: a node cannot depend on itself",
        't.toml:4:14: node.depends_on: expected node names of 1..64 bytes of [a-z0-9_-], got "Bad"',
        "t.toml: broker: missing required table [broker]",
        "t.toml: broker.control_endpoint: missing required key (expected an endpoint)",
    ]


# ---------------------------------------------------------------------------------------------
# drift: the same lines as a real C++ node

NODE = '[node]\nkind = "strategy"\nname = "strategy"\n'
BROKER = '[broker]\ncontrol_endpoint = "tcp://127.0.0.1:5552"\n'
BASE = NODE + BROKER
SECURITY = BASE + "[security]\n"

# Runtime tables of bad (and two good) node files; @KEYS@ is a directory of key files made by
# the key_dir fixture, @SERVER@ a valid broker public key, @BAD@ a byte that is not UTF-8.
DRIFT_CASES: dict[str, str] = {
    "valid": BASE + '[session]\nsession_timezone = "America/New_York"\nsession_start = "17:00"\n',
    "wrong_types": """\
[node]
kind = "strategy"
name = 5
heartbeat_interval_ms = "fast"
log_level = 3
start_fresh = "yes"
depends_on = "risk"
recovery_retry_ms = 1.5
executable = false
[broker]
control_endpoint = 5552
xsub_endpoint = ["tcp://a:1"]
request_timeout_ms = true
sndhwm = 1e3
rcvhwm = 1979-05-27
retry_max_ms = { a = 1 }
""",
    "array_items": NODE + 'depends_on = ["risk", 3, "x"]\n' + BROKER,
    "out_of_range": NODE + """\
heartbeat_interval_ms = 5
recovery_retry_ms = 600001
[broker]
control_endpoint = "tcp://h:1"
request_timeout_ms = 60001
retry_max_ms = 9
sndhwm = -1
rcvhwm = 100000001
[session]
recovery_horizon_days = 0
""",
    "unknown_keys": """\
totally_unrelated = 1
[node]
kind = "strategy"
kinds = "strategy"
name = "strategy"
heartbeat_interval = 1000
log_levle = "info"
[broker]
control_endpont = "tcp://h:1"
control_endpoint = "tcp://h:1"
request_timeout = 5
[brokers]
x = 1
[sesion]
[session]
session_tz = "UTC"
""",
    "bad_node_name": BASE.replace('name = "strategy"', 'name = "Strategy 1"'),
    "empty_node_name": BASE.replace('name = "strategy"', 'name = ""'),
    "long_node_name": BASE.replace('name = "strategy"', f'name = "{"s" * 65}"'),
    "depends_on_itself": NODE + 'depends_on = ["journal", "strategy", "Risk!"]\n' + BROKER,
    "relative_executable": NODE + 'executable = "bin/tradebus-strategy"\n' + BROKER,
    "kind_mismatch": BASE.replace('kind = "strategy"', 'kind = "risk"'),
    "missing_control_endpoint": NODE + '[broker]\nxsub_endpoint = "tcp://h:1"\n',
    "missing_tables": '[session]\nsession_start = "08:00"\n',
    "missing_node_keys": '[node]\nlog_level = "info"\n' + BROKER,
    "bad_endpoints": NODE + """\
[broker]
control_endpoint = "localhost:5552"
xsub_endpoint = "udp://host:1"
xpub_endpoint = "tcp://host:0"
""",
    "bad_endpoints_2": NODE + """\
[broker]
control_endpoint = "tcp://host"
xsub_endpoint = "ipc://"
xpub_endpoint = "tcp://:5"
""",
    "node_not_a_table": 'node = "strategy"\n' + BROKER,
    "array_of_node_tables": NODE.replace("[node]", "[[node]]") + BROKER,
    "inline_and_dotted": """\
node = { kind = "strategy", name = "s", heartbeat_interval_ms = 1, bogus = 2 }
broker.control_endpoint = "tcp://h"
broker.sndhwm = "x"
""",
    "session_errors": BASE + """\
[session]
session_timezone = "Mars/Base"
session_start = "9:30"
recovery_horizon_days = 4000
""",
    "session_types": BASE + '[session]\nsession_timezone = 1\nsession_start = "24:00"\n',
    "session_not_a_table": 'session = "UTC"\n' + BASE,
    "security_missing_files": SECURITY + """\
broker_public_key_file = "@KEYS@/missing.pub"
key_file = "@KEYS@/missing.key"
""",
    "security_bad_inline_key": SECURITY + """\
broker_public_key = "short"
key_file = "@KEYS@/client.key"
""",
    "security_both": SECURITY + """\
broker_public_key = "@SERVER@"
broker_public_key_file = "@KEYS@/broker.pub"
key_file = "@KEYS@/client.key"
""",
    "security_loose_permissions": SECURITY + """\
broker_public_key_file = "@KEYS@/broker.pub"
key_file = "@KEYS@/loose.key"
""",
    "security_mismatched_pair": SECURITY + """\
broker_public_key = "@SERVER@"
key_file = "@KEYS@/wrong.key"
""",
    "security_not_a_key_file": SECURITY + """\
broker_public_key_file = "@KEYS@/syntax.key"
key_file = "@KEYS@/syntax.key"
""",
    "security_bad_secret": SECURITY + """\
broker_public_key = "@SERVER@"
key_file = "@KEYS@/short.key"
""",
    "security_pub_file_without_key": SECURITY + """\
broker_public_key_file = "@KEYS@/nokey.key"
key_file = "@KEYS@/client.key"
""",
    "security_only_key_file": SECURITY + 'key_file = "@KEYS@/client.key"\n',
    "security_only_broker_key": SECURITY + 'broker_public_key_file = "@KEYS@/broker.pub"\n',
    "security_types_and_unknown": SECURITY + """\
key_file = 5
curve = true
broker_public_key = "@SERVER@"
""",
    "security_empty_table": SECURITY,
    "security_valid": SECURITY + """\
broker_public_key_file = "@KEYS@/broker.pub"
key_file = "@KEYS@/client.key"
""",
    "syntax_missing_equals": BASE.replace('name = "strategy"', 'name "strategy"'),
    "syntax_unterminated_string": BASE.replace('name = "strategy"', 'name = "strategy'),
    "syntax_duplicate_key": BASE + 'control_endpoint = "tcp://127.0.0.1:5553"\n',
    "syntax_duplicate_table": BASE + "[node]\n",
    "syntax_unit_suffix": BASE + "request_timeout_ms = 1000ms\n",
    "syntax_bare_word": BASE.replace('name = "strategy"', "name = strategy"),
    "syntax_integer_overflow": BASE + "sndhwm = 99999999999999999999\n",
    "syntax_bad_date": BASE + "when = 2023-02-30\n",
    "syntax_invalid_utf8": BASE.replace('name = "strategy"', 'name = "strat@BAD@egy"'),
    "syntax_inline_redefined": NODE + "t = { a = 1 }\nt.b = 2\n" + BROKER,
}
VALID_CASES = {"valid", "security_valid", "security_empty_table"}


def strategy_table() -> str:
    """The [strategy] part of the shipped strategy.toml: valid, so only runtime lines differ."""
    text = (REPO / "config" / "nodes" / "strategy.toml").read_text()
    return text[text.index("\n[strategy]\n"):]


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("keys")
    write_key_files(d, "client")
    _, _, server, _ = write_key_files(d, "broker")
    write_key_files(d, "loose", mode=0o644)
    write_key_files(d, "wrong", public=zmq.curve_keypair()[0].decode())
    write_key_files(d, "short", secret="#####")
    for name, text in (("syntax.key", 'public_key = "x\n'), ("nokey.key", "secret = 1\n")):
        (d / name).write_text(text)
        (d / name).chmod(0o600)
    return d, server


def about_strategy(line: str) -> bool:
    return ": strategy." in line or ": strategy: " in line


def python_report(path: Path) -> str | None:
    """What a Python node prints for this file on stderr (None: valid), lines about [strategy]
    left out (the Python reader does not read that table)."""
    try:
        root = config.load(path)
        config.read_node_config(root, "strategy")
        root.table("strategy")
        root.finish()
    except ConfigError as e:
        lines = [line for line in e.lines if not about_strategy(line)]
        return ConfigError(e.file, lines).report("tradebus-strategy") if lines else None
    return None


NO_CPP_NODE = (f"no C++ node to compare with: {STRATEGY_EXE} is not built "
               "(set TRADEBUS_BUILD_DIR to a build directory)")


@pytest.mark.parametrize("case", list(DRIFT_CASES))
def test_drift_against_cpp_node(case: str, tmp_path: Path, key_dir: tuple[Path, str]) -> None:
    keys, server = key_dir
    text = DRIFT_CASES[case].replace("@KEYS@", str(keys)).replace("@SERVER@", server)
    path = tmp_path / f"{case}.toml"
    path.write_bytes((text + strategy_table()).encode().replace(b"@BAD@", b"\xff"))
    expected = python_report(path)
    assert (expected is None) == (case in VALID_CASES), expected
    if not STRATEGY_EXE.exists():
        pytest.skip(NO_CPP_NODE)
    cpp = subprocess.run([str(STRATEGY_EXE), "--config", str(path), "--check-config"],
                         capture_output=True, timeout=30)
    if expected is None:
        assert cpp.returncode == 0, cpp.stderr.decode()
        assert cpp.stdout.decode() == f"{path} is valid\n"
    else:
        assert cpp.returncode == 2, cpp.stdout.decode()
        assert cpp.stderr.decode("utf-8", "replace") == expected


@pytest.mark.skipif(not STRATEGY_EXE.exists(), reason=NO_CPP_NODE)
def test_drift_unreadable_files(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    cpp = subprocess.run([str(STRATEGY_EXE), "--config", str(absent), "--check-config"],
                         capture_output=True, timeout=30)
    assert cpp.returncode == 2 and cpp.stderr.decode() == python_report(absent)
    # a directory reads as an empty file: the same missing tables (and [strategy]'s own line)
    cpp = subprocess.run([str(STRATEGY_EXE), "--config", str(tmp_path), "--check-config"],
                         capture_output=True, timeout=30)
    lines = cpp.stderr.decode().split("\n")[:-2]
    runtime = [line for line in lines if not about_strategy(line)]
    assert len(lines) == len(runtime) + 1
    expected = ConfigError(str(tmp_path), runtime).report("tradebus-strategy")
    assert python_report(tmp_path) == expected
