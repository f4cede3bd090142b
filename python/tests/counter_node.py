#!/usr/bin/python3
"""A test node for recovery (test_recovery.py): it publishes numbered signals (signal_id 1, 2,
...) on ``strategy.signal.<symbol>`` up to ``limit``, and after a restart rebuilds the last id
from the journal (Node.recovery / on_recover), so its ids continue where the killed instance
stopped. Every hook it sees is logged with a ``COUNTER`` line the test reads."""

from __future__ import annotations

import sys

import tradebus
from tradebus import log, schema, topics

DAY_NS = 86_400 * 1_000_000_000


class Counter(tradebus.Node):
    kind = "pycounter"

    def __init__(self, own: tradebus.Section) -> None:
        super().__init__(own)
        self.symbol = own.string("symbol", "CTR")
        self.limit = own.integer("limit", 10, 0, 1_000_000)
        self.every_ms = own.integer("every_ms", 20, 1, 60_000)
        self.topic = topics.for_symbol(topics.SIGNAL, self.symbol)
        self.last_id = 0
        self.started = False

    def subscriptions(self) -> list[str]:
        return []

    def publications(self) -> list[str]:
        return [topics.SIGNAL]

    def recovery(self, now_ns: int) -> tradebus.RecoveryRequest:
        return tradebus.RecoveryRequest([self.topic], since_ns=now_ns - DAY_NS)

    def on_recover(self, ctx: tradebus.Context, ev: tradebus.Inbound) -> None:
        if self.started:
            log.error("COUNTER on_recover after on_start")
        if ev.topic != self.topic or ev.env.src != ctx.node_name or ev.type != "signal":
            log.error("COUNTER foreign record %s %s from %s", ev.topic, ev.type, ev.env.src)
            return
        log.info("COUNTER recovered id=%d", ev.body.signal_id)
        self.last_id = ev.body.signal_id

    def on_start(self, ctx: tradebus.Context) -> None:
        self.started = True
        log.info("COUNTER started at id=%d trading=%s", self.last_id, ctx.trading_state)

    def on_timer(self, ctx: tradebus.Context, now_ns: int) -> int:
        if self.last_id >= self.limit:
            return 0
        self.last_id += 1
        ctx.publish(self.topic, schema.Signal(signal_id=self.last_id, symbol=self.symbol,
                                              side="BUY", qty=1, confidence=0.5, ref_px=1,
                                              reason="count"))
        return now_ns + self.every_ms * 1_000_000

    def on_trading_state(self, ctx: tradebus.Context, state: str, reason: str) -> None:
        log.info("COUNTER trading %s: %s", state, reason)


if __name__ == "__main__":
    sys.exit(tradebus.run(Counter))
