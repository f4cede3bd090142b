// The human view of a status_ok reply for `tradebus status`: broker line, node table, start
// order, busiest topics, drops. Pure text; the command decides when and where to print it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::cli {

/// Renders `status` (from the broker at `endpoint`), showing at most `max_topics` topics.
/// Ends with '\n'.
[[nodiscard]] std::string format_status(const schema::status_reply& status,
                                        std::string_view endpoint, std::size_t max_topics);

/// One risk node's last risk.limits event as the broker cached it.
struct cached_limits {
    std::string node;  // the event's src
    std::int64_t ts_ns = 0;
    schema::risk_limits limits;
};

/// The "risk limits:" section of `tradebus status`: per risk node the limits in force, when
/// and why they were published, and a refused reload's first error. Ends with '\n'; "" when
/// `all` is empty.
[[nodiscard]] std::string format_risk_limits(const std::vector<cached_limits>& all);

}  // namespace tradebus::cli
