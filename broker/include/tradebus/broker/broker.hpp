// The broker process: binds the data plane (XSUB for publishers, XPUB for subscribers) and the
// control plane (ROUTER answering REQ), then runs one reactor loop over the three sockets and
// the liveness timers until SIGTERM/SIGINT (ARCHITECTURE.md "The loop", THREADING.md).
#pragma once

#include "tradebus/broker/config.hpp"

namespace tradebus::broker {

/// Runs the broker described by `cfg` until common::stop_requested(). Logs a startup banner,
/// one "ready" line once bound, notifies systemd (READY=1, watchdog pings). Returns the
/// process exit code: 0 after a clean stop, 1 on a runtime error (e.g. an endpoint that cannot
/// be bound). Call common::init_logging and common::install_stop_signals first.
int run(const broker_config& cfg);

}  // namespace tradebus::broker
