"""Recovery from the journal (tradebus.recovery, Node.recovery / on_recover), as the C++ runtime
does it (recovery_client.cpp, engine.cpp; PROTOCOL.md "Recovery (how nodes use it)").

In one process: the RecoveryClient against a fake broker (REP) and a fake journal (ROUTER with
the journal's paging rules, nodes/journal/query.cpp): the retry until the journal is
announced, paging to done, the anchor search, every failure retried with its reason, held live
events released minus those recovered, and the hold bound's catch-up query; then the engine's
hold path and its journal-hole rule fed by hand.

End to end, with the real C++ broker and journal: a Python node that publishes numbered
signals is SIGKILLed and restarted, rebuilds its count from exactly the events it had
journaled (in order, before on_start) and continues the numbering; start_fresh skips recovery;
with no journal it stays `starting` and retries until one appears; across a real journal hole
(the broker evicted what the stopped journal never got) it starts halted until an operator's
resume, which the next restart respects."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from bus import Bus, wait_for
from tradebus import codec, config, schema, topics
from tradebus.node import Engine, Inbound, Node
from tradebus.recovery import RecoveryClient, RecoveryRequest
from tradebus.session import State

SCRIPT = Path(__file__).resolve().parent / "counter_node.py"
NAME = "pycounter"
T0 = 1_700_000_000_000_000_000


# ---------------------------------------------------------------------- in process
def fill(seq: int, ts: int, fill_id: str, src: str = "execution") -> bytes:
    return codec.encode_event(schema.Envelope(src=src, seq=seq, ts_ns=ts, trace_id=0, inc=1),
                              schema.Fill(order_id=fill_id, fill_id=fill_id, symbol="AAPL",
                                          qty=1, px=1))


class FakeJournal:
    """The journal's query endpoint over a list of (topic, body, recv_ts) records, with the
    paging of nodes/journal/query.cpp read_page. ``faults`` are used up first, one a request:
    "silent" (no reply), "odd" (a header and one frame), "refuse" (an error reply), "short"
    (a count the frames do not carry)."""

    def __init__(self, ctx: zmq.Context, endpoint: str, records: list[tuple[str, bytes, int]],
                 faults: list[str] | None = None) -> None:
        self.socket = ctx.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint)
        self.records = records
        self.faults = list(faults or [])
        self.queries: list[Any] = []

    def page(self, q: Any) -> tuple[list[tuple[str, bytes]], int, bool]:
        out: list[tuple[str, bytes]] = []
        next_index = q.from_index
        for index, (topic, body, recv_ts) in enumerate(self.records):
            if index < q.from_index:
                continue
            if len(out) >= q.max_records:
                return out, index, False  # not taken: the next page starts here
            next_index = index + 1
            if recv_ts >= q.since_ns and (not q.prefixes or any(
                    topics.matches(p, topic) for p in q.prefixes)):
                out.append((topic, body))
        return out, next_index, True

    def serve(self) -> None:
        identity, empty, frame = self.socket.recv_multipart()[:3]
        q = codec.decode_control(frame)
        assert q.TYPE == "journal_query"
        self.queries.append(q)
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "silent":
            return
        if fault == "odd":
            self.socket.send_multipart([identity, empty, b"header", b"topic"])
            return
        if fault == "refuse":
            self.socket.send_multipart([identity, empty, codec.encode_control(
                schema.Error(code="not_allowed", reason="cannot read"))])
            return
        records, next_index, done = self.page(q)
        count = len(records) + (1 if fault == "short" else 0)
        header = codec.encode_control(schema.JournalQueryOk(count=count, next_index=next_index,
                                                            done=done))
        frames = [identity, empty, header]
        for topic, body in records:
            frames += [topic.encode(), body]
        self.socket.send_multipart(frames)


def lookup_ok(endpoint: str, healthy: bool = True) -> bytes:
    return codec.encode_control(schema.LookupOk(service="journal", endpoint=endpoint,
                                                node="journal", healthy=healthy))


def drive(ctx: zmq.Context, rc: RecoveryClient, broker_ep: str, journal: FakeJournal,
          lookups: list[bytes] | None = None, on_fed=None, during=None) -> dict[str, Any]:
    """Runs `rc` to done against a broker REP at `broker_ep` (answering `lookups` in turn,
    then lookup_ok of the fake journal) and `journal`; returns what happened."""
    broker = ctx.socket(zmq.REP)
    broker.setsockopt(zmq.LINGER, 0)
    broker.bind(broker_ep)
    journal_ep = journal.socket.getsockopt(zmq.LAST_ENDPOINT).decode()
    lookups = list(lookups or [])
    fed: list[str] = []
    problems: list[str] = []
    seen_failures = 0
    asked = 0
    deadline = time.monotonic() + 10
    try:
        while not rc.done():
            assert time.monotonic() < deadline, "recovery did not finish in 10 s"
            now = time.monotonic_ns() // 1_000_000
            rc.drive(now)
            if during is not None:
                during(rc)
            poller = zmq.Poller()
            poller.register(broker, zmq.POLLIN)
            poller.register(journal.socket, zmq.POLLIN)
            waiting = rc.waiting_socket()
            if waiting is not None:
                poller.register(waiting, zmq.POLLIN)
            ready = dict(poller.poll(20))
            if broker in ready:
                req = codec.decode_control(broker.recv())
                assert req.TYPE == "lookup" and req.service == "journal"
                asked += 1
                broker.send(lookups.pop(0) if lookups else lookup_ok(journal_ep))
            if journal.socket in ready:
                journal.serve()
            if waiting is not None and waiting in ready:
                def feed(topic: str, raw: bytes) -> None:
                    ev = codec.decode_event(raw)
                    fed.append(f"{topic} {ev.body.fill_id}")
                    if on_fed is not None:
                        on_fed(topic, ev)
                rc.on_readable(time.monotonic_ns() // 1_000_000, feed)
            if rc.attempts_failed != seen_failures:
                seen_failures = rc.attempts_failed
                problems.append(rc.last_problem)
    finally:
        broker.close(linger=0)
    return {"fed": fed, "problems": problems, "lookups": asked}


@pytest.fixture
def zctx():
    ctx = zmq.Context()
    yield ctx
    ctx.term()


def test_client_retries_until_announced_then_pages_to_the_end(zctx) -> None:
    records = []
    for i in range(1, 6):
        ts = T0 + 10 * i
        records.append(("exec.fill.AAPL", fill(i, ts, f"f{i}"), ts))
        records.append(("md.tick.AAPL", b"not a fill", ts + 1))
    journal = FakeJournal(zctx, "inproc://rc-journal", records)
    rc = RecoveryClient(zctx, "inproc://rc-broker", 2000, 10,
                        RecoveryRequest(["exec.fill."], T0 + 15), page_records=2)
    got = drive(zctx, rc, "inproc://rc-broker", journal, lookups=[codec.encode_control(
        schema.Error(code="unknown_service", reason="not yet"))],
        on_fed=lambda topic, ev: rc.note_recovered(topic, ev.env))
    try:
        assert got["lookups"] == 2
        assert rc.attempts_failed == 1
        assert got["problems"] == ["journal service not available (unknown_service: not yet)"]
        # since_ns = T0 + 15 leaves out fill 1; pages of 2.
        assert got["fed"] == [f"exec.fill.AAPL f{i}" for i in (2, 3, 4, 5)]
        assert rc.records == 4 and rc.pages >= 2
        assert [q.from_index for q in journal.queries][0] == 0
        assert all(q.max_records == 2 and q.since_ns == T0 + 15 for q in journal.queries)

        # Live events held meanwhile: those the journal returned are dropped on release.
        rc.hold("exec.fill.AAPL", fill(5, T0 + 50, "f5"))  # already recovered
        rc.hold("exec.fill.AAPL", fill(6, T0 + 60, "f6"))  # newer: delivered
        rc.hold("exec.fill.AAPL", fill(5, T0 + 50, "f5x", src="other"))  # another source's
        released = rc.release_held()
        assert [codec.decode_event(raw).body.fill_id for _, raw in released] == ["f6", "f5x"]
        assert rc.wants("exec.fill.MSFT") and not rc.wants("md.tick.AAPL")
    finally:
        rc.close()
        journal.socket.close(linger=0)


ANCHOR_JOURNAL = [
    ("exec.fill.AAPL", "f0"),  # before since_ns
    ("risk.snapshot.risk", "s0"),  # before since_ns: not a candidate
    ("exec.fill.AAPL", "f1"),
    ("risk.snapshot.risk", "s1"),
    ("exec.fill.AAPL", "f2"),
    ("risk.snapshot.risk-2", "other"),  # another node's: the prefix matches, not the topic
    ("risk.snapshot.risk", "s2"),  # the last one
    ("exec.fill.AAPL", "f3"),
    ("exec.fill.AAPL", "f4"),
]


@pytest.mark.parametrize("request_, expected", [
    # With anchor records: the last one, then what follows it.
    (RecoveryRequest(["exec.fill."], T0 + 25, "risk.snapshot.risk"),
     ["risk.snapshot.risk s2", "exec.fill.AAPL f3", "exec.fill.AAPL f4"]),
    # With none since since_ns: everything since then.
    (RecoveryRequest(["exec.fill."], T0 + 25, "risk.snapshot.nobody"),
     ["exec.fill.AAPL f1", "exec.fill.AAPL f2", "exec.fill.AAPL f3", "exec.fill.AAPL f4"]),
    # replay_since before the last anchor: everything since then, anchors in place (the prefix
    # also matches risk-2's topic: a node tells its own anchor by exact topic).
    (RecoveryRequest(["exec.fill.", "risk.snapshot.risk"], T0 + 25, "risk.snapshot.risk",
                     T0 + 45),
     ["exec.fill.AAPL f2", "risk.snapshot.risk-2 other", "risk.snapshot.risk s2",
      "exec.fill.AAPL f3", "exec.fill.AAPL f4"]),
    # replay_since after the last anchor: from the anchor, as without it.
    (RecoveryRequest(["exec.fill.", "risk.snapshot.risk"], T0 + 25, "risk.snapshot.risk",
                     T0 + 75),
     ["risk.snapshot.risk s2", "exec.fill.AAPL f3", "exec.fill.AAPL f4"]),
], ids=["anchor", "no-anchor", "replay-since-earlier", "replay-since-later"])
def test_client_anchor_search(zctx, request_: RecoveryRequest, expected: list[str]) -> None:
    records = []
    for seq, (topic, fill_id) in enumerate(ANCHOR_JOURNAL, 1):
        ts = T0 + 10 * seq
        records.append((topic, fill(seq, ts, fill_id), ts))
    journal = FakeJournal(zctx, "inproc://rca-journal", records)
    rc = RecoveryClient(zctx, "inproc://rca-broker", 2000, 10, request_, page_records=2)
    try:
        got = drive(zctx, rc, "inproc://rca-broker", journal)
        assert got["fed"] == expected
        assert rc.records == len(expected)
        # The search pages one anchor at a time, on the anchor topic alone.
        assert journal.queries[0].prefixes == [request_.anchor_topic]
        assert journal.queries[0].max_records == 1
    finally:
        rc.close()
        journal.socket.close(linger=0)


def test_client_failures_are_retried_with_their_reason(zctx) -> None:
    records = [("exec.fill.AAPL", fill(1, T0, "f1"), T0)]
    journal = FakeJournal(zctx, "inproc://rcf-journal", records,
                          faults=["silent", "odd", "refuse", "short"])
    rc = RecoveryClient(zctx, "inproc://rcf-broker", 150, 10, RecoveryRequest(["exec.fill."]))
    try:
        got = drive(zctx, rc, "inproc://rcf-broker", journal, lookups=[
            b"\xc1", codec.encode_control(schema.Ok(detail="?")),
            lookup_ok("inproc://rcf-journal", healthy=False), lookup_ok("tcp://garbage")])
        assert got["problems"] == [
            "undecodable lookup reply: truncated or invalid msgpack",
            'unexpected lookup reply "ok"',
            "journal node journal is not healthy",
            # announced, but no address ZeroMQ can connect to: a failure, never a crash
            "the journal's announced endpoint tcp://garbage cannot be connected: "
            "Invalid argument",
            "the journal at inproc://rcf-journal did not answer journal_query in 150 ms",
            "malformed journal reply: expected a header and [topic][body] pairs, got 2 frames",
            "the journal refused the query (not_allowed: cannot read)",
            "journal reply says 2 records, next 1, but carries 1",
        ]
        assert got["fed"] == ["exec.fill.AAPL f1"]
        assert rc.attempts_failed == 8
    finally:
        rc.close()
        journal.socket.close(linger=0)


def test_client_broker_silence_is_a_failure(zctx) -> None:
    rc = RecoveryClient(zctx, "inproc://rcs-nobody", 50, 10, RecoveryRequest(["exec.fill."]))
    try:
        now = time.monotonic_ns() // 1_000_000
        rc.drive(now)
        assert rc.waiting_socket() is not None and rc.next_deadline_ms() == now + 50
        rc.drive(now + 50)
        assert rc.last_problem == "the broker at inproc://rcs-nobody did not answer lookup in 50 ms"
        assert rc.waiting_socket() is None and rc.next_deadline_ms() == now + 60
        assert not rc.done()
    finally:
        rc.close()


def test_client_hold_bound_drops_and_reads_the_journal_again(zctx) -> None:
    records = [("exec.fill.AAPL", fill(i, T0 + i, f"f{i}"), T0 + i) for i in range(1, 4)]
    journal = FakeJournal(zctx, "inproc://rch-journal", records)
    rc = RecoveryClient(zctx, "inproc://rch-broker", 2000, 10, RecoveryRequest(["exec.fill."]),
                        page_records=10, max_held=2)
    held = [False]

    def during(client: RecoveryClient) -> None:
        # The first page is answered (f1..f3, done) and not yet read: meanwhile three live
        # events arrive, and the journal records them too.
        if not held[0] and len(journal.queries) == 1:
            held[0] = True
            for i in (4, 5, 6):
                client.hold("exec.fill.AAPL", fill(i, T0 + i, f"f{i}"))
            journal.records += [("exec.fill.AAPL", fill(i, T0 + i, f"f{i}"), T0 + i)
                                for i in (4, 5, 6)]

    try:
        got = drive(zctx, rc, "inproc://rch-broker", journal, during=during,
                    on_fed=lambda topic, ev: rc.note_recovered(topic, ev.env))
        # Over the bound: the held ones are dropped; the query runs once more after done and
        # reads the journal's copy. What is held after the drop was recovered too.
        assert held[0]
        assert got["fed"] == [f"exec.fill.AAPL f{i}" for i in range(1, 7)]
        assert [q.from_index for q in journal.queries] == [0, 3]
        assert rc.release_held() == []  # f6, held after the drop, was recovered as well
    finally:
        rc.close()
        journal.socket.close(linger=0)


class Recorder(Node):
    """A node logic that records its hooks (the engine fed by hand)."""

    kind = "recorder-test"
    wants_last_values = False

    def __init__(self) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # no own table
        self.calls: list[tuple[str, Any]] = []

    def subscriptions(self) -> list[str]:
        return ["strategy.signal."]

    def publications(self) -> list[str]:
        return []

    def recovery(self, now_ns: int) -> RecoveryRequest:
        return RecoveryRequest(["strategy.signal."], now_ns - 1)

    def on_recover(self, ctx, ev: Inbound) -> None:
        self.calls.append(("recover", (ev.topic, ev.env.seq)))

    def on_start(self, ctx) -> None:
        self.calls.append(("start", None))

    def on_event(self, ctx, ev: Inbound) -> None:
        self.calls.append(("event", (ev.topic, ev.env.seq)))

    def on_trading_state(self, ctx, state: str, reason: str) -> None:
        self.calls.append(("trading", (state, reason)))


def event(topic: str, body: Any, seq: int, src: str = "strat", ts: int = 0) -> bytes:
    return codec.encode_event(schema.Envelope(src=src, seq=seq, ts_ns=ts or T0 + seq,
                                              trace_id=0, inc=1), body)


def signal_(seq: int, src: str = "strat") -> bytes:
    return event("strategy.signal.X", schema.Signal(signal_id=seq, symbol="X", side="BUY",
                                                    qty=1), seq, src)


def gap(expected: int, first: int) -> bytes:
    return event(topics.RECORDER_GAP, schema.RecorderGap(
        epoch=9, expected_seq=expected, first_seq=first, missing=first - expected), 1,
        src="journal")


def trading(state: str, seq: int, topic: str = topics.TRADING) -> bytes:
    return event(topic, schema.TradingState(state=state, reason="op"), seq, src="broker")


def test_engine_holds_live_events_and_halts_across_a_journal_hole() -> None:
    cfg = config.NodeConfig(kind="recorder-test", name="rt", control_endpoint="inproc://rt-none",
                            request_timeout_ms=50)
    logic = Recorder()
    engine = Engine(cfg, logic)
    try:
        # Leaving joining: the runtime's own prefixes are added; recovering from then on.
        engine._state, engine._ready, engine._probe_ok = State.REGISTERED, True, True
        engine._maybe_start()
        assert engine._phase == "recovering" and engine._recovery is not None
        assert engine._recovery.request.prefixes == ["strategy.signal.", topics.RECORDER_GAP,
                                                     topics.TRADING]
        assert engine._current_health() == "starting"

        # Live events on a recovery prefix are held; the journal's records go to on_recover,
        # the hole and the operator's resume only to the runtime.
        engine._on_message("strategy.signal.X", signal_(2))
        engine._on_message("strategy.signal.X", signal_(4))
        for topic, raw in [("strategy.signal.X", signal_(1)), (topics.RECORDER_GAP, gap(5, 8)),
                           ("strategy.signal.X", signal_(2)),
                           (topics.TRADING, trading("active", 1)),
                           (topics.RECORDER_GAP, gap(20, 23)),
                           ("sys.trading.symbol.X", trading("halted", 2, "sys.trading.symbol.X")),
                           (topics.TRADING, trading("halted", 3)),
                           ("strategy.signal.X", signal_(3)),
                           ("strategy.signal.X", b"\xc1")]:
            engine._recover_one(topic, raw)
        assert engine._hole == ("the journal lacks recorder messages 20..22 of broker epoch 9 "
                                "(3, evicted while it was down; recorded by journal)")
        assert logic.calls == [("recover", ("strategy.signal.X", 1)),
                               ("recover", ("strategy.signal.X", 2)),
                               ("recover", ("sys.trading.symbol.X", 2)),
                               ("recover", ("strategy.signal.X", 3))]
        assert engine.counters["misrouted"] == 0

        # Done: on_start, then the held events the journal did not return, then HALTED.
        engine._recovery._state = type(engine._recovery._state).DONE
        logic.calls.clear()
        engine._maybe_start()
        assert engine._running and engine._phase == "running"
        assert logic.calls[:2] == [("start", None), ("event", ("strategy.signal.X", 4))]
        reason = ("recovered across a journal hole: the journal lacks recorder messages 20..22 "
                  "of broker epoch 9 (3, evicted while it was down; recorded by journal); "
                  "reconcile, then tradebus resume")
        assert logic.calls[2:] == [("trading", ("halted", reason))]
        assert engine.trading == "halted"
        # The broker's word does not lift it; the next sys.trading does.
        engine._refresh(schema.HeartbeatOk(epoch=0, ready=True, trading_state="active"))
        assert engine.trading == "halted"
        engine._on_message(topics.TRADING, trading("active", 7))
        assert engine.trading == "active"
    finally:
        engine._shutdown()


def test_engine_without_a_hole_or_with_start_fresh_starts_active() -> None:
    for start_fresh in (False, True):
        cfg = config.NodeConfig(kind="recorder-test", name="rt", start_fresh=start_fresh,
                                control_endpoint="inproc://rt-none", request_timeout_ms=50)
        logic = Recorder()
        engine = Engine(cfg, logic)
        try:
            engine._state, engine._ready, engine._probe_ok = State.REGISTERED, True, True
            engine._maybe_start()
            if start_fresh:
                assert engine._recovery is None and engine._running
                assert logic.calls == [("start", None)]
                continue
            engine._on_message("strategy.signal.X", signal_(1))  # held: the journal has it
            for topic, raw in [(topics.RECORDER_GAP, gap(5, 8)),
                               (topics.TRADING, trading("active", 1)),
                               ("strategy.signal.X", signal_(1))]:
                engine._recover_one(topic, raw)
            engine._recovery._state = type(engine._recovery._state).DONE
            engine._maybe_start()
            assert engine._running and engine.trading == "active" and engine._hole == ""
            assert logic.calls == [("recover", ("strategy.signal.X", 1)), ("start", None)]
        finally:
            engine._shutdown()


# ---------------------------------------------------------------------- end to end
JOURNAL_OWN = ('[journal]\ndir = "{dir}/journal"\nfsync = "none"\nsource = "recorder"\n'
               'recorder_endpoint = "ipc://{dir}/recorder"\n')


def start_journal(b: Bus) -> None:
    b.start_cpp_node("journal", [], JOURNAL_OWN.format(dir=b.dir))


def start_counter(b: Bus, depends_on: list[str], limit: int, node_extra: str = "") -> None:
    cfg = b.node_config(NAME, NAME, depends_on, f"[{NAME}]\nlimit = {limit}\nevery_ms = 10\n",
                        node_extra=node_extra)
    b.start_python_node(NAME, SCRIPT, cfg)


def last_run(b: Bus) -> str:
    """The log of the node's current process (its log file is appended to by each); "" until
    it logged its start."""
    text = b.log_of(NAME)
    at = text.find(f" pid={b.procs[NAME].pid} (python)")
    return "" if at < 0 else text[text.rfind("\n", 0, at) + 1:]


def counter_lines(text: str) -> list[str]:
    return [line.split("COUNTER ", 1)[1] for line in text.splitlines() if "COUNTER " in line]


def signals(b: Bus) -> list[tuple[int, int]]:
    """(inc, signal_id) of every journaled signal, in journal order."""
    return [(r["inc"], r["data"]["signal_id"]) for r in b.journal("strategy.signal.")
            if r["type"] == "signal" and r["src"] == NAME]  # not the journal's gap lines


def state_of(b: Bus) -> str | None:
    return (b.node(NAME) or {}).get("state")


def test_a_killed_node_recovers_its_own_events_and_continues() -> None:
    b = Bus({"journal": [], NAME: ["journal"]})
    try:
        start_journal(b)
        start_counter(b, ["journal"], limit=12)
        wait_for("12 journaled signals", lambda: len(signals(b)) >= 12, 20)
        first_inc = signals(b)[0][0]
        assert signals(b) == [(first_inc, k) for k in range(1, 13)]
        assert b.kill(NAME) == -signal.SIGKILL

        # Restarted: on_recover gets exactly the 12, in order, before on_start; ids go on.
        start_counter(b, ["journal"], limit=20)
        wait_for("20 journaled signals", lambda: len(signals(b)) >= 20, 20)
        wait_for("healthy", lambda: state_of(b) == "healthy", 10)
        run = last_run(b)
        assert counter_lines(run) == ([f"recovered id={k}" for k in range(1, 13)]
                                      + ["started at id=12 trading=active"])
        assert re.search(r"recovery: rebuilding state from the journal \(strategy\.signal\.CTR, "
                         r"sys\.recorder\.gap, sys\.trading since \d+ ns\); not ready until "
                         r"done", run)
        assert "recovery: done: " in run
        got = signals(b)
        second_inc = got[12][0]
        assert second_inc != first_inc
        assert got == [(first_inc, k) for k in range(1, 13)] + [(second_inc, k)
                                                                for k in range(13, 21)]

        # start_fresh: recovery skipped, with the warning; the count starts over.
        assert b.kill(NAME, signal.SIGTERM) == 0
        start_counter(b, ["journal"], limit=3, node_extra="start_fresh = true\n")
        wait_for("23 journaled signals", lambda: len(signals(b)) >= 23, 20)
        run = last_run(b)
        assert ("recovery: start_fresh = true: NOT rebuilding state from the journal "
                "(strategy.signal.CTR, sys.recorder.gap, sys.trading); starting with empty "
                "state") in run
        assert counter_lines(run) == ["started at id=0 trading=active"]
        assert [k for _, k in signals(b)[20:]] == [1, 2, 3]
    finally:
        b.close()


def test_waits_for_the_journal_and_starts_halted_across_a_journal_hole() -> None:
    # No dependency on the journal: the node reaches recovery and has to wait there.
    b = Bus({"journal": [], NAME: []}, broker_extra="[recorder]\nretain_messages = 20\n")
    try:
        start_counter(b, [], limit=5, node_extra="recovery_retry_ms = 100\n")
        wait_for("the lookup refused", lambda: "recovery: journal service not available "
                 "(unknown_service" in b.log_of(NAME), 10)
        time.sleep(0.6)  # retrying meanwhile, heartbeating `starting`
        assert state_of(b) == "starting"
        assert counter_lines(b.log_of(NAME)) == []
        assert re.search(r"not ready, retrying in 100 ms \(attempt 1\)", b.log_of(NAME))

        start_journal(b)
        wait_for("healthy once the journal is there", lambda: state_of(b) == "healthy", 15)
        assert re.search(r"recovery: querying journal node journal at \S+ from record 0",
                         b.log_of(NAME))
        wait_for("5 journaled signals", lambda: len(signals(b)) >= 5, 10)

        # The journal down while more flows than the broker retains for it: a hole.
        assert b.kill("journal") == -signal.SIGKILL
        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        pub.connect(b.xsub)
        seq = 0

        def flooded() -> bool:
            nonlocal seq
            for _ in range(50):
                seq += 1
                pub.send_multipart([b"md.tick.FLOOD", event("md.tick.FLOOD", schema.Tick(
                    symbol="FLOOD", bid_px=1, bid_qty=1, ask_px=2, ask_qty=1), seq, "flood")])
            return b.status().get("recorder", {}).get("evicted", 0) > 0

        try:
            wait_for("the broker evicting recorder messages", flooded, 15, 0.05)
        finally:
            pub.close(linger=0)
            ctx.term()
        start_journal(b)
        wait_for("a recorder_gap in the journal", lambda: b.journal(topics.RECORDER_GAP), 15)

        # Restarted across it: HALTED until an operator resumes, saying why.
        assert b.kill(NAME) == -signal.SIGKILL
        start_counter(b, [], limit=5)
        wait_for("halted", lambda: any(line.startswith("trading halted: recovered across a "
                                                       "journal hole: the journal lacks "
                                                       "recorder messages")
                                       for line in counter_lines(last_run(b))), 15)
        run = last_run(b)
        assert [line for line in counter_lines(run) if not line.startswith("trading")] == [
            f"recovered id={k}" for k in range(1, 6)] + ["started at id=5 trading=active"]
        assert re.search(r"recovery: the journal lacks recorder messages \d+\.\.\d+ of broker "
                         r"epoch \d+ \(\d+, evicted while it was down; recorded by journal\): "
                         r"starting HALTED until an operator resumes", run)
        wait_for("healthy", lambda: state_of(b) == "healthy", 10)

        b.cli("resume", "--control", b.control, "--reason", "reconciled")
        wait_for("resumed", lambda: "trading active: reconciled" in " ".join(
            counter_lines(last_run(b))), 10)
        # The resume is journaled after the hole: the next restart does not halt for it.
        wait_for("the resume journaled", lambda: any(
            r["type"] == "trading_state" and r["data"]["reason"] == "reconciled"
            for r in b.journal(topics.TRADING)), 10)
        assert b.kill(NAME) == -signal.SIGKILL
        start_counter(b, [], limit=5)
        wait_for("started again", lambda: "started at id=5 trading=active" in counter_lines(
            last_run(b)), 15)
        time.sleep(0.3)
        assert "HALTED" not in last_run(b)
        assert not any(line.startswith("trading") for line in counter_lines(last_run(b)))
    finally:
        b.close()
