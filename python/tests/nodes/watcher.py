#!/usr/bin/python3
"""tradebus-pywatch: a tiny Python node for the runtime tests (tests/test_runtime.py). It
subscribes to md.tick.AAPL, publishes nothing, and writes what the runtime told it to stdout,
one line each, so a test can read it from the node's log:

    started <trading state>
    tick <src> <seq>
    trading <state> <reason>
    broker_restart <old epoch> <new epoch>
    stopped
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the package of this tree

import tradebus  # noqa: E402
from tradebus import topics  # noqa: E402


def say(line: str) -> None:
    print(line, flush=True)


class Watcher(tradebus.Node):
    kind = "pywatch"

    def subscriptions(self) -> list[str]:
        return [topics.for_symbol(topics.MD_TICK, "AAPL")]

    def publications(self) -> list[str]:
        return []

    def on_start(self, ctx: tradebus.Context) -> None:
        say(f"started {ctx.trading_state}")

    def on_tick(self, ctx, tick, ev) -> None:
        say(f"tick {ev.env.src} {ev.env.seq}")

    def on_trading_state(self, ctx, state: str, reason: str) -> None:
        say(f"trading {state} {reason}")

    def on_broker_restart(self, ctx, old_epoch: int, new_epoch: int) -> None:
        say(f"broker_restart {old_epoch} {new_epoch}")

    def on_stop(self, ctx) -> None:
        say("stopped")


if __name__ == "__main__":
    sys.exit(tradebus.run(Watcher))
