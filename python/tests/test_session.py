"""The node's session with the broker (tradebus/session.py) is the C++ runtime's table
(nodes/runtime/session_lifecycle.cpp): the same rows, in the same order, read from the C++
source here so that a row changed on one side only fails this test. Then step() on the cases of
tests/unit/runtime_session_lifecycle_test.cpp and the table's invariants over every
(state, event, request).

Left out of the comparison, because the Python runtime has neither services nor the logic's own
control requests (context::announce_service, context::send_control):
- the requests `announce` and `logic` (removed from every C++ row's request mask; a row left
  with no request is dropped),
- the rows whose action is `announced`, `retry_announce`, `to_logic` or
  `to_logic_then_re_register` (the replies to those requests).
"""

from __future__ import annotations

import itertools
import re

import pytest

from bus import REPO
from tradebus.session import TABLE, Action, Event, Request, Row, State, step

CPP = REPO / "nodes" / "runtime" / "session_lifecycle.cpp"
HPP = REPO / "nodes" / "runtime" / "include" / "tradebus" / "runtime" / "session_lifecycle.hpp"

EXCLUDED_REQUESTS = {"announce", "logic"}
EXCLUDED_ACTIONS = {"announced", "retry_announce", "to_logic", "to_logic_then_re_register"}


# ---------------------------------------------------------------------------- the C++ table

def _enum(header: str, name: str) -> list[str]:
    m = re.search(r"enum class " + name + r"\s*:\s*[\w:]+\s*\{(.*?)\};", header, re.S)
    assert m, f"enum {name} not found in {HPP}"
    body = re.sub(r"//[^\n]*", "", m.group(1))
    return [v.strip() for v in body.split(",") if v.strip()]


def _split_top(text: str) -> list[str]:
    """Splits at commas outside parentheses, braces and string literals."""
    out, depth, cur, in_str, k = [], 0, [], False, 0
    while k < len(text):
        c = text[k]
        if in_str:
            cur.append(c)
            if c == "\\":
                cur.append(text[k + 1])
                k += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            cur.append(c)
        elif c in "({":
            depth += 1
            cur.append(c)
        elif c in ")}":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        k += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _literal(text: str) -> str:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    assert parts and re.fullmatch(r'(\s*"(?:[^"\\]|\\.)*"\s*)+', text), text
    return "".join(p.encode().decode("unicode_escape") for p in parts)


def _mask(expr: str, names: dict[str, frozenset]) -> frozenset:
    """A C++ mask expression (E(ev::x) | R(rq::y) | mask(st::z) | named masks, `& ~(...)`) as
    the set of enumerator names."""
    py = re.sub(r"\b(?:E|R|mask)\((?:ev|rq|st)::(\w+)\)", r'frozenset({"\1"})', expr)
    py = re.sub(r"&\s*~", "- ", py)
    assert re.fullmatch(r'[\w\s|()\-{}",]*', py), f"cannot read the mask {expr!r}"
    return frozenset(eval(py, {"__builtins__": {}, "frozenset": frozenset}, dict(names)))


def cpp_table() -> list[tuple]:
    """The C++ rows as (states, events, requests, next, action, why), enumerator names."""
    header, source = HPP.read_text(), CPP.read_text()
    names = {
        "any_session_state": frozenset(_enum(header, "session_state")),
        "any_session_event": frozenset(_enum(header, "session_event")),
        "any_request": frozenset(_enum(header, "session_request")),
    }
    for name, expr in re.findall(r"constexpr session_\w+_mask (\w+)\s*=\s*(.*?);", source, re.S):
        names[name] = _mask(expr, names)
    body = re.search(r"constexpr std::array rows\{(.*?)\n\};", source, re.S)
    assert body, f"the rows array not found in {CPP}"
    text = re.sub(r"//[^\n]*", "", body.group(1))
    rows = []
    for m in re.finditer(r"session_row\{", text):
        depth, k = 1, m.end()
        while depth:  # the row's closing brace (no braces inside its string literals)
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
        fields = _split_top(text[m.end():k - 1])
        assert len(fields) == 6, fields
        states, events, requests, nxt, action, why = fields
        nm = re.fullmatch(r"st::(\w+)|same", nxt)
        am = re.fullmatch(r"act::(\w+)", action)
        assert nm and am, (nxt, action)
        rows.append((_mask(states, names), _mask(events, names), _mask(requests, names),
                     nm.group(1), am.group(1), _literal(why)))
    return rows


def cpp_table_for_python() -> list[tuple]:
    out = []
    for states, events, requests, nxt, action, why in cpp_table():
        if action in EXCLUDED_ACTIONS:
            continue
        requests = requests - EXCLUDED_REQUESTS
        if requests:
            out.append((states, events, requests, nxt, action, why))
    return out


def python_names(row: Row) -> tuple:
    return (frozenset(s.value for s in row.states),
            frozenset(_cpp_event(e) for e in row.events),
            frozenset(_cpp_request(r) for r in row.requests),
            row.next.value if row.next is not None else None,
            row.action.value, row.why)


def _cpp_event(e: Event) -> str:
    return e.name.lower()


def _cpp_request(r: Request) -> str:
    return "register_" if r is Request.REGISTER else r.value


def test_the_cpp_table_is_read() -> None:
    rows = cpp_table()
    # As many rows as session_row{ literals, and a sane first and last row.
    assert len(rows) == CPP.read_text().count("session_row{") >= 10
    assert rows[0][3:5] == ("registered", "adopt")
    assert rows[-1][4] == "warn" and rows[-1][3] is None
    assert rows[-1][1] == frozenset(_enum(HPP.read_text(), "session_event"))
    assert any(r[4] in EXCLUDED_ACTIONS for r in rows)  # the exclusion has something to do


def test_the_enumerations_match_the_cpp_ones() -> None:
    header = HPP.read_text()
    assert {s.value for s in State} == set(_enum(header, "session_state"))
    assert {_cpp_event(e) for e in Event} == set(_enum(header, "session_event"))
    assert {_cpp_request(r) for r in Request} == \
        set(_enum(header, "session_request")) - EXCLUDED_REQUESTS
    assert {a.value for a in Action} == set(_enum(header, "session_action")) - EXCLUDED_ACTIONS


def test_the_python_table_has_the_cpp_rows_in_order() -> None:
    expected = cpp_table_for_python()
    got = [python_names(r) for r in TABLE]
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g[5] == e[5], f"row {k}: why differs"
        assert g == e, f"row {k} ({e[5]!r}) differs"
    assert len(got) == len(expected)


# ---------------------------------------------------------------------------- step()

Un, Reg, Rep = State.UNREGISTERED, State.REGISTERED, State.REPLACED
E, R, A = Event, Request, Action

CASES = [
    # register
    (Un, E.REGISTER_OK, R.REGISTER, Reg, A.ADOPT),
    (Un, E.DUPLICATE_NAME, R.REGISTER, Un, A.RETRY_AT_CAP),
    (Un, E.UNKNOWN_SESSION, R.REGISTER, Un, A.RETRY_AT_CAP),
    (Un, E.REFUSED, R.REGISTER, Un, A.RETRY_AT_CAP),
    (Un, E.UNDECODABLE, R.REGISTER, Un, A.WARN),
    (Un, E.HEARTBEAT_OK, R.REGISTER, Un, A.WARN),
    (Un, E.NO_REPLY, R.REGISTER, Un, A.BACK_OFF),
    # heartbeat
    (Reg, E.HEARTBEAT_OK, R.HEARTBEAT, Reg, A.REFRESH),
    (Reg, E.EPOCH_CHANGED, R.HEARTBEAT, Un, A.RE_REGISTER),
    (Reg, E.UNKNOWN_SESSION, R.HEARTBEAT, Un, A.RE_REGISTER),
    (Reg, E.DUPLICATE_NAME, R.HEARTBEAT, Rep, A.STOP_REPLACED),
    (Reg, E.REFUSED, R.HEARTBEAT, Reg, A.LOG_REFUSAL),
    (Reg, E.NO_REPLY, R.HEARTBEAT, Reg, A.BACK_OFF),
    (Reg, E.UNDECODABLE, R.HEARTBEAT, Reg, A.WARN),
    (Reg, E.REGISTER_OK, R.HEARTBEAT, Reg, A.WARN),
    (Reg, E.OK, R.HEARTBEAT, Reg, A.WARN),
    (Reg, E.OTHER_REPLY, R.HEARTBEAT, Reg, A.WARN),
    # the late join's snapshot: every reply is its answer, even a session error
    (Reg, E.SNAPSHOT_OK, R.SNAPSHOT, Reg, A.TO_SNAPSHOT),
    (Reg, E.REFUSED, R.SNAPSHOT, Reg, A.TO_SNAPSHOT),
    (Reg, E.UNKNOWN_SESSION, R.SNAPSHOT, Reg, A.TO_SNAPSHOT),
    (Reg, E.UNDECODABLE, R.SNAPSHOT, Reg, A.TO_SNAPSHOT),
    (Reg, E.NO_REPLY, R.SNAPSHOT, Reg, A.BACK_OFF),
    # hints from the data plane
    (Reg, E.EPOCH_HINT, R.NONE, Reg, A.ASK_BROKER),
    (Reg, E.EPOCH_HINT, R.HEARTBEAT, Reg, A.ASK_BROKER),
    (Un, E.EPOCH_HINT, R.REGISTER, Un, A.NOTHING),
    # the stop
    (Reg, E.STOP, R.NONE, Un, A.DEREGISTER),
    (Reg, E.STOP, R.HEARTBEAT, Un, A.DEREGISTER),
    (Un, E.STOP, R.REGISTER, Un, A.NOTHING),
    (Rep, E.STOP, R.NONE, Rep, A.NOTHING),
    # a replaced node acts on nothing
    (Rep, E.HEARTBEAT_OK, R.HEARTBEAT, Rep, A.WARN),
    (Rep, E.NO_REPLY, R.HEARTBEAT, Rep, A.WARN),
    (Rep, E.EPOCH_HINT, R.NONE, Rep, A.WARN),
    (Rep, E.DUPLICATE_NAME, R.HEARTBEAT, Rep, A.WARN),
]


@pytest.mark.parametrize("state,event,in_flight,expect_state,expect_action", CASES,
                         ids=[f"{c[0].value}-{c[1].value}-{c[2].value}" for c in CASES])
def test_step(state, event, in_flight, expect_state, expect_action) -> None:
    row = step(state, event, in_flight)
    assert row.action is expect_action
    assert (row.next or state) is expect_state
    assert row.why


def test_every_row_is_reached_by_some_case() -> None:
    hit = {id(step(s, e, r)) for s, e, r, _, _ in CASES}
    assert [r.why for r in TABLE if id(r) not in hit] == []


def test_the_last_row_is_a_catch_all_that_changes_nothing() -> None:
    last = TABLE[-1]
    assert last.states == frozenset(State) and last.events == frozenset(Event)
    assert last.requests == frozenset(Request)
    assert last.next is None and last.action is Action.WARN


def test_invariants_over_every_state_event_and_request() -> None:
    for state, event, request in itertools.product(State, Event, Request):
        row = step(state, event, request)
        where = f"{state.value} / {event.value} / {request.value}: {row.why}"
        assert state in row.states and event in row.events and request in row.requests, where
        assert row is next(r for r in TABLE if state in r.states and event in r.events
                           and request in r.requests), where  # the first match
        if state is Rep:
            assert row.next is None, where  # nothing leaves replaced: that node stops
        if event in (E.NO_REPLY, E.EPOCH_HINT):
            assert row.next is None, where  # only the broker's answer ends or starts a session
        if row.next is Reg:
            assert event is E.REGISTER_OK, where  # only a register_ok makes a session
        if row.action is A.ADOPT:
            assert request is R.REGISTER, where
        if row.next is Rep:
            assert event is E.DUPLICATE_NAME and row.action is A.STOP_REPLACED, where
