"""End to end: the Python example strategy (examples/python/meanrev) replaces the built-in
strategy in a pipeline of the real C++ broker, journal, marketdata, risk and execution, over
real sockets. It registers and shows in `tradebus status` like any node, its signals are
approved and filled, its counters (gaps, decode errors, misrouted) are exact, a SIGKILL makes
it unhealthy and a restart registers it again and it trades on."""

from __future__ import annotations

import signal
import time

import msgpack
import pytest
import zmq

from bus import REPO, Bus, wait_for

SCRIPT = REPO / "examples" / "python" / "meanrev" / "meanrev.py"
NAME = "pymeanrev"


@pytest.fixture
def bus():
    b = Bus({"journal": [], "marketdata": ["journal"], "execution": ["journal"],
             "risk": ["journal", "execution"], NAME: ["journal", "risk"]})
    try:
        b.start_cpp_node("journal", [], f'[journal]\ndir = "{b.dir}/journal"\nfsync = "none"\n'
                         f'source = "recorder"\nrecorder_endpoint = "ipc://{b.dir}/recorder"\n')
        b.start_cpp_node("marketdata", ["journal"],
                         '[marketdata]\nsource = "synthetic"\nbar_interval_ms = 100\n'
                         '[marketdata.synthetic]\nrate_per_sec = 200.0\nseed = 11\n'
                         '[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n'
                         '[marketdata.synthetic.symbols.MSFT]\nstart_px = 417.0\n')
        b.start_cpp_node("execution", ["journal"],
                         "[execution]\nslippage_bps = 1.0\npartial_fills = false\n")
        b.start_cpp_node("risk", ["journal", "execution"],
                         '[risk]\nallowed_symbols = ["AAPL", "MSFT"]\nmax_order_qty = 100\n'
                         "max_position = 300\nmax_gross_notional = 10000000.0\n"
                         "max_daily_loss = 1000000.0\nstale_quote_ms = 5000\n"
                         "price_band_bps = 500.0\n")
        cfg = b.node_config(NAME, NAME, ["journal", "risk"],
                            '[pymeanrev]\nsymbols = ["AAPL", "MSFT"]\nwindow = 5\n'
                            "entry_z = 1.2\nexit_z = 0.3\nqty = 50\n",
                            node_extra=f'executable = "{SCRIPT}"\n')
        # As tradebus-node@pymeanrev.service starts it: the launcher reads [node] executable
        # and execs the script (its #! line) in place.
        b.start(NAME, [str(REPO / "systemd" / "tradebus-node"), "--config", str(cfg)],
                {"PYTHONPATH": str(REPO / "python")})
        yield b
    finally:
        b.close()


def healthy(b: Bus, names: list[str]) -> dict | None:
    st = b.status()
    states = {n["name"]: n for n in st.get("nodes", [])}
    if all(states.get(n, {}).get("state") == "healthy" for n in names):
        return states
    return None


def filled_signals(b: Bus, since_ns: int = 0) -> set[str]:
    """Order ids risk approved for the Python node's signals (after ``since_ns``) that
    execution filled."""
    approved = {r["data"]["order_id"] for r in b.journal("risk.approved.>")
                if r["data"]["signal_src"] == NAME and r["ts_ns"] >= since_ns}
    fills = {r["data"]["order_id"] for r in b.journal("exec.fill.>")}
    return approved & fills


def test_python_strategy_trades_and_is_a_node_like_any_other(bus: Bus) -> None:
    nodes = wait_for("every node healthy", lambda: healthy(
        bus, ["journal", "marketdata", "execution", "risk", NAME]), 60)
    me = nodes[NAME]
    assert me["kind"] == NAME
    assert me["pid"] == bus.procs[NAME].pid  # the launcher's pid: exec'd in place
    assert "python" in me["version"]
    assert me["depends_on"] == ["journal", "risk"]

    # It trades: its signals are approved by risk and those orders are filled.
    wait_for("a filled order from the Python strategy's signal", lambda: filled_signals(bus), 60)
    # `tradebus status` (the table) shows it healthy with its own kind.
    table = bus.cli("status", "--control", bus.control).stdout
    assert any(line.split()[:3] == [NAME, NAME, "healthy"] or
               (line.split()[:2] == [NAME, NAME] and " healthy " in line)
               for line in table.splitlines()), table

    # Exact counters: what a hostile or broken peer sends is counted, not delivered. md.bar.AAPLX
    # is under the node's md.bar.AAPL subscription (byte prefix) but no symbol it trades.
    before = bus.node(NAME)["counters"]
    ctx = zmq.Context()
    topic = b"md.bar.AAPLX"
    # An XPUB sees the subscriptions the broker forwards to a new publisher: send once the one
    # that carries md.bar.AAPLX has arrived, so nothing is lost to the slow joiner.
    pub = ctx.socket(zmq.XPUB)
    pub.connect(bus.xsub)
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "the broker never forwarded md.bar.AAPL's subscription"
        if pub.poll(100, zmq.POLLIN):
            sub = pub.recv()
            if sub[:1] == b"\x01" and topic.startswith(sub[1:]) and sub[1:]:
                break

    def bar(seq: int) -> bytes:
        return msgpack.packb({"v": 1, "type": "bar", "src": "tester", "seq": seq, "ts_ns": 1,
                              "trace_id": 0, "inc": 7, "data": {
                                  "symbol": "AAPLX", "interval_ms": 100, "start_ts_ns": 0,
                                  "open_px": 1, "high_px": 1, "low_px": 1, "close_px": 1,
                                  "volume": 0, "ticks": 1}})

    tick_body = msgpack.packb({"v": 1, "type": "tick", "src": "tester", "seq": 1, "ts_ns": 1,
                               "trace_id": 0, "inc": 7, "data": {
                                   "symbol": "AAPLX", "bid_px": 1, "bid_qty": 1, "ask_px": 2,
                                   "ask_qty": 1, "last_px": 0, "last_qty": 0,
                                   "exch_ts_ns": 1}})
    pub.send_multipart([topic, bar(1)])
    pub.send_multipart([topic, bar(5)])  # seq 2, 3, 4 lost: 3 gaps
    pub.send_multipart([topic, b"\xc1"])  # not msgpack: a decode error
    pub.send_multipart([topic, tick_body])  # a tick on a bar topic: misrouted
    pub.close(linger=1000)
    ctx.term()

    def counted():
        c = bus.node(NAME)["counters"]
        if (c["gaps"] - before["gaps"], c["decode_errors"] - before["decode_errors"],
                c["misrouted"] - before["misrouted"]) == (3, 1, 1):
            return c
        return None

    wait_for("gaps +3, decode_errors +1, misrouted +1 in the Python node's heartbeat", counted,
             10)
    time.sleep(3 * bus.heartbeat_ms / 1000)  # and nothing more arrives later
    c = bus.node(NAME)["counters"]
    assert (c["gaps"] - before["gaps"], c["decode_errors"] - before["decode_errors"],
            c["misrouted"] - before["misrouted"]) == (3, 1, 1)
    assert c["received"] > 0 and c["published"] > 0 and c["rss_bytes"] > 0

    # SIGKILL: the broker marks it unhealthy; restarted, it registers again and trades on.
    old_pid = bus.procs[NAME].pid
    assert bus.kill(NAME, signal.SIGKILL) == -signal.SIGKILL
    wait_for("the killed Python node marked unhealthy",
             lambda: (bus.node(NAME) or {}).get("state") == "unhealthy", 10)
    restarted_ns = time.time_ns()
    bus.start_python_node(NAME, SCRIPT, bus.dir / f"{NAME}.toml")
    n = wait_for("the restarted Python node healthy again",
                 lambda: (lambda x: x if x and x["state"] == "healthy" else None)(
                     bus.node(NAME)), 30)
    assert n["pid"] != old_pid and n["pid"] == bus.procs[NAME].pid
    wait_for("a filled order from a signal of the restarted node",
             lambda: filled_signals(bus, restarted_ns), 60)

    # SIGTERM: a clean stop deregisters (exit 0, `stopped` at once, not after missed beats).
    assert bus.kill(NAME, signal.SIGTERM) == 0
    assert bus.node(NAME)["state"] == "stopped"
    assert "deregistered" in bus.log_of(NAME)


def test_bad_config_is_refused_with_positions(tmp_path) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "bad.toml"
    cfg.write_text('[node]\nkind = "pymeanrev"\nname = "pymeanrev"\n[broker]\n'
                   'control_endpoint = "tcp://127.0.0.1:5552"\n[pymeanrev]\n'
                   'symbols = ["AAPL"]\nwindow = 1\nentry_z = 2.0\nexit_z = 3.0\nqtty = 5\n')
    r = subprocess.run([sys.executable, str(SCRIPT), "--config", str(cfg)], capture_output=True,
                       text=True, env={"PYTHONPATH": str(REPO / "python")}, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert f"{cfg}:8:10: pymeanrev.window: expected an integer in [2, 10000], got 1" in lines
    assert f"{cfg}:10:10: pymeanrev.exit_z: expected less than entry_z (2), got 3" in lines
    assert any(line.startswith(f"{cfg}:11:1: pymeanrev.qtty: unknown key (did you mean \"qty\"")
               for line in lines), lines
    assert lines[-1] == f"tradebus-pymeanrev: 3 config errors in {cfg}, not starting"
