"""The Python node runtime (tradebus/node.py) against the real C++ broker, CLI and risk node, in
separate processes: the desk's kill switch reaches the node's on_trading_state; a broker killed
with -9 and started again is noticed, re-registered with and reported once to
on_broker_restart, and never lifts a halt; sd_notify (READY, WATCHDOG, STOPPING) reaches
$NOTIFY_SOCKET; a node waits for its dependencies before on_start; a second instance of the
same name takes over and the first one stops with exit code 1.

The node is tests/nodes/watcher.py: it subscribes to md.tick.AAPL and writes one line per hook
call to stdout (`started <trading>`, `trading <state> <reason>`, `broker_restart <old> <new>`,
`stopped`), read back from its log."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
import zmq

from bus import REPO, Bus, wait_for
from tradebus import codec, config, process, schema
from tradebus.node import Engine, Node

SCRIPT = REPO / "python" / "tests" / "nodes" / "watcher.py"
NAME = "pywatch"


def node_config(bus: Bus, name: str = NAME, depends_on: list[str] | None = None) -> Path:
    """A watcher's config: a short request timeout and retry cap, so that a broker restart is
    noticed within a second or so."""
    path = bus.dir / f"{name}.toml"
    path.write_text(
        f'[node]\nkind = "pywatch"\nname = "{name}"\ndepends_on = {json.dumps(depends_on or [])}\n'
        f"heartbeat_interval_ms = {bus.heartbeat_ms}\n"
        f'[broker]\ncontrol_endpoint = "{bus.control}"\nrequest_timeout_ms = 300\n'
        "retry_max_ms = 500\n")
    return path


def start_watcher(bus: Bus, name: str = NAME, depends_on: list[str] | None = None,
                  proc: str | None = None, env: dict[str, str] | None = None) -> None:
    cfg = node_config(bus, name, depends_on)
    if env is None:
        bus.start_python_node(proc or name, SCRIPT, cfg)
    else:
        bus.start(proc or name, [sys.executable, str(SCRIPT), "--config", str(cfg)],
                  {"PYTHONPATH": str(REPO / "python"), **env})


def said(bus: Bus, proc: str, prefix: str) -> list[str]:
    """The watcher's own lines (not the runtime's log lines) starting with ``prefix``."""
    return [line for line in bus.log_of(proc).splitlines() if line.startswith(prefix)]


def healthy(bus: Bus, name: str = NAME, epoch: int | None = None) -> dict | None:
    st = bus.status()
    for n in st.get("nodes", []):
        if n["name"] == name and n["state"] == "healthy" and epoch in (None, st["epoch"]):
            return {**n, "epoch": st["epoch"], "trading_state": st["trading_state"],
                    "trading_reason": st["trading_reason"]}
    return None


def restart_broker(bus: Bus) -> None:
    """kill -9, then the same broker config again (as systemd would restart it)."""
    assert bus.kill("broker", signal.SIGKILL) == -signal.SIGKILL
    bus.start("broker", [str(bus.build / "broker" / "tradebus-broker"), "--config",
                         str(bus.dir / "broker.toml")])


@pytest.fixture
def bus():
    b = Bus({})
    try:
        yield b
    finally:
        b.close()


def ready_watcher(bus: Bus) -> dict:
    start_watcher(bus)
    n = wait_for("the Python node healthy", lambda: healthy(bus), 15)
    wait_for("on_start", lambda: said(bus, NAME, "started "), 5)
    return n


# ---------------------------------------------------------------------------- a. kill switch

def test_the_desk_halt_and_resume_reach_on_trading_state(bus: Bus) -> None:
    ready_watcher(bus)
    assert said(bus, NAME, "started ") == ["started active"]
    ctl = ("--control", bus.control)

    # A symbol's halt is not the desk's: the node's desk state does not move. (It comes on
    # sys.trading.symbol.AAPL, under the node's sys.trading subscription, before the desk's.)
    bus.cli("halt", "--symbol", "AAPL", "--reason", "news pending", *ctl)
    bus.cli("halt", "--reduce-only", "--reason", "wind down", *ctl)
    wait_for("trading reducing", lambda: said(bus, NAME, "trading "), 10)
    assert said(bus, NAME, "trading ") == ["trading reducing wind down"]

    bus.cli("halt", "--reason", "fat finger on AAPL", "--by", "desk-op", *ctl)
    wait_for("trading halted", lambda: len(said(bus, NAME, "trading ")) >= 2, 10)
    bus.cli("resume", "--reason", "all clear", *ctl)
    wait_for("trading active", lambda: len(said(bus, NAME, "trading ")) >= 3, 10)
    # Heartbeat replies carry the same state again: no hook call for them.
    time.sleep(3 * bus.heartbeat_ms / 1000)
    assert said(bus, NAME, "trading ") == ["trading reducing wind down",
                                           "trading halted fat finger on AAPL",
                                           "trading active all clear"]
    assert bus.status()["trading_state"] == "active"
    assert bus.procs[NAME].poll() is None


# ---------------------------------------------------------------------------- b. broker restart

def test_a_restarted_broker_is_registered_with_again_and_reported_once(bus: Bus) -> None:
    first = ready_watcher(bus)
    pid = bus.procs[NAME].pid
    epochs = [first["epoch"]]
    for k in range(2):
        restart_broker(bus)
        n = wait_for(f"the Python node healthy under the broker's new epoch (restart {k + 1})",
                     lambda: (lambda h: h if h and h["epoch"] != epochs[-1] else None)(
                         healthy(bus)), 15)
        assert n["pid"] == pid  # the same process, not a restarted one
        epochs.append(n["epoch"])
        wait_for("on_broker_restart", lambda: len(said(bus, NAME, "broker_restart ")) > k, 5)
    assert said(bus, NAME, "broker_restart ") == [
        f"broker_restart {epochs[0]} {epochs[1]}", f"broker_restart {epochs[1]} {epochs[2]}"]
    assert said(bus, NAME, "started ") == ["started active"]  # on_start once, not per session
    assert said(bus, NAME, "trading ") == []
    assert bus.log_of(NAME).count("after restart") == 2
    assert bus.procs[NAME].poll() is None


def test_a_halt_survives_a_broker_restart(bus: Bus) -> None:
    ready_watcher(bus)
    bus.cli("halt", "--reason", "durable halt", "--control", bus.control)
    wait_for("trading halted", lambda: said(bus, NAME, "trading "), 10)
    old = bus.status()["epoch"]

    restart_broker(bus)  # its state file keeps the halt
    n = wait_for("the Python node healthy under the new broker",
                 lambda: (lambda h: h if h and h["epoch"] != old else None)(healthy(bus)), 15)
    assert (n["trading_state"], n["trading_reason"]) == ("halted", "durable halt")
    wait_for("on_broker_restart", lambda: said(bus, NAME, "broker_restart "), 5)
    assert said(bus, NAME, "trading ") == ["trading halted durable halt"]

    # Only the operator's resume lifts it.
    bus.cli("resume", "--reason", "over", "--control", bus.control)
    wait_for("trading active", lambda: len(said(bus, NAME, "trading ")) == 2, 10)
    assert said(bus, NAME, "trading ")[-1] == "trading active over"


def test_a_broker_that_lost_its_state_resumes_no_node(bus: Bus) -> None:
    ready_watcher(bus)
    bus.cli("halt", "--reason", "lost file", "--control", bus.control)
    wait_for("trading halted", lambda: said(bus, NAME, "trading "), 10)
    old = bus.status()["epoch"]

    # The saved state is lost with the broker: missing_state = "active", so the new broker
    # reports active. The node keeps the halt it was under until an operator speaks.
    assert bus.kill("broker", signal.SIGKILL) == -signal.SIGKILL
    (bus.dir / "trading-state").unlink()
    bus.start("broker", [str(bus.build / "broker" / "tradebus-broker"), "--config",
                         str(bus.dir / "broker.toml")])
    n = wait_for("the Python node healthy under the new broker",
                 lambda: (lambda h: h if h and h["epoch"] != old else None)(healthy(bus)), 15)
    assert n["trading_state"] == "active"
    wait_for("the node's log says it stays halted", lambda: "staying halted" in bus.log_of(NAME),
             5)
    time.sleep(3 * bus.heartbeat_ms / 1000)  # heartbeat replies saying active change nothing
    assert said(bus, NAME, "trading ") == ["trading halted lost file"]

    bus.cli("resume", "--reason", "reconciled", "--control", bus.control)
    wait_for("trading active", lambda: len(said(bus, NAME, "trading ")) == 2, 10)
    assert said(bus, NAME, "trading ")[-1] == "trading active reconciled"


# ---------------------------------------------------------------------------- c. sd_notify

@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_sd_notify_ready_watchdog_and_stopping(bus: Bus, monkeypatch, abstract: bool) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if abstract:
            name = f"tb-py-notify-{bus.dir.name}"
            sock.bind("\0" + name)
            address = "@" + name
        else:
            address = str(bus.dir / "notify.sock")
            sock.bind(address)
        sock.settimeout(0.1)
        got: list[tuple[float, str]] = []

        def read_until(what: str, timeout_s: float) -> bool:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if any(what in m for _, m in got):
                    return True
                try:
                    got.append((time.monotonic(), sock.recv(4096).decode()))
                except socket.timeout:
                    pass
            return any(what in m for _, m in got)

        start_watcher(bus, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"})
        assert read_until("READY=1", 15), got
        ready = next(m for _, m in got if "READY=1" in m)
        assert ready.split("\n") == ["READY=1", "STATUS=running"]
        assert said(bus, NAME, "started ")  # READY=1 once the node runs, not before
        messages = [m for _, m in got]
        registered = [k for k, m in enumerate(messages) if m == "STATUS=registered; ready"]
        assert registered and registered[0] < messages.index(ready), messages
        wait_for("the Python node healthy", lambda: healthy(bus), 5)
        # The watchdog, every half of WATCHDOG_USEC (200 ms): at least 3 within 1.5 s.
        t0 = time.monotonic()
        read_until("never", 1.5)
        pings = [t for t, m in got if m == "WATCHDOG=1" and t >= t0]
        assert len(pings) >= 3, got
        assert all(b - a < 0.4 for a, b in zip(pings, pings[1:])), pings
        assert sum(1 for _, m in got if "READY=1" in m) == 1

        assert bus.kill(NAME, signal.SIGTERM) == 0
        assert read_until("STOPPING=1", 5), got
        assert said(bus, NAME, "stopped") == ["stopped"]
    finally:
        sock.close()


def test_the_watchdog_is_fed_within_systemds_deadline(bus: Bus, monkeypatch) -> None:
    """WatchdogSec=400ms: systemd kills a node that sends no WATCHDOG=1 for 400 ms. The node
    pings every half period (as the C++ loop, common/loop.cpp), so a gap near 400 ms would take
    a 200 ms stall of this machine."""
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        address = str(bus.dir / "notify.sock")
        sock.bind(address)
        sock.settimeout(0.05)
        start_watcher(bus, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"})
        pings: list[float] = []
        running = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (len(pings) < 2 or pings[-1] - pings[0] < 2.0):
            try:
                m = sock.recv(4096).decode()
            except socket.timeout:
                continue
            running = running or "READY=1" in m
            if running and m == "WATCHDOG=1":
                pings.append(time.monotonic())
        assert running and len(pings) >= 2, "no READY=1, or no WATCHDOG=1 after it"
        gaps_ms = [round((b - a) * 1000) for a, b in zip(pings, pings[1:])]
        assert len(pings) >= 8, gaps_ms  # about 5 a second for 2 s
        assert max(gaps_ms) < 400, gaps_ms
    finally:
        sock.close()


def test_the_loop_wakes_for_the_watchdog(monkeypatch) -> None:
    """The wait never outlasts the next watchdog ping (not only the next 100 ms wake-up): with
    WatchdogSec=100ms the loop must ping every 50 ms."""
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    cfg = config.NodeConfig(kind="pywatch", name="pywatch",
                            control_endpoint="ipc:///nonexistent/tradebus-test")

    class Quiet(Node):
        kind = "pywatch"

        def subscriptions(self) -> list[str]:
            return []

        def publications(self) -> list[str]:
            return []

    engine = Engine(cfg, Quiet(config.loads("")))
    try:
        assert engine._watchdog_ms == 50
        now = engine.mono_ms()
        engine._next_control_ms = now + 10_000  # nothing else due soon
        engine._next_watchdog_ms = now + 30
        assert engine._next_timeout() <= 30
    finally:
        engine._control.close()
        engine._pub.close()
        engine._sub.close(linger=0)
        engine._zctx.term()


def test_watchdog_interval_follows_sd_watchdog_enabled(monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert process.watchdog_interval_ms() == 400
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert process.watchdog_interval_ms() == 400
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert process.watchdog_interval_ms() == 0
    monkeypatch.delenv("WATCHDOG_PID")
    monkeypatch.setenv("WATCHDOG_USEC", "soon")
    assert process.watchdog_interval_ms() == 0
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert process.notify("READY=1") is False  # not supervised: nothing sent, no error


# ---------------------------------------------------------------------------- d. dependencies

RISK = ('[risk]\nallowed_symbols = ["AAPL"]\nmax_order_qty = 100\nmax_position = 300\n'
        "max_gross_notional = 10000000.0\nmax_daily_loss = 1000000.0\nstale_quote_ms = 5000\n"
        "price_band_bps = 500.0\n")


def test_a_node_waits_for_its_dependencies_before_on_start() -> None:
    bus = Bus({"risk": [], NAME: ["risk"]})
    try:
        start_watcher(bus, depends_on=["risk"])
        # (Before it registers, the broker lists the [pipeline] node as stopped.)
        wait_for("the Python node registered", lambda: (bus.node(NAME) or {}).get("pid") ==
                 bus.procs[NAME].pid, 10)
        wait_for("the node's log says what it waits for",
                 lambda: "waiting for dependencies: risk" in bus.log_of(NAME), 5)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            n = bus.node(NAME)
            assert n["state"] == "starting", n
            assert n["depends_on"] == ["risk"]
            assert said(bus, NAME, "started ") == []
            time.sleep(0.2)
        assert bus.procs[NAME].poll() is None

        # risk: no journal in this pipeline, so no recovery to wait for.
        cfg = bus.dir / "risk.toml"
        cfg.write_text(f'[node]\nkind = "risk"\nname = "risk"\ndepends_on = []\n'
                       f"heartbeat_interval_ms = {bus.heartbeat_ms}\nstart_fresh = true\n"
                       f'[broker]\ncontrol_endpoint = "{bus.control}"\n{RISK}')
        started = time.monotonic()
        bus.start("risk", [str(bus.build / "nodes" / "risk" / "tradebus-risk"), "--config",
                           str(cfg)])
        wait_for("risk healthy", lambda: healthy(bus, "risk"), 15)
        wait_for("the Python node healthy", lambda: healthy(bus), 10)
        wait_for("on_start", lambda: said(bus, NAME, "started "), 5)
        assert time.monotonic() - started < 10
        assert said(bus, NAME, "started ") == ["started active"]
        assert "ready: dependencies healthy (risk)" in bus.log_of(NAME)
    finally:
        bus.close()


# ---------------------------------------------------------------------------- e. duplicate name

def test_a_second_instance_takes_the_name_and_the_first_stops_with_exit_1(bus: Bus) -> None:
    ready_watcher(bus)
    first = bus.procs[NAME]
    start_watcher(bus, proc="second")  # the same name and host: a restart, it takes over
    second = bus.procs["second"]
    wait_for("the second instance registered under the name",
             lambda: (bus.node(NAME) or {}).get("pid") == second.pid, 10)
    assert first.wait(timeout=10) == 1
    assert "broker gave our name to another instance" in bus.log_of(NAME)
    assert "deregistered" not in bus.log_of(NAME)  # it must not end the new one's session
    n = wait_for("the second instance healthy",
                 lambda: (lambda h: h if h and h["pid"] == second.pid else None)(healthy(bus)),
                 10)
    assert n["pid"] == second.pid and second.poll() is None
    wait_for("the second instance's on_start", lambda: said(bus, "second", "started "), 5)
    # And it stays: a few heartbeats later the name is still the second's, healthy.
    time.sleep(3 * bus.heartbeat_ms / 1000)
    assert (bus.node(NAME) or {}).get("state") == "healthy"
    assert bus.node(NAME)["pid"] == second.pid and second.poll() is None


# ---------------------------------------------------------------------------- late join

def test_late_join_delivers_the_cached_tick_once_then_live_ticks(bus: Bus) -> None:
    """The broker's last value of md.tick.AAPL reaches the node right after on_start, and the
    same message arriving live afterwards is not delivered twice (PROTOCOL.md `snapshot_ok`)."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.connect(bus.xsub)
    req = ctx.socket(zmq.REQ)
    req.connect(bus.control)

    def tick(seq: int) -> list[bytes]:
        env = schema.Envelope(src="tester", seq=seq, ts_ns=time.time_ns(), trace_id=1, inc=7)
        return [b"md.tick.AAPL", codec.encode_event(env, schema.Tick(
            symbol="AAPL", bid_px=100_00000000, bid_qty=1, ask_px=101_00000000, ask_qty=1,
            last_px=0, last_qty=0, exch_ts_ns=0))]

    def cached_seq() -> int:
        req.send(codec.encode_control(schema.Snapshot(prefix="md.tick.AAPL", after="")))
        frames = req.recv_multipart()
        assert codec.decode_control(frames[0]).TYPE == "snapshot_ok"
        return codec.decode_event(frames[2]).env.seq if len(frames) == 3 else 0

    try:
        seq = 0
        deadline = time.monotonic() + 10
        while cached_seq() == 0:  # until the broker has our PUB connected (slow joiner)
            assert time.monotonic() < deadline, "the broker never cached md.tick.AAPL"
            seq += 1
            pub.send_multipart(tick(seq))
            time.sleep(0.05)
        wait_for(f"the broker's cache at seq {seq}", lambda: cached_seq() == seq, 5)

        ready_watcher(bus)
        wait_for("the cached tick", lambda: said(bus, NAME, "tick "), 5)
        lines = [x for x in bus.log_of(NAME).splitlines() if x.startswith(("started", "tick"))]
        assert lines == ["started active", f"tick tester {seq}"]  # after on_start, once

        pub.send_multipart(tick(seq))  # the cached message again, live: not delivered again
        pub.send_multipart(tick(seq + 1))
        wait_for("the live tick", lambda: len(said(bus, NAME, "tick ")) >= 2, 5)
        time.sleep(3 * bus.heartbeat_ms / 1000)
        assert said(bus, NAME, "tick ") == [f"tick tester {seq}", f"tick tester {seq + 1}"]
        c = bus.node(NAME)["counters"]
        assert c["gaps"] == 0 and c["decode_errors"] == 0 and c["misrouted"] == 0
    finally:
        pub.close(linger=0)
        req.close(linger=0)
        ctx.term()
