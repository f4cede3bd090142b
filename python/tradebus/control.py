"""The control plane's client side, shared by the engine (node.py) and the recovery client
(recovery.py): the Lazy Pirate REQ socket, CURVE on a socket to the broker, and rate-limited
logging."""

from __future__ import annotations

import time

import zmq

from . import config

MAX_POLL_MS = 100  # the longest one wait lasts (how soon a stop flag is seen)


class RateLimited:
    """A log line at most once per period; hit() returns how many happened since the last one
    logged (0: stay quiet)."""

    def __init__(self, period_s: float = 1.0) -> None:
        self._period = period_s
        self._next = 0.0
        self._count = 0

    def hit(self) -> int:
        self._count += 1
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + self._period
        n, self._count = self._count, 0
        return n


class ControlClient:
    """The control plane's REQ socket with the Lazy Pirate pattern: one request at a time, and
    when no reply comes within the timeout the socket is closed (linger 0) and opened again."""

    def __init__(self, zctx: zmq.Context, endpoint: str, timeout_ms: int,
                 curve: config.CurveClient) -> None:
        self._zctx, self._endpoint, self._timeout_ms = zctx, endpoint, timeout_ms
        self._curve = curve
        self.socket: zmq.Socket = self._open()
        self.deadline_ms = 0
        self.busy = False

    def _open(self) -> zmq.Socket:
        s = self._zctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        apply_curve(s, self._curve)
        s.connect(self._endpoint)
        return s

    def send(self, frame: bytes, now_ms: int) -> None:
        self.socket.send(frame)
        self.busy = True
        self.deadline_ms = now_ms + self._timeout_ms

    def expire(self, now_ms: int) -> bool:
        """True (and a fresh socket) when the request in flight timed out."""
        if not self.busy or now_ms < self.deadline_ms:
            return False
        self.reset()
        return True

    def reset(self) -> None:
        self.socket.close(linger=0)
        self.socket = self._open()
        self.busy = False

    def receive(self) -> list[bytes]:
        self.busy = False
        return self.socket.recv_multipart(zmq.NOBLOCK)

    def request(self, frame: bytes, give_up=lambda: False) -> list[bytes] | None:
        """One blocking request bounded by the timeout (the deregister at exit), waited for in
        short slices so that ``give_up()`` (a second stop signal) cuts it short."""
        if self.busy:
            self.reset()
        self.socket.send(frame)
        deadline = time.monotonic() + self._timeout_ms / 1000
        while not give_up():
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            if self.socket.poll(min(left_ms, MAX_POLL_MS), zmq.POLLIN):
                return self.socket.recv_multipart()
        return None

    def close(self) -> None:
        self.socket.close(linger=0)


def apply_curve(s: zmq.Socket, curve: config.CurveClient) -> None:
    """CURVE on a socket to the broker ([security]); nothing when the config has none."""
    if not curve.enabled:
        return
    s.curve_serverkey = curve.server_key.encode("ascii")
    s.curve_publickey = curve.public_key.encode("ascii")
    s.curve_secretkey = curve.secret_key.encode("ascii")
