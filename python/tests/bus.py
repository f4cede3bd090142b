"""Test support: a real broker and real node processes on ipc:// endpoints in a temporary
directory, and the `tradebus` CLI to look at them. The C++ executables come from the build
directory ``$TRADEBUS_BUILD_DIR`` (ctest sets it); tests that need them are skipped with the
reason when it is not set."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"


def build_dir() -> Path:
    d = os.environ.get("TRADEBUS_BUILD_DIR", "")
    if not d or not (Path(d) / "cli" / "tradebus").exists():
        pytest.skip("TRADEBUS_BUILD_DIR does not name a tradebus build (ctest sets it)")
    return Path(d)


def wait_for(what: str, check, timeout_s: float, every_s: float = 0.1):
    """Polls ``check()`` until it returns something truthy; fails with ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(every_s)


class Bus:
    """A broker and nodes in a scratch directory; every process is stopped at close()."""

    def __init__(self, pipeline: dict[str, list[str]], heartbeat_ms: int = 250,
                 broker_extra: str = "") -> None:
        self.build = build_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="tb-py."))  # short: ipc:// paths are limited
        self.control = f"ipc://{self.dir}/control"
        self.xsub = f"ipc://{self.dir}/xsub"
        self.heartbeat_ms = heartbeat_ms
        self.procs: dict[str, subprocess.Popen] = {}
        lines = ["[broker]", 'name = "broker"', "[endpoints]", f'xsub = "{self.xsub}"',
                 f'xpub = "ipc://{self.dir}/xpub"', f'control = "{self.control}"',
                 f'recorder = "ipc://{self.dir}/recorder"', "[heartbeat]",
                 f"interval_ms = {heartbeat_ms}", "[trading]", 'missing_state = "active"',
                 f'state_file = "{self.dir}/trading-state"']
        for name, deps in pipeline.items():
            lines += [f"[pipeline.{name}]", f"depends_on = {json.dumps(deps)}"]
        (self.dir / "broker.toml").write_text("\n".join(lines) + "\n" + broker_extra)
        self.start("broker", [str(self.build / "broker" / "tradebus-broker"), "--config",
                              str(self.dir / "broker.toml")])

    def node_config(self, kind: str, name: str, depends_on: list[str], own: str,
                    node_extra: str = "") -> Path:
        path = self.dir / f"{name}.toml"
        path.write_text(
            f'[node]\nkind = "{kind}"\nname = "{name}"\ndepends_on = {json.dumps(depends_on)}\n'
            f"heartbeat_interval_ms = {self.heartbeat_ms}\n{node_extra}"
            f'[broker]\ncontrol_endpoint = "{self.control}"\n{own}')
        return path

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **(env or {})})
        log.close()

    def start_cpp_node(self, kind: str, depends_on: list[str], own: str) -> None:
        cfg = self.node_config(kind, kind, depends_on, own)
        self.start(kind, [str(self.build / "nodes" / kind / f"tradebus-{kind}"), "--config",
                          str(cfg)])

    def start_python_node(self, name: str, script: Path, cfg: Path) -> None:
        env = {"PYTHONPATH": str(PYTHON_DIR)}
        self.start(name, [sys.executable, str(script), "--config", str(cfg)], env)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([str(self.build / "cli" / "tradebus"), *args], capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            pytest.fail(f"tradebus {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r

    def status(self) -> dict:
        r = self.cli("status", "--json", "--control", self.control, check=False)
        if r.returncode != 0:
            return {}
        return json.loads(r.stdout)

    def node(self, name: str) -> dict | None:
        for n in self.status().get("nodes", []):
            if n["name"] == name:
                return n
        return None

    def journal(self, *prefixes: str) -> list[dict]:
        r = self.cli("journal", "cat", "--json", "--dir", str(self.dir / "journal"), *prefixes,
                     check=False)
        return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        p = self.procs.pop(name)
        p.send_signal(sig)
        return p.wait(timeout=30)

    def log_of(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
