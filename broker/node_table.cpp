#include "tradebus/broker/node_table.hpp"

#include <algorithm>

namespace tradebus::broker {

std::int64_t node_record::deadline_ms(std::int64_t liveness,
                                      std::int64_t gone_after_ms) const noexcept {
    const std::int64_t silent = interval_ms * liveness;
    switch (state) {
        case schema::health::starting:
        case schema::health::healthy:
        case schema::health::degraded:
        case schema::health::stopping:
            return last_seen_ms + silent;
        case schema::health::unhealthy:
            // A node with a longer heartbeat interval than the broker's gets at least one more
            // interval after its liveness deadline before it is declared gone.
            return last_seen_ms + std::max(gone_after_ms, silent + interval_ms);
        case schema::health::stopped:
            break;
    }
    return no_deadline;
}

node_record* node_table::find(std::string_view name) {
    auto it = records_.find(name);
    return it == records_.end() ? nullptr : &it->second;
}

const node_record* node_table::find(std::string_view name) const {
    auto it = records_.find(name);
    return it == records_.end() ? nullptr : &it->second;
}

bool node_table::has_room_for(std::string_view name) const {
    if (records_.size() < capacity_ || records_.find(name) != records_.end()) return true;
    return std::any_of(records_.begin(), records_.end(),
                       [](const auto& kv) { return kv.second.state == schema::health::stopped; });
}

node_record& node_table::get_or_create(const std::string& name) {
    if (auto* r = find(name)) return *r;
    if (records_.size() >= capacity_) {
        auto victim = records_.end();
        for (auto it = records_.begin(); it != records_.end(); ++it) {
            if (it->second.state != schema::health::stopped) continue;
            if (victim == records_.end() || it->second.stopped_ms < victim->second.stopped_ms) {
                victim = it;
            }
        }
        // No stopped record: a [pipeline] node (the caller admits only those then) gets
        // a record beyond the capacity; there are as many of them as the config lists.
        if (victim != records_.end()) records_.erase(victim);
    }
    node_record& r = records_[name];
    r.name = name;
    return r;
}

}  // namespace tradebus::broker
