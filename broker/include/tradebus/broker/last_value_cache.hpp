// The last-value cache for late joiners (README "Late joiners"): the last message forwarded on
// each topic under the configured prefixes, kept byte for byte (topic + raw body, never
// re-encoded), so a node or `tradebus sniff --last` that starts while the market runs gets the
// last quote per symbol at once through the control plane's `snapshot` request.
//
// Bounded: at most max_topics topics and max_bytes of topic + body bytes. When full, a new
// topic is not cached (counted in refused()); an update that would push the bytes above the
// limit removes that topic's entry (a stale value is worse than none; counted likewise).
// Owned and used by the broker's loop thread only (THREADING.md).
//
// Two structures over the same entries: an ordered map (topic -> body) for snapshot paging in
// byte order, and a topic_table (topic_table.hpp) from topic to its map entry for update(), so
// the per-message path costs one hash and one probe, whether the topic is cached or refused at
// the cap, and allocates nothing while a topic's body fits the capacity it already has (the
// map and the index allocate only for a new topic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tradebus/broker/topic_table.hpp"

namespace tradebus::broker {

class last_value_cache {
  public:
    last_value_cache(std::vector<std::string> prefixes, std::size_t max_topics,
                     std::size_t max_bytes);
    // The index holds iterators into the map: a copy would point into the original.
    last_value_cache(const last_value_cache&) = delete;
    last_value_cache& operator=(const last_value_cache&) = delete;

    /// True when `topic` starts with one of the configured prefixes and not with an own one
    /// (what the broker publishes itself is never overwritten by what a peer forwards).
    [[nodiscard]] bool covers(std::string_view topic) const noexcept;

    /// The broker's own topics under `prefix` (sys.trading.: the kill switch's scopes): cached
    /// through put_own() only, whatever the configured prefixes, and offered by snapshot() like
    /// the others. The broker bounds how many there are (defaults::max_trading_scopes).
    void keep_own(std::string prefix) { own_.push_back(std::move(prefix)); }
    [[nodiscard]] const std::vector<std::string>& own_prefixes() const noexcept { return own_; }
    /// Stores `body` as the last message of own topic `topic`, outside max_topics / max_bytes
    /// (a scope in force must reach every late joiner). Throws std::bad_alloc, or
    /// std::length_error for a topic longer than schema::topics::max_topic_bytes.
    void put_own(std::string_view topic, std::string_view body);
    /// Forgets `topic` (an own scope that is no longer in force).
    void erase(std::string_view topic) noexcept;

    /// Stores `body` as the last message of `topic` (call covers() first). Never throws: on
    /// an allocation failure the topic's entry is removed and the update counted as refused.
    /// A topic longer than schema::topics::max_topic_bytes is refused.
    void update(std::string_view topic, std::string_view body) noexcept;

    /// One page of a snapshot: cached topics starting with `prefix`, in byte order, after
    /// `after` ("" = from the first), at most `max_items` pairs and about `max_bytes` bytes
    /// (always at least one pair when any is left). `next` is the last topic returned when more
    /// are left (the cursor of the following request), else "". Views stay valid until the
    /// next update().
    struct page {
        std::vector<std::pair<std::string_view, std::string_view>> items;
        std::string next;
    };
    void snapshot(std::string_view prefix, std::string_view after, std::size_t max_items,
                  std::size_t max_bytes, page& out) const;

    [[nodiscard]] const std::vector<std::string>& prefixes() const noexcept { return prefixes_; }
    [[nodiscard]] std::size_t topics() const noexcept { return entries_.size(); }
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t max_topics() const noexcept { return max_topics_; }
    [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }
    /// Updates stored, and updates not stored because the cache was full.
    [[nodiscard]] std::uint64_t updates() const noexcept { return updates_; }
    [[nodiscard]] std::uint64_t refused() const noexcept { return refused_; }

  private:
    std::vector<std::string> prefixes_;
    std::vector<std::string> own_;
    std::size_t max_topics_, max_bytes_;
    using map = std::map<std::string, std::string, std::less<>>;
    static constexpr std::size_t npos = topic_table<map::iterator>::npos;
    /// Adds `topic` (hash `h`, at most schema::topics::max_topic_bytes, in neither structure)
    /// with `body` to both; bytes_ and the counts are the caller's. Throws only std::bad_alloc,
    /// then nothing was added.
    void add(std::string_view topic, std::uint64_t h, std::string_view body);
    /// Removes the entry in index slot `s` from both, and its bytes.
    void remove(std::size_t s) noexcept;

    map entries_;                       // topic -> body, in byte order (snapshots)
    topic_table<map::iterator> index_;  // topic -> its entry (update, put_own, erase)
    std::size_t bytes_ = 0;
    std::uint64_t updates_ = 0, refused_ = 0;
};

}  // namespace tradebus::broker
