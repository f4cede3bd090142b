// Data-plane counters the forwarder keeps and the control plane reports in status replies.
// Written only by the loop thread (THREADING.md); read by the same thread for status.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "tradebus/broker/data_check.hpp"
#include "tradebus/broker/topic_counters.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::broker {

/// The recorder link (recorder.hpp); all zero when no recorder endpoint is configured.
struct recorder_counters {
    bool enabled = false;               // a recorder endpoint is bound
    std::uint64_t sent = 0;             // messages the recorder socket took
    std::uint64_t stalls = 0;           // times XSUB reading stopped for the recorder
    std::uint64_t stalled_ms = 0;       // total time of finished stalls
    std::int64_t stalled_since_ms = 0;  // monotonic start of the current stall
    std::uint64_t held = 0;             // messages waiting for the recorder now
    std::uint64_t overflow = 0;         // own events dropped: hold queue full
    std::uint64_t seq = 0;              // the last recorder sequence number given
    std::uint64_t acked = 0;            // the last one the journal acknowledged
    std::uint64_t retained = 0;         // messages kept for redelivery now
    std::uint64_t retained_bytes = 0;   // their topic + body bytes
    std::uint64_t evicted = 0;          // unacknowledged messages dropped at the bound
    std::uint64_t redelivered = 0;      // messages sent again after a recorder_resume
};

/// The last risk.state event the broker forwarded from one risk node (its `src`).
struct risk_state_seen {
    schema::trading_state state = schema::trading_state::active;
    bool by_operator = false;  // `by` was "operator"; else risk's own rule (daily loss, start)
};

struct data_stats {
    explicit data_stats(std::size_t max_topics_tracked) : topics(max_topics_tracked) {}

    topic_counters topics;  // every message sent on XPUB: forwarded and the broker's own
    std::array<std::uint64_t, drop_reason_count> drops{};
    std::uint64_t received = 0;         // messages read from XSUB, valid or not
    std::uint64_t forwarded = 0;        // messages sent on XPUB (forwarded + own events)
    std::uint64_t subscriptions = 0;    // \x01 frames passed upstream
    std::uint64_t unsubscriptions = 0;  // \x00 frames passed upstream
    recorder_counters recorder;
    // By risk node name, at most defaults::max_risk_states (forwarder.cpp note_risk_state).
    std::map<std::string, risk_state_seen, std::less<>> risk_states;

    void drop(drop_reason r) noexcept { ++drops[static_cast<std::size_t>(r)]; }
    [[nodiscard]] std::uint64_t dropped(drop_reason r) const noexcept {
        return drops[static_cast<std::size_t>(r)];
    }
};

}  // namespace tradebus::broker
