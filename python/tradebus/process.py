"""What a node process tells systemd and the broker about itself: sd_notify (READY=1, STATUS=,
STOPPING=1, WATCHDOG=1) spoken over ``$NOTIFY_SOCKET`` directly (no libsystemd binding needed),
and its resources for the heartbeat counters (``cpu_ms``, ``rss_bytes``, ``open_fds``, read
from /proc as the C++ runtime reads them; PROTOCOL.md "node_counters")."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Sends ``message`` to systemd when it supervises this process; False when not (or when it
    could not be sent: supervision is best effort, as sd_notify(3) is)."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path or path[0] not in "/@":
        return False
    address = "\0" + path[1:] if path[0] == "@" else path  # '@': the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(message.encode("utf-8"), address)
        return True
    except OSError:
        return False


def watchdog_interval_ms() -> int:
    """systemd's watchdog period for this process (``WatchdogSec=``) in ms, 0 when off. As
    sd_watchdog_enabled(3): only when ``WATCHDOG_PID`` is absent or names this process."""
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return 0
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return 0
    return max(0, usec // 1000)


def resources() -> tuple[int, int, int]:
    """(cpu_ms, rss_bytes, open_fds) of this process; 0 for what cannot be read."""
    cpu_ms = rss = fds = 0
    try:
        t = os.times()
        cpu_ms = int((t.user + t.system) * 1000)
    except OSError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        fds = max(0, len(os.listdir("/proc/self/fd")) - 1)  # minus the listing's own descriptor
    except OSError:
        pass
    return cpu_ms, rss, fds
