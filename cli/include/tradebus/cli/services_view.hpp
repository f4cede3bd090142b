// The services section of `tradebus status`: what nodes offer through the broker (the journal's
// query endpoint), from a services_ok reply. Pure text.
#pragma once

#include <string>

#include "tradebus/schema/control.hpp"

namespace tradebus::cli {

/// "services:" and a SERVICE/NODE/STATE/ENDPOINT table, or a line saying there are none.
/// Ends with '\n'.
[[nodiscard]] std::string format_services(const schema::services_reply& services);

}  // namespace tradebus::cli
