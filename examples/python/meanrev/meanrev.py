#!/usr/bin/python3
"""tradebus-pymeanrev: the mean-reversion example strategy, in Python (README "Write your own
node"). On each md.bar.<SYM> close it takes the z-score of the close against the last `window`
closes: long when z <= -entry_z, short when z >= entry_z, flat once |z| <= exit_z. It publishes
strategy.signal.<SYM>; risk decides, execution fills. The same logic as
examples/cpp/meanrev/meanrev.cpp, on the same runtime semantics.

Run it with `python3 meanrev.py --config meanrev.toml` (the package on PYTHONPATH, or installed
with pip), or under systemd through `[node] executable`.
"""

import math
import sys
from collections import deque

import tradebus
from tradebus import schema, topics


class Book:
    """Per symbol: the last closes and the position this node asked for."""

    def __init__(self) -> None:
        self.closes: deque[float] = deque()
        self.held = "FLAT"
        self.before = "FLAT"
        self.last_signal = 0


class MeanRev(tradebus.Node):
    kind = "pymeanrev"

    def __init__(self, own: tradebus.Section) -> None:
        super().__init__(own)
        self.symbols = own.strings("symbols")
        if not self.symbols:
            own.error("symbols", "expected a non-empty array of symbols")
        for s in self.symbols:
            if not topics.valid_symbol(s):
                own.error("symbols", f'"{s}" is not a valid symbol')
        self.window = own.integer("window", 20, 2, 10_000)
        self.entry_z = own.number("entry_z", 2.0, 0.01, 100.0)
        self.exit_z = own.number("exit_z", 0.5, 0.0, 100.0)
        if self.exit_z >= self.entry_z:
            own.error("exit_z", f"expected less than entry_z ({self.entry_z:g}), "
                                f"got {self.exit_z:g}")
        self.qty = own.integer("qty", 100, 1, 1_000_000)
        self.books = {s: Book() for s in self.symbols}
        self.next_id = 1

    def subscriptions(self) -> list[str]:
        subs = []
        for s in self.symbols:
            subs += [topics.for_symbol(topics.MD_BAR, s), topics.for_symbol(topics.REJECTED, s)]
        return subs

    def publications(self) -> list[str]:
        return [topics.SIGNAL]

    def on_start(self, ctx: tradebus.Context) -> None:
        # Signal ids keep rising across restarts (risk refuses one it has seen from this node).
        self.next_id = max(1, ctx.now_ns() // 1000)
        tradebus.log.info("meanrev %s: %d symbol(s), window %d, entry z %g, exit z %g",
                          ctx.node_name, len(self.symbols), self.window, self.entry_z,
                          self.exit_z)

    def on_order_rejected(self, ctx, r, ev) -> None:
        book = self.books.get(r.symbol)  # our signal refused: we hold what we held before
        if r.signal_src != ctx.node_name or book is None:
            return
        if r.signal_id == book.last_signal:
            book.held = book.before
        if r.rule == "nothing_to_close":
            book.held = "FLAT"
        tradebus.log.info("meanrev: signal %d %s rejected: %s", r.signal_id, r.symbol, r.reason)

    def on_bar(self, ctx, bar, ev) -> None:
        book = self.books.get(bar.symbol)  # a prefix match for another symbol: not ours
        if book is None or bar.close_px <= 0:
            return
        book.closes.append(bar.close_px / schema.PRICE_SCALE)  # for the statistics only
        if len(book.closes) > self.window:
            book.closes.popleft()
        if len(book.closes) < self.window:
            return
        n = len(book.closes)
        mean = sum(book.closes) / n
        sd = math.sqrt(sum((c - mean) ** 2 for c in book.closes) / n)
        if sd <= 0:
            return
        z = (book.closes[-1] - mean) / sd
        want = book.held
        if z <= -self.entry_z:
            want = "BUY"  # buy = long, sell = short
        if z >= self.entry_z:
            want = "SELL"
        if book.held != "FLAT" and abs(z) <= self.exit_z:
            want = "FLAT"
        if want == book.held:
            return
        # Long from short buys both legs; FLAT names the size held (risk closes its own view).
        qty = 2 * self.qty if want != "FLAT" and book.held != "FLAT" else self.qty
        sig = schema.Signal(
            signal_id=self.next_id, symbol=bar.symbol, side=want, qty=qty,
            confidence=min(1.0, abs(z) / (2 * self.entry_z)),
            ref_px=bar.close_px,  # fixed point, exact: the bar's own integer
            reason=f"close {book.closes[-1]:.4f} is {z:+.2f} sd from the {self.window}-bar "
                   f"mean {mean:.4f}")
        self.next_id += 1
        book.before, book.held, book.last_signal = book.held, want, sig.signal_id
        ctx.publish(topics.for_symbol(topics.SIGNAL, bar.symbol), sig, ev.env.trace_id)


if __name__ == "__main__":
    sys.exit(tradebus.run(MeanRev))
