// The human view of a status_ok reply for `tradebus status`: broker line, node table, start
// order, busiest topics, drops. Pure text; the command decides when and where to print it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tradebus/schema/control.hpp"

namespace tradebus::cli {

/// Renders `status` (from the broker at `endpoint`), showing at most `max_topics` topics.
/// Ends with '\n'.
[[nodiscard]] std::string format_status(const schema::status_reply& status,
                                        std::string_view endpoint, std::size_t max_topics);

}  // namespace tradebus::cli
