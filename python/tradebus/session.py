"""A node's session with the broker as one table: the same rows as the C++ runtime's
(nodes/runtime/session_lifecycle.cpp, ARCHITECTURE.md "Node session").

Every (state, event, request in flight) the control plane can meet maps to the first matching
row, which names the next state (None: unchanged) and the one action the engine carries out.
The engine only classifies what happened, looks the row up and does what it says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    UNREGISTERED = "unregistered"  # no session: the next control request is a register
    REGISTERED = "registered"  # a session of the broker's current epoch: heartbeats go out
    REPLACED = "replaced"  # the broker gave the name to a newer instance: this one stops


class Event(enum.Enum):
    REGISTER_OK = "register_ok"
    HEARTBEAT_OK = "heartbeat_ok"  # of the epoch the node registered in
    EPOCH_CHANGED = "heartbeat_ok(other epoch)"  # the broker restarted
    OK = "ok"
    SNAPSHOT_OK = "snapshot_ok"
    UNKNOWN_SESSION = "error(unknown_session)"
    DUPLICATE_NAME = "error(duplicate_name)"
    REFUSED = "error"  # any other error
    NO_REPLY = "no reply"  # nothing within the request timeout
    UNDECODABLE = "undecodable reply"
    OTHER_REPLY = "unexpected reply"
    EPOCH_HINT = "sys.broker.started(other epoch)"  # data plane: only a hint
    STOP = "stop"


class Request(enum.Enum):
    NONE = "none"
    REGISTER = "register"
    HEARTBEAT = "heartbeat"
    SNAPSHOT = "snapshot"


class Action(enum.Enum):
    ADOPT = "adopt"  # take session, epoch, interval; connect; readiness; trading state
    REFRESH = "refresh"  # readiness and trading state from the heartbeat reply
    RE_REGISTER = "re_register"  # the session is gone: register again, prove the data plane
    STOP_REPLACED = "stop_replaced"  # stop at once (exit 1) without deregistering the new one
    RETRY_AT_CAP = "retry_at_cap"  # a refused registration needs a human: retry at the cap
    LOG_REFUSAL = "log_refusal"  # a refused heartbeat: log it, keep the session
    BACK_OFF = "back_off"  # no reply: retry with exponential backoff
    TO_SNAPSHOT = "to_snapshot"  # hand the reply to the late join
    ASK_BROKER = "ask_broker"  # send the next heartbeat now (at most every 500 ms)
    DEREGISTER = "deregister"  # send deregister, wait for its answer (bounded)
    NOTHING = "nothing"
    WARN = "warn"  # log an unexpected reply; nothing changes


_ANY_STATE = frozenset(State)
_ANY_EVENT = frozenset(Event)
_ANY_REQUEST = frozenset(Request)
_REPLIES = _ANY_EVENT - {Event.NO_REPLY, Event.EPOCH_HINT, Event.STOP}
_UN = frozenset({State.UNREGISTERED})
_REG = frozenset({State.REGISTERED})


@dataclass(frozen=True)
class Row:
    states: frozenset
    events: frozenset
    requests: frozenset
    next: State | None
    action: Action
    why: str


TABLE: tuple[Row, ...] = (
    Row(_UN, frozenset({Event.REGISTER_OK}), frozenset({Request.REGISTER}), State.REGISTERED,
        Action.ADOPT, "registered"),
    Row(_UN, frozenset({Event.DUPLICATE_NAME, Event.UNKNOWN_SESSION, Event.REFUSED}),
        frozenset({Request.REGISTER}), None, Action.RETRY_AT_CAP,
        "registration refused (a duplicate name, a dependency cycle, ...): needs a human, "
        "retried at the backoff cap"),
    Row(_REG, _REPLIES, frozenset({Request.SNAPSHOT}), None, Action.TO_SNAPSHOT,
        "the last-value snapshot"),
    Row(_REG, frozenset({Event.HEARTBEAT_OK}), frozenset({Request.HEARTBEAT}), None,
        Action.REFRESH, "heartbeat answered"),
    Row(_REG, frozenset({Event.EPOCH_CHANGED}), frozenset({Request.HEARTBEAT}),
        State.UNREGISTERED, Action.RE_REGISTER,
        "the broker restarted (another epoch): registering again"),
    Row(_REG, frozenset({Event.UNKNOWN_SESSION}), frozenset({Request.HEARTBEAT}),
        State.UNREGISTERED, Action.RE_REGISTER,
        "the broker does not know the session: registering again"),
    Row(_REG, frozenset({Event.DUPLICATE_NAME}), frozenset({Request.HEARTBEAT}), State.REPLACED,
        Action.STOP_REPLACED,
        "the broker gave the name to another instance of this node (this one was silent: "
        "frozen or cut off); two would act twice on every event, so the older one stops"),
    Row(_REG, frozenset({Event.REFUSED}), frozenset({Request.HEARTBEAT}), None,
        Action.LOG_REFUSAL, "heartbeat refused: the session stays"),
    Row(_UN | _REG, frozenset({Event.NO_REPLY}), _ANY_REQUEST, None, Action.BACK_OFF,
        "no reply in time: the broker is away or slow; retried with backoff"),
    Row(_REG, frozenset({Event.EPOCH_HINT}), _ANY_REQUEST, None, Action.ASK_BROKER,
        "a sys.broker.started announces another epoch: the control plane is asked, only its "
        "answer counts"),
    Row(_UN, frozenset({Event.EPOCH_HINT}), _ANY_REQUEST, None, Action.NOTHING,
        "registering already: the register reply tells the epoch"),
    Row(_REG, frozenset({Event.STOP}), _ANY_REQUEST, State.UNREGISTERED, Action.DEREGISTER,
        "deregistering"),
    Row(_UN | frozenset({State.REPLACED}), frozenset({Event.STOP}), _ANY_REQUEST, None,
        Action.NOTHING, "no session to end (or it is another instance's now)"),
    Row(_ANY_STATE, _ANY_EVENT, _ANY_REQUEST, None, Action.WARN,
        "unexpected in this state: ignored"),
)


def step(state: State, event: Event, request: Request) -> Row:
    """The first row matching; the last row matches everything."""
    for row in TABLE:
        if state in row.states and event in row.events and request in row.requests:
            return row
    return TABLE[-1]
