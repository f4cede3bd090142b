// `tradebus sniff --last`: the broker's last-value cache for the sniffer's subscriptions
// (control `snapshot`, paged; README "Late joiners"), printed before live traffic and merged
// with it by (src, topic, seq) so no message shows twice (runtime::late_join).
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/cli/render.hpp"
#include "tradebus/runtime/late_join.hpp"

namespace tradebus::cli {

struct last_values {
    std::vector<bus_message> messages;  // cached, in topic order; pass filter.matches() first
    runtime::late_join merge;           // is_duplicate() for the live messages that follow
};

/// Asks the broker at `control` for the cached messages under each of `prefixes` (the SUB's
/// subscriptions, already made). Problems (no answer, a prefix the cache does not keep, a
/// malformed reply) are explained on `err`; what could be fetched is returned.
[[nodiscard]] last_values fetch_last_values(zmq::context_t& ctx, const std::string& control,
                                            const std::vector<std::string>& prefixes,
                                            std::chrono::milliseconds timeout, std::ostream& err);

/// Marks a rendered line as coming from the cache: `"cached":true` in a JSON object, a
/// "(cached) " prefix on a text line.
void mark_cached(std::string& line, output_format format);

}  // namespace tradebus::cli
