#include "tradebus/schema/topics.hpp"

#include "tradebus/schema/utf8.hpp"

namespace tradebus::schema::topics {

std::string for_symbol(std::string_view prefix, std::string_view symbol) {
    std::string out;
    out.reserve(prefix.size() + symbol.size());
    out.append(prefix);
    out.append(symbol);
    return out;
}

std::string for_trading_scope(std::string_view symbol, std::string_view strategy) {
    if (!symbol.empty()) return for_symbol(trading_symbol, symbol);
    if (!strategy.empty()) return for_symbol(trading_strategy, strategy);
    return std::string(trading);
}

bool valid_symbol(std::string_view symbol) noexcept {
    if (symbol.empty() || symbol.size() > max_symbol_bytes) return false;
    for (char c : symbol) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '/' || c == ':';
        if (!ok) return false;
    }
    return true;
}

bool valid_node_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

namespace {
std::optional<std::string> check(std::string_view t, bool as_prefix) {
    if (t.size() > max_topic_bytes) {
        return "longer than " + std::to_string(max_topic_bytes) + " bytes";
    }
    if (t.empty()) {
        if (as_prefix) return std::nullopt;
        return std::string("empty");
    }
    if (!valid_utf8(t)) return std::string("not valid UTF-8");
    for (char c : t) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return std::string("contains a space or control character");
        if (c == '*' || c == '>') return std::string("contains a wildcard character ('*' or '>')");
    }
    if (t.front() == '.') return std::string("starts with '.'");
    if (t.find("..") != std::string_view::npos) return std::string("has an empty token ('..')");
    if (!as_prefix && t.back() == '.') return std::string("ends with '.'");
    return std::nullopt;
}
}  // namespace

std::span<const event_home> event_homes() noexcept {
    // The events table of PROTOCOL.md, one row per (type, topic).
    static constexpr event_home homes[] = {
        {"tick", md_tick, true},
        {"bar", md_bar, true},
        {"signal", signal, true},
        {"order", approved, true},
        {"order_rejected", rejected, true},
        {"order_ack", exec_ack, true},
        {"fill", exec_fill, true},
        {"exec_reject", exec_reject, true},
        {"position", position, true},
        {"risk_snapshot", snapshot, true},
        {"risk_limits", limits, true},
        {"trading_state", trading, false},
        {"trading_state", risk_state, false},
        {"trading_state", trading_symbol, true},
        {"trading_state", trading_strategy, true},
        {"node_health", node_health, false},
        {"node_registered", node_registered, false},
        {"broker_started", broker_started, false},
        {"probe", probe, true},
        {"probe", bench, true},
        {"acl_violation", acl_violation, false},
        {"order_cancelled", exec_cancelled, true},
        {"order_expired", exec_expired, true},
        {"cancel_request", cancel, false},
        {"cancel_reject", cancel_reject, false},
        {"cancel_done", cancel_done, false},
        {"recorder_gap", recorder_gap, false},
        {"flatten_request", flatten, false},
        {"flatten_done", flatten_done, true},
        {"exec_snapshot", exec_snapshot, true},
    };
    return homes;
}

bool type_belongs(std::string_view type, std::string_view topic) noexcept {
    for (const auto& h : event_homes()) {
        if (h.type != type) continue;
        if (h.prefix ? topic.size() > h.topic.size() && topic.starts_with(h.topic)
                     : topic == h.topic) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> topic_error(std::string_view topic) { return check(topic, false); }
std::optional<std::string> prefix_error(std::string_view prefix) { return check(prefix, true); }

}  // namespace tradebus::schema::topics
