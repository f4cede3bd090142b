#include "tradebus/marketdata/marketdata_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "tradebus/schema/topics.hpp"

namespace tradebus::marketdata {

namespace topics = schema::topics;

namespace {

constexpr std::int64_t ns_per_ms = 1'000'000;
// Synthetic source more than this far behind schedule (a stalled process): skip the backlog
// instead of bursting it out.
constexpr std::int64_t max_synthetic_lag_ns = 1'000'000'000;

void read_symbol(common::section& s, synthetic_symbol& p) {
    p.start_px = s.number("start_px", p.start_px, 1e-6, 1e9);
    p.volatility_bps = s.number("volatility_bps", p.volatility_bps, 0.0, 10'000.0);
    p.spread_bps = s.number("spread_bps", p.spread_bps, 0.0, 10'000.0);
    p.min_qty = s.integer("min_qty", p.min_qty, 1, 1'000'000'000);
    p.max_qty = s.integer("max_qty", p.max_qty, 1, 1'000'000'000);
    if (p.min_qty > p.max_qty) s.error("max_qty", "expected max_qty >= min_qty");
}

}  // namespace

marketdata_config read_config(common::section& own) {
    marketdata_config c;
    c.source = own.choice("source", c.source, {"synthetic", "csv"});
    c.bar_interval_ms = own.integer("bar_interval_ms", c.bar_interval_ms, 1, 86'400'000);
    c.max_batch = own.integer("max_batch", c.max_batch, 1, 1'000'000);

    auto csv = own.table("csv", c.source == "csv");
    c.csv.path = csv.string("path", "", c.source == "csv");
    c.csv.speed = csv.number("speed", c.csv.speed, 0.0, 1e6);
    c.csv.loop = csv.boolean("loop", c.csv.loop);
    c.csv.exit_at_end = csv.boolean("exit_at_end", c.csv.exit_at_end);
    const auto ts = csv.choice("timestamps", "replay", {"replay", "recorded"});
    c.csv.timestamps = ts == "recorded" ? replay_timestamps::recorded : replay_timestamps::replay;
    c.csv.from_ns =
        csv.integer("from_ns", c.csv.from_ns, 0, std::numeric_limits<std::int64_t>::max());
    c.csv.to_ns = csv.integer("to_ns", c.csv.to_ns, 0, std::numeric_limits<std::int64_t>::max());
    if (c.csv.to_ns != 0 && c.csv.from_ns >= c.csv.to_ns) {
        csv.error("to_ns", "expected to_ns > from_ns (or 0: no end)");
    }
    if (c.csv.loop && c.csv.exit_at_end) {
        csv.error("exit_at_end", "cannot be true together with loop = true (a loop never ends)");
    }
    if (c.source == "csv" && !c.csv.path.empty()) {
        try {
            csv_reader probe(c.csv.path);  // the header is checked here
        } catch (const std::exception& e) {
            csv.error("path", e.what());
        }
    }

    auto syn = own.table("synthetic", c.source == "synthetic");
    c.synthetic.rate_per_sec = syn.number("rate_per_sec", c.synthetic.rate_per_sec, 0.001, 1e6);
    c.synthetic.trade_probability =
        syn.number("trade_probability", c.synthetic.trade_probability, 0.0, 1.0);
    c.synthetic.tick_size = syn.number("tick_size", c.synthetic.tick_size, 1e-8, 1e6);
    c.seed = static_cast<std::uint64_t>(
        syn.integer("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
    synthetic_symbol dflt;  // defaults for every symbol, overridable per symbol
    read_symbol(syn, dflt);
    auto syms = syn.table("symbols", c.source == "synthetic");
    for (const auto& name : syms.table_keys()) {
        auto one = syms.table(name);
        if (!topics::valid_symbol(name)) {
            syms.error(name, "expected a symbol of 1..32 [A-Za-z0-9_-/:]");
            continue;
        }
        synthetic_symbol p = dflt;
        p.symbol = name;
        read_symbol(one, p);
        c.synthetic.symbols.push_back(std::move(p));
    }
    if (c.source == "synthetic" && syms.present() && c.synthetic.symbols.empty()) {
        syn.error("symbols", "expected at least one [marketdata.synthetic.symbols.<SYMBOL>] table");
    }
    return c;
}

marketdata_node::marketdata_node(marketdata_config cfg)
    : cfg_(std::move(cfg)), bars_agg_(cfg_.bar_interval_ms), pacer_(cfg_.csv.speed) {}

std::vector<std::string> marketdata_node::publications() const {
    return {std::string(topics::md_tick), std::string(topics::md_bar)};
}

void marketdata_node::on_start(runtime::context& ctx) {
    if (cfg_.source == "csv") {
        reader_ = std::make_unique<csv_reader>(cfg_.csv.path);  // throws: runtime error, exit 1
        spdlog::info("marketdata: replaying {} at {}{}", cfg_.csv.path,
                     pacer_.as_fast_as_possible()
                         ? std::string("full speed")
                         : fmt::format("{}x recorded pace", cfg_.csv.speed),
                     cfg_.csv.loop ? ", looping" : "");
        return;
    }
    if (cfg_.synthetic.symbols.empty()) {
        throw std::runtime_error("marketdata: synthetic source has no symbols");
    }
    std::uint64_t seed = cfg_.seed;
    if (seed == 0) seed = ctx.new_trace_id();  // random per run
    synth_.emplace(cfg_.synthetic, seed);
    std::string names;
    for (const auto& s : cfg_.synthetic.symbols) names += (names.empty() ? "" : " ") + s.symbol;
    spdlog::info("marketdata: synthetic walk for {} at {}/s (seed {})", names,
                 cfg_.synthetic.rate_per_sec, seed);
}

std::int64_t marketdata_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (synth_) return run_synthetic(ctx, now_ns);
    if (reader_) return run_csv(ctx, now_ns);
    return 0;
}

void marketdata_node::on_stop(runtime::context& ctx) {
    // Bars still open are partial; publishing them would mislead indicators. Drop them.
    (void)ctx;
    spdlog::info("marketdata: stopping after {} ticks and {} bars", ticks_, bars_);
}

void marketdata_node::publish_tick(runtime::context& ctx, const schema::tick& t) {
    const std::uint64_t trace = ctx.new_trace_id();
    ctx.publish(topics::for_symbol(topics::md_tick, t.symbol), t, trace);
    ++ticks_;
    bars_agg_.add(t, trace, closed_);
}

void marketdata_node::publish_bars(runtime::context& ctx) {
    for (const auto& c : closed_) {
        ctx.publish(topics::for_symbol(topics::md_bar, c.bar.symbol), c.bar, c.trace_id);
        ++bars_;
    }
    closed_.clear();
}

std::int64_t marketdata_node::run_synthetic(runtime::context& ctx, std::int64_t now) {
    if (synth_start_ns_ == 0) synth_start_ns_ = now;
    const double step = synth_->interval_ns();
    auto due = [&](std::uint64_t k) {
        return synth_start_ns_ +
               static_cast<std::int64_t>(std::llround(static_cast<double>(k) * step));
    };
    std::int64_t batch = 0;
    while (batch < cfg_.max_batch && due(synth_k_) <= now) {
        const std::int64_t ts = due(synth_k_);
        bars_agg_.close_until(ts, closed_);
        publish_bars(ctx);
        publish_tick(ctx, synth_->next(ts));
        ++synth_k_;
        ++batch;
    }
    if (now - due(synth_k_) > max_synthetic_lag_ns) {
        spdlog::warn("marketdata: synthetic source {} ms behind schedule; skipping ahead",
                     (now - due(synth_k_)) / ns_per_ms);
        synth_start_ns_ = now;
        synth_k_ = 0;
    }
    bars_agg_.close_until(now, closed_);
    publish_bars(ctx);
    std::int64_t next = due(synth_k_);
    if (const auto c = bars_agg_.next_close_ns(); c != 0) next = std::min(next, c);
    return next;  // <= now when behind: called again as soon as inbound traffic is drained
}

std::optional<quote_row> marketdata_node::next_in_window() {
    for (;;) {
        auto row = reader_->next();
        if (!row) return row;
        // Rows are in time order: the first one at or after the end ends the pass.
        if (cfg_.csv.to_ns != 0 && row->ts_ns >= cfg_.csv.to_ns) return std::nullopt;
        if (row->ts_ns >= cfg_.csv.from_ns) return row;
    }
}

bool marketdata_node::fetch_row() {
    pending_ = next_in_window();
    if (!pending_ && cfg_.csv.loop && reader_->rows_ok() > 0) {
        // Next loop: shift recorded times so they keep increasing across loops.
        loop_offset_ns_ += (last_ts_ns_ - first_ts_ns_) + defaults::loop_gap_ms * ns_per_ms;
        ++loops_;
        spdlog::info("marketdata: {} replayed ({} rows so far, {} bad); starting loop {}",
                     cfg_.csv.path, reader_->rows_ok(), reader_->rows_bad(), loops_ + 1);
        reader_->rewind();
        pending_ = next_in_window();
    }
    if (!pending_) return false;
    if (!have_first_) {
        first_ts_ns_ = pending_->ts_ns;
        have_first_ = true;
    }
    if (loops_ == 0) last_ts_ns_ = std::max(last_ts_ns_, pending_->ts_ns);
    pending_->ts_ns += loop_offset_ns_;
    return true;
}

void marketdata_node::finish(runtime::context& ctx) {
    finished_ = true;
    bars_agg_.close_all(closed_);
    publish_bars(ctx);
    spdlog::info("marketdata: replay of {} finished: {} ticks published, {} bad rows skipped; {}",
                 cfg_.csv.path, ticks_, reader_->rows_bad(),
                 cfg_.csv.exit_at_end ? "stopping (exit_at_end = true)"
                                      : "staying up idle (exit_at_end = false)");
    if (cfg_.csv.exit_at_end) ctx.request_stop("CSV replay finished");
}

std::int64_t marketdata_node::run_csv(runtime::context& ctx, std::int64_t now) {
    if (finished_) return 0;
    const bool recorded = cfg_.csv.timestamps == replay_timestamps::recorded;
    std::int64_t batch = 0;
    std::int64_t next = 0;
    for (;;) {
        if (!pending_ && !fetch_row()) {
            finish(ctx);
            return 0;
        }
        if (!pacer_.anchored()) pacer_.anchor(pending_->ts_ns, now);
        const std::int64_t due = pacer_.due_ns(pending_->ts_ns);
        if (due > now) {
            next = due;
            break;
        }
        if (batch == cfg_.max_batch) {
            next = now;  // behind: yield to inbound traffic, come back at once
            break;
        }
        const quote_row& r = *pending_;
        schema::tick t{r.symbol,  r.bid_px,  r.bid_qty,  r.ask_px,
                       r.ask_qty, r.last_px, r.last_qty, recorded ? r.ts_ns : now};
        last_emitted_src_ns_ = r.ts_ns;
        if (recorded) bars_agg_.close_until(r.ts_ns, closed_);
        publish_bars(ctx);
        publish_tick(ctx, t);
        pending_.reset();
        ++batch;
    }
    // Close bars whose interval ended on the bar clock: wall time, or the replay clock.
    std::int64_t clock = now;
    if (recorded) {
        clock = pacer_.as_fast_as_possible() ? last_emitted_src_ns_ : pacer_.source_ns(now);
    }
    bars_agg_.close_until(clock, closed_);
    publish_bars(ctx);
    if (const auto c = bars_agg_.next_close_ns(); c != 0) {
        const std::int64_t when =
            recorded ? (pacer_.as_fast_as_possible() ? next : pacer_.due_ns(c)) : c;
        next = std::min(next, when);
    }
    return next;
}

std::unique_ptr<runtime::node_logic> make_marketdata(common::section& own) {
    return std::make_unique<marketdata_node>(read_config(own));
}

}  // namespace tradebus::marketdata
