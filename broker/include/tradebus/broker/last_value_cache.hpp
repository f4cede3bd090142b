// The last-value cache for late joiners (README "Late joiners"): the last message forwarded on
// each topic under the configured prefixes, kept byte for byte (topic + raw body, never
// re-encoded), so a node or `tradebus sniff --last` that starts while the market runs gets the
// last quote per symbol at once through the control plane's `snapshot` request.
//
// Bounded: at most max_topics topics and max_bytes of topic + body bytes. When full, a new
// topic is not cached (counted in refused()); an update that would push the bytes above the
// limit removes that topic's entry (a stale value is worse than none; counted likewise).
// Owned and used by the broker's loop thread only (THREADING.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tradebus::broker {

class last_value_cache {
  public:
    last_value_cache(std::vector<std::string> prefixes, std::size_t max_topics,
                     std::size_t max_bytes);

    /// True when `topic` starts with one of the configured prefixes and not with an own one
    /// (what the broker publishes itself is never overwritten by what a peer forwards).
    [[nodiscard]] bool covers(std::string_view topic) const noexcept;

    /// The broker's own topics under `prefix` (sys.trading.: the kill switch's scopes): cached
    /// through put_own() only, whatever the configured prefixes, and offered by snapshot() like
    /// the others. The broker bounds how many there are (defaults::max_trading_scopes).
    void keep_own(std::string prefix) { own_.push_back(std::move(prefix)); }
    [[nodiscard]] const std::vector<std::string>& own_prefixes() const noexcept { return own_; }
    /// Stores `body` as the last message of own topic `topic`, outside max_topics / max_bytes
    /// (a scope in force must reach every late joiner). Throws only std::bad_alloc.
    void put_own(std::string_view topic, std::string_view body);
    /// Forgets `topic` (an own scope that is no longer in force).
    void erase(std::string_view topic) noexcept;

    /// Stores `body` as the last message of `topic` (call covers() first). Never throws: on
    /// an allocation failure the topic's entry is removed and the update counted as refused.
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
    std::map<std::string, std::string, std::less<>> entries_;  // topic -> body
    std::size_t bytes_ = 0;
    std::uint64_t updates_ = 0, refused_ = 0;
};

}  // namespace tradebus::broker
