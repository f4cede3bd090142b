"""CURVE (PROTOCOL.md "CURVE authentication and topic ACLs"): a Python node runs secured from
its [security] table like a C++ node (its key pair from `tradebus keygen`, the broker's public
key from its file), registers under its own name and proves its data plane through the ACL; a
key the broker does not list gets nowhere, and a plaintext node neither."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bus import Bus, build_dir, wait_for

WATCHER = Path(__file__).with_name("nodes") / "watcher.py"


def test_a_python_node_runs_secured_and_an_unlisted_key_gets_nowhere(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    security = (f'[security]\ncurve = true\nsecret_key_file = "{keys}/broker.key"\n'
                f'[[security.client]]\nname = "pywatch"\npublic_key_file = "{keys}/pywatch.pub"\n'
                f'publish = ["md."]\n'
                f'[[security.client]]\nname = "ops"\npublic_key_file = "{keys}/ops.pub"\n'
                f"operator = true\n")
    for name in ("broker", "pywatch", "intruder", "ops"):
        subprocess.run([str(build_dir() / "cli" / "tradebus"), "keygen", name, "--dir", str(keys)],
                       check=True, capture_output=True, timeout=30)
    bus = Bus({"pywatch": []}, broker_extra=security)
    try:
        def status() -> dict:
            r = bus.cli("status", "--json", "--control", bus.control, "--key-file",
                        str(keys / "ops.key"), "--broker-key-file", str(keys / "broker.pub"),
                        check=False)
            return json.loads(r.stdout) if r.returncode == 0 else {}

        def state_of(name: str) -> str | None:
            return next((n["state"] for n in status().get("nodes", []) if n["name"] == name),
                        None)

        # [broker] is the last table node_config writes: the timeouts go there, then [security].
        for name, key in (("pywatch", "pywatch"), ("intruder", "intruder")):
            cfg = bus.node_config("pywatch", name, [],
                                  f'request_timeout_ms = 300\nretry_max_ms = 500\n[security]\n'
                                  f'broker_public_key_file = "{keys}/broker.pub"\n'
                                  f'key_file = "{keys}/{key}.key"\n')
            bus.start_python_node(name, WATCHER, cfg)
        plain = bus.node_config("pywatch", "plain", [],
                                "request_timeout_ms = 300\nretry_max_ms = 500\n")
        bus.start_python_node("plain", WATCHER, plain)

        # Healthy = registered under its own name, and its probe came back through the ACL.
        wait_for("the secured Python node healthy", lambda: state_of("pywatch") == "healthy", 30)
        assert "started active" in bus.log_of("pywatch")
        time.sleep(2.0)  # the other two keep trying meanwhile
        names = {n["name"] for n in status().get("nodes", [])}
        assert "intruder" not in names and "plain" not in names
        for who in ("intruder", "plain"):
            assert "started" not in bus.log_of(who)
            assert "did not answer register" in bus.log_of(who), bus.log_of(who)
        # The secret key never reaches the log.
        secret = next(line.split("=", 1)[1].strip().strip('"')
                      for line in (keys / "pywatch.key").read_text().splitlines()
                      if line.startswith("secret_key"))
        assert secret not in bus.log_of("pywatch")
    finally:
        bus.close()
