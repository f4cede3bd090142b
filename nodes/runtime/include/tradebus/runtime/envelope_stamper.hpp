// What a publisher writes into each event's envelope (schema/PROTOCOL.md "Sequence numbers"):
// its name, its incarnation, the next sequence number of the topic (1, 2, ... per topic) and the
// publish time. One owner for the live engine and the simulation (simulation.hpp), so a
// backtest's envelopes are those of a live run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tradebus/schema/events.hpp"

namespace tradebus::runtime {

class envelope_stamper {
  public:
    /// `inc`: the publisher's incarnation (live: random per process; a simulation: fixed).
    envelope_stamper(std::string name, std::uint64_t inc) : name_(std::move(name)), inc_(inc) {}

    /// Stamps `env` (src, inc, the topic's next seq, ts_ns = `now_ns`); the trace id is the
    /// caller's.
    void stamp(std::string_view topic, schema::envelope& env, std::int64_t now_ns) {
        env.src = name_;
        env.inc = inc_;
        auto it = seq_.find(topic);
        if (it == seq_.end()) it = seq_.emplace(std::string(topic), 0).first;
        env.seq = ++it->second;
        env.ts_ns = now_ns;
    }

  private:
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::string name_;
    std::uint64_t inc_;
    std::unordered_map<std::string, std::uint64_t, hash, std::equal_to<>> seq_;
};

}  // namespace tradebus::runtime
