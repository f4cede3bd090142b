// Per-topic message and byte counters for the data plane, looked up once per forwarded message.
// A flat open-addressing table (linear probing): one control byte per slot (empty, deleted, or
// 7 bits of the topic's hash) and a parallel array of 64-byte rows, each holding the counters,
// the full hash and, for topics of up to row::inline_bytes, the topic itself, so a lookup
// reads the control bytes (one cache line mostly) and one row. The topic is hashed once per
// lookup; nothing is allocated per message (the arrays only when the table grows, a longer
// topic's own copy when it is first seen). At most `max_tracked` topics get their own row;
// messages on further topics are counted together under defaults::other_topic, so a publisher
// inventing topics cannot grow the broker's memory without bound. Rows that stay idle are
// removed by the idle sweep (sweep()), their counts moving to the "other" row, so one burst
// of invented topics does not keep real new topics out until a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

struct topic_count {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    bool touched = true;  // a message since the idle sweep last visited this row
};

/// The hash of the topic table (exposed for its tests): 8 bytes a step, a 64x64->128-bit
/// multiply folded per step; every bit of the input reaches the top and bottom bits.
[[nodiscard]] std::uint64_t topic_hash(std::string_view topic) noexcept;

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
    [[nodiscard]] std::size_t tracked() const noexcept { return live_; }
    [[nodiscard]] std::size_t max_tracked() const noexcept { return max_tracked_; }

    /// Calls `f(topic, counts)` for every topic with its own row, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t b = 0; b < ctrl_.size(); ++b) (void)for_each_in_bucket(b, f);
    }

    /// The rows walked slot by slot, so a long walk can be split over loop turns (a scrape,
    /// the idle sweep). Rows never move except when a new row makes the table rebuild itself
    /// (grow, or drop deleted slots); layout() counts those rebuilds, and buckets() changes
    /// only with one.
    [[nodiscard]] std::size_t buckets() const noexcept { return ctrl_.size(); }
    [[nodiscard]] std::uint64_t layout() const noexcept { return layout_; }
    /// Calls `f(topic, counts)` for the row in slot `b` (< buckets()) if any; returns how many.
    template <class F>
    std::size_t for_each_in_bucket(std::size_t b, F&& f) const {
        if (!is_full(ctrl_[b])) return 0;
        f(key_of(rows_[b]), rows_[b].count);
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
    struct row {  // one cache line
        static constexpr std::size_t inline_bytes = 30;
        topic_count count;
        std::uint64_t hash = 0;
        std::uint16_t size = 0;
        // The topic when size <= inline_bytes, else the index of its copy in long_ (uint32).
        char key[inline_bytes] = {};
    };
    static_assert(sizeof(row) == 64);

    static constexpr std::uint8_t empty = 0x80;    // never used: ends a probe
    static constexpr std::uint8_t deleted = 0xfe;  // removed by the sweep: a probe goes on
    [[nodiscard]] static bool is_full(std::uint8_t c) noexcept { return c < 0x80; }
    [[nodiscard]] static std::uint8_t tag_of(std::uint64_t h) noexcept {
        return static_cast<std::uint8_t>(h >> 57);
    }
    [[nodiscard]] std::uint32_t long_index(const row& r) const noexcept {
        std::uint32_t i = 0;
        std::memcpy(&i, r.key, sizeof i);
        return i;
    }
    [[nodiscard]] std::string_view key_of(const row& r) const noexcept {
        if (r.size <= row::inline_bytes) return {r.key, r.size};
        return long_[long_index(r)];
    }
    [[nodiscard]] bool same(const row& r, std::uint64_t h, std::string_view topic) const noexcept {
        return r.hash == h && r.size == topic.size() && key_of(r) == topic;
    }
    /// The slot holding `topic`, or npos.
    [[nodiscard]] std::size_t find_slot(std::string_view topic, std::uint64_t h) const noexcept;
    /// Rebuilds the arrays for `rows` live rows and no deleted slots (may throw bad_alloc).
    void rebuild(std::size_t rows);
    void remove(std::size_t slot) noexcept;

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    std::vector<std::uint8_t> ctrl_;  // size: a power of two; parallel to rows_
    std::vector<row> rows_;
    std::vector<std::string> long_;         // topics longer than row::inline_bytes
    std::vector<std::uint32_t> long_free_;  // reusable indices of long_
    std::size_t mask_ = 0;
    std::size_t live_ = 0;     // full slots
    std::size_t deleted_ = 0;  // deleted slots (count as used for the load limit)
    std::size_t max_tracked_;
    topic_count other_;
    std::uint64_t removed_ = 0;
    std::uint64_t layout_ = 0;
    // The slot of the previous message: a run of one topic (a burst of ticks for one symbol)
    // costs a short compare instead of a hash and a probe. Reset when rows move or go.
    std::size_t last_ = npos;
};

}  // namespace tradebus::broker
