#include "tradebus/marketdata/bar_aggregator.hpp"

#include <algorithm>

namespace tradebus::marketdata {

bar_aggregator::bar_aggregator(std::int64_t interval_ms)
    : interval_ms_(std::max<std::int64_t>(1, interval_ms)),
      interval_ns_(interval_ms_ * 1'000'000) {}

std::int64_t bar_aggregator::bucket_start(std::int64_t ts_ns) const noexcept {
    std::int64_t q = ts_ns / interval_ns_;
    if (ts_ns % interval_ns_ < 0) --q;  // floor, also before the epoch
    return q * interval_ns_;
}

void bar_aggregator::add(const schema::tick& t, std::uint64_t trace_id,
                         std::vector<closed_bar>& closed) {
    // Mid without overflow for any pair of positive prices.
    const std::int64_t mid = t.bid_px / 2 + t.ask_px / 2 + (t.bid_px % 2 + t.ask_px % 2) / 2;
    auto it = bars_.find(t.symbol);
    if (it == bars_.end()) it = bars_.emplace(t.symbol, open_bar{}).first;
    open_bar& ob = it->second;
    const std::int64_t start = bucket_start(t.exch_ts_ns);
    if (ob.open && start > ob.b.bar.start_ts_ns) {
        closed.push_back(ob.b);
        ob.open = false;
    }
    schema::bar& b = ob.b.bar;
    if (!ob.open) {
        b = schema::bar{t.symbol, interval_ms_, start, mid, mid, mid, mid, 0, 0};
        ob.open = true;
    }
    b.high_px = std::max(b.high_px, mid);
    b.low_px = std::min(b.low_px, mid);
    b.close_px = mid;
    b.volume += t.last_qty;
    ++b.ticks;
    ob.b.trace_id = trace_id;
}

void bar_aggregator::close_until(std::int64_t clock_ns, std::vector<closed_bar>& closed) {
    for (auto& [sym, ob] : bars_) {
        if (ob.open && ob.b.bar.start_ts_ns <= clock_ns - interval_ns_) {
            closed.push_back(ob.b);
            ob.open = false;
        }
    }
}

void bar_aggregator::close_all(std::vector<closed_bar>& closed) {
    for (auto& [sym, ob] : bars_) {
        if (ob.open) {
            closed.push_back(ob.b);
            ob.open = false;
        }
    }
}

std::int64_t bar_aggregator::next_close_ns() const noexcept {
    std::int64_t next = 0;
    for (const auto& [sym, ob] : bars_) {
        if (!ob.open) continue;
        const std::int64_t end = ob.b.bar.start_ts_ns + interval_ns_;
        if (next == 0 || end < next) next = end;
    }
    return next;
}

}  // namespace tradebus::marketdata
