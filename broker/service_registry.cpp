#include "tradebus/broker/service_registry.hpp"

#include <spdlog/spdlog.h>

namespace tradebus::broker {

namespace {

bool live(const node_table& nodes, std::string_view node, std::uint64_t session) {
    const node_record* rec = nodes.find(node);
    if (rec == nullptr || rec->session_id != session) return false;
    return rec->state != schema::health::stopping && rec->state != schema::health::stopped;
}

}  // namespace

bool valid_service_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

bool valid_service_endpoint(std::string_view e) noexcept {
    if (e.size() > 256) return false;
    for (std::string_view scheme : {"tcp://", "ipc://"}) {
        if (e.size() > scheme.size() && e.substr(0, scheme.size()) == scheme) return true;
    }
    return false;
}

std::optional<schema::error_reply> service_registry::announce(const node_record& rec,
                                                              const schema::announce_request& r,
                                                              const node_table& nodes) {
    if (!valid_service_name(r.service)) {
        return schema::error_reply{std::string(schema::error_code::bad_request),
                                   "service: expected 1..64 bytes of [a-z0-9._-]"};
    }
    if (!valid_service_endpoint(r.endpoint)) {
        return schema::error_reply{
            std::string(schema::error_code::bad_request),
            "endpoint: expected tcp://host:port or ipc://path of at most 256 bytes"};
    }
    forget_stale(nodes);
    auto it = entries_.find(r.service);
    if (it == entries_.end() && entries_.size() >= capacity_) {
        return schema::error_reply{
            std::string(schema::error_code::not_allowed),
            "service table full (" + std::to_string(capacity_) + " services)"};
    }
    if (it != entries_.end() && it->second.node != rec.name) {
        spdlog::warn("service {}: node {} takes it over from node {}", r.service, rec.name,
                     it->second.node);
    }
    entries_[r.service] = entry{rec.name, r.endpoint, rec.session_id};
    spdlog::info("service {} offered by node {} at {}", r.service, rec.name, r.endpoint);
    return std::nullopt;
}

std::optional<schema::lookup_reply> service_registry::lookup(std::string_view service,
                                                             const node_table& nodes) {
    forget_stale(nodes);
    auto it = entries_.find(service);
    if (it == entries_.end()) return std::nullopt;
    const node_record* rec = nodes.find(it->second.node);
    const bool healthy = rec != nullptr && (rec->state == schema::health::healthy ||
                                            rec->state == schema::health::degraded);
    return schema::lookup_reply{it->first, it->second.endpoint, it->second.node, healthy};
}

std::vector<schema::service_status> service_registry::list(const node_table& nodes) {
    forget_stale(nodes);
    std::vector<schema::service_status> out;
    for (const auto& [name, e] : entries_) {
        const node_record* rec = nodes.find(e.node);
        out.push_back(
            {name, e.endpoint, e.node, rec != nullptr ? rec->state : schema::health::stopped});
    }
    return out;
}

void service_registry::forget_stale(const node_table& nodes) {
    std::erase_if(entries_, [&](const auto& kv) {
        if (live(nodes, kv.second.node, kv.second.session_id)) return false;
        spdlog::info("service {} forgotten: the session of node {} that offered it ended", kv.first,
                     kv.second.node);
        return true;
    });
}

}  // namespace tradebus::broker
