#!/usr/bin/python3
"""tradebus-bench's Python strategy node (bench/README.md, "python"): the built-in strategy's
tick logic (nodes/strategy with price_source = "tick_mid") in Python, on the package's public
API, so the bench can measure how many ticks per second a Python node keeps up with next to
tradebus-strategy. It reads the same [strategy] table (config/nodes/strategy.toml; [node] kind
= "strategy"): on each md.tick.<SYM> it takes the mid, updates the symbol's fast and slow EMA,
Wilder RSI and ATR, and where the EMAs cross it publishes strategy.signal.<SYM>, unless the RSI
or ATR filter blocks the entry, as nodes/strategy/signal_engine.cpp does.

No risk or execution answers in the bench: the exposure is this node's own signals of the last
pending_timeout_ms, as tradebus-strategy counts signals nobody answers.

    PYTHONPATH=python /usr/bin/python3 bench/python_strategy.py --config FILE
"""

import sys
from collections import deque
from dataclasses import dataclass

import tradebus
from tradebus import schema, topics


@dataclass(frozen=True)
class Params:
    """One symbol's parameters; the defaults are the C++ symbol_params'."""

    fast_period: int = 5
    slow_period: int = 20
    rsi_period: int = 14
    rsi_overbought: float = 70.0
    rsi_oversold: float = 30.0
    atr_period: int = 14
    min_atr_bps: float = 0.0
    order_qty: int = 100
    warmup_samples: int = 0
    allow_short: bool = True


def read_params(t: tradebus.Section, base: Params) -> Params:
    def period(key: str) -> int:
        return t.integer(key, getattr(base, key), 1, 100_000)

    return Params(period("fast_period"), period("slow_period"), period("rsi_period"),
                  t.number("rsi_overbought", base.rsi_overbought, 0.0, 100.0),
                  t.number("rsi_oversold", base.rsi_oversold, 0.0, 100.0), period("atr_period"),
                  t.number("min_atr_bps", base.min_atr_bps, 0.0, 10_000.0),
                  t.integer("order_qty", base.order_qty, 1, 1_000_000_000),
                  t.integer("warmup_samples", base.warmup_samples, 0, 1_000_000),
                  t.boolean("allow_short", base.allow_short))


class Ema:
    """Seeded with the simple average of the first `period` samples."""

    def __init__(self, period: int) -> None:
        self.alpha, self.period = 2 / (period + 1), period
        self.count, self.sum, self.value = 0, 0.0, 0.0

    def update(self, x: float) -> float:
        if self.count < self.period:
            self.count += 1
            self.sum += x
            self.value = self.sum / self.count
        else:
            self.value += self.alpha * (x - self.value)
        return self.value


class Wilder:
    """Wilder's smoothing, seeded with the simple mean of the first `period` inputs."""

    def __init__(self, period: int) -> None:
        self.period, self.count, self.value = period, 0, 0.0

    def update(self, x: float) -> float:
        if self.count < self.period:
            self.count += 1
            self.value += (x - self.value) / self.count
        else:
            self.value = (self.value * (self.period - 1) + x) / self.period
        return self.value


class SignalEngine:
    """signal_engine.cpp for tick samples (high = low = close): a decision on an EMA cross."""

    def __init__(self, p: Params) -> None:
        self.p = p
        self.fast, self.slow = Ema(p.fast_period), Ema(p.slow_period)
        self.gain, self.loss = Wilder(p.rsi_period), Wilder(p.rsi_period)  # the RSI's averages
        self.atr = Wilder(p.atr_period)
        self.warmup = max(p.slow_period, p.fast_period, p.rsi_period + 1, p.atr_period,
                          p.warmup_samples)
        self.samples, self.last_sign, self.prev = 0, 0, None

    def rsi(self) -> float:
        if self.gain.count < self.p.rsi_period:
            return 50.0
        if self.loss.value <= 0:
            return 100.0 if self.gain.value > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + self.gain.value / self.loss.value)

    def on_sample(self, px: float, exposure: int):
        """(side, qty, confidence, reason) or None."""
        p = self.p
        f, s = self.fast.update(px), self.slow.update(px)
        change = 0.0 if self.prev is None else px - self.prev
        if self.prev is not None:
            self.gain.update(max(change, 0.0))
            self.loss.update(max(-change, 0.0))
        a = self.atr.update(abs(change))  # true range of a tick: the move from the last one
        self.prev = px
        r = self.rsi()
        self.samples += 1
        if self.samples < self.warmup:
            return None
        diff = f - s
        sign = (diff > 0) - (diff < 0)
        prev, self.last_sign = self.last_sign, sign or self.last_sign
        if sign == 0 or prev in (0, sign):
            return None  # touching, the first sample after the warm-up, or no cross
        up = sign > 0
        atr_bps = a / px * 1e4
        why = (f"EMA{p.fast_period} {f:.3f} crossed {'above' if up else 'below'} "
               f"EMA{p.slow_period} {s:.3f}, RSI {r:.1f}, ATR {a:.3f} ({atr_bps:.1f} bps)")
        spread = abs(diff) / a if a > 0 else abs(diff) / px * 1e3
        conf = spread / (1 + spread)
        blocked = ""
        if up and r > p.rsi_overbought:
            blocked = f"RSI {r:.1f} > rsi_overbought {p.rsi_overbought:.1f}"
        elif not up and r < p.rsi_oversold:
            blocked = f"RSI {r:.1f} < rsi_oversold {p.rsi_oversold:.1f}"
        elif p.min_atr_bps > 0 and atr_bps < p.min_atr_bps:
            blocked = f"ATR {atr_bps:.1f} bps < min_atr_bps {p.min_atr_bps:.1f}"
        if blocked:  # no entry; but a position against the cross is still closed
            if (up and exposure < 0) or (not up and exposure > 0):
                return "FLAT", abs(exposure), conf, f"{why}; {blocked}: closing {abs(exposure)}"
            return None
        target = p.order_qty if up else (-p.order_qty if p.allow_short else 0)
        delta = target - exposure
        if (delta <= 0) if up else (delta >= 0):
            return None  # already there: no stacking
        if target == 0:
            return "FLAT", -delta, conf, f"{why}; closing long {-delta} (allow_short = false)"
        return ("BUY" if up else "SELL"), abs(delta), conf, why


class PyStrategy(tradebus.Node):
    kind = "strategy"

    def __init__(self, own: tradebus.Section) -> None:
        super().__init__(own)
        self.symbols = own.strings("trade_symbols")
        if not self.symbols or not all(topics.valid_symbol(s) for s in self.symbols):
            own.error("trade_symbols", "expected a non-empty array of valid symbols")
        if own.choice("price_source", "tick_mid", ["tick_mid", "bar_close"]) != "tick_mid":
            own.error("price_source", "this bench node takes tick mids only")
        if own.boolean("signal_every_tick", False):
            own.error("signal_every_tick", "not in this bench node")
        self.pending_ns = own.integer("pending_timeout_ms", 5000, 1, 3_600_000) * 1_000_000
        defaults = read_params(own, Params())
        overrides = own.table("symbols")
        self.engines = {}
        for sym in self.symbols:
            sub = overrides.table(sym)
            params = read_params(sub, defaults) if sub.present() else defaults
            self.engines[sym] = SignalEngine(params)
        self.exposure = dict.fromkeys(self.symbols, 0)
        self.pending: deque = deque()  # (sent at ns, symbol, delta) of the signals sent
        self.next_id = 1

    def subscriptions(self) -> list[str]:
        return [topics.for_symbol(topics.MD_TICK, s) for s in self.symbols]

    def publications(self) -> list[str]:
        return [topics.SIGNAL]

    def on_start(self, ctx: tradebus.Context) -> None:
        self.next_id = max(1, ctx.now_ns() // 1000)  # ids keep rising across restarts

    def on_timer(self, ctx: tradebus.Context, now_ns: int) -> int:
        while self.pending and self.pending[0][0] <= now_ns - self.pending_ns:
            _, sym, delta = self.pending.popleft()
            self.exposure[sym] -= delta
        return now_ns + 1_000_000_000

    def on_tick(self, ctx: tradebus.Context, t, ev: tradebus.Inbound) -> None:
        engine = self.engines.get(t.symbol)
        if engine is None:
            return  # a prefix match for another symbol (AAPL vs AAPLX)
        if t.bid_px > 0 and t.ask_px >= t.bid_px:
            px = t.bid_px + (t.ask_px - t.bid_px) // 2
        elif t.last_px > 0:
            px = t.last_px
        else:
            return
        d = engine.on_sample(px / schema.PRICE_SCALE, self.exposure[t.symbol])
        if d is None:
            return
        side, qty, conf, reason = d
        delta = {"BUY": qty, "SELL": -qty}.get(side, -self.exposure[t.symbol])
        self.exposure[t.symbol] += delta
        self.pending.append((ctx.now_ns(), t.symbol, delta))
        ctx.publish(topics.for_symbol(topics.SIGNAL, t.symbol),
                    schema.Signal(signal_id=self.next_id, symbol=t.symbol, side=side, qty=qty,
                                  confidence=conf, ref_px=px, reason=reason),
                    ev.env.trace_id)
        self.next_id += 1


if __name__ == "__main__":
    sys.exit(tradebus.run(PyStrategy))
