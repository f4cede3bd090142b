// The `tradebus sniff --stats` view: per-topic message and byte rates, totals, and sequence
// gaps per source (from env.seq, per (source, topic) like every subscriber: PROTOCOL.md
// "Envelope"). Time is passed in, never read here, so tests drive it with made-up clocks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/runtime/gap_tracker.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::cli {

class stats_table {
  public:
    /// `start_ms`: monotonic ms when watching began. At most `max_topics` topics get a row;
    /// further ones are summed into one "(other topics)" row so memory stays bounded.
    explicit stats_table(std::int64_t start_ms, std::size_t max_topics = 10'000);

    /// Counts one message of `bytes` (all frames) on `topic`. `env` is its envelope, or null
    /// for a message that did not decode (counted, but no sequence to check).
    void record(std::string_view topic, std::size_t bytes, const schema::envelope* env);

    /// Closes the current interval at `now_ms`: each topic's rates become its counts since
    /// the previous roll divided by the time since then.
    void roll(std::int64_t now_ms);

    /// The table: one row per topic, most messages first (ties by name), at most `max_rows`
    /// rows (then "... N more topics"), and a totals line. Ends with '\n'.
    [[nodiscard]] std::string render(std::size_t max_rows) const;

    [[nodiscard]] std::uint64_t messages() const noexcept { return messages_; }
    [[nodiscard]] std::uint64_t gaps() const noexcept { return gaps_.gaps(); }

  private:
    struct row {
        std::uint64_t messages = 0, bytes = 0, undecodable = 0;
        std::uint64_t interval_messages = 0, interval_bytes = 0;
        double messages_per_s = 0, bytes_per_s = 0;
        std::map<std::string, std::uint64_t, std::less<>> gaps_by_source;
    };
    static constexpr std::size_t max_sources_per_topic = 32;

    std::size_t max_topics_;
    std::map<std::string, row, std::less<>> rows_;
    row other_;  // topics past max_topics_
    runtime::gap_tracker gaps_;
    std::int64_t start_ms_, last_roll_ms_, now_ms_;
    std::uint64_t messages_ = 0, undecodable_ = 0;
};

}  // namespace tradebus::cli
