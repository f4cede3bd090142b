"""The runtime's recovery phase (``Node.recovery``): a port of the C++ ``recovery_client``
(nodes/runtime/recovery_client.cpp, PROTOCOL.md "Recovery (how nodes use it)").

Look up the journal's query endpoint through the broker (control message ``lookup``, on a REQ
socket of its own so heartbeats go on), then page through ``journal_query`` (REQ with the Lazy
Pirate timeout) and hand every record to the engine. Anything that fails (no journal announced,
no answer, a malformed reply) is logged with its reason and retried after ``[node]
recovery_retry_ms`` from the lookup on: the node stays ``starting`` and acts on nothing until
recovery is complete.

With an anchor topic the query first pages one record at a time through that topic alone,
keeping the last one; the journal scans for it and returns only matches, so the search costs one
scan of the journal since ``since_ns`` and one reply per anchor record. Then the anchor record
is fed and the real prefixes are read from right after it; unless the request has a
``replay_since_ns`` and the anchor was published after it: then the real prefixes (which match
the anchor topic too) are read from ``replay_since_ns``, the anchor fed in its place.

Live events that arrive meanwhile on the recovery prefixes are held (up to a bound) and released
once recovery is done, minus those the journal already returned: an event counts as returned
when its (src, topic) had a journaled event with the same or a later (ts_ns, seq). If the bound
is hit the held events are dropped and, once the query reports done, it is run once more from
where it stopped so the journal's copy of them is read instead.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import zmq

from . import codec, config, schema, topics
from .control import ControlClient, RateLimited

__all__ = ["MAX_HELD", "PAGE_RECORDS", "SERVICE", "RecoveryClient", "RecoveryRequest"]

log = logging.getLogger("tradebus")

PAGE_RECORDS = 1000  # per journal_query (the journal caps too)
MAX_HELD = 100_000  # live events held back during recovery
SERVICE = "journal"

#: Called for every record (topic, raw body) in journal order.
Feed = Callable[[str, bytes], None]


@dataclass
class RecoveryRequest:
    """What a node rebuilds its state from (C++ ``recovery_request``): the journaled events on
    ``prefixes`` the journal received at or after ``since_ns`` (ns since the epoch).

    With ``anchor_topic``, recovery starts at the last record on exactly that topic since
    ``since_ns`` (a snapshot the node journals of itself) and reads ``prefixes`` from right
    after it; with none, from ``since_ns``. A non-zero ``replay_since_ns`` makes sure events the
    journal received after that time are all replayed: when the anchor is later than it,
    recovery replays everything since ``replay_since_ns`` instead, the anchor included where it
    falls (so ``prefixes`` must match the anchor topic)."""

    prefixes: list[str] = field(default_factory=list)
    since_ns: int = 0
    anchor_topic: str = ""
    replay_since_ns: int = 0


class _State(enum.Enum):
    IDLE = "idle"
    LOOKUP = "lookup"
    QUERY = "query"
    DONE = "done"


class RecoveryClient:
    """One recovery, driven by the engine's loop: ``drive()`` before each wait, poll
    ``waiting_socket()`` until ``next_deadline_ms()``, ``on_readable()`` when it is readable,
    until ``done()``. Close it (``close()``) before the ZeroMQ context is terminated."""

    def __init__(self, zctx: zmq.Context, control_endpoint: str, timeout_ms: int,
                 retry_ms: int, request: RecoveryRequest, page_records: int = PAGE_RECORDS,
                 max_held: int = MAX_HELD, curve: config.CurveClient | None = None) -> None:
        self._zctx = zctx
        self._broker = ControlClient(zctx, control_endpoint, timeout_ms,
                                curve if curve is not None else config.CurveClient())
        self._broker_endpoint = control_endpoint
        self._timeout_ms = timeout_ms
        self._retry_ms = retry_ms
        self._request = dataclasses.replace(request, prefixes=list(request.prefixes))
        self._page_records = page_records
        self._max_held = max_held

        self._state = _State.IDLE
        self._next_try_ms = 0
        self._query_deadline_ms = 0
        self._endpoint = ""
        self._query: zmq.Socket | None = None
        self._from_index = 0
        self.records = 0  # fed
        self.pages = 0  # journal_query_ok replies used
        self.attempts_failed = 0
        self.last_problem = ""
        self._since_ns = self._request.since_ns  # of the queries: since_ns, or replay_since_ns
        self._overflowed = False
        self._catch_up = False
        # Anchor search: the last anchor record seen so far and the index right after it; the
        # main query then starts there.
        self._anchor_phase = bool(self._request.anchor_topic)
        self._anchor: tuple[str, bytes] | None = None
        self._anchor_next = 0
        self._log = RateLimited(5.0)
        self._recovered: dict[tuple[str, str], tuple[int, int]] = {}  # (src, topic) -> (ts, seq)
        self._held: list[tuple[str, bytes]] = []

    # ------------------------------------------------------------------ state
    @property
    def request(self) -> RecoveryRequest:
        return self._request

    @property
    def journal_endpoint(self) -> str:
        return self._endpoint

    def done(self) -> bool:
        return self._state is _State.DONE

    def wants(self, topic: str) -> bool:
        return any(topics.matches(p, topic) for p in self._request.prefixes)

    def waiting_socket(self) -> zmq.Socket | None:
        """The socket a reply is awaited on, or None."""
        if self._state is _State.LOOKUP:
            return self._broker.socket
        if self._state is _State.QUERY:
            return self._query
        return None

    def next_deadline_ms(self) -> int | None:
        """When drive() must run next (mono ms); None once done."""
        if self._state is _State.IDLE:
            return self._next_try_ms
        if self._state is _State.LOOKUP:
            return self._broker.deadline_ms
        if self._state is _State.QUERY:
            return self._query_deadline_ms
        return None

    # ------------------------------------------------------------------ the requests
    def _fail(self, now_ms: int, why: str) -> None:
        self.attempts_failed += 1
        self.last_problem = why
        self._state = _State.IDLE
        self._next_try_ms = now_ms + self._retry_ms
        if self._log.hit():
            log.warning("recovery: %s; not ready, retrying in %d ms (attempt %d)", why,
                        self._retry_ms, self.attempts_failed)

    def drive(self, now_ms: int) -> None:
        """Sends the next request when due; abandons one that timed out (and schedules a
        retry)."""
        if self._state is _State.IDLE:
            if now_ms < self._next_try_ms:
                return
            self._broker.send(codec.encode_control(schema.Lookup(service=SERVICE)), now_ms)
            self._state = _State.LOOKUP
        elif self._state is _State.LOOKUP:
            if self._broker.expire(now_ms):
                self._fail(now_ms, f"the broker at {self._broker_endpoint} did not answer lookup "
                                   f"in {self._timeout_ms} ms")
        elif self._state is _State.QUERY:
            if now_ms >= self._query_deadline_ms:
                self._reset_query_socket()
                self._fail(now_ms, f"the journal at {self._endpoint} did not answer "
                                   f"journal_query in {self._timeout_ms} ms")

    def on_readable(self, now_ms: int, feed: Feed) -> None:
        """Reads the reply on waiting_socket() and feeds the records it carries."""
        if self._state is _State.LOOKUP:
            try:
                frames = self._broker.receive()
            except zmq.Again:
                self._broker.busy = True  # nothing there after all: still awaited
                return
            self._on_lookup_reply(now_ms, frames[0])
        elif self._state is _State.QUERY:
            self._on_query_reply(now_ms, feed)

    def _expect(self, now_ms: int, data: bytes, want: str, what: str, refused: str) -> Any:
        """The reply decoded when it is a `want`; anything else is a failure (logged with
        `what`, or `refused` for an error reply) and gives None."""
        try:
            reply = codec.decode_control(data)
        except codec.DecodeError as e:
            self._fail(now_ms, f"undecodable {what}: {e}")
        else:
            if reply.TYPE == "error":
                self._fail(now_ms, f"{refused} ({reply.code}: {reply.reason})")
                return None  # a well-formed refusal: the socket is fine
            if reply.TYPE == want:
                return reply
            self._fail(now_ms, f'unexpected {what} "{reply.TYPE}"')
        self._reset_query_socket()  # a broken or unexpected reply: start the query socket afresh
        return None

    def _on_lookup_reply(self, now_ms: int, data: bytes) -> None:
        found = self._expect(now_ms, data, "lookup_ok", "lookup reply",
                             "journal service not available")
        if found is None:
            return
        if not found.healthy:
            self._fail(now_ms, f"journal node {found.node} is not healthy")
            return
        if found.endpoint != self._endpoint or self._query is None:
            self._endpoint = found.endpoint
            try:
                self._reset_query_socket()
            except zmq.ZMQError as e:  # announced, but not an address ZeroMQ can use
                if self._query is not None:
                    self._query.close(linger=0)
                    self._query = None
                bad, self._endpoint = self._endpoint, ""
                self._fail(now_ms, f"the journal's announced endpoint {bad} cannot be "
                                   f"connected: {e}")
                return
            log.info("recovery: querying journal node %s at %s from record %d", found.node,
                     self._endpoint, self._from_index)
        self._send_query(now_ms)

    def _reset_query_socket(self) -> None:
        if self._query is not None:
            self._query.close(linger=0)
            self._query = None
        if not self._endpoint:
            return
        self._query = self._zctx.socket(zmq.REQ)
        self._query.setsockopt(zmq.LINGER, 0)
        self._query.connect(self._endpoint)

    def _send_query(self, now_ms: int) -> None:
        if self._anchor_phase:
            # One record a page: next_index then points right after the anchor record it carries.
            q = schema.JournalQuery(prefixes=[self._request.anchor_topic], since_ns=self._since_ns,
                                    from_index=self._from_index, max_records=1)
        else:
            q = schema.JournalQuery(prefixes=list(self._request.prefixes),
                                    since_ns=self._since_ns, from_index=self._from_index,
                                    max_records=self._page_records)
        assert self._query is not None
        try:
            self._query.send(codec.encode_control(q), zmq.NOBLOCK)
        except zmq.Again:
            pass  # nothing to send it to: the deadline abandons it
        self._state = _State.QUERY
        self._query_deadline_ms = now_ms + self._timeout_ms

    def _receive_records(self) -> tuple[bytes, list[tuple[str, bytes]]] | str:
        """One record reply (PROTOCOL.md "Record replies"): the header and the pairs, or why
        not (the message is drained either way)."""
        assert self._query is not None
        try:
            frames = self._query.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return "no reply waiting"
        if not frames or (len(frames) - 1) % 2 != 0:
            return f"expected a header and [topic][body] pairs, got {len(frames)} frames"
        pairs = [(frames[i].decode("utf-8", "surrogateescape"), frames[i + 1])
                 for i in range(1, len(frames) - 1, 2)]
        return frames[0], pairs

    def _on_query_reply(self, now_ms: int, feed: Feed) -> None:
        got = self._receive_records()
        if isinstance(got, str):
            self._reset_query_socket()
            self._fail(now_ms, "malformed journal reply: " + got)
            return
        header, records = got
        ok = self._expect(now_ms, header, "journal_query_ok", "journal reply",
                          "the journal refused the query")
        if ok is None:
            return
        if ok.count != len(records) or ok.next_index < self._from_index:
            self._reset_query_socket()
            self._fail(now_ms, f"journal reply says {ok.count} records, next {ok.next_index}, "
                               f"but carries {len(records)}")
            return
        self.pages += 1
        if self._anchor_phase:
            for topic, body in records:
                if topic != self._request.anchor_topic:
                    continue  # a longer topic with that prefix
                self._anchor = (topic, body)
                self._anchor_next = ok.next_index
            self._from_index = ok.next_index
            if not ok.done:
                self._send_query(now_ms)
                return
            self._anchor_phase = False
            if self._anchor is not None and self._anchor_after_replay_since():
                log.info("recovery: the last %s is later than %d ns: replaying everything since "
                         "then, that record included", self._request.anchor_topic,
                         self._request.replay_since_ns)
                self._since_ns = self._request.replay_since_ns
                self._from_index = 0
                self._anchor = None
            elif self._anchor is not None:
                log.info("recovery: starting from the last %s (records from %d on)",
                         self._request.anchor_topic, self._anchor_next)
                topic, body = self._anchor
                feed(topic, body)
                self.records += 1
                self._from_index = self._anchor_next
                self._anchor = None
            else:
                log.info("recovery: no %s in the journal since %d ns: replaying from there",
                         self._request.anchor_topic, self._request.since_ns)
                self._from_index = 0
            self._send_query(now_ms)
            return
        for topic, body in records:
            feed(topic, body)
        self.records += len(records)
        self._from_index = ok.next_index
        if not ok.done:
            self._send_query(now_ms)
            return
        if self._catch_up:  # held events were dropped: read the journal's copy of them
            self._catch_up = False
            log.warning("recovery: reading the journal once more for events dropped while held")
            self._send_query(now_ms)
            return
        self._state = _State.DONE

    def _anchor_after_replay_since(self) -> bool:
        """The anchor found was published after a non-zero replay_since_ns."""
        if self._request.replay_since_ns == 0:
            return False
        assert self._anchor is not None
        try:
            ev = codec.decode_event(self._anchor[1])
        except codec.DecodeError:
            return True  # an undecodable anchor tells no time: replay the longer range
        return ev.env.ts_ns > self._request.replay_since_ns

    # ------------------------------------------------------------------ live events meanwhile
    def hold(self, topic: str, raw: bytes) -> None:
        """A live event on a recovery prefix that arrived before done(): held back."""
        if len(self._held) >= self._max_held:
            if not self._overflowed:
                log.warning("recovery: more than %d live events held back; dropping them and "
                            "reading the journal's copy instead", self._max_held)
            self._overflowed = True
            self._catch_up = True
            self._held.clear()
        self._held.append((topic, raw))

    def note_recovered(self, topic: str, env: Any) -> None:
        """Remembers what a fed record's envelope said (for dropping held duplicates)."""
        key = (env.src, topic)
        self._recovered[key] = max(self._recovered.get(key, (0, 0)), (env.ts_ns, env.seq))

    def release_held(self) -> list[tuple[str, bytes]]:
        """The held events not already recovered, in arrival order (call once, after
        done())."""
        out = []
        for topic, raw in self._held:
            try:
                env = codec.decode_event(raw).env
            except codec.DecodeError:
                env = None
            if env is not None:
                last = self._recovered.get((env.src, topic))
                if last is not None and (env.ts_ns, env.seq) <= last:
                    continue  # the journal returned it (or a later event of the same stream)
            out.append((topic, raw))
        self._held.clear()
        self._recovered.clear()
        return out

    def close(self) -> None:
        """Closes its sockets (linger 0); nothing is sent after this."""
        self._broker.close()
        if self._query is not None:
            self._query.close(linger=0)
            self._query = None
        if self._state is not _State.DONE:
            self._state = _State.IDLE
            self._next_try_ms = 1 << 62
