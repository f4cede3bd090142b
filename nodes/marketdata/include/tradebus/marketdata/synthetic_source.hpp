// Synthetic market data: a geometric random walk of the mid per symbol, quoted with a bid/ask
// spread on a price grid, random displayed sizes and occasional trades at the touch.
// Deterministic for a given seed on every platform (own PRNG and normal sampler, not <random>
// distributions, whose output differs between standard libraries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tradebus/schema/events.hpp"

namespace tradebus::marketdata {

/// One symbol's walk parameters ([marketdata.synthetic.symbols.<SYM>]).
struct synthetic_symbol {
    std::string symbol;
    double start_px = 100.0;      // first mid, in price units
    double volatility_bps = 5.0;  // stddev of the mid's move over one second, in bps
    double spread_bps = 2.0;      // quoted spread as a fraction of the mid, in bps
    std::int64_t min_qty = 1;     // displayed size range per side, in lots
    std::int64_t max_qty = 50;
};

struct synthetic_config {
    std::vector<synthetic_symbol> symbols;
    double rate_per_sec = 50.0;      // ticks per second, all symbols together (round-robin)
    double trade_probability = 0.2;  // chance that a tick also prints a trade
    double tick_size = 0.01;         // price grid of bids and asks, in price units
};

/// xoshiro256** seeded through splitmix64: small, fast, and the same everywhere.
class prng {
  public:
    explicit prng(std::uint64_t seed) noexcept;
    std::uint64_t next() noexcept;
    /// Uniform in [0, 1).
    double uniform() noexcept;
    /// Uniform integer in [lo, hi] (lo <= hi).
    std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept;
    /// Standard normal (Box-Muller).
    double normal() noexcept;

  private:
    std::uint64_t s_[4];
    double spare_ = 0.0;
    bool has_spare_ = false;
};

class synthetic_source {
  public:
    /// `cfg` must have at least one symbol and rate_per_sec > 0 (the config loader checks).
    synthetic_source(synthetic_config cfg, std::uint64_t seed);

    /// The next tick, for the next symbol in round-robin order, stamped `ts_ns`. The mid walks
    /// by exp(sigma * z) with sigma = volatility_bps * 1e-4 * sqrt(seconds between two ticks of
    /// that symbol), reflected into [start_px / 4, start_px * 4] so a long run stays sane.
    /// Always: 0 < bid_px < ask_px, both on the tick grid; sizes within [min_qty, max_qty];
    /// a trade (when drawn) at the bid or the ask for 1..that side's size.
    schema::tick next(std::int64_t ts_ns);

    /// Nanoseconds between two ticks (all symbols together).
    [[nodiscard]] double interval_ns() const noexcept { return 1e9 / cfg_.rate_per_sec; }
    [[nodiscard]] const synthetic_config& config() const noexcept { return cfg_; }
    /// The current mid of symbol number `i` (tests).
    [[nodiscard]] double mid(std::size_t i) const { return mids_.at(i); }

  private:
    synthetic_config cfg_;
    prng rng_;
    std::vector<double> mids_;
    std::size_t cursor_ = 0;
    std::int64_t grid_ = 1;  // tick size in fixed point
};

}  // namespace tradebus::marketdata
