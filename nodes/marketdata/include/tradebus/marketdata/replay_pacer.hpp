// Replay pacing for the CSV source: maps recorded (source) time to wall-clock deadlines at a
// chosen speed. Pure arithmetic, no clock of its own, so the pacing math is unit-testable.
#pragma once

#include <cstdint>
#include <limits>

namespace tradebus::marketdata {

class replay_pacer {
  public:
    /// `speed` 1.0 = recorded pace, 10.0 = ten times faster, 0 = as fast as possible.
    explicit replay_pacer(double speed) noexcept : speed_(speed > 0.0 ? speed : 0.0) {}

    /// Pins source time `src_ns` (the first record) to wall time `wall_ns` (replay start).
    void anchor(std::int64_t src_ns, std::int64_t wall_ns) noexcept {
        src0_ = src_ns;
        wall0_ = wall_ns;
        anchored_ = true;
    }
    [[nodiscard]] bool anchored() const noexcept { return anchored_; }
    [[nodiscard]] bool as_fast_as_possible() const noexcept { return speed_ == 0.0; }
    [[nodiscard]] double speed() const noexcept { return speed_; }

    /// Wall time at which a record stamped `src_ns` is due: wall0 + (src - src0) / speed.
    /// As fast as possible: always the anchor (due at once). A record older than the anchor
    /// (out-of-order row) comes out before it, i.e. also at once.
    [[nodiscard]] std::int64_t due_ns(std::int64_t src_ns) const noexcept {
        if (speed_ == 0.0) return wall0_;
        return wall0_ + scale(static_cast<double>(src_ns - src0_) / speed_);
    }

    /// The source time that wall time `wall_ns` stands for (the replay clock); bars close on
    /// it. As fast as possible there is no such mapping: returns the largest value.
    [[nodiscard]] std::int64_t source_ns(std::int64_t wall_ns) const noexcept {
        if (speed_ == 0.0) return std::numeric_limits<std::int64_t>::max();
        return src0_ + scale(static_cast<double>(wall_ns - wall0_) * speed_);
    }

  private:
    static std::int64_t scale(double ns) noexcept {
        constexpr double lim = 9.0e18;  // saturate instead of overflowing on absurd inputs
        if (ns >= lim) return static_cast<std::int64_t>(lim);
        if (ns <= -lim) return -static_cast<std::int64_t>(lim);
        return static_cast<std::int64_t>(ns);
    }
    double speed_;
    std::int64_t src0_ = 0, wall0_ = 0;
    bool anchored_ = false;
};

}  // namespace tradebus::marketdata
