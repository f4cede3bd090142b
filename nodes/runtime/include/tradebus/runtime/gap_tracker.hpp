// Sequence-gap accounting on receive: the only way a subscriber can see ZeroMQ high-water-mark
// drops. Sequence numbers are per (source, topic) (PROTOCOL.md "Envelope"), so a subscriber
// that takes only some of a source's topics sees no false gaps, and run per incarnation of the
// source (the envelope's `inc`), so a restarted source is told apart whatever seq it is seen
// at first (PROTOCOL.md "Sequence numbers and gap detection").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tradebus::runtime {

class gap_tracker {
  public:
    /// At most `max_streams` (source, topic) pairs are tracked; further ones are counted in
    /// untracked() and not checked (memory stays bounded whatever the traffic).
    explicit gap_tracker(std::size_t max_streams = 65'536) : max_streams_(max_streams) {}

    enum class outcome : std::uint8_t { in_order, first, gap, restart, duplicate, untracked };

    struct observation {
        outcome what;
        std::uint64_t missing = 0;   // messages lost before this one (gap)
        std::uint64_t expected = 0;  // the seq we expected (gap, restart, duplicate)
    };

    /// Records `seq` of incarnation `inc` from `src` on `topic`. Another `inc` than the last is
    /// a publisher restart (a new baseline, nothing counted); within one, seq 1 after a higher
    /// seq is a restart of the topic, and a seq at or below the last one otherwise is a
    /// duplicate or reorder (baseline kept).
    observation observe(std::string_view src, std::string_view topic, std::uint64_t seq,
                        std::uint64_t inc);

    [[nodiscard]] std::uint64_t gaps() const noexcept { return gaps_; }
    [[nodiscard]] std::uint64_t untracked() const noexcept { return untracked_; }
    [[nodiscard]] std::size_t streams() const noexcept { return last_.size(); }

  private:
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::size_t max_streams_;
    struct last_seen {
        std::uint64_t inc = 0, seq = 0;
    };
    std::unordered_map<std::string, last_seen, hash, std::equal_to<>> last_;
    std::string key_;  // reused buffer: no allocation per message once warm
    std::uint64_t gaps_ = 0, untracked_ = 0;
};

}  // namespace tradebus::runtime
