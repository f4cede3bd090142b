// The broker's table of nodes: one record per node name, holding the current session, the
// lifecycle state and what the node last reported. Records outlive their sessions (a stopped
// node still shows in status) up to defaults::max_nodes; then the oldest stopped record makes
// room. Deadlines are on the monotonic ms clock (common::mono_ms).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

inline constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();

struct node_record {
    std::string name, kind, host, version;
    std::int64_t pid = 0;
    std::uint64_t session_id = 0;
    schema::health state = schema::health::stopped;
    std::vector<std::string> publishes, subscribes;
    std::int64_t interval_ms = 0;         // heartbeat interval agreed at REGISTER
    std::int64_t registered_ms = 0;       // mono ms
    std::int64_t last_seen_ms = 0;        // REGISTER or the last accepted heartbeat
    std::int64_t last_heartbeat_ms = -1;  // -1: no heartbeat yet in this session
    std::int64_t stopped_ms = 0;          // when it last became stopped
    std::uint64_t heartbeats = 0;         // accepted in this session
    schema::node_counters counters;       // as last reported
    std::uint64_t liveness_missed = 0;    // times marked unhealthy for missed heartbeats (all
                                          // sessions of this name)

    /// When the timers next act on this node: the liveness deadline (last_seen + interval x
    /// liveness) while it has a session, the gone deadline while unhealthy, none when stopped.
    [[nodiscard]] std::int64_t deadline_ms(std::int64_t liveness,
                                           std::int64_t gone_after_ms) const noexcept;
};

class node_table {
  public:
    explicit node_table(std::size_t capacity) : capacity_(capacity) {}

    [[nodiscard]] node_record* find(std::string_view name);
    [[nodiscard]] const node_record* find(std::string_view name) const;

    /// True when a record for `name` exists or can be made (by evicting a stopped record).
    [[nodiscard]] bool has_room_for(std::string_view name) const;
    /// The record for `name`, created (state stopped) if needed; evicts the stopped record
    /// stopped longest ago when full. Call has_room_for() first.
    node_record& get_or_create(const std::string& name);

    [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
    [[nodiscard]] const std::map<std::string, node_record, std::less<>>& records() const {
        return records_;
    }
    [[nodiscard]] std::map<std::string, node_record, std::less<>>& records() { return records_; }

  private:
    std::map<std::string, node_record, std::less<>> records_;
    std::size_t capacity_;
};

}  // namespace tradebus::broker
