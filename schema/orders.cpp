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

std::optional<std::string> trading_scope_error(std::string_view symbol, std::string_view strategy) {
    if (!symbol.empty() && !strategy.empty()) {
        return std::string("give at most one of symbol and strategy (neither = the whole desk)");
    }
    if (!symbol.empty() && !topics::valid_symbol(symbol)) {
        return std::string("symbol is not 1..32 bytes of [A-Za-z0-9_-/:]");
    }
    if (!strategy.empty() && !topics::valid_node_name(strategy)) {
        return "strategy is not a node name (" + std::string(topics::node_name_rule) + ")";
    }
    return std::nullopt;
}

std::string trading_scope_name(std::string_view symbol, std::string_view strategy) {
    if (!symbol.empty()) return "symbol " + std::string(symbol);
    if (!strategy.empty()) return "strategy " + std::string(strategy);
    return "the desk";
}

}  // namespace tradebus::schema
