"""tradebus: join a tradebus bus as a node, in Python.

The package implements the node semantics of the C++ runtime (register with the broker and its
``depends_on``, wait until ready, prove the data plane with a probe, heartbeat with counters,
count sequence gaps, merge the broker's last values, register again after a broker restart,
Lazy Pirate retries, the desk's trading state, CURVE, sd_notify) over Debian's ``python3-zmq``
and ``python3-msgpack``. Event classes are generated from ``schema.json``, which is the output
of ``tradebus schema --json`` (the C++ fields() lists), so they cannot drift from the wire.

    import sys, tradebus
    from tradebus import schema, topics

    class MyStrategy(tradebus.Node):
        kind = "mystrategy"
        def subscriptions(self): return [topics.MD_BAR]
        def publications(self): return [topics.SIGNAL]
        def on_bar(self, ctx, bar, ev): ...

    sys.exit(tradebus.run(MyStrategy))

See docs/write-your-own-node.md ("Python") and schema/PROTOCOL.md.
"""

__version__ = "0.1.0"

from . import codec, config, schema, topics  # noqa: E402
from .config import ConfigError, Section  # noqa: E402
from .node import Context, Inbound, Node, log, run  # noqa: E402
from .recovery import RecoveryRequest  # noqa: E402

__all__ = ["ConfigError", "Context", "Inbound", "Node", "RecoveryRequest", "Section", "codec",
           "config", "log", "run", "schema", "topics", "__version__"]
