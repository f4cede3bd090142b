// Per-topic message and byte counters for the data plane, looked up once per forwarded message.
// Heterogeneous lookup (find by string_view, no std::string built per message); a string is
// allocated only the first time a topic is seen. At most `max_tracked` topics get their own
// row; messages on further topics are counted together under defaults::other_topic, so a
// publisher inventing topics cannot grow the broker's memory without bound. Rows that stay
// idle are removed by the idle sweep (sweep()), their counts moving to the "other" row, so
// one burst of invented topics does not keep real new topics out until a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
    /// the cap, the only allocation) or the "other" row. Never throws (an allocation failure
    /// yields the "other" row). The reference stays valid until the next slot() call.
    [[nodiscard]] topic_count& slot(std::string_view topic) noexcept;

    /// Counts one message of `bytes` bytes on `topic`.
    void count(std::string_view topic, std::size_t bytes) noexcept {
        topic_count& c = slot(topic);
        ++c.messages;
        c.bytes += bytes;
    }

    /// The counters of `topic`, or nullptr when it has no row of its own.
    [[nodiscard]] const topic_count* find(std::string_view topic) const;
    /// Messages on topics beyond the cap.
    [[nodiscard]] const topic_count& other() const noexcept { return other_; }
    /// Topics with their own row (at most max_tracked).
    [[nodiscard]] std::size_t tracked() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t max_tracked() const noexcept { return max_tracked_; }

    /// Calls `f(topic, counts)` for every topic with its own row, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [topic, c] : map_) f(std::string_view(topic), c);
    }

    /// The rows walked bucket by bucket, so a long walk can be split over loop turns (a
    /// scrape, the idle sweep): buckets() changes only when a new row makes the table grow.
    [[nodiscard]] std::size_t buckets() const noexcept { return map_.bucket_count(); }
    /// Calls `f(topic, counts)` for every row in bucket `b` (< buckets()); returns how many.
    template <class F>
    std::size_t for_each_in_bucket(std::size_t b, F&& f) const {
        std::size_t n = 0;
        for (auto it = map_.begin(b); it != map_.end(b); ++it, ++n) {
            f(std::string_view(it->first), it->second);
        }
        return n;
    }

    /// One slice of the idle sweep: visits buckets [`from`, `from` + `count`) (clamped to
    /// buckets()); a row that saw no message since the previous visit is removed and its counts
    /// are added to the "other" row (so every total stays monotonic), the others are marked
    /// untouched. Returns the rows visited. Rows removed so far: removed().
    std::size_t sweep(std::size_t from, std::size_t count);
    [[nodiscard]] std::uint64_t removed() const noexcept { return removed_; }

    /// The `limit` busiest topics, most messages first (ties: by name), with the "other" row
    /// ranked like any topic when it is non-zero. O(n log limit); for status requests only.
    [[nodiscard]] std::vector<schema::topic_status> busiest(std::size_t limit) const;

  private:
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using map_type = std::unordered_map<std::string, topic_count, hash, std::equal_to<>>;
    map_type map_;
    std::size_t max_tracked_;
    topic_count other_;
    std::uint64_t removed_ = 0;
    // The row of the previous message: a run of one topic (a burst of ticks for one symbol)
    // costs a short compare instead of a hash and a lookup. Map nodes never move, so the
    // pointer stays valid across rehashing.
    map_type::value_type* last_ = nullptr;
};

}  // namespace tradebus::broker
