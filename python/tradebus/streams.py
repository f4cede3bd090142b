"""Per-(src, topic) stream bookkeeping: sequence gaps and the late-join merge.

The same rules as the C++ runtime (nodes/runtime/gap_tracker.cpp and late_join.cpp), which
PROTOCOL.md "Sequence numbers and gap detection" and the `snapshot_ok` section state:

- a different ``inc`` is a restarted publisher: a new baseline, never a gap;
- same ``inc``: ``seq == last + 1`` in order, ``seq > last + 1`` a gap of ``seq - last - 1``,
  ``seq == 1`` after a higher one a restarted topic, anything else a duplicate;
- the broker's cached last values (late join) and live traffic are merged by (src, topic, seq).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    IN_ORDER = "in_order"
    FIRST = "first"
    GAP = "gap"
    RESTART = "restart"
    DUPLICATE = "duplicate"
    UNTRACKED = "untracked"


@dataclass(frozen=True)
class Observation:
    what: Outcome
    missing: int = 0  # events lost before this one (GAP)
    expected: int = 0  # the seq that was expected (GAP, RESTART, DUPLICATE)


class GapTracker:
    """Counts events lost between the first and the last event of each (src, topic) stream.

    At most ``max_streams`` streams are tracked (a hostile peer inventing sources cannot grow
    it without bound); events of further streams are counted in ``untracked``.
    """

    def __init__(self, max_streams: int = 65_536) -> None:
        self._last: dict[tuple[str, str], list[int]] = {}  # (src, topic) -> [inc, seq]
        self._max_streams = max_streams
        self.gaps = 0
        self.untracked = 0

    def observe(self, src: str, topic: str, seq: int, inc: int) -> Observation:
        key = (src, topic)
        last = self._last.get(key)
        if last is None:
            if len(self._last) >= self._max_streams:
                self.untracked += 1
                return Observation(Outcome.UNTRACKED)
            self._last[key] = [inc, seq]
            return Observation(Outcome.FIRST)
        last_inc, last_seq = last
        if inc != last_inc:
            last[0], last[1] = inc, seq
            return Observation(Outcome.RESTART, 0, last_seq + 1)
        if seq == last_seq + 1:
            last[1] = seq
            return Observation(Outcome.IN_ORDER)
        if seq > last_seq + 1:
            missing = seq - last_seq - 1
            self.gaps += missing
            last[1] = seq
            return Observation(Outcome.GAP, missing, last_seq + 1)
        if seq == 1:
            last[1] = seq
            return Observation(Outcome.RESTART, 0, last_seq + 1)
        return Observation(Outcome.DUPLICATE, 0, last_seq + 1)


@dataclass(frozen=True)
class _Stamp:
    """Where a message stands in its (src, topic) stream."""

    inc: int
    seq: int
    ts_ns: int

    def after(self, other: "_Stamp") -> bool:
        """Later than ``other``: the higher seq of one incarnation, else the later publish time
        (a restarted source is the later one)."""
        return self.seq > other.seq if self.inc == other.inc else self.ts_ns > other.ts_ns


class LateJoin:
    """The broker's last-value cache at start, merged with live traffic (README "Late joiners").

    Subscribe first, then ask for the snapshot of each subscribed prefix (paged), so nothing falls
    in between; a live message seen before the start that is newer than the cached one replaces
    it, and after the start a live message not past the one delivered from the snapshot for its
    (src, topic) is not delivered again.
    """

    MAX_BEFORE_START = 100_000  # live messages remembered before the start (newest per stream)

    def __init__(self, prefixes: list[str]) -> None:
        self._prefixes = list(prefixes)
        self._current = 0
        self._after = ""
        self._items: list[tuple[str, bytes]] = []
        self._before_start: dict[tuple[str, str], tuple[_Stamp, bytes]] = {}
        self._delivered: dict[tuple[str, str], _Stamp] = {}

    def done(self) -> bool:
        return self._current >= len(self._prefixes)

    def next_request(self) -> tuple[str, str] | None:
        """(prefix, after) of the next `snapshot` request, None once every prefix is fetched."""
        if self.done():
            return None
        return self._prefixes[self._current], self._after

    def on_reply(self, count: int, next_cursor: str, frames: list[bytes]) -> str | None:
        """A `snapshot_ok` with its frames after the header. Returns why it was not usable (the
        prefix is then skipped), None when taken."""
        prefix = self._prefixes[self._current]
        error = None
        pairs: list[tuple[str, bytes]] = []
        if len(frames) != 2 * count:
            error = f"snapshot_ok says {count} pair(s) but carries {len(frames)} frame(s)"
        else:
            for k in range(count):
                try:
                    topic = frames[2 * k].decode("utf-8")
                except UnicodeDecodeError:
                    error = "a topic frame that is not UTF-8"
                    break
                if not topic.startswith(prefix):
                    error = f'topic "{topic[:64]}" is not under the prefix asked for'
                    break
                pairs.append((topic, frames[2 * k + 1]))
        if error is None:
            self._items.extend(pairs)
        if error is not None or not next_cursor or next_cursor <= self._after:
            self._current += 1  # done with this prefix (a cursor that does not advance loops)
            self._after = ""
        else:
            self._after = next_cursor
        return error

    def give_up(self) -> None:
        """The broker refused `snapshot` (or has no cache): start without cached values."""
        self._current = len(self._prefixes)

    def seen_before_start(self, topic: str, src: str, inc: int, seq: int, ts_ns: int,
                          raw: bytes) -> None:
        key = (src, topic)
        at = _Stamp(inc, seq, ts_ns)
        held = self._before_start.get(key)
        if held is None:
            if len(self._before_start) < self.MAX_BEFORE_START:
                self._before_start[key] = (at, raw)
        elif at.after(held[0]):
            self._before_start[key] = (at, raw)

    def take_for_start(self, decode) -> list[tuple[str, bytes]]:
        """The cached messages to deliver at start (each the newest of cache and live-before-start
        for its stream, one per stream). ``decode(raw)`` returns the envelope or None for a body
        that does not decode (left out). Call once, after done()."""
        out: list[tuple[str, bytes]] = []
        for topic, body in self._items:
            env = decode(body)
            if env is None:
                continue
            key = (env.src, topic)
            at = _Stamp(env.inc, env.seq, env.ts_ns)
            newer = self._before_start.pop(key, None)
            if newer is not None and newer[0].after(at):
                at, body = newer
            elif newer is not None:
                self._before_start[key] = newer
            seen = self._delivered.get(key)
            if seen is not None and not at.after(seen):
                continue
            self._delivered[key] = at
            out.append((topic, body))
        self._items.clear()
        self._before_start.clear()
        return out

    def is_duplicate(self, topic: str, src: str, inc: int, seq: int) -> bool:
        """A live message after the start that repeats one delivered from the snapshot."""
        if not self._delivered:
            return False
        key = (src, topic)
        d = self._delivered.get(key)
        if d is None:
            return False
        if inc == d.inc and seq <= d.seq and not (seq == 1 and d.seq > 1):
            return True
        del self._delivered[key]  # live traffic is past the snapshot for this stream for good
        return False
