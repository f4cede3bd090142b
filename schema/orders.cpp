#include "tradebus/schema/orders.hpp"

#include "tradebus/schema/topics.hpp"

namespace tradebus::schema {

std::optional<std::string> cancel_scope_error(std::uint64_t request_id, std::string_view order_id,
                                              std::string_view symbol, bool all) {
    if (request_id == 0) return std::string("request_id must not be 0");
    const int scopes = (order_id.empty() ? 0 : 1) + (symbol.empty() ? 0 : 1) + (all ? 1 : 0);
    if (scopes != 1) {
        return std::string("give exactly one of order_id, symbol and all (got " +
                           std::to_string(scopes) + ")");
    }
    if (!symbol.empty() && !topics::valid_symbol(symbol)) {
        return std::string("symbol is not 1..32 bytes of [A-Za-z0-9_-/:]");
    }
    return std::nullopt;
}

}  // namespace tradebus::schema
