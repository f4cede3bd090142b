// Per-topic message and byte counters for the data plane, looked up once per forwarded message:
// a topic_table (topic_table.hpp) of counters, so a lookup hashes the topic once, reads the
// control bytes and one 64-byte row, and allocates nothing (the arrays only when the table
// grows, a topic longer than its inline bytes its own copy when first seen). At most
// `max_tracked` topics get their own row; messages on further topics are counted together under
// defaults::other_topic, so a publisher inventing topics cannot grow the broker's memory
// without bound. Rows that stay idle are removed by the idle sweep (sweep()), their counts
// moving to the "other" row, so one burst of invented topics does not keep real new topics
// out until a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/broker/topic_table.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

struct topic_count {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    bool touched = true;  // a message since the idle sweep last visited this row
};

class topic_counters {
  public:
    explicit topic_counters(std::size_t max_tracked);

    /// The counters `topic` is counted in: its own row (created on first sight while below
    /// the cap) or the "other" row. Never throws (an allocation failure yields the "other"
    /// row). The reference stays valid until the next slot() or sweep() call.
    [[nodiscard]] topic_count& slot(std::string_view topic) noexcept;

    /// Counts one message of `bytes` bytes on `topic`.
    void count(std::string_view topic, std::size_t bytes) noexcept {
        topic_count& c = slot(topic);
        ++c.messages;
        c.bytes += bytes;
    }

    /// The counters of `topic`, or nullptr when it has no row of its own.
    [[nodiscard]] const topic_count* find(std::string_view topic) const noexcept;
    /// Messages on topics beyond the cap.
    [[nodiscard]] const topic_count& other() const noexcept { return other_; }
    /// Topics with their own row (at most max_tracked).
    [[nodiscard]] std::size_t tracked() const noexcept { return table_.size(); }
    [[nodiscard]] std::size_t max_tracked() const noexcept { return max_tracked_; }

    /// Calls `f(topic, counts)` for every topic with its own row, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t b = 0; b < table_.buckets(); ++b) (void)for_each_in_bucket(b, f);
    }

    /// The rows walked slot by slot, so a long walk can be split over loop turns (a scrape,
    /// the idle sweep). Rows never move except when a new row makes the table rebuild itself
    /// (grow, or drop deleted slots); layout() counts those rebuilds, and buckets() changes
    /// only with one.
    [[nodiscard]] std::size_t buckets() const noexcept { return table_.buckets(); }
    [[nodiscard]] std::uint64_t layout() const noexcept { return table_.layout(); }
    /// Calls `f(topic, counts)` for the row in slot `b` (< buckets()) if any; returns how many.
    template <class F>
    std::size_t for_each_in_bucket(std::size_t b, F&& f) const {
        if (!table_.used(b)) return 0;
        f(table_.key(b), table_.value(b));
        return 1;
    }

    /// One slice of the idle sweep: visits slots [`from`, `from` + `count`) (clamped to
    /// buckets()); a row that saw no message since the previous visit is removed and its counts
    /// are added to the "other" row (so every total stays monotonic), the others are marked
    /// untouched. Returns the rows visited. Rows removed so far: removed().
    std::size_t sweep(std::size_t from, std::size_t count);
    [[nodiscard]] std::uint64_t removed() const noexcept { return removed_; }

    /// The `limit` busiest topics, most messages first (ties: by name), with the "other" row
    /// ranked like any topic when it is non-zero. O(n log limit); for status requests only.
    [[nodiscard]] std::vector<schema::topic_status> busiest(std::size_t limit) const;

  private:
    static constexpr std::size_t npos = topic_table<topic_count>::npos;
    static_assert(topic_table<topic_count>::inline_bytes == 30);

    topic_table<topic_count> table_;
    std::size_t max_tracked_;
    topic_count other_;
    std::uint64_t removed_ = 0;
    // The slot of the previous message: a run of one topic (a burst of ticks for one symbol)
    // costs a short compare instead of a hash and a probe. Reset when rows move or go.
    std::size_t last_ = npos;
};

}  // namespace tradebus::broker
