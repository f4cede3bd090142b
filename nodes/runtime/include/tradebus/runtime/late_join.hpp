// Late joiners (README "Late joiners"): a node that starts while the market runs asks the
// broker's last-value cache for each prefix it subscribes to (control `snapshot`, paged) after
// its SUB is subscribed and before on_start, then delivers the cached messages as if live.
// Snapshot and live traffic overlap by design (subscribe first, then snapshot, so nothing
// falls in between); this class merges them by (src, topic, seq) of the envelope:
//  - a live message seen before the start with a higher seq than the cached one replaces it;
//  - after the start, a live message whose seq is not above the one delivered from the
//    snapshot for its (src, topic) is not delivered again.
// The gap tracker sees only live traffic, in order, so it counts neither a false gap nor a
// duplicate. Used by the engine's one thread; memory is bounded by the snapshot's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"
#include "tradebus/schema/frame_pairs.hpp"

namespace tradebus::runtime {

class late_join {
  public:
    /// `prefixes`: the node logic's subscriptions, each asked for in turn.
    explicit late_join(std::vector<std::string> prefixes);

    /// The next request to send, or nullopt once every prefix has been fetched.
    [[nodiscard]] std::optional<schema::snapshot_request> next_request() const;
    [[nodiscard]] bool done() const noexcept { return current_ >= prefixes_.size(); }

    /// A reply to the request last returned by next_request(): the whole multipart reply
    /// (`frames[0]` decoded as `header`). Returns why it was not usable (that prefix is then
    /// skipped, the node starts without its cached values); nullopt when taken.
    std::optional<std::string> on_reply(const schema::snapshot_reply& header,
                                        std::vector<std::string>& frames);
    /// The broker refused or did not understand `snapshot` (an older broker): skip the rest.
    void give_up() noexcept { current_ = prefixes_.size(); }

    /// A live message that arrived before the start (the logic did not get it).
    void seen_before_start(std::string_view topic, const schema::envelope& env,
                           std::string_view raw);

    /// The cached messages to deliver at start, each the newest of cache and live-before-start
    /// for its (src, topic), in topic order (of one incarnation the higher seq, of two the
    /// later ts_ns: a restarted source's). Call once, after done(); remembers what it
    /// returned for is_duplicate(). Cached bodies that do not decode are left out and counted
    /// in undecodable().
    [[nodiscard]] std::vector<schema::frame_pair> take_for_start();

    /// Whether a live message after the start repeats one delivered from the snapshot (same
    /// incarnation, not past its seq; seq 1 after a higher one is a restart, not a repeat).
    [[nodiscard]] bool is_duplicate(std::string_view topic, const schema::envelope& env);

    [[nodiscard]] std::size_t cached() const noexcept { return items_.size(); }
    [[nodiscard]] std::uint64_t undecodable() const noexcept { return undecodable_; }

    /// Live messages remembered before the start, at most (newest per (src, topic)).
    static constexpr std::size_t max_before_start = 100'000;

  private:
    static std::string key(std::string_view src, std::string_view topic);
    // Where a message stands in its (src, topic) stream.
    struct stamp {
        std::uint64_t inc = 0, seq = 0;
        std::int64_t ts_ns = 0;
        explicit stamp(const schema::envelope& e) : inc(e.inc), seq(e.seq), ts_ns(e.ts_ns) {}
        /// Later in the stream than `o`: the higher seq of one incarnation, else the later
        /// publish time (a restarted source is the later one).
        [[nodiscard]] bool after(const stamp& o) const noexcept {
            return inc == o.inc ? seq > o.seq : ts_ns > o.ts_ns;
        }
    };
    struct live {
        stamp at;
        std::string topic, raw;
    };
    std::vector<std::string> prefixes_;
    std::size_t current_ = 0;
    std::string after_;
    std::vector<schema::frame_pair> items_;
    std::unordered_map<std::string, live> before_start_;  // (src, topic) -> newest
    std::unordered_map<std::string, stamp> delivered_;    // (src, topic) -> stamp
    std::uint64_t undecodable_ = 0;
    std::string key_;
};

}  // namespace tradebus::runtime
