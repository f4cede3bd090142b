#include "tradebus/marketdata/synthetic_source.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tradebus::marketdata {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
}  // namespace

prng::prng(std::uint64_t seed) noexcept {
    for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t prng::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double prng::uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::int64_t prng::uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<std::int64_t>(next());  // the full 64-bit range
    return lo + static_cast<std::int64_t>(next() % span);     // bias < span / 2^64: negligible
}

double prng::normal() noexcept {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
}

synthetic_source::synthetic_source(synthetic_config cfg, std::uint64_t seed)
    : cfg_(std::move(cfg)), rng_(seed) {
    for (const auto& s : cfg_.symbols) mids_.push_back(s.start_px);
    grid_ = std::max<std::int64_t>(1, schema::to_fixed(cfg_.tick_size));
}

schema::tick synthetic_source::next(std::int64_t ts_ns) {
    const std::size_t i = cursor_;
    cursor_ = (cursor_ + 1) % cfg_.symbols.size();
    const synthetic_symbol& p = cfg_.symbols[i];

    // Walk the mid; seconds between two ticks of this symbol = symbols / rate.
    const double dt = static_cast<double>(cfg_.symbols.size()) / cfg_.rate_per_sec;
    const double sigma = p.volatility_bps * 1e-4 * std::sqrt(dt);
    double mid = mids_[i] * std::exp(sigma * rng_.normal());
    const double lo = p.start_px / 4.0, hi = p.start_px * 4.0;
    if (mid < lo) mid = std::min(hi, lo * lo / mid);  // reflect at the bounds
    if (mid > hi) mid = std::max(lo, hi * hi / mid);
    mids_[i] = mid;

    // Quote on the grid around the mid, at least one grid step wide.
    const double half = mid * p.spread_bps * 1e-4 / 2.0;
    const auto grid = static_cast<double>(grid_);
    const auto lo_px = static_cast<double>(schema::to_fixed(mid - half));
    const auto hi_px = static_cast<double>(schema::to_fixed(mid + half));
    const std::int64_t bid_steps =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(lo_px / grid)));
    std::int64_t ask_steps = static_cast<std::int64_t>(std::ceil(hi_px / grid));
    ask_steps = std::max(ask_steps, bid_steps + 1);

    schema::tick t;
    t.symbol = p.symbol;
    t.bid_px = bid_steps * grid_;
    t.ask_px = ask_steps * grid_;
    t.bid_qty = rng_.uniform_int(p.min_qty, p.max_qty);
    t.ask_qty = rng_.uniform_int(p.min_qty, p.max_qty);
    if (rng_.uniform() < cfg_.trade_probability) {
        const bool at_ask = rng_.uniform() < 0.5;  // buyer lifts the offer / seller hits the bid
        t.last_px = at_ask ? t.ask_px : t.bid_px;
        t.last_qty = rng_.uniform_int(1, std::max<std::int64_t>(1, at_ask ? t.ask_qty : t.bid_qty));
    }
    t.exch_ts_ns = ts_ns;
    return t;
}

}  // namespace tradebus::marketdata
