"""The node runtime: a Python node on the bus with the C++ runtime's semantics.

One thread owns the PUB, SUB and control REQ sockets. One loop waits on them until the nearest
deadline, drains inbound traffic with a budget, drives the session with the broker (register,
wait for the dependencies and the data-plane probe, recover from the journal, run; heartbeat
throughout; register again when the broker's epoch changes) and calls the node's hooks. The
hooks never see a socket and must not block: everything waits while a hook runs. See
ARCHITECTURE.md "Node engine" and docs/write-your-own-node.md "Python".
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import zmq

from . import __version__, codec, config, process, schema, topics
from .recovery import MAX_HELD, PAGE_RECORDS, RecoveryClient, RecoveryRequest
from .control import MAX_POLL_MS, ControlClient, RateLimited, apply_curve
from .session import Action, Event, Request, State, step
from .streams import GapTracker, LateJoin, Outcome

log = logging.getLogger("tradebus")

DRAIN_BUDGET = 1024  # inbound messages per loop pass
PROBE_EVERY_MS = 100  # data-plane probe retry while unconfirmed
EPOCH_CHECK_EVERY_MS = 500  # at most one early heartbeat per this for sys.broker.started hints

_TRADING_ORDER = {name: k for k, name in enumerate(schema.ENUMS["trading_state"])}


@dataclass(frozen=True)
class Inbound:
    """One event as a hook gets it: the topic frame, the msgpack bytes, the decoded envelope and
    body (an instance of the event's class in ``tradebus.schema``) and the wire type name."""

    topic: str
    raw: bytes
    env: Any
    body: Any

    @property
    def type(self) -> str:
        return self.body.TYPE


class Node:
    """Subclass it: a node kind. ``kind`` names the ``[node] kind`` (and the own table, e.g.
    ``[meanrev]``) its config file must have. ``__init__(own)`` reads the own table through the
    getters of :class:`tradebus.config.Section`; every problem is reported with its position
    and the node does not start (exit 2).

    Hooks (all optional except subscriptions and publications), called on the runtime's one
    thread, never concurrently:

    - ``recovery(now_ns)`` once, when registered, the dependencies are healthy and the own
      probe came back: a :class:`RecoveryRequest` to rebuild state from the journal first, or
      None (the default) for none;
    - ``on_recover(ctx, ev)`` for each journaled event recovery reads, in journal order, before
      ``on_start`` (rebuild state; publish nothing);
    - ``on_start(ctx)`` once, when registered, the dependencies are healthy, the own probe came
      back through the broker, recovery (if any) is done and the broker's last values were
      fetched;
    - ``on_event(ctx, ev)`` for each event on a subscribed topic. The default calls
      ``on_<type>(ctx, body, ev)`` when the class defines it (``on_bar``, ``on_fill``, ...);
    - ``on_timer(ctx, now_ns)`` when the deadline it last returned passed (and once right after
      ``on_start``); return the next deadline in ns since the epoch, 0 for none;
    - ``on_trading_state(ctx, state, reason)`` when the desk's trading state changes
      (``active``, ``reducing``, ``halted``);
    - ``on_broker_restart(ctx, old_epoch, new_epoch)``;
    - ``on_stop(ctx)`` on SIGTERM/SIGINT or ``ctx.request_stop()``.
    """

    kind: ClassVar[str] = ""
    #: Deliver the broker's cached last value of each subscribed prefix before on_start.
    wants_last_values: ClassVar[bool] = True

    def __init__(self, own: config.Section) -> None:
        self.own = own
        self.node_name = ""
        self.session = config.TradingSession()

    def configure(self, node_name: str, session: config.TradingSession) -> None:
        """Called once right after the node is made, before anything else: its ``[node] name``
        and the desk's trading session (``[session]`` of its file: ``session.start_of(ns)``,
        ``session.horizon_start(now_ns)`` for a recovery()). The default keeps them as
        ``self.node_name`` and ``self.session``."""
        self.node_name = node_name
        self.session = session

    def subscriptions(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__}.subscriptions()")

    def publications(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__}.publications()")

    def recovery(self, now_ns: int) -> RecoveryRequest | None:
        """What to rebuild state from before ``on_start``: the journaled events on
        ``prefixes`` since ``since_ns`` (see :class:`RecoveryRequest`), or None for nothing.
        The runtime looks up the journal through the broker, pages through its query and calls
        ``on_recover`` for every record; until then the node heartbeats ``starting`` (nodes that
        depend on it wait), and live events on the recovery prefixes are held back and
        delivered after ``on_start``, minus those the journal returned (others are dropped).
        The runtime also reads ``sys.recorder.gap`` and ``sys.trading`` (never handed over):
        across a journal hole no resume settled, the node starts halted. ``[node] start_fresh
        = true`` skips recovery."""
        return None

    def on_recover(self, ctx: "Context", ev: Inbound) -> None:
        """One journaled event replayed during recovery (not published again: rebuild state
        only). The ``sys.trading`` prefix the runtime adds also matches the scoped topics
        ``sys.trading.symbol.*`` and ``sys.trading.strategy.*``: those come here too."""

    def on_start(self, ctx: "Context") -> None:
        pass

    def on_event(self, ctx: "Context", ev: Inbound) -> None:
        # on_trading_state is the desk's kill-switch hook: a trading_state event on a topic the
        # node subscribed to (risk.state, sys.trading.symbol.<SYM>, ...) goes to
        # on_trading_state_event instead.
        name = "on_trading_state_event" if ev.type == "trading_state" else "on_" + ev.type
        handler = getattr(self, name, None)
        if handler is not None:
            handler(ctx, ev.body, ev)

    def on_timer(self, ctx: "Context", now_ns: int) -> int:
        return 0

    def on_trading_state(self, ctx: "Context", state: str, reason: str) -> None:
        pass

    def on_broker_restart(self, ctx: "Context", old_epoch: int, new_epoch: int) -> None:
        pass

    def on_stop(self, ctx: "Context") -> None:
        pass


class Context:
    """What a node's hooks may do. Read time only from ``now_ns()``/``mono_ms()``."""

    def __init__(self, engine: "Engine") -> None:
        self._engine = engine

    @property
    def node_name(self) -> str:
        return self._engine.cfg.name

    @property
    def trading_state(self) -> str:
        """The desk's trading state as this node knows it: active, reducing or halted."""
        return self._engine.trading

    def publish(self, topic: str, body: Any, trace_id: int = 0) -> None:
        """Publishes an event of ``tradebus.schema`` with a fresh envelope (this node's name, the
        next seq of the topic, the time). Never blocks; raises ValueError for a bad topic or a
        body whose type does not belong on it (PROTOCOL.md "Events")."""
        self._engine.publish(topic, body, trace_id)

    def now_ns(self) -> int:
        return time.time_ns()

    def mono_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def new_trace_id(self) -> int:
        return self._engine.random_id()

    def report_health(self, state: str, reason: str = "") -> None:
        """``healthy`` or ``degraded`` (with why), sent with the next heartbeat."""
        if state not in ("healthy", "degraded"):
            raise ValueError(f"report_health: expected healthy or degraded, got {state!r}")
        self._engine.report_health(state, reason)

    def request_stop(self, reason: str) -> None:
        log.info("stopping: %s", reason)
        self._engine.stop = True


class Engine:
    """Runs one node logic on the bus (see the module docstring)."""

    def __init__(self, cfg: config.NodeConfig, logic: Node) -> None:
        self.cfg = cfg
        self.logic = logic
        self.ctx = Context(self)
        self._rng = random.SystemRandom()
        self._inc = self.random_id()  # this process's incarnation (the envelope's inc)
        self._seq: dict[str, int] = {}
        self._zctx = zmq.Context()
        self._pub = self._zctx.socket(zmq.PUB)
        self._pub.setsockopt(zmq.SNDHWM, cfg.sndhwm)
        self._pub.setsockopt(zmq.LINGER, 500)  # flush what was published, never hang on exit
        self._sub = self._zctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.RCVHWM, cfg.rcvhwm)
        self._sub.setsockopt(zmq.LINGER, 0)
        apply_curve(self._pub, cfg.curve)
        apply_curve(self._sub, cfg.curve)
        self._subs = list(logic.subscriptions())
        self._pubs = list(logic.publications())
        for prefix in self._subs:
            if (why := topics.prefix_error(prefix)) is not None:
                raise ValueError(f"subscriptions(): {prefix!r} {why}")
        self._probe_topic = topics.PROBE + cfg.name
        for prefix in (*self._subs, topics.BROKER_STARTED, topics.TRADING, self._probe_topic):
            self._sub.setsockopt(zmq.SUBSCRIBE, prefix.encode("utf-8"))
        self._control = ControlClient(self._zctx, cfg.control_endpoint, cfg.request_timeout_ms,
                                 cfg.curve)
        self._connected = False
        if cfg.xsub_endpoint and cfg.xpub_endpoint:
            self._connect_data(cfg.xsub_endpoint, cfg.xpub_endpoint)

        self.counters = {"published": 0, "received": 0, "gaps": 0, "decode_errors": 0,
                         "queue_depth": 0, "misrouted": 0}
        self._gaps = GapTracker()
        self._late = LateJoin(self._subs if logic.wants_last_values else [])
        self._logs = {k: RateLimited() for k in ("decode", "gap", "restart", "control",
                                                  "unconnected", "misrouted", "unconfirmed")}
        self._refusal_log = RateLimited(10.0)

        self.stop = False
        self.stop_signals = 0  # SIGTERM/SIGINT received: a second one cuts the deregister short
        self._exit_code = 0
        self._state = State.UNREGISTERED
        self._in_flight = Request.NONE
        self._session = 0
        self._epoch = 0
        self._seen_epoch = 0
        self._announced_epoch = 0
        self._next_epoch_check_ms = 0
        self._heartbeat_ms = cfg.heartbeat_interval_ms
        self._next_control_ms = 0
        self._failures = 0
        self._ready = False
        self._waiting_for: list[str] = []
        self._probe_ok = False
        self._next_probe_ms = 0
        self._running = False
        # Start-up, in this order (_maybe_start); only ever forward: joining (until registered,
        # every dependency ready and the own probe back), recovering (rebuilding state from the
        # journal: Node.recovery), late_join (the broker's last values), running (on_start
        # called, the same as self._running).
        self._phase = "joining"
        self._recovery: RecoveryClient | None = None
        self._hole = ""  # the last journal hole recovery crossed that no resume settled
        self._timer_due_ns = 0
        self._own_health = "healthy"
        self._own_reason = ""
        self.trading = "active"
        self._held_trading = False  # stricter than a restarted broker said, until sys.trading
        # Fed every half period, at least every ms (common/loop.cpp: max(1, watchdog_ms / 2)).
        watchdog_ms = process.watchdog_interval_ms()
        self._watchdog_ms = max(1, watchdog_ms // 2) if watchdog_ms > 0 else 0
        self._next_watchdog_ms = 0

    # ------------------------------------------------------------------ identity and time
    def random_id(self) -> int:
        return self._rng.randrange(1, 1 << 64)

    def mono_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        log.info("%s %s starting: kind=%s config=%s control=%s pid=%d (python)", self.cfg.name,
                 __version__, self.cfg.kind, self.cfg.file, self.cfg.control_endpoint,
                 os.getpid())
        try:
            while not self.stop:
                now = self.mono_ms()
                self._drive_control(now)
                if self._connected and not self._probe_ok and now >= self._next_probe_ms:
                    self._send_probe(now)
                self._maybe_start()
                if self._running and self._timer_due_ns and time.time_ns() >= self._timer_due_ns:
                    self._timer_due_ns = self.logic.on_timer(self.ctx, time.time_ns()) or 0
                self._feed_watchdog(now)
                if self.stop:
                    break
                # Built each pass: the control and recovery sockets are replaced on a timeout.
                poller = zmq.Poller()
                poller.register(self._sub, zmq.POLLIN)
                control = self._control.socket
                if self._control.busy:
                    poller.register(control, zmq.POLLIN)
                recovering = self._recovery.waiting_socket() if self._recovery else None
                if recovering is not None:
                    poller.register(recovering, zmq.POLLIN)
                ready = dict(poller.poll(self._next_timeout()))
                if self._sub in ready:
                    self.counters["queue_depth"] = self._drain()
                if control in ready and control is self._control.socket and self._control.busy:
                    self._on_control_reply(self._control.receive())
                if (recovering is not None and recovering in ready and self._recovery
                        and recovering is self._recovery.waiting_socket()):
                    self._recovery.on_readable(self.mono_ms(), self._recover_one)
        finally:
            self._shutdown()
        return self._exit_code

    def _next_timeout(self) -> int:
        now = self.mono_ms()
        timeout = MAX_POLL_MS
        if self._control.busy:
            timeout = min(timeout, max(0, self._control.deadline_ms - now))
        else:
            timeout = min(timeout, max(0, self._next_control_ms - now))
        if self._running and self._timer_due_ns:
            until = (self._timer_due_ns - time.time_ns() + 999_999) // 1_000_000
            timeout = min(timeout, max(0, until))
        if self._connected and not self._probe_ok:
            timeout = min(timeout, max(0, self._next_probe_ms - now))
        if self._watchdog_ms > 0:  # wake for the watchdog too, as common/loop.cpp does
            timeout = min(timeout, max(0, self._next_watchdog_ms - now))
        # Only while _maybe_start drives it: a deadline passed while the broker is away would
        # otherwise make every wait 0 ms until the node is registered again.
        if (self._phase == "recovering" and self._recovery is not None
                and self._can_advance()
                and (due := self._recovery.next_deadline_ms()) is not None):
            timeout = min(timeout, max(0, due - now))
        return timeout

    def _feed_watchdog(self, now: int) -> None:
        if self._watchdog_ms > 0 and now >= self._next_watchdog_ms:
            process.notify("WATCHDOG=1")
            self._next_watchdog_ms = now + self._watchdog_ms

    # ------------------------------------------------------------------ data plane
    def _connect_data(self, xsub: str, xpub: str) -> None:
        if self._connected:
            return
        self._pub.connect(xsub)
        self._sub.connect(xpub)
        self._connected = True
        log.info("data plane: publishing to %s, subscribed via %s (%s)", xsub, xpub,
                 ", ".join(p or '"" (every topic)' for p in self._subs))

    def publish(self, topic: str, body: Any, trace_id: int = 0) -> None:
        if (why := topics.topic_error(topic)) is not None:
            raise ValueError(f"publish: topic {topic!r} {why}")
        if not topics.type_belongs(body.TYPE, topic):
            raise ValueError(f"publish: a {body.TYPE!r} event does not belong on {topic!r}")
        seq = self._seq.get(topic, 0) + 1
        env = schema.Envelope(src=self.cfg.name, seq=seq, ts_ns=time.time_ns(),
                              trace_id=trace_id, inc=self._inc)
        frame = codec.encode_event(env, body)
        if not self._connected:
            if n := self._logs["unconnected"].hit():
                log.warning("dropped %d event(s): data plane not connected yet (broker not "
                            "reached)", n)
            return
        self._seq[topic] = seq
        self._pub.send_multipart([topic.encode("utf-8"), frame])  # PUB never blocks
        self.counters["published"] += 1

    def _send_probe(self, now: int) -> None:
        self._next_probe_ms = now + PROBE_EVERY_MS
        self.publish(self._probe_topic, schema.Probe(node=self.cfg.name, nonce=self.random_id()))

    def _drain(self) -> int:
        k = 0
        while k < DRAIN_BUDGET:
            try:
                frames = self._sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            k += 1
            if len(frames) != 2:
                self._malformed(frames[0], f"expected 2 frames, got {len(frames)}")
                continue
            try:
                topic = frames[0].decode("utf-8")
            except UnicodeDecodeError:
                self._malformed(frames[0], "the topic frame is not UTF-8")
                continue
            self._on_message(topic, frames[1])
        return k

    def _malformed(self, topic: bytes, why: str) -> None:
        self.counters["decode_errors"] += 1
        if n := self._logs["decode"].hit():
            log.warning("dropped undecodable message on '%s': %s (%d in last period)",
                        topic[:64].decode("utf-8", "replace"), why, n)

    def _matches_logic(self, topic: str) -> bool:
        return any(topic.startswith(p) for p in self._subs)

    def _misrouted(self, topic: str, ev: codec.Decoded) -> bool:
        if topics.type_belongs(ev.type, topic):
            return False
        self.counters["misrouted"] += 1
        if n := self._logs["misrouted"].hit():
            log.warning("ignored a '%s' event from '%s' on '%s': that type does not belong to "
                        "that topic (%d in last period)", ev.type, ev.env.src[:64], topic[:64], n)
        return True

    def _on_message(self, topic: str, raw: bytes) -> None:
        try:
            ev = codec.decode_event(raw)
        except codec.DecodeError as e:
            self._malformed(topic.encode("utf-8"), str(e))
            return
        if self._misrouted(topic, ev):
            return
        self.counters["received"] += 1
        env = ev.env
        # Probes are not data: a node sends its own again until one comes back.
        if not topic.startswith(topics.PROBE):
            seen = self._gaps.observe(env.src, topic, env.seq, env.inc)
            if seen.what is Outcome.GAP:
                self.counters["gaps"] = self._gaps.gaps
                if n := self._logs["gap"].hit():
                    log.warning("sequence gap from %s on %s: expected %d, got %d (%d lost; %d "
                                "gap events in last period)", env.src, topic, seen.expected,
                                env.seq, seen.missing, n)
            elif seen.what is Outcome.RESTART:
                if n := self._logs["restart"].hit():
                    log.info("%s restarted its sequence on %s (was at %d, now %d)", env.src,
                             topic, seen.expected - 1, env.seq)
        self._runtime_event(topic, ev)
        if not self._matches_logic(topic):
            return
        if not self._running:
            if self._recovery is not None and self._recovery.wants(topic):
                self._recovery.hold(topic, raw)  # released after recovery, minus what it replayed
            elif self._phase == "late_join":
                self._late.seen_before_start(topic, env.src, env.inc, env.seq, env.ts_ns, raw)
        elif not self._late.is_duplicate(topic, env.src, env.inc, env.seq):
            self.logic.on_event(self.ctx, Inbound(topic, raw, env, ev.body))

    def _runtime_event(self, topic: str, ev: codec.Decoded) -> None:
        body = ev.body
        if ev.type == "probe":
            if topic == self._probe_topic and body.node == self.cfg.name and not self._probe_ok:
                self._probe_ok = True
                log.info("data plane confirmed: our own probe came back through the broker")
        elif ev.type == "broker_started":
            if body.epoch != self._epoch:
                self._session_step(self._in_flight, Event.EPOCH_HINT, epoch=body.epoch)
        elif ev.type == "trading_state" and topic == topics.TRADING:
            self._held_trading = False  # an operator's decision: the broker's word again
            self._set_trading(body.state, body.reason)

    def _set_trading(self, state: str, reason: str) -> None:
        if state == self.trading:
            return
        log.warning("trading state %s -> %s%s%s", self.trading, state, ": " if reason else "",
                    reason)
        self.trading = state
        self.logic.on_trading_state(self.ctx, state, reason)

    # ------------------------------------------------------------------ control plane
    def _session_step(self, request: Request, event: Event, reply: Any = None,
                      frames: list[bytes] | None = None, why: str = "", epoch: int = 0) -> None:
        row = step(self._state, event, request)
        if row.next is not None:
            self._state = row.next
        a = row.action
        if a is Action.ADOPT:
            self._adopt(reply)
        elif a is Action.REFRESH:
            self._refresh(reply)
        elif a is Action.RE_REGISTER:
            if reply.TYPE == "heartbeat_ok":
                self._note_epoch(reply.epoch)
                log.warning("broker epoch changed (%d -> %d): re-registering", self._epoch,
                            reply.epoch)
            else:
                log.warning("broker does not know our session (%s): re-registering",
                            reply.reason)
            self._lose_session()
        elif a is Action.STOP_REPLACED:
            log.critical("broker gave our name to another instance (%s): stopping", reply.reason)
            self._session = 0
            self._exit_code = 1
            self.stop = True
        elif a in (Action.RETRY_AT_CAP, Action.LOG_REFUSAL):
            retry = self.cfg.retry_max_ms if a is Action.RETRY_AT_CAP else self._heartbeat_ms
            if self._refusal_log.hit():
                log.error("broker refused %s: %s: %s (retrying every %d ms)",
                          "registration" if request is Request.REGISTER else request.value,
                          reply.code, reply.reason, retry)
            if a is Action.RETRY_AT_CAP:
                self._next_control_ms = self.mono_ms() + self.cfg.retry_max_ms
        elif a is Action.BACK_OFF:
            self._back_off(request)
        elif a is Action.TO_SNAPSHOT:
            self._on_snapshot_reply(reply, frames or [], why)
        elif a is Action.ASK_BROKER:
            self._ask_epoch(epoch)
        elif a is Action.DEREGISTER:
            self._deregister()
        elif a is Action.WARN:
            if self._logs["control"].hit():
                log.warning("control plane: %s while %s (request in flight: %s): ignored%s%s",
                            event.value, self._state.value, request.value,
                            ": " if why else "", why)

    def _send(self, request: Request, msg: Any, now: int) -> None:
        self._control.send(codec.encode_control(msg), now)
        self._in_flight = request

    def _take_in_flight(self) -> Request:
        request, self._in_flight = self._in_flight, Request.NONE
        return request

    def _drive_control(self, now: int) -> None:
        if self._state is State.REPLACED:
            return
        if self._control.expire(now):
            self._session_step(self._take_in_flight(), Event.NO_REPLY)
            return
        if self._control.busy or now < self._next_control_ms:
            return
        if self._state is State.UNREGISTERED:
            self._send(Request.REGISTER, schema.Register(
                name=self.cfg.name, kind=self.cfg.kind, host=socket.gethostname(),
                version=f"{__version__} (python)", pid=os.getpid(), publishes=self._pubs,
                subscribes=self._subs, depends_on=list(self.cfg.depends_on),
                heartbeat_interval_ms=self.cfg.heartbeat_interval_ms), now)
        else:
            cpu_ms, rss, fds = process.resources()
            counters = schema.NodeCounters(**self.counters, cpu_ms=cpu_ms, rss_bytes=rss,
                                           open_fds=fds)
            self._send(Request.HEARTBEAT, schema.Heartbeat(
                name=self.cfg.name, session_id=self._session, state=self._current_health(),
                counters=counters), now)
        self._next_control_ms = now + self._heartbeat_ms

    def _current_health(self) -> str:
        if not self._running:
            return "starting"
        if not self._probe_ok:
            return "degraded"
        return self._own_health

    def report_health(self, state: str, reason: str) -> None:
        if (state, reason) != (self._own_health, self._own_reason):
            log.info("reporting %s%s%s", state, ": " if reason else "", reason)
        self._own_health, self._own_reason = state, reason

    def _on_control_reply(self, frames: list[bytes]) -> None:
        self._failures = 0
        request = self._take_in_flight()
        try:
            reply = codec.decode_control(frames[0])
        except codec.DecodeError as e:
            self._session_step(request, Event.UNDECODABLE, frames=frames, why=str(e))
            return
        self._session_step(request, self._classify(reply), reply, frames)

    def _classify(self, reply: Any) -> Event:
        t = reply.TYPE
        if t == "register_ok":
            return Event.REGISTER_OK
        if t == "heartbeat_ok":
            return Event.HEARTBEAT_OK if reply.epoch == self._epoch else Event.EPOCH_CHANGED
        if t == "ok":
            return Event.OK
        if t == "snapshot_ok":
            return Event.SNAPSHOT_OK
        if t == "error":
            if reply.code == "unknown_session":
                return Event.UNKNOWN_SESSION
            if reply.code == "duplicate_name":
                return Event.DUPLICATE_NAME
            return Event.REFUSED
        return Event.OTHER_REPLY

    def _ask_epoch(self, announced: int) -> None:
        now = self.mono_ms()
        self._announced_epoch = announced
        if now < self._next_epoch_check_ms:
            return
        self._next_epoch_check_ms = now + EPOCH_CHECK_EVERY_MS
        log.info("sys.broker.started announces epoch %d (ours %d): asking the broker", announced,
                 self._epoch)
        self._next_control_ms = min(self._next_control_ms, now)

    def _note_epoch(self, epoch: int) -> None:
        if epoch == 0 or epoch == self._seen_epoch:
            return
        old, self._seen_epoch = self._seen_epoch, epoch
        if old != 0 and self._running:
            self.logic.on_broker_restart(self.ctx, old, epoch)

    def _lose_session(self) -> None:
        self._session = 0
        self._probe_ok = False  # prove the data plane again through the new broker
        self._next_control_ms = 0
        if self._control.busy:
            self._control.reset()  # its reply carries the lost session: nobody's now
        self._in_flight = Request.NONE

    def _back_off(self, request: Request) -> None:
        self._failures += 1
        now = self.mono_ms()
        backoff = min(self.cfg.retry_max_ms,
                      (self.cfg.heartbeat_interval_ms // 4) << min(self._failures, 6))
        self._next_control_ms = now + backoff + self._rng.randint(0, backoff // 4)
        if self._logs["control"].hit():
            log.warning("broker at %s did not answer %s within %d ms (attempt %d); retrying in "
                        "%d ms", self.cfg.control_endpoint, request.value,
                        self.cfg.request_timeout_ms, self._failures,
                        self._next_control_ms - now)

    def _adopt(self, r: Any) -> None:
        self._announced_epoch = 0
        new_epoch = self._epoch != 0 and r.epoch != self._epoch
        self._note_epoch(r.epoch)
        self._session, self._epoch = r.session_id, r.epoch
        if r.heartbeat_interval_ms > 0:
            self._heartbeat_ms = r.heartbeat_interval_ms
        self._next_control_ms = self.mono_ms() + self._heartbeat_ms
        log.info("registered with broker (epoch %d, session %d, heartbeat %d ms x %d)%s",
                 self._epoch, self._session, self._heartbeat_ms, r.liveness,
                 " after restart" if new_epoch else "")
        self._connect_data(self.cfg.xsub_endpoint or r.xsub_endpoint,
                           self.cfg.xpub_endpoint or r.xpub_endpoint)
        self._on_readiness(r.ready, r.waiting_for)
        # A restarted broker's word never lifts a halt this node is under: only an operator's
        # sys.trading does. Stricter news is taken at once.
        stricter = _TRADING_ORDER[r.trading_state] > _TRADING_ORDER[self.trading]
        if new_epoch and _TRADING_ORDER[r.trading_state] < _TRADING_ORDER[self.trading]:
            self._held_trading = True
            log.warning("the restarted broker reports trading %s, but this node was %s: staying "
                        "%s until an operator's halt or resume (sys.trading)", r.trading_state,
                        self.trading, self.trading)
        elif not self._held_trading or stricter:
            self._set_trading(r.trading_state, "reported by the broker")
        process.notify("STATUS=registered; " + ("ready" if self._ready else "waiting"))

    def _refresh(self, r: Any) -> None:
        announced, self._announced_epoch = self._announced_epoch, 0
        if announced not in (0, self._epoch):
            if n := self._logs["unconfirmed"].hit():
                log.warning("the broker's control plane still reports epoch %d: not "
                            "re-registering for a sys.broker.started announcing epoch %d (%d "
                            "in last period)", self._epoch, announced, n)
        self._on_readiness(r.ready, r.waiting_for)
        stricter = _TRADING_ORDER[r.trading_state] > _TRADING_ORDER[self.trading]
        if not self._held_trading or stricter:
            self._set_trading(r.trading_state, "reported by the broker")

    def _on_readiness(self, ready: bool, waiting: list[str]) -> None:
        if not ready and waiting != self._waiting_for:
            log.info("waiting for dependencies: %s", ", ".join(waiting))
        self._waiting_for, self._ready = list(waiting), ready

    # ------------------------------------------------------------------ late join and start
    def _can_advance(self) -> bool:
        """Every phase before running needs a session, every dependency ready and the own
        probe back."""
        return self._ready and self._probe_ok and self._state is State.REGISTERED

    def _on_snapshot_reply(self, reply: Any, frames: list[bytes], why: str) -> None:
        if reply is None or reply.TYPE != "snapshot_ok":
            reason = why if reply is None else getattr(reply, "reason", f"reply {reply.TYPE}")
            log.warning("broker gave no last-value snapshot (%s); starting without cached "
                        "values", reason)
            self._late.give_up()
            return
        if (error := self._late.on_reply(reply.count, reply.next, frames[1:])) is not None:
            self.counters["decode_errors"] += 1
            log.warning("malformed snapshot reply: %s; skipping that prefix", error)

    def _enter(self, phase: str) -> None:
        order = ("joining", "recovering", "late_join", "running")
        if order.index(phase) > order.index(self._phase):
            self._phase = phase

    def _maybe_start(self) -> None:
        # Every phase before running needs a session, every dependency ready and the own probe
        # back: while the broker is away (or restarts) the phase waits where it is.
        if self._running or not self._can_advance():
            return
        if self._phase == "joining":
            self._enter("recovering" if self._begin_recovery() else "late_join")
        if self._phase == "recovering":
            assert self._recovery is not None
            self._recovery.drive(self.mono_ms())
            if not self._recovery.done():
                return
            self._enter("late_join")
        if not self._late.done():
            if not self._control.busy and (req := self._late.next_request()) is not None:
                self._send(Request.SNAPSHOT, schema.Snapshot(prefix=req[0], after=req[1]),
                           self.mono_ms())
            return
        self._running = True
        self._enter("running")
        log.info("%s ready: dependencies healthy (%s), data plane confirmed; starting work",
                 self.cfg.name, ", ".join(self.cfg.depends_on) or "none")
        self.logic.on_start(self.ctx)
        self._deliver_snapshot()
        if self._recovery is not None:
            self._release_held()
        if self._hole:
            # Not the broker's word: only the next sys.trading (an operator's) lifts it.
            self._held_trading = True
            log.error("recovery: %s: starting HALTED until an operator resumes", self._hole)
            self._set_trading("halted", f"recovered across a journal hole: {self._hole}; "
                                        "reconcile, then tradebus resume")
        self._timer_due_ns = self.logic.on_timer(self.ctx, time.time_ns()) or 0
        process.notify("READY=1\nSTATUS=running")
        self._next_control_ms = 0  # tell the broker we are healthy now, not in a second

    def _deliver_snapshot(self) -> None:
        def envelope_of(raw: bytes):
            try:
                return codec.decode_event(raw).env
            except codec.DecodeError:
                self.counters["decode_errors"] += 1
                return None

        cached = self._late.take_for_start(envelope_of)
        for topic, raw in cached:
            ev = codec.decode_event(raw)
            if not self._misrouted(topic, ev):
                self.logic.on_event(self.ctx, Inbound(topic, raw, ev.env, ev.body))
        if self.logic.wants_last_values:
            log.info("late join: %d last value(s) from the broker's cache delivered", len(cached))

    # ------------------------------------------------------------------ recovery
    def _begin_recovery(self) -> bool:
        """Leaving joining: asks the logic what to recover (Node.recovery); False when there
        is nothing to read."""
        req = self.logic.recovery(time.time_ns())
        if req is None:
            return False
        # The journal's holes, and the operator's resumes that settle them.
        prefixes = [*req.prefixes, topics.RECORDER_GAP, topics.TRADING]
        shown = ", ".join(p or '"" (every topic)' for p in prefixes)
        if self.cfg.start_fresh:
            log.warning("recovery: start_fresh = true: NOT rebuilding state from the journal "
                        "(%s); starting with empty state", shown)
            return False
        log.info("recovery: rebuilding state from the journal (%s since %d ns); not ready until "
                 "done", shown, req.since_ns)
        self._recovery = RecoveryClient(
            self._zctx, self.cfg.control_endpoint, self.cfg.request_timeout_ms,
            self.cfg.recovery_retry_ms, RecoveryRequest(prefixes, req.since_ns, req.anchor_topic,
                                                        req.replay_since_ns),
            PAGE_RECORDS, MAX_HELD, self.cfg.curve)
        return True

    def _recover_one(self, topic: str, raw: bytes) -> None:
        try:
            topic.encode("utf-8")
            ev = codec.decode_event(raw)
        except (UnicodeEncodeError, codec.DecodeError) as e:
            why = "the topic is not UTF-8" if isinstance(e, UnicodeEncodeError) else str(e)
            if n := self._logs["decode"].hit():
                log.warning("recovery: skipped undecodable journaled event on '%s': %s (%d)",
                            topic[:64].encode("utf-8", "replace").decode("utf-8"), why, n)
            return
        if self._misrouted(topic, ev):
            return
        if self._recovery_hole(topic, ev):
            return
        assert self._recovery is not None
        self._recovery.note_recovered(topic, ev.env)
        self.logic.on_recover(self.ctx, Inbound(topic, raw, ev.env, ev.body))

    def _recovery_hole(self, topic: str, ev: codec.Decoded) -> bool:
        """The journal's holes (PROTOCOL.md "The recorder link"): a recorder_gap record means
        the journal lacks messages, so the state rebuilt across it may be wrong. The node starts
        halted unless an operator's resume (sys.trading active) was journaled after the hole.
        Consumes both kinds of record: they are the runtime's, not the logic's."""
        if ev.type == "recorder_gap":
            g = ev.body
            self._hole = (f"the journal lacks recorder messages {g.expected_seq}.."
                          f"{g.first_seq - 1} of broker epoch {g.epoch} ({g.missing}, evicted "
                          f"while it was down; recorded by {ev.env.src})")
            return True
        if topic != topics.TRADING:
            return False
        if ev.type == "trading_state" and ev.body.state == "active":
            self._hole = ""  # an operator reconciled and resumed after it
        return True

    def _release_held(self) -> None:
        assert self._recovery is not None
        held = self._recovery.release_held()
        log.info("recovery: done: %d journaled event(s) in %d page(s); %d live event(s) held "
                 "meanwhile delivered now", self._recovery.records, self._recovery.pages,
                 len(held))
        self._recovery.close()  # done: its sockets are not needed any more
        for topic, raw in held:
            try:
                ev = codec.decode_event(raw)
            except codec.DecodeError:
                continue
            self.logic.on_event(self.ctx, Inbound(topic, raw, ev.env, ev.body))

    # ------------------------------------------------------------------ stop
    def _shutdown(self) -> None:
        log.info("%s stopping", self.cfg.name)
        process.notify("STOPPING=1")
        try:
            if self._running:
                self.logic.on_stop(self.ctx)
        finally:
            self._session_step(self._in_flight, Event.STOP)
            c = self.counters
            log.info("%s stopped: published %d, received %d, gaps %d, decode errors %d",
                     self.cfg.name, c["published"], c["received"], c["gaps"],
                     c["decode_errors"])
            self._control.close()
            if self._recovery is not None:
                self._recovery.close()
            self._pub.close()
            self._sub.close(linger=0)
            self._zctx.term()

    def _deregister(self) -> None:
        session_id, self._session = self._session, 0
        # A second stop signal (Ctrl-C twice, a supervisor repeating SIGTERM) cuts the wait
        # short: the broker then notices the silence instead. Still a clean stop.
        reply = self._control.request(codec.encode_control(
            schema.Deregister(name=self.cfg.name, session_id=session_id)),
            give_up=lambda: self.stop_signals >= 2)
        if reply is not None:
            log.info("deregistered")
        else:
            log.warning("broker did not acknowledge deregister; exiting anyway")


# ---------------------------------------------------------------------- the entry point
def _setup_logging(name: str, level: str) -> None:
    """As the C++ nodes log: to stderr; under journald with a priority prefix per line."""
    journald = bool(os.environ.get("JOURNAL_STREAM"))
    priorities = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

    class _Formatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            text = f"[{name}] [{record.levelname.lower()}] {record.getMessage()}"
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            if journald:
                return f"<{priorities.get(record.levelname, 6)}>{text}"
            ms = int(record.created * 1000) % 1000
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created)) + \
                f".{ms:03d} {text}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.propagate = False
    levels = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
              "warn": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}
    log.setLevel(levels.get(level, logging.INFO))


def run(node_class: type[Node], argv: list[str] | None = None) -> int:
    """The whole ``main`` of a Python node: ``--config FILE`` (``--check-config``,
    ``--version``, ``--help``) like every tradebus binary. Config errors are printed as
    ``file:line:col: key: problem`` and return 2 before anything connects; a clean stop returns
    0, an exception from the node's hooks 1 (systemd restarts it). Use
    ``sys.exit(tradebus.run(MyNode))``."""
    if not node_class.kind:
        raise ValueError(f"{node_class.__name__}.kind is not set (the [node] kind it runs)")
    exe = f"tradebus-{node_class.kind}"
    parser = argparse.ArgumentParser(prog=exe, description=f"the {node_class.kind} node of a "
                                     "tradebus pipeline (Python)")
    parser.add_argument("-c", "--config", required=True, help="node configuration (TOML)")
    parser.add_argument("--check-config", action="store_true",
                        help="validate the config, print the result, exit")
    parser.add_argument("--version", action="version", version=f"{__version__} (python)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: usage errors exit 2, --help/--version 0
        return int(e.code or 0)

    try:
        root = config.load(args.config)
        cfg = config.read_node_config(root, node_class.kind)
        cfg.file = cfg.file or str(args.config)
        own = root.table(node_class.kind)
        logic = node_class(own)
        logic.configure(cfg.name, cfg.session)
        root.finish()
    except config.ConfigError as e:
        sys.stderr.write(e.report(exe))
        return 2
    if args.check_config:
        print(f"{args.config} is valid")
        return 0

    _setup_logging(cfg.name, cfg.log_level)
    engine = Engine(cfg, logic)

    def on_stop_signal(signum, frame) -> None:
        engine.stop_signals += 1
        engine.stop = True

    def on_reload_signal(signum, frame) -> None:
        log.warning("a %s node cannot change its config while running: restart it to apply %s",
                    cfg.kind, cfg.file)

    signal.signal(signal.SIGTERM, on_stop_signal)
    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGHUP, on_reload_signal)
    try:
        return engine.run()
    except Exception as e:  # noqa: BLE001 - the process ends; systemd restarts it
        log.critical("%s: %s", exe, e, exc_info=True)
        print(f"{exe}: {e}", file=sys.stderr)
        return 1
