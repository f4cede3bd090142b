"""Validating TOML config reader with the C++ nodes' semantics and error lines.

A Python node reads the same TOML file a C++ node reads (ARCHITECTURE.md "Config validation"),
so it must accept and refuse the same files and say why in the same words: every problem is one
line ``file:line:col: key: message``, all of them are collected before anything stops, and a node
that cannot start prints ``tradebus-KIND: N config errors in FILE, not starting`` and exits 2.

The C++ truth this module mirrors, function by function:

- common/config.cpp: ``config_errors``, ``section`` (getters, unknown keys with "did you mean"),
  ``parse_config_file``, ``throw_if_errors``, ``edit_distance``, ``endpoint_error``;
- toml++ 3.3 (the parser behind it): the source positions it gives keys and values, and the
  ``Error while parsing ...`` text of a syntax error (``_TomlParser`` ports its grammar);
- common/curve.cpp: Z85 keys, key files, ``read_curve_client``;
- nodes/runtime/session.cpp: ``trading_session`` and ``read_session``;
- nodes/runtime/node_config.cpp: ``read_node_config``; schema/topics.cpp: ``valid_node_name``;
- common/daemon.cpp: the text printed when a config is refused (``ConfigError.report``).

Values come from the standard library's ``tomllib``; the port of the toml++ grammar only finds
positions, node types and the exact syntax errors, so both parsers must accept a file.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import datetime
import math
import os
import stat
import sys
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator, NoReturn, Sequence

import zmq

from .topics import NODE_NAME_RULE, valid_node_name  # the one node-name rule

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "CurveClient",
    "CurveKeyPair",
    "KeyFileError",
    "LOG_LEVELS",
    "NODE_NAME_RULE",
    "NodeConfig",
    "Section",
    "SessionError",
    "TradingSession",
    "edit_distance",
    "endpoint_error",
    "load",
    "load_key_file",
    "load_public_key_file",
    "loads",
    "read_curve_client",
    "read_node_config",
    "read_public_key",
    "read_session",
    "valid_node_name",
    "z85_key_error",
]

Position = tuple[int, int]  # (line, column), both 1-based, columns counted in code points


# ---------------------------------------------------------------------------------------------
# Errors


class ConfigError(Exception):
    """A config file was refused: ``lines`` holds every problem, one ``file:line:col: key: ...``
    line each. ``str()`` is the C++ ``config_error::what()``: the lines, then the count."""

    def __init__(self, file: str, lines: Sequence[str]) -> None:
        self.file = file
        self.lines = list(lines)
        super().__init__("".join(line + "\n" for line in self.lines) + self.summary)

    @property
    def summary(self) -> str:
        """``N config error(s) in FILE``: the last line of the C++ message."""
        n = len(self.lines)
        return f"{n} config error{'' if n == 1 else 's'} in {self.file}"

    def report(self, exe: str) -> str:
        """What a C++ daemon prints on stderr before exiting 2 (common/daemon.cpp), e.g.
        ``exe="tradebus-strategy"``: the lines, then ``EXE: N config errors in FILE, not
        starting``."""
        lines = "".join(line + "\n" for line in self.lines)
        return f"{lines}{exe}: {self.summary}, not starting\n"


class ConfigErrors:
    """Every problem found while loading one file, in the order found (C++ ``config_errors``)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []

    def add(self, where: Position | None, key: str, message: str) -> None:
        """Records ``file:line:col: key: message`` (no position when ``where`` is None)."""
        at = self.file if where is None else f"{self.file}:{where[0]}:{where[1]}"
        self.lines.append(f"{at}: {key}: {message}")

    def check(self) -> None:
        """Raises ConfigError listing every line when any was recorded (``throw_if_errors``)."""
        if self.lines:
            raise ConfigError(self.file, self.lines)


# ---------------------------------------------------------------------------------------------
# TOML: a port of toml++ 3.3's grammar for positions, node types and syntax errors


class _TomlSyntaxError(Exception):
    """A syntax error as toml++ reports it: where, and its ``description()``."""

    def __init__(self, where: Position, description: str) -> None:
        super().__init__(description)
        self.where = where
        self.description = description


class _Node:
    """One TOML node as toml++ builds it: its type name, its source position and, for tables,
    the position of each key; plus the parser's bookkeeping flags."""

    __slots__ = ("kind", "pos", "keys", "children", "items", "inline", "implicit", "dotted", "aot")

    def __init__(self, kind: str, pos: Position) -> None:
        self.kind = kind  # toml++ node_type_friendly_names: table, array, string, integer, ...
        self.pos = pos
        self.keys: dict[str, Position] = {}
        self.children: dict[str, _Node] = {}
        self.items: list[_Node] = []
        self.inline = False  # an inline table ({...})
        self.implicit = False  # made by a header [a.b] for a, not yet defined itself
        self.dotted = False  # made by a dotted key a.b = 1 for a
        self.aot = False  # an array made by [[a]] headers

    def is_array_of_tables(self) -> bool:
        """toml++ ``is_array_of_tables()``: a non-empty array holding only tables."""
        return (self.kind == "array" and bool(self.items)
                and all(i.kind == "table" for i in self.items))


_HORIZONTAL_WS = frozenset(
    "\t \u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u202f\u205f\u2060\u3000\ufeff"
)
_VERTICAL_WS = frozenset("\n\x0b\x0c\r\x85\u2028\u2029")
_WS = _HORIZONTAL_WS | _VERTICAL_WS
_TERMINATORS = _WS | frozenset("]},#")
_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = "0123456789"
_HEX_DIGITS = "0123456789abcdefABCDEF"
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_MAX_NESTED_VALUES = 256  # TOML_MAX_NESTED_VALUES
_MAX_HISTORY = 128  # utf8_buffered_reader::max_history_length
_EOF = "encountered end-of-file"

# parse_value's value traits (a scan ahead decides which typed parser runs)
_HAS_DIGITS, _HAS_B, _HAS_E, _HAS_O, _HAS_P, _HAS_T, _HAS_X, _HAS_Z = (1 << i for i in range(8))
_HAS_COLON, _HAS_PLUS, _HAS_MINUS, _HAS_DOT = (1 << i for i in range(8, 12))
_BEGINS_SIGN, _BEGINS_DIGIT, _BEGINS_ZERO = (1 << i for i in range(12, 15))
_SIGNS = _HAS_PLUS | _HAS_MINUS
_NOT_BEFORE_E = _HAS_B | _HAS_O | _HAS_P | _HAS_T | _HAS_X | _HAS_Z | _HAS_COLON
_PUNCTUATION_TRAITS = {"+": _HAS_PLUS, "-": _HAS_MINUS, ".": _HAS_DOT, ":": _HAS_COLON}
_BDIGIT = _HAS_DIGITS | _BEGINS_DIGIT
_BZERO = _BDIGIT | _BEGINS_ZERO
_SIGNED = _BEGINS_SIGN | _HAS_DIGITS
# what parse_value's final switch tells apart (hexadecimal floats, prefixed integers and
# floats with an exponent are picked out before it)
_DECIMAL_INTEGER_TRAITS = {_BZERO, _BDIGIT, _SIGNED | _HAS_MINUS, _SIGNED | _HAS_PLUS}
_FLOAT_TRAITS = {_BZERO | _HAS_DOT, _BDIGIT | _HAS_DOT, _SIGNED | _HAS_DOT | _HAS_PLUS,
                 _SIGNED | _HAS_DOT | _HAS_MINUS}
_TIME_TRAITS = {_BZERO | _HAS_COLON, _BZERO | _HAS_COLON | _HAS_DOT, _BDIGIT | _HAS_COLON,
                _BDIGIT | _HAS_COLON | _HAS_DOT}
_DATE_TRAITS = {_BZERO | _HAS_MINUS, _BDIGIT | _HAS_MINUS}
_DATE_TIME_TRAITS = {
    start | signs | _HAS_COLON | _HAS_T | extra
    for start in (_BZERO, _BDIGIT)
    for signs, extras in ((_HAS_MINUS, (0, _HAS_DOT, _HAS_Z, _HAS_DOT | _HAS_Z)),
                          (_SIGNS, (0, _HAS_DOT)))
    for extra in extras
}
# base: (scope, digits, max significant digits, prefix letter)
_INTEGER_BASES = {
    2: ("binary integer", "01", 63, "b"),
    8: ("octal integer", "01234567", 21, "o"),
    10: ("decimal integer", _DIGITS, 19, ""),
    16: ("hexadecimal integer", _HEX_DIGITS, 16, "x"),
}


def _is_control(c: str) -> bool:
    return c <= "\x1f" or c == "\x7f"


def _is_nontab_control(c: str) -> bool:
    return _is_control(c) and c != "\t"


def _show(c: str | None) -> str:
    """toml++ ``to_sv(codepoint)``: control characters escaped, others as they are."""
    if c is None:
        return ""
    if c <= "\x1f":
        named = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
        return named.get(c, f"\\u{ord(c):04X}")
    return "\\u007F" if c == "\x7f" else c


def _show_escaped(c: str) -> str:
    """toml++ ``escaped_codepoint``: non-ASCII as \\uXXXX or \\UXXXXXXXX."""
    if c <= "\x7f":
        return _show(c)
    return f"\\u{ord(c):04X}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08X}"


class _TomlParser:
    """toml++ 3.3's parser (impl/parser.inl), reduced to what positions and errors need: the
    same walk over the text, the same table-building rules, the same checks in the same order
    and the same messages. Scalars are checked, not converted (tomllib gives the values)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._n = len(text)
        self._i = 0
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self._scope = ""
        self._recording = False
        self._record_ws = True
        self._record: list[str] = []
        self._depth = 0
        self.root = _Node("table", (1, 1))
        self.reached_end = False  # whether the parser asked for a character past the text

    def parse(self) -> _Node:
        if self._n:
            self._document()
        return self.root

    # -- reader -----------------------------------------------------------------------------

    def _pos(self, i: int) -> Position:
        line = bisect.bisect_right(self._line_starts, i)
        return line, i - self._line_starts[line - 1] + 1

    def _here(self, offset: int = 0) -> Position:
        """toml++ ``current_position(offset)``: the current character, or past the last one."""
        if self._i < self._n:
            return self._pos(self._i)
        line, col = self._pos(self._n - 1)
        return line, col + offset

    def _cur(self) -> str | None:
        return self._text[self._i] if self._i < self._n else None

    def _eof(self) -> bool:
        return self._i >= self._n

    def _advance(self) -> None:
        self._i += 1
        if self._i >= self._n:
            self.reached_end = True
        if self._recording and self._i < self._n:
            c = self._text[self._i]
            if self._record_ws or c not in _WS:
                self._record.append(c)

    def _advance_or_eof(self) -> None:
        self._advance()
        self._fail_if_eof()

    def _fail(self, reason: str, at: Position | None = None) -> NoReturn:
        text = f"Error while parsing {self._scope}: {reason}"
        # error_builder's buffer holds 511 bytes
        text = text.encode()[:511].decode(errors="ignore")
        raise _TomlSyntaxError(at or self._here(1), text)

    def _fail_if_eof(self) -> None:
        if self._eof():
            self._fail(_EOF)

    @contextlib.contextmanager
    def _scoped(self, scope: str) -> Iterator[None]:
        saved, self._scope = self._scope, scope
        try:
            yield
        finally:
            self._scope = saved

    def _start_recording(self) -> None:
        self._recording, self._record_ws = True, True
        self._record = [self._text[self._i]] if self._i < self._n else []

    def _stop_recording(self, pop: int = 0) -> str:
        self._recording = False
        if pop:
            del self._record[-pop:]
        return "".join(self._record)

    # -- whitespace, line breaks, comments ---------------------------------------------------

    def _whitespace(self) -> bool:
        consumed = False
        while (c := self._cur()) is not None and c in _HORIZONTAL_WS:
            if c not in "\t ":
                self._fail(f"expected space or tab, saw '{_show_escaped(c)}'")
            consumed = True
            self._advance()
        return consumed

    def _line_break(self) -> bool:
        c = self._cur()
        if c is None:
            return False
        if c in "\x0b\x0c":
            self._fail("vertical tabs '\\v' and form-feeds '\\f' are not legal line breaks in TOML")
        if c == "\r":
            self._advance()
            if self._eof():
                self._fail("expected '\\n' after '\\r', saw EOF")
            if self._cur() != "\n":
                seen = _show_escaped(self._text[self._i])
                self._fail(f"expected '\\n' after '\\r', saw '{seen}'")
        elif c != "\n":
            return False
        self._advance()
        return True

    def _comment(self) -> bool:
        if self._cur() != "#":
            return False
        with self._scoped("comment"):
            self._advance()
            while not self._eof():
                if self._line_break():
                    return True
                if _is_nontab_control(self._text[self._i]):
                    self._fail("control characters other than TAB (U+0009) are explicitly "
                               "prohibited in comments")
                self._advance()
        return True

    # -- document, headers, key-value pairs --------------------------------------------------

    def _document(self) -> None:
        with self._scoped("root table"):
            current: _Node | None = self.root
            while not self._eof():
                if self._whitespace() or self._line_break() or self._comment():
                    continue
                c = self._text[self._i]
                if c == "[":
                    current = self._table_header()
                elif c in _BARE_KEY or c in "\"'":
                    assert current is not None
                    with self._scoped("key-value pair"):
                        self._key_value(current)
                        self._whitespace()
                        if not self._eof() and not self._comment() and not self._line_break():
                            self._fail("expected a comment or whitespace, saw "
                                       f"'{_show(self._cur())}'")
                else:
                    self._fail(f"expected keys, tables, whitespace or comments, saw '{_show(c)}'")

    def _key(self) -> list[tuple[str, Position]]:
        """A (dotted) key: each segment with its position."""
        with self._scoped("key"):
            segments: list[tuple[str, Position]] = []
            self._record_ws = False
            while True:
                begin = self._here()
                c = self._text[self._i]
                if c in _BARE_KEY:
                    start = self._i
                    while (c := self._cur()) is not None and c in _BARE_KEY:
                        self._advance()
                    segment = self._text[start:self._i]
                elif c in "\"'":
                    self._record_ws = True
                    segment, multi_line = self._string()
                    self._record_ws = False
                    if multi_line:
                        dotted = "dotted " if segments else ""
                        self._fail(f"multi-line strings are prohibited in {dotted}keys", at=begin)
                else:
                    self._fail("expected bare key starting character or string delimiter, "
                               f"saw '{_show(c)}'")
                self._whitespace()
                segments.append((segment, begin))
                if self._eof() or self._cur() != ".":
                    return segments
                self._advance_or_eof()
                self._whitespace()
                self._fail_if_eof()

    def _table_header(self) -> _Node:
        with self._scoped("table header"):
            begin = self._here()
            is_array = False
            self._advance_or_eof()
            had_ws = self._whitespace()
            self._fail_if_eof()
            if self._cur() == "[":
                if had_ws:
                    self._fail("[[array-of-table]] brackets must be contiguous "
                               "(i.e. [ [ this ] ] is prohibited)")
                is_array = True
                self._advance_or_eof()
                self._whitespace()
                self._fail_if_eof()
            if self._cur() == "]":
                self._fail("tables with blank bare keys are explicitly prohibited")
            self._start_recording()
            segments = self._key()
            name = self._stop_recording(1)
            self._whitespace()
            self._fail_if_eof()
            if self._cur() != "]":
                self._fail(f"expected ']', saw '{_show(self._cur())}'")
            if is_array:
                self._advance_or_eof()
                if self._cur() != "]":
                    self._fail(f"expected ']', saw '{_show(self._cur())}'")
            self._advance()
            self._whitespace()
            if not self._eof() and not self._comment() and not self._line_break():
                self._fail(f"expected a comment or whitespace, saw '{_show(self._cur())}'")
            return self._open_table(segments, name, begin, is_array)

    def _open_table(self, segments: list[tuple[str, Position]], name: str, begin: Position,
                    is_array: bool) -> _Node:
        parent = self.root
        for segment, key_pos in segments[:-1]:
            p = parent.children.get(segment)
            if p is None:
                p = _Node("table", begin)
                p.implicit = True
                parent.keys[segment], parent.children[segment] = key_pos, p
            elif p.kind == "table":
                if p.inline:
                    self._fail(f"cannot insert '{name}' into existing inline table")
            elif p.aot:
                p = p.items[-1]
            else:
                self._fail(f"cannot redefine existing {p.kind} '{name}' as "
                           f"{'array-of-tables' if is_array else 'table'}")
            parent = p
        last, key_pos = segments[-1]
        match = parent.children.get(last)
        if match is None:
            table = _Node("table", begin)
            if is_array:
                array = _Node("array", begin)
                array.aot = True
                array.items.append(table)
                parent.keys[last], parent.children[last] = key_pos, array
            else:
                parent.keys[last], parent.children[last] = key_pos, table
            return table
        if is_array and match.aot:
            table = _Node("table", begin)
            match.items.append(table)
            return table
        if not is_array and match.kind == "table" and match.implicit:
            if all(c.kind == "table" or c.is_array_of_tables() for c in match.children.values()):
                match.implicit = False
                match.pos = begin
                return match
        if not is_array and match.kind == "table":
            self._fail(f"cannot redefine existing table '{name}'", at=begin)
        self._fail(f"cannot redefine existing {match.kind} '{name}' as "
                   f"{'array-of-tables' if is_array else 'table'}", at=begin)

    def _key_value(self, table: _Node) -> None:
        with self._scoped("key-value pair"):
            self._start_recording()
            segments = self._key()
            name = self._stop_recording(1)
            self._whitespace()
            self._fail_if_eof()
            if self._cur() != "=":
                self._fail(f"expected '=', saw '{_show(self._cur())}'")
            self._advance_or_eof()
            self._whitespace()
            self._fail_if_eof()
            if self._text[self._i] in _TERMINATORS:
                self._fail(f"expected value, saw '{_show(self._cur())}'")
            for segment, key_pos in segments[:-1]:
                p = table.children.get(segment)
                if p is None:
                    p = _Node("table", key_pos)
                    p.dotted = True
                    table.keys[segment], table.children[segment] = key_pos, p
                elif p.kind != "table" or not (p.dotted or p.implicit):
                    self._fail(f"cannot redefine existing {p.kind} as dotted key-value pair",
                               at=key_pos)
                table = p
            last, key_pos = segments[-1]
            if last in table.children:
                self._fail(f"cannot redefine existing {table.children[last].kind} '{name}'")
            value = self._value()
            table.keys[last], table.children[last] = key_pos, value

    # -- values ------------------------------------------------------------------------------

    def _value(self) -> _Node:
        with self._scoped("value"):
            self._depth += 1
            try:
                if self._depth > _MAX_NESTED_VALUES:
                    self._fail(f"exceeded maximum nested value depth of {_MAX_NESTED_VALUES} "
                               "(TOML_MAX_NESTED_VALUES)")
                c = self._text[self._i]
                if _is_control(c):
                    self._fail("unexpected control character")
                if c == "_":
                    self._fail("values may not begin with underscores")
                begin = self._here()
                kind = self._typed_value()
                if kind is None:
                    self._fail("could not determine value type", at=begin)
                node = kind if isinstance(kind, _Node) else _Node(kind, begin)
                node.pos = begin
                return node
            finally:
                self._depth -= 1

    def _typed_value(self) -> _Node | str | None:
        """parse_value's dispatch: a node, a scalar's type name, or None (undeterminable)."""
        c = self._text[self._i]
        if c == "[":
            return self._array()
        if c == "{":
            return self._inline_table()
        if c == ".":
            self._float()
            return "floating-point"
        if c in "\"'":
            self._string()
            return "string"
        if c in "tfTF":
            self._boolean()
            return "boolean"
        if c in "inIN":
            self._inf_or_nan()
            return "floating-point"
        if c in _DIGITS:
            traits = _BEGINS_DIGIT | (_BEGINS_ZERO if c == "0" else 0)
        elif c in "+-":
            traits = _BEGINS_SIGN
        else:
            return None
        start = self._i
        traits, chars, eof_while_scanning = self._scan_number(traits)
        scanned = self._i - start
        self._i = start
        if len(chars) == 1:
            if traits & _BEGINS_DIGIT:
                self._advance()
                return "integer"
            self._fail(_EOF if eof_while_scanning else "could not determine value type")
        if traits & _HAS_P:
            self._hex_float()
        if traits & (_HAS_X | _HAS_O | _HAS_B):
            self._integer(16 if traits & _HAS_X else 8 if traits & _HAS_O else 2)
            return "integer"
        if traits & _HAS_E or (traits & _BEGINS_DIGIT and chars[1] == "."):
            self._float()
            return "floating-point"
        if traits & _BEGINS_SIGN:
            if len(chars) == 2 and traits & _HAS_DIGITS:
                self._advance()
                self._advance()
                return "integer"
            if chars[1] in _DIGITS and len(chars) > 2 and chars[2] == ".":
                self._float()
                return "floating-point"
            if chars[1] in "inIN":
                self._inf_or_nan()
                return "floating-point"
        if traits in _DECIMAL_INTEGER_TRAITS:
            if not eof_while_scanning and scanned > _MAX_HISTORY - 2:
                self._fail("numeric value too long to identify type - cannot exceed "
                           f"{_MAX_HISTORY - 2} characters")
            self._integer(10)
            return "integer"
        if traits in _FLOAT_TRAITS:
            self._float()
            return "floating-point"
        if traits in _TIME_TRAITS:
            self._time()
            return "time"
        if traits in _DATE_TRAITS:
            self._date()
            return "date"
        if traits in _DATE_TIME_TRAITS:
            self._date_time()
            return "date-time"
        return None

    def _scan_number(self, traits: int) -> tuple[int, list[str], bool]:
        """parse_value's look-ahead over a number or date: its traits and characters (the
        caller rewinds)."""
        chars: list[str] = []
        eof_while_scanning = False

        def scan() -> None:
            nonlocal traits, eof_while_scanning
            if self._eof():
                return
            while True:  # do { ... } while: the first character is always taken
                c = self._text[self._i]
                if c != "_":
                    chars.append(c)
                    n = len(chars)
                    low = c.lower()
                    if c in _DIGITS:
                        traits |= _HAS_DIGITS
                    elif "a" <= low <= "z" and c.isascii():
                        if low == "b" and n == 2 and traits & _BEGINS_ZERO:
                            traits |= _HAS_B
                        elif low == "e":
                            if (n > 1 and not traits & _NOT_BEFORE_E
                                    and (not traits & _SIGNS or traits & _BEGINS_SIGN)):
                                traits |= _HAS_E
                        elif low == "o" and n == 2 and traits & _BEGINS_ZERO:
                            traits |= _HAS_O
                        elif low == "p" and traits & _HAS_X:
                            traits |= _HAS_P
                        elif low == "x" and (
                                (n == 2 and traits & _BEGINS_ZERO)
                                or (n == 3 and traits & _BEGINS_SIGN and chars[1] == "0")):
                            traits |= _HAS_X
                        elif low == "t":
                            traits |= _HAS_T
                        elif low == "z":
                            traits |= _HAS_Z
                    else:
                        traits |= _PUNCTUATION_TRAITS.get(c, 0)
                self._advance()
                eof_while_scanning = self._eof()
                if not (self._i - start < _MAX_HISTORY - 1 and not self._eof()
                        and self._text[self._i] not in _TERMINATORS):
                    return

        start = self._i
        scan()
        # a date-time may have a space instead of the T: look further
        if (len(chars) == 10 and (traits | _BEGINS_ZERO) == (_BZERO | _HAS_MINUS)
                and chars[4] == chars[7] == "-" and self._cur() == " "):
            before_i, before_traits = self._i, traits
            chars.append(" ")
            traits |= _HAS_T
            self._advance()
            if self._eof() or self._text[self._i] not in _DIGITS:
                backpedal = True
            else:
                chars.append(self._text[self._i])
                self._advance()
                scan()
                backpedal = len(chars) == 12
            if backpedal:
                self._i, traits = before_i, before_traits
                del chars[10:]
        return traits, chars, eof_while_scanning

    def _integer(self, base: int) -> None:
        scope, digits_of_base, max_digits, prefix = _INTEGER_BASES[base]
        with self._scoped(scope):
            sign = 1
            if base == 10:
                sign = -1 if self._cur() == "-" else 1
                if self._cur() in ("+", "-"):
                    self._advance_or_eof()
                if self._text[self._i] not in digits_of_base:
                    self._fail(f"expected expected digit or sign, saw '{_show(self._cur())}'")
            else:
                if self._cur() != "0":
                    self._fail(f"expected '0', saw '{_show(self._cur())}'")
                self._advance_or_eof()
                if self._cur() != prefix:
                    self._fail(f"expected '{prefix}', saw '{_show(self._cur())}'")
                self._advance_or_eof()
                if self._text[self._i] not in digits_of_base:
                    self._fail(f"expected digit, saw '{_show(self._cur())}'")
            digits: list[str] = []
            prev: str | None = None
            while (c := self._cur()) is not None and c not in _TERMINATORS:
                if c == "_":
                    if prev is None or prev not in digits_of_base:
                        self._fail("underscores may only follow digits")
                    prev = c
                    self._advance_or_eof()
                    continue
                if prev == "_" and c not in digits_of_base:
                    self._fail("underscores must be followed by digits")
                elif c not in digits_of_base:
                    self._fail(f"expected digit, saw '{_show(c)}'")
                elif len(digits) == _MAX_HISTORY:
                    self._fail(f"exceeds length limit of {_MAX_HISTORY} digits")
                digits.append(c)
                prev = c
                self._advance()
            if prev == "_":
                self._fail_if_eof()
                self._fail("underscores must be followed by digits")
            if len(digits) == 1:
                return
            text = "".join(digits)
            significant = text.lstrip("0") if base != 10 else text
            if base == 10 and text[0] == "0":
                self._fail("leading zeroes are prohibited")
            if not significant:
                return
            too_big = f"'{'0' + prefix if prefix else ''}{text}' is not representable in 64 bits"
            if len(significant) > max_digits or int(significant, base) > (1 << 63) - 1 + (sign < 0):
                self._fail(too_big)

    def _float(self) -> None:
        with self._scoped("floating-point"):
            if self._cur() in ("+", "-"):
                self._advance_or_eof()
            chars: list[str] = []
            prev: str | None = None
            seen_decimal = seen_exponent = False
            first_integer_part: str | None = None
            while (c := self._cur()) is not None and c not in _TERMINATORS:
                if c == "_":
                    if prev is None or prev not in _DIGITS:
                        self._fail("underscores may only follow digits")
                    prev = c
                    self._advance_or_eof()
                    continue
                if prev == "_" and c not in _DIGITS:
                    self._fail("underscores must be followed by digits")
                elif len(chars) == _MAX_HISTORY:
                    self._fail(f"exceeds length limit of {_MAX_HISTORY} digits"
                               + ("" if seen_exponent else " (consider using exponent notation)"))
                elif c == ".":
                    if first_integer_part is None:
                        self._fail("expected decimal digit, saw '.'")
                    elif seen_exponent:
                        self._fail("expected exponent decimal digit or sign, saw '.'")
                    elif seen_decimal:
                        self._fail("expected decimal digit or exponent, saw '.'")
                    seen_decimal = True
                elif c in "eE":
                    if (prev is not None and prev not in _DIGITS) or seen_exponent:
                        self._fail(f"expected decimal digit, saw '{_show(c)}'")
                    seen_decimal = seen_exponent = True
                elif c in "+-":
                    if not seen_exponent:
                        self._fail(f"expected decimal digit or '.', saw '{_show(c)}'")
                    elif prev not in ("e", "E"):
                        self._fail(f"expected exponent digit, saw '{_show(c)}'")
                elif c in _DIGITS:
                    if not seen_decimal:
                        if first_integer_part is None:
                            first_integer_part = c
                        elif first_integer_part == "0":
                            self._fail("leading zeroes are prohibited")
                else:
                    self._fail(f"expected decimal digit, saw '{_show(c)}'")
                chars.append(c)
                prev = c
                self._advance()
            if prev is not None and prev in "_eE+-.":
                self._fail_if_eof()
                self._fail("underscores must be followed by digits" if prev == "_"
                           else f"expected decimal digit, saw '{_show(self._cur())}'")
            text = "".join(chars)
            try:
                value = float(text)
            except ValueError:
                value = math.inf
            if math.isinf(value):  # std::istream >> double fails on an overflow
                self._fail(f"'{text}' could not be interpreted as a value")

    def _hex_float(self) -> NoReturn:
        with self._scoped("hexadecimal floating-point"):
            self._fail("hexadecimal floating-point values are not supported in TOML 1.0.0 and "
                       "earlier")

    def _expect_word(self, word: str) -> None:
        """parse_boolean / parse_inf_or_nan: ``word`` spelled out, then a value terminator."""
        for expected in word:
            self._fail_if_eof()
            if self._text[self._i] != expected:
                self._fail(f"expected '{word}', saw '{self._stop_recording()}'")
            self._advance()
        self._stop_recording()
        if not self._eof() and self._text[self._i] not in _TERMINATORS:
            self._fail(f"expected value-terminator, saw '{_show(self._cur())}'")

    def _boolean(self) -> None:
        with self._scoped("boolean"):
            self._start_recording()
            self._expect_word("true" if self._text[self._i] in "tT" else "false")

    def _inf_or_nan(self) -> None:
        with self._scoped("floating-point"):
            self._start_recording()
            if self._text[self._i] in "+-":
                self._advance_or_eof()
            self._expect_word("inf" if self._text[self._i] in "iI" else "nan")

    def _digit_run(self, count: int) -> int | None:
        """consume_digit_sequence: ``count`` decimal digits as a number, or None at a
        non-digit."""
        value = 0
        for _ in range(count):
            self._fail_if_eof()
            c = self._text[self._i]
            if c not in _DIGITS:
                return None
            value = value * 10 + int(c)
            self._advance()
        return value

    def _two_digits(self, what: str, limit: int, range_text: str) -> None:
        """"HH", "MM" or "SS": two digits, at most ``limit``."""
        value = self._digit_run(2)
        if value is None:
            self._fail(f"expected 2-digit {what}, saw '{_show(self._cur())}'")
        elif value > limit:
            self._fail(f"expected {what} between {range_text} (inclusive), saw {value}")

    def _expect_char(self, expected: str) -> None:
        if self._cur() != expected:
            self._fail(f"expected '{expected}', saw '{_show(self._cur())}'")
        self._advance_or_eof()

    def _end_of_value(self) -> None:
        if not self._eof() and self._text[self._i] not in _TERMINATORS:
            self._fail(f"expected value-terminator, saw '{_show(self._cur())}'")

    def _date(self, part_of_date_time: bool = False) -> None:
        with self._scoped("date"):
            year = self._digit_run(4)
            if year is None:
                self._fail(f"expected 4-digit year, saw '{_show(self._cur())}'")
            self._fail_if_eof()
            self._expect_char("-")
            month = self._digit_run(2)
            if month is None:
                self._fail(f"expected 2-digit month, saw '{_show(self._cur())}'")
            if not 1 <= month <= 12:
                self._fail(f"expected month between 1 and 12 (inclusive), saw {month}")
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            days = (29 if leap else 28) if month == 2 else 30 if month in (4, 6, 9, 11) else 31
            self._fail_if_eof()
            self._expect_char("-")
            day = self._digit_run(2)
            if day is None:
                self._fail(f"expected 2-digit day, saw '{_show(self._cur())}'")
            if not 1 <= day <= days:
                self._fail(f"expected day between 1 and {days} (inclusive), saw {day}")
            if not part_of_date_time:
                self._end_of_value()

    def _time(self, part_of_date_time: bool = False) -> None:
        with self._scoped("time"):
            self._two_digits("hour", 23, "0 to 59")
            self._fail_if_eof()
            self._expect_char(":")
            self._two_digits("minute", 59, "0 and 59")
            self._fail_if_eof()
            self._expect_char(":")
            self._two_digits("second", 59, "0 and 59")
            c = self._cur()
            if c is None or c in _TERMINATORS or (part_of_date_time and c in "+-Zz"):
                return
            self._expect_char(".")
            count = 0
            while count < 64 and (c := self._cur()) is not None and c in _DIGITS:
                count += 1
                self._advance()
            if not count:
                self._fail_if_eof()
                self._fail(f"expected fractional digits, saw '{_show(self._cur())}'")
            elif not self._eof():
                if count == 64 and self._text[self._i] in _DIGITS:
                    self._fail("fractional component exceeds maximum precision of 64")
                elif not part_of_date_time:
                    self._end_of_value()

    def _date_time(self) -> None:
        with self._scoped("date-time"):
            self._date(True)
            self._fail_if_eof()
            if self._text[self._i] not in " Tt":
                self._fail(f"expected space, 'T' or 't', saw '{_show(self._cur())}'")
            self._advance_or_eof()
            self._time(True)
            c = self._cur()
            if c is None or c in _TERMINATORS:
                return
            if c in "Zz":
                self._advance()
            elif c in "+-":
                with self._scoped("date-time offset"):
                    self._advance_or_eof()
                    self._two_digits("hour", 23, "0 and 23")
                    self._fail_if_eof()
                    self._expect_char(":")
                    self._two_digits("minute", 59, "0 and 59")
            self._end_of_value()

    def _array(self) -> _Node:
        with self._scoped("array"):
            array = _Node("array", self._here())
            self._advance_or_eof()
            prev = "none"
            while True:
                while self._whitespace() or self._line_break() or self._comment():
                    pass
                self._fail_if_eof()
                c = self._text[self._i]
                if c == ",":
                    if prev != "value":
                        self._fail("expected value or closing ']', saw comma")
                    prev = "comma"
                    self._advance_or_eof()
                elif c == "]":
                    self._advance()
                    return array
                else:
                    if prev == "value":
                        self._fail(f"expected comma or closing ']', saw '{_show(c)}'")
                    prev = "value"
                    array.items.append(self._value())

    def _inline_table(self) -> _Node:
        with self._scoped("inline table"):
            table = _Node("table", self._here())
            table.inline = True
            self._advance_or_eof()
            prev = "none"
            while True:
                while self._whitespace():
                    pass
                self._fail_if_eof()
                c = self._text[self._i]
                if c == ",":
                    if prev != "pair":
                        self._fail("expected key-value pair or closing '}', saw comma")
                    prev = "comma"
                    self._advance_or_eof()
                elif c == "}":
                    if prev == "comma":
                        self._fail("expected key-value pair, saw closing '}' (dangling comma)")
                    self._advance()
                    return table
                elif c in _BARE_KEY or c in "\"'":
                    if prev == "pair":
                        self._fail(f"expected comma or closing '}}', saw '{_show(c)}'")
                    prev = "pair"
                    self._key_value(table)
                else:
                    self._fail(f"expected key or closing '}}', saw '{_show(c)}'")

    # -- strings -----------------------------------------------------------------------------

    def _string(self) -> tuple[str, bool]:
        """A string of any of the four kinds: its value and whether it was multi-line."""
        with self._scoped("string"):
            first = self._text[self._i]
            self._advance_or_eof()
            second = self._text[self._i]
            self._advance()
            if self._eof():
                if second == first:
                    return "", False
                self._fail(_EOF)
            if first == second == self._text[self._i]:
                multi_line = True
            else:
                self._i -= 2  # go_back(2): what was recorded stays recorded
                multi_line = False
            if first == "'":
                return self._literal_string(multi_line), multi_line
            return self._basic_string(multi_line), multi_line

    def _closing_quotes(self, quote: str, out: list[str]) -> bool:
        """At a quote inside a multi-line string: True when it ended the string."""
        run = 1
        for _ in range(4):
            self._advance()
            if self._cur() != quote:
                break
            run += 1
        if run <= 2:
            out.append(quote * run)
            return False
        if run == 4:
            out.append(quote)
        elif run == 5:
            out.append(quote * 2)
            self._advance()
        return True

    def _basic_string(self, multi_line: bool) -> str:
        with self._scoped("string"):
            self._advance_or_eof()
            if multi_line:
                self._line_break()
                self._fail_if_eof()
            out: list[str] = []
            escaped = skipping_ws = False
            while not self._eof():
                c = self._text[self._i]
                if escaped:
                    escaped = False
                    if multi_line and c in _WS:
                        self._whitespace()
                        if not self._line_break():
                            self._fail("line-ending backslashes must be the last "
                                       "non-whitespace character on the line")
                        skipping_ws = True
                        continue
                    if c in _ESCAPES:
                        out.append(_ESCAPES[c])
                        self._advance_or_eof()
                    elif c in "ex":
                        self._fail(f"escape sequence '\\{c}' is not supported in TOML 1.0.0 "
                                   "and earlier")
                    elif c in "uU":
                        out.append(self._unicode_escape(8 if c == "U" else 4))
                    else:
                        self._fail(f"unknown escape sequence '\\{_show(c)}'")
                    continue
                if c == '"':
                    if not multi_line:
                        self._advance()
                        return "".join(out)
                    if self._closing_quotes('"', out):
                        return "".join(out)
                    skipping_ws = False
                    continue
                if c == "\\":
                    self._advance_or_eof()
                    skipping_ws = False
                    escaped = True
                    continue
                if multi_line and c in "\n\x0b\x0c\r":
                    self._line_break()
                    if not skipping_ws:
                        out.append("\n")
                    continue
                if _is_nontab_control(c):
                    self._fail("unescaped control characters other than TAB (U+0009) are "
                               "explicitly prohibited")
                if not (multi_line and skipping_ws and c in _HORIZONTAL_WS):
                    skipping_ws = False
                    out.append(c)
                self._advance()
            self._fail(_EOF)

    def _unicode_escape(self, count: int) -> str:
        with self._scoped("unicode scalar sequence"):
            self._advance_or_eof()
            value = 0
            for _ in range(count):
                self._fail_if_eof()
                c = self._text[self._i]
                if c not in _HEX_DIGITS:
                    self._fail(f"expected hex digit, saw '{_show(c)}'")
                value = value * 16 + int(c, 16)
                self._advance()
            if 0xD800 <= value <= 0xDFFF:
                self._fail("unicode surrogates (U+D800 - U+DFFF) are explicitly prohibited")
            if value > 0x10FFFF:
                self._fail("values greater than U+10FFFF are invalid")
            return chr(value)

    def _literal_string(self, multi_line: bool) -> str:
        with self._scoped("literal string"):
            self._advance_or_eof()
            if multi_line:
                self._line_break()
                self._fail_if_eof()
            out: list[str] = []
            while not self._eof():
                c = self._text[self._i]
                if c == "'":
                    if not multi_line:
                        self._advance()
                        return "".join(out)
                    if self._closing_quotes("'", out):
                        return "".join(out)
                    continue
                if multi_line and c in "\n\x0b\x0c\r":
                    self._line_break()
                    out.append("\n")
                    continue
                if _is_nontab_control(c):
                    self._fail("control characters other than TAB (U+0009) are explicitly "
                               "prohibited")
                out.append(c)
                self._advance()
            self._fail(_EOF)


def _position_after(text: str) -> Position:
    """Where the character after ``text`` would be."""
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


class _BadUtf8(Exception):
    """Invalid UTF-8: toml++'s error, and the text its reader had decoded before the failing
    block (a syntax error found there comes first)."""

    def __init__(self, where: Position, message: str, before: str) -> None:
        super().__init__(message)
        self.error = _TomlSyntaxError(where, message)
        self.before = before


def _decode(data: bytes) -> str:
    """The document's text without its BOM. Invalid UTF-8 raises _BadUtf8 as toml++'s reader
    fails: it decodes 32-byte blocks and blames the last character decoded in the failing one."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        at_eof = e.reason == "unexpected end of data"
        if at_eof:
            bad_byte = len(data) - 1
        else:  # where the decoder gives up: the bad byte itself
            bad_byte = e.start if e.reason == "invalid start byte" else e.end
        block_start = bad_byte // 32 * 32
        valid = data[:e.start].decode("utf-8")
        if valid and e.start - 1 >= block_start:
            where = _position_after(valid[:-1])
        else:
            where = _position_after(valid)
        message = ("Encountered EOF during incomplete utf-8 code point sequence" if at_eof
                   else "Encountered invalid utf-8 sequence")
        before = codecs.getincrementaldecoder("utf-8")().decode(data[:block_start], final=False)
        raise _BadUtf8(where, message, before) from None


@contextlib.contextmanager
def _recursion_room() -> Iterator[None]:
    """toml++ allows 256 nested values; both recursive parsers need about 4 frames a level."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, 4 * _MAX_NESTED_VALUES + 2000))
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)


def _parse_toml(data: bytes) -> tuple[dict[str, Any], _Node]:
    """The values (tomllib) and the node tree (toml++'s positions and types) of a document.
    Raises _TomlSyntaxError: toml++'s error when its grammar refuses the text, else tomllib's."""
    with _recursion_room():
        return _parse_text(data)


def _parse_text(data: bytes) -> tuple[dict[str, Any], _Node]:
    try:
        text = _decode(data)
    except _BadUtf8 as bad:
        # toml++ reads the failing block only when the parser gets there
        parser = _TomlParser(bad.before)
        try:
            parser.parse()
        except _TomlSyntaxError:
            if not parser.reached_end:
                raise
        raise bad.error from None
    tree = _TomlParser(text).parse()
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # toml++ accepts what tomllib refuses here: say tomllib's reason at its position
        message = str(e)
        where: Position = (0, 0)
        if message.endswith(")") and " (at line " in message:
            message, _, tail = message.rpartition(" (at line ")
            line, _, col = tail[:-1].partition(", column ")
            where = (int(line), int(col))
        elif message.endswith(" (at end of document)"):
            message = message.removesuffix(" (at end of document)")
            where = _position_after(text)
        raise _TomlSyntaxError(where, message) from None
    return values, tree


# ---------------------------------------------------------------------------------------------
# Sections


def edit_distance(a: str | bytes, b: str | bytes) -> int:
    """Levenshtein distance (for "did you mean" hints)."""
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            cur = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev = cur
    return row[len(b)]


def endpoint_error(endpoint: str) -> str | None:
    """Why ``endpoint`` is not a usable ZeroMQ endpoint (tcp://host:port, ipc://path,
    inproc://name), or None."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return "missing transport (tcp://, ipc://, inproc://)"
    if scheme in ("ipc", "inproc"):
        return f"empty {scheme} path" if not rest else None
    if scheme != "tcp":
        return f'unsupported transport "{scheme}"'
    colon = rest.rfind(":")
    if colon <= 0:
        return "expected tcp://host:port"
    port = rest[colon + 1:]
    if port == "*":
        return None
    if not port or not all(c in _DIGITS for c in port) or not 0 < int(port) <= 65535:
        return "port must be 1..65535 or *"
    return None


def _format_g(v: float) -> str:
    """A double as std::ostream prints it by default (%g, 6 significant digits)."""
    return f"{v:g}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _describe(v: Any) -> str:
    """The ``got ...`` part of a type or range error."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _format_g(v)
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return "a date/time"


_MISSING = object()


class Section:
    """A view of one TOML table (C++ ``common::section``). Getters return the value, or the
    fallback when the key is absent or wrong (recording the problem, so reading goes on and
    finds the next one); every key asked for is remembered so ``finish()`` can report the rest.
    Child sections made by ``table()``/``tables()`` share the error list and are finished with
    their parent."""

    def __init__(self, table: dict[str, Any] | None, path: str, errors: ConfigErrors,
                 node: _Node | None = None) -> None:
        self._table = table
        self._node = node if table is not None else None
        self._path = path
        self._errors = errors
        self._known: list[str] = []
        self._children: list[Section] = []

    # -- what this section is ----------------------------------------------------------------

    @property
    def path(self) -> str:
        """Dotted name of this table ("" for the root, "node", "strategy.symbols.SPY", ...)."""
        return self._path

    @property
    def file(self) -> str:
        return self._errors.file

    @property
    def errors(self) -> list[str]:
        """Every error line recorded so far in this file, in the order the C++ lists them."""
        return list(self._errors.lines)

    def present(self) -> bool:
        """Whether the table exists in the file."""
        return self._table is not None

    def has(self, key: str) -> bool:
        """Whether ``key`` is set (does not count as reading it)."""
        return self._table is not None and key in self._table

    # -- getters -----------------------------------------------------------------------------

    def string(self, key: str, fallback: str = "", required: bool = False) -> str:
        v = self._lookup(key)
        if v is _MISSING:
            if required:
                self._missing(key, "a string")
            return fallback
        if isinstance(v, str):
            return v
        self._mismatch(v, key, "a string")
        return fallback

    def integer(self, key: str, fallback: int, lo: int, hi: int, required: bool = False) -> int:
        """An integer in [lo, hi]."""
        v = self._lookup(key)
        if v is _MISSING:
            if required:
                self._missing(key, "an integer")
            return fallback
        if not _is_int(v):
            self._mismatch(v, key, "an integer")
            return fallback
        if v < lo or v > hi:
            self._mismatch(v, key, f"an integer in [{lo}, {hi}]")
            return fallback
        return int(v)

    def number(self, key: str, fallback: float, lo: float, hi: float,
               required: bool = False) -> float:
        """A number (integer or float) in [lo, hi], as a float."""
        v = self._lookup(key)
        if v is _MISSING:
            if required:
                self._missing(key, "a number")
            return fallback
        if not (_is_int(v) or isinstance(v, float)):
            self._mismatch(v, key, "a number")
            return fallback
        value = float(v)
        if not lo <= value <= hi:
            self._mismatch(v, key, f"a number in [{_format_g(float(lo))}, {_format_g(float(hi))}]")
            return fallback
        return value

    def boolean(self, key: str, fallback: bool) -> bool:
        v = self._lookup(key)
        if v is _MISSING:
            return fallback
        if not isinstance(v, bool):
            self._mismatch(v, key, "true or false")
            return fallback
        return v

    def strings(self, key: str, fallback: Sequence[str] = ()) -> list[str]:
        """An array of strings."""
        v = self._lookup(key)
        if v is _MISSING:
            return list(fallback)
        if not isinstance(v, list):
            self._mismatch(v, key, "an array of strings")
            return list(fallback)
        array = self._child_node(key)
        for i, item in enumerate(v):
            if not isinstance(item, str):
                at = array.items[i].pos if array is not None and i < len(array.items) else None
                self._errors.add(at, self._full(f"{key}[{i}]"),
                                 f"expected a string, got {_describe(item)}")
                return list(fallback)
        return list(v)

    def endpoint(self, key: str, fallback: str = "", required: bool = False) -> str:
        """A ZeroMQ endpoint: tcp://host:port, ipc://path or inproc://name."""
        v = self._lookup(key)
        if v is _MISSING:
            if required:
                self._missing(key, "an endpoint")
            return fallback
        expected = "a ZeroMQ endpoint (tcp://host:port or ipc://path)"
        if not isinstance(v, str):
            self._mismatch(v, key, expected)
            return fallback
        why = endpoint_error(v)
        if why is not None:
            self._mismatch(v, key, f"{expected}: {why}")
            return fallback
        return v

    def choice(self, key: str, fallback: str, allowed: Sequence[str]) -> str:
        """One of ``allowed``."""
        v = self._lookup(key)
        if v is _MISSING:
            return fallback
        if isinstance(v, str) and v in allowed:
            return v
        self._mismatch(v, key, "one of " + "|".join(allowed))
        return fallback

    def table(self, key: str, required: bool = False) -> Section:
        """A nested table; absent (or not a table) = a section whose getters return defaults."""
        v = self._lookup(key)
        table: dict[str, Any] | None = None
        if v is _MISSING:
            if required:
                self._errors.add(None, self._full(key),
                                 f"missing required table [{self._full(key)}]")
        elif isinstance(v, dict):
            table = v
        else:
            self._mismatch(v, key, "a table")
        child = Section(table, self._full(key), self._errors, self._child_node(key))
        self._children.append(child)
        return child

    def tables(self, key: str) -> list[Section]:
        """An array of tables ([[key]]): one section each, named key[0], key[1], ..."""
        v = self._lookup(key)
        if v is _MISSING:
            return []
        if not isinstance(v, list) or not v or not all(isinstance(t, dict) for t in v):
            self._mismatch(v, key, f"an array of tables ([[{self._full(key)}]])")
            return []
        array = self._child_node(key)
        out = []
        for i, t in enumerate(v):
            node = array.items[i] if array is not None and i < len(array.items) else None
            child = Section(t, f"{self._full(key)}[{i}]", self._errors, node)
            self._children.append(child)
            out.append(child)
        return out

    def table_keys(self) -> list[str]:
        """Keys of the nested tables of this table (e.g. per-symbol parameter tables)."""
        if self._table is None:
            return []
        return [k for k in sorted(self._table) if isinstance(self._table[k], dict)]

    # -- errors ------------------------------------------------------------------------------

    def error(self, key: str, message: str) -> None:
        """Records ``message`` against ``key`` (for cross-field checks), at the key's value when
        it is set."""
        node = self._child_node(key) if self.has(key) else None
        self._errors.add(node.pos if node is not None else None, self._full(key), message)

    def finish(self) -> None:
        """Reports every key of this table and of its child sections that no getter asked for,
        with a "did you mean" hint when a known key is close (C++ ``section::finish``), then
        raises ConfigError when the file has any error (``throw_if_errors``). Call it once, on
        the root, after every table was read."""
        self._report_unknown_keys()
        self._errors.check()

    def check(self) -> None:
        """Raises ConfigError listing every error recorded so far, if any (without looking for
        unknown keys)."""
        self._errors.check()

    # -- helpers -----------------------------------------------------------------------------

    def _report_unknown_keys(self) -> None:
        if self._table is not None:
            for name in sorted(self._table):  # toml++ tables are ordered by key (bytewise)
                if name in self._known:
                    continue
                message = "unknown key"
                # a known key within a few edits, or one the name is a prefix of ("timeout" for
                # "timeout_ms"); lengths count UTF-8 bytes, as in C++
                raw = name.encode()
                best = max(2, len(raw) // 4) + 1
                for known in self._known:
                    k = known.encode()
                    d = 1 if k.startswith(raw) else edit_distance(raw, k)
                    if d < best:
                        best = d
                        message = f'unknown key (did you mean "{known}"?)'
                where = self._node.keys.get(name) if self._node is not None else None
                self._errors.add(where, self._full(name), message)
        for child in self._children:
            child._report_unknown_keys()

    def _full(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _lookup(self, key: str) -> Any:
        self._known.append(key)
        if self._table is None:
            return _MISSING
        return self._table.get(key, _MISSING)

    def _child_node(self, key: str) -> _Node | None:
        return self._node.children.get(key) if self._node is not None else None

    def _missing(self, key: str, expected: str) -> None:
        self._errors.add(None, self._full(key), f"missing required key (expected {expected})")

    def _mismatch(self, value: Any, key: str, expected: str) -> None:
        node = self._child_node(key)
        self._errors.add(node.pos if node is not None else None, self._full(key),
                         f"expected {expected}, got {_describe(value)}")


def loads(data: bytes | str, file: str = "<string>") -> Section:
    """The root section of a TOML document; ``file`` names it in error lines. A syntax error
    raises ConfigError with the one line C++ prints: ``file:line:col: (syntax): ...``."""
    errors = ConfigErrors(file)
    try:
        values, tree = _parse_toml(data.encode() if isinstance(data, str) else data)
    except _TomlSyntaxError as e:
        errors.add(e.where if e.where[0] > 0 else None, "(syntax)", e.description)
        raise ConfigError(file, errors.lines) from None
    return Section(values, "", errors, tree)


def _read_like_toml_file(path: str) -> bytes:
    """The bytes toml::parse_file reads: a directory reads as an empty document. OSError when
    the file cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except IsADirectoryError:
        return b""
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str]) -> Section:
    """Reads and parses a config file (C++ ``parse_config_file``): the root section, or
    ConfigError with one line when the file cannot be read or is not valid TOML."""
    file = os.fspath(path)
    errors = ConfigErrors(file)
    try:
        data = _read_like_toml_file(file)
    except OSError as e:
        errors.add(None, "(file)", f"cannot open: {e.strerror}")
        raise ConfigError(file, errors.lines) from None
    return loads(data, file)


# ---------------------------------------------------------------------------------------------
# CURVE keys ([security]; common/curve.cpp)

Z85_KEY_CHARS = 40
_Z85_ALPHABET = ("0123456789abcdefghijklmnopqrstuvwxyz"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
_Z85_VALUE = {c.encode()[0]: i for i, c in enumerate(_Z85_ALPHABET)}


class KeyFileError(Exception):
    """A key file problem; the message names the file and what is wrong, never a secret."""


@dataclass(frozen=True)
class CurveKeyPair:
    public_key: str  # Z85
    secret_key: str = field(repr=False)  # Z85; never printed


@dataclass(frozen=True)
class CurveClient:
    """What a client socket needs to talk to a CURVE broker; empty server_key = plaintext."""

    server_key: str = ""  # the broker's public key (Z85)
    public_key: str = ""  # this client's own pair (Z85)
    secret_key: str = field(default="", repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.server_key)


def z85_key_error(key: str) -> str | None:
    """Why ``key`` is not a Z85 CURVE key (40 characters of the Z85 alphabet), or None."""
    raw = key.encode()
    if len(raw) != Z85_KEY_CHARS:
        return f"expected a 40-character Z85 key, got {len(raw)} characters"
    if any(b not in _Z85_VALUE for b in raw):
        return "expected a 40-character Z85 key, got a character outside the Z85 alphabet"
    # zmq_z85_decode refuses a group of 5 characters worth more than 32 bits
    for i in range(0, len(raw), 5):
        value = 0
        for b in raw[i:i + 5]:
            value = value * 85 + _Z85_VALUE[b]
        if value > 0xFFFFFFFF:
            return "expected a 40-character Z85 key"
    return None


def _key_file_toml(path: str) -> dict[str, Any]:
    """The TOML of a key file (curve.cpp ``parse_key_file``)."""
    try:
        data = _read_like_toml_file(path)
    except OSError:
        raise KeyFileError(f"{path}:0:0: not a key file (File could not be opened for "
                           "reading)") from None
    try:
        values, _ = _parse_toml(data)
    except _TomlSyntaxError as e:
        line, col = e.where
        raise KeyFileError(f"{path}:{line}:{col}: not a key file ({e.description})") from None
    return values


def _key_of(table: dict[str, Any], path: str, key: str, secret: bool) -> str:
    """One Z85 key of a key file; a secret's value is never quoted."""
    if key not in table:
        raise KeyFileError(f"{path}: {key}: missing")
    value = table[key]
    if not isinstance(value, str):
        raise KeyFileError(f"{path}: {key}: expected a Z85 key string")
    why = z85_key_error(value)
    if why is not None:
        if secret:
            why = "expected a 40-character Z85 key (value not shown)"
        raise KeyFileError(f"{path}: {key}: {why}")
    return value


def load_key_file(path: str) -> CurveKeyPair:
    """Reads NAME.key (``tradebus keygen``): owner-only permissions, both keys, and that the
    public key belongs to the secret one. Raises KeyFileError."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read: {e.strerror}") from None
    if st.st_mode & 0o077:
        raise KeyFileError(f"{path}: permissions {stat.S_IMODE(st.st_mode):04o} are too open: "
                           "a file holding a secret key must be accessible by its owner only "
                           f"(chmod 600 {path})")
    table = _key_file_toml(path)
    secret = _key_of(table, path, "secret_key", True)
    try:
        public = zmq.curve_public(secret.encode()).decode()
    except zmq.ZMQError as e:
        raise KeyFileError(f"{path}: secret_key: cannot derive its public key: "
                           f"{e.strerror}") from None
    if "public_key" in table and _key_of(table, path, "public_key", False) != public:
        raise KeyFileError(f"{path}: public_key: does not belong to secret_key (expected {public})")
    return CurveKeyPair(public, secret)


def load_public_key_file(path: str) -> str:
    """Reads public_key from NAME.pub (or NAME.key; its secret is not looked at)."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read: {e.strerror}") from None
    return _key_of(_key_file_toml(path), path, "public_key", False)


def read_public_key(s: Section, key: str, file_key: str, required: bool) -> str:
    """A key given inline (``key``, Z85) or as a file (``file_key``): records an error when both
    or (if ``required``) neither is set, or when the key or the file is bad. "" when unset."""
    inline_set, file_set = s.has(key), s.has(file_key)
    value = s.string(key)
    file = s.string(file_key)
    if inline_set and file_set:
        s.error(file_key, f"expected either {key} or {file_key}, not both")
        return ""
    if inline_set:
        why = z85_key_error(value)
        if why is not None:
            s.error(key, why)
            return ""
        return value
    if file_set:
        try:
            return load_public_key_file(file)
        except KeyFileError as e:
            s.error(file_key, str(e))
            return ""
    if required:
        s.error(key, f"missing: expected {key} (Z85) or {file_key} (a .pub file from "
                     "tradebus keygen)")
    return ""


def read_curve_client(s: Section) -> CurveClient:
    """A client's keys from a [security] table: ``broker_public_key`` (Z85) or
    ``broker_public_key_file``, and ``key_file`` (this client's NAME.key). Absent table or keys
    = plaintext."""
    if not s.present():
        return CurveClient()
    wanted = s.has("broker_public_key") or s.has("broker_public_key_file") or s.has("key_file")
    server_key = read_public_key(s, "broker_public_key", "broker_public_key_file", wanted)
    key_file = s.string("key_file")
    pair = CurveKeyPair("", "")
    if wanted and not key_file:
        s.error("key_file", "missing: expected this client's key file (NAME.key from "
                            "tradebus keygen) next to the broker's public key")
    elif key_file:
        try:
            pair = load_key_file(key_file)
        except KeyFileError as e:
            s.error("key_file", str(e))
    if not pair.public_key:
        server_key = ""
    return CurveClient(server_key, pair.public_key, pair.secret_key)


# ---------------------------------------------------------------------------------------------
# Trading session ([session]; nodes/runtime/session.cpp)

_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# date's OS tz database skips these names under the zoneinfo directory (and anything "posix*")
_TZ_SKIPPED = {"Factory", "iso3166.tab", "right", "+VERSION", "zone.tab", "zone1970.tab",
               "tzdata.zi", "leapseconds", "leap-seconds.list"}


class SessionError(ValueError):
    """A [session] value that is not usable; the message says what is expected."""


def _tz_dir() -> str:
    uclibc = "/usr/share/zoneinfo/uclibc"  # date looks there first (buildroot)
    return uclibc if os.path.isdir(uclibc) else "/usr/share/zoneinfo"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    """The zone names the C++ nodes know: what Howard Hinnant's date (USE_OS_TZDB) lists by
    walking the system zoneinfo directory."""
    root = _tz_dir()
    names: set[str] = set()
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            if entry.startswith((".", "posix")) or entry in _TZ_SKIPPED:
                continue
            full = os.path.join(directory, entry)
            try:
                mode = os.stat(full).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                pending.append(full)
            elif stat.S_ISREG(mode):
                names.add(full[len(root) + 1:])
    return frozenset(names)


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    if name not in _zone_names():
        return None
    try:
        with open(os.path.join(_tz_dir(), name), "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key=name)
    except (OSError, ValueError):
        return None


def _parse_hhmm(s: str) -> int:
    """"HH:MM" -> minutes after midnight, or -1."""
    raw = s.encode()
    if len(raw) != 5 or raw[2:3] != b":" or not all(48 <= raw[i] <= 57 for i in (0, 1, 3, 4)):
        return -1
    h, m = int(raw[0:2]), int(raw[3:5])
    return -1 if h > 23 or m > 59 else h * 60 + m


class TradingSession:
    """A desk's trading day: it starts at ``start`` ("HH:MM") local time in ``timezone`` (an
    IANA name, DST-aware). Which session a timestamp is in, when the next one starts, and how
    far back recovery reads; the same answers as C++ ``trading_session``."""

    def __init__(self, timezone: str = "UTC", start: str = "00:00",
                 recovery_horizon_days: int = 30) -> None:
        """Raises SessionError naming what is wrong: an unknown ``timezone``, a ``start`` that is
        not "HH:MM" (00:00 .. 23:59)."""
        self._start_min = _parse_hhmm(start)
        if self._start_min < 0:
            raise SessionError(f'expected a time of day "HH:MM" (00:00 .. 23:59), got "{start}"')
        zone = _zone(timezone)
        if zone is None:
            raise SessionError('expected an IANA time zone name such as "America/New_York" or '
                               f'"UTC" (from /usr/share/zoneinfo), got "{timezone}"')
        self._zone = zone
        self.timezone = timezone
        self.start = start
        self.recovery_horizon_days = recovery_horizon_days

    def __repr__(self) -> str:
        return (f"TradingSession(timezone={self.timezone!r}, start={self.start!r}, "
                f"recovery_horizon_days={self.recovery_horizon_days})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TradingSession)
                and (self.timezone, self.start, self.recovery_horizon_days)
                == (other.timezone, other.start, other.recovery_horizon_days))

    def _offset_s(self, utc_s: int) -> int:
        """The zone's UTC offset at an instant, in seconds."""
        offset = (_EPOCH + datetime.timedelta(seconds=utc_s)).astimezone(self._zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def _local_day(self, ts_ns: int) -> int:
        local_ns = ts_ns + self._offset_s(ts_ns // _NS_PER_S) * _NS_PER_S
        return local_ns // _NS_PER_DAY

    def _start_on(self, day: int) -> int:
        """The session start on local day ``day`` (days since 1970-01-01), UTC ns. A start that
        exists twice (clocks set back) is the first; one skipped (clocks set forward) is the
        instant of the jump."""
        local_s = day * 86_400 + self._start_min * 60
        naive = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=local_s)
        before = naive.replace(tzinfo=self._zone, fold=0).utcoffset()
        after = naive.replace(tzinfo=self._zone, fold=1).utcoffset()
        o_before = int(before.total_seconds()) if before is not None else 0
        o_after = int(after.total_seconds()) if after is not None else 0
        utc_s = local_s - o_before
        if o_before == o_after or self._offset_s(utc_s) == o_before:
            return utc_s * _NS_PER_S
        # in a gap: the jump is in (local - o_after, local - o_before]; find its second
        lo, hi = local_s - o_after, utc_s
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._offset_s(mid) == self._offset_s(lo):
                lo = mid
            else:
                hi = mid
        return hi * _NS_PER_S

    def start_of(self, ts_ns: int) -> int:
        """The start (UTC ns) of the session containing ``ts_ns``: the latest start at or
        before it."""
        d = self._local_day(ts_ns)
        for day in range(d + 1, d - 3, -1):
            s = self._start_on(day)
            if s <= ts_ns:
                return s
        return self._start_on(d - 2)

    def day_of(self, ts_ns: int) -> str:
        """The session containing ``ts_ns`` named by the local date it started on, YYYY-MM-DD."""
        day = self._local_day(self.start_of(ts_ns))
        return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()

    def next_start(self, ts_ns: int) -> int:
        """The first session start strictly after ``ts_ns``."""
        d = self._local_day(ts_ns)
        for day in range(d - 1, d + 3):
            s = self._start_on(day)
            if s > ts_ns:
                return s
        return self._start_on(d + 2)

    def horizon_start(self, now_ns: int) -> int:
        """now - recovery_horizon_days: the oldest journal time recovery reads."""
        return now_ns - self.recovery_horizon_days * _NS_PER_DAY


def read_session(root: Section) -> TradingSession:
    """Reads the optional [session] table (session_timezone, session_start,
    recovery_horizon_days); problems go to ``root``'s error list."""
    s = root.table("session")
    tz = s.string("session_timezone", "UTC")
    start = s.string("session_start", "00:00")
    horizon = s.integer("recovery_horizon_days", 30, 1, 3660)
    out = TradingSession()
    try:
        out = TradingSession(tz, "00:00")
    except SessionError as e:
        s.error("session_timezone", str(e))
    try:
        out = TradingSession(out.timezone, start)
    except SessionError as e:
        s.error("session_start", str(e))
    out.recovery_horizon_days = horizon
    return out


# ---------------------------------------------------------------------------------------------
# The runtime tables of a node's file ([node], [broker], [security], [session])

LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "critical")


@dataclass
class NodeConfig:
    """What the runtime reads from a node's file (C++ ``node_config``); defaults as there."""

    file: str = ""
    kind: str = ""
    name: str = ""
    log_level: str = "info"
    # [node] executable: what the tradebus-node launcher execs instead of tradebus-<kind>; an
    # absolute path, "" = none. The node only checks it.
    executable: str = ""
    depends_on: list[str] = field(default_factory=list)
    heartbeat_interval_ms: int = 1000  # Paranoid Pirate's 1 s
    control_endpoint: str = ""
    xsub_endpoint: str = ""  # "": use what the broker advertises
    xpub_endpoint: str = ""
    request_timeout_ms: int = 1000  # one control round trip on a LAN
    retry_max_ms: int = 5000  # backoff cap while the broker is away
    sndhwm: int = 100_000  # messages per pipe: a burst of market data is absorbed, not dropped
    rcvhwm: int = 100_000
    curve: CurveClient = field(default_factory=CurveClient)  # [security]: empty = plaintext
    start_fresh: bool = False  # skip recovery deliberately (empty state)
    recovery_retry_ms: int = 1000  # delay between recovery attempts while the journal is away
    session: TradingSession = field(default_factory=TradingSession)  # [session]


def read_node_config(root: Section, expected_kind: str) -> NodeConfig:
    """Reads [node], [broker], [security] and [session] from ``root``, recording every problem
    in its error list. ``expected_kind`` is the node's kind; a file for another kind is an
    error. The node's own table ([strategy], ...) is left to the node: read it with
    ``root.table(kind)``, then call ``root.finish()``."""
    cfg = NodeConfig(file=root.file)
    node = root.table("node", True)
    cfg.kind = node.string("kind", expected_kind, True)
    if node.present() and node.has("kind") and cfg.kind != expected_kind:
        node.error("kind", f"this is the tradebus-{expected_kind} executable; expected kind = "
                           f'"{expected_kind}", got "{cfg.kind}"')
    cfg.name = node.string("name", "", True)
    if node.has("name") and not valid_node_name(cfg.name):
        node.error("name", f'expected {NODE_NAME_RULE}, got "{cfg.name}"')
    cfg.executable = node.string("executable")
    if cfg.executable and not cfg.executable.startswith("/"):
        node.error("executable",
                   "expected an absolute path to the node's executable, e.g. "
                   f'"/usr/local/bin/tradebus-{expected_kind}", got "{cfg.executable}"')
    cfg.depends_on = node.strings("depends_on")
    for dep in cfg.depends_on:
        if not valid_node_name(dep):
            node.error("depends_on", f'expected node names of {NODE_NAME_RULE}, got "{dep}"')
        if dep == cfg.name:
            node.error("depends_on", "a node cannot depend on itself")
    cfg.heartbeat_interval_ms = node.integer("heartbeat_interval_ms", 1000, 10, 60_000)
    cfg.log_level = node.choice("log_level", "info", LOG_LEVELS)
    cfg.start_fresh = node.boolean("start_fresh", False)
    cfg.recovery_retry_ms = node.integer("recovery_retry_ms", 1000, 10, 600_000)

    broker = root.table("broker", True)
    cfg.control_endpoint = broker.endpoint("control_endpoint", "", True)
    cfg.xsub_endpoint = broker.endpoint("xsub_endpoint", "")
    cfg.xpub_endpoint = broker.endpoint("xpub_endpoint", "")
    cfg.request_timeout_ms = broker.integer("request_timeout_ms", 1000, 10, 60_000)
    cfg.retry_max_ms = broker.integer("retry_max_ms", 5000, 10, 600_000)
    cfg.sndhwm = broker.integer("sndhwm", 100_000, 0, 100_000_000)
    cfg.rcvhwm = broker.integer("rcvhwm", 100_000, 0, 100_000_000)

    # [security]: broker_public_key(_file) + key_file = CURVE on every socket to the broker
    cfg.curve = read_curve_client(root.table("security"))
    cfg.session = read_session(root)
    return cfg
