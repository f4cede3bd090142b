#include "tradebus/marketdata/marketdata_node.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "tradebus/fix/config.hpp"
#include "tradebus/fix/wire.hpp"
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

// MDReqRejReason (281), FIX 4.4.
std::string_view md_reject_reason(std::string_view code) {
    static constexpr std::pair<std::string_view, std::string_view> names[] = {
        {"0", "unknown symbol"},
        {"1", "duplicate MDReqID"},
        {"2", "insufficient bandwidth"},
        {"3", "insufficient permissions"},
        {"4", "unsupported SubscriptionRequestType"},
        {"5", "unsupported MarketDepth"},
        {"6", "unsupported MDUpdateType"},
        {"7", "unsupported AggregatedBook"},
        {"8", "unsupported MDEntryType"},
        {"9", "unsupported TradingSessionID"},
        {"A", "unsupported Scope"},
        {"B", "unsupported OpenCloseSettlFlag"},
        {"C", "unsupported MDImplicitDelete"},
    };
    for (const auto& [c, name] : names) {
        if (c == code) return name;
    }
    return "other";
}

void read_fix(common::section& fx, fix_source_config& f) {
    f.session = fix::read_session(fx);
    f.symbols = fx.strings("symbols");
    std::vector<std::string> seen;
    for (const auto& s : f.symbols) {
        if (!topics::valid_symbol(s)) {
            fx.error("symbols", "expected symbols of 1..32 [A-Za-z0-9_-/:], got \"" +
                                    fix::printable(s, 40) + "\"");
        } else if (std::find(seen.begin(), seen.end(), s) != seen.end()) {
            fx.error("symbols", "symbol " + s + " is listed twice");
        }
        seen.push_back(s);
    }
    if (f.symbols.empty()) fx.error("symbols", "expected at least one symbol to subscribe to");
    f.stale_after_ms = fx.integer("stale_after_ms", f.stale_after_ms, 1, 86'400'000);
}

}  // namespace

marketdata_config read_config(common::section& own) {
    marketdata_config c;
    c.source = own.choice("source", c.source, {"synthetic", "csv", "fix"});
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

    auto fx = own.table("fix", c.source == "fix");
    if (fx.present()) read_fix(fx, c.fix);
    return c;
}

marketdata_node::marketdata_node(marketdata_config cfg)
    : cfg_(std::move(cfg)), bars_agg_(cfg_.bar_interval_ms), pacer_(cfg_.csv.speed) {}

std::vector<std::string> marketdata_node::publications() const {
    return {std::string(topics::md_tick), std::string(topics::md_bar)};
}

void marketdata_node::on_start(runtime::context& ctx) {
    if (cfg_.source == "fix") {
        start_fix(ctx);
        return;
    }
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
    if (book_) return run_fix(ctx, now_ns);
    return 0;
}

void marketdata_node::on_stop(runtime::context& ctx) {
    // Bars still open are partial; publishing them would mislead indicators. Drop them.
    if (engine_) {
        ctx.unwatch_fd(engine_->event_fd());
        engine_->stop();
    }
    spdlog::info("marketdata: stopping after {} ticks and {} bars", ticks_, bars_);
    if (book_) {
        const auto& n = book_->counters();
        spdlog::info(
            "marketdata: FIX source: {} logons, {} snapshots, {} incremental refreshes, "
            "{} entries applied, {} malformed, {} for unsubscribed symbols, {} resent or for an "
            "earlier request, {} requests rejected",
            logons_, n.snapshots, n.incrementals, n.entries, n.malformed, n.unknown_symbol,
            md_dropped_, md_rejects_);
    }
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

// ---- FIX source

void marketdata_node::start_fix(runtime::context& ctx) {
    if (cfg_.fix.symbols.empty()) throw std::runtime_error("marketdata: FIX source has no symbols");
    book_.emplace(cfg_.fix.symbols);
    book_->reset(ctx.now_ns());
    if (!fix_send_) {
        engine_ = std::make_unique<fix::engine>(cfg_.fix.session);  // throws: exit 1
        fix_send_ = [this](const std::string& type, const std::string& body, std::string& error) {
            return engine_->send("", type, body, error);
        };
        ctx.watch_fd(engine_->event_fd(), ZMQ_POLLIN, [this, &ctx](short) { drain_fix(ctx); });
        engine_->start();
    }
    std::string names;
    for (const auto& s : cfg_.fix.symbols) names += (names.empty() ? "" : " ") + s;
    spdlog::info(
        "marketdata: FIX market data from {}:{} as {} (venue {}) for {}; stale after {} ms",
        cfg_.fix.session.host, cfg_.fix.session.port, cfg_.fix.session.sender_comp_id,
        cfg_.fix.session.target_comp_id, names, cfg_.fix.stale_after_ms);
    update_fix_health(ctx, ctx.now_ns());
}

void marketdata_node::drain_fix(runtime::context& ctx) {
    for (const auto& ev : engine_->drain()) {
        switch (ev.kind) {
            case fix::event::logon:
                fix_session(ctx, true);
                break;
            case fix::event::logout:
                if (logged_on_) {
                    spdlog::warn("marketdata: FIX session {} logged out{}{}", ev.session,
                                 ev.text.empty() ? "" : ": ", ev.text);
                }
                fix_session(ctx, false);
                break;
            case fix::event::app_message:
                fix_message(ctx, ev.raw);
                break;
            case fix::event::admin_message:
                spdlog::debug("marketdata: FIX {}", fix::printable(ev.raw));
                break;
            case fix::event::reject_sent:
                if (const auto n = fix_problem_log_.hit()) {
                    spdlog::warn(
                        "marketdata: FIX message refused by the session layer ({} since "
                        "the last line): {}",
                        n, fix::printable(ev.raw));
                }
                break;
            case fix::event::log:
                spdlog::debug("marketdata: QuickFIX: {}", ev.text);
                break;
            case fix::event::overflow:
                spdlog::error(
                    "marketdata: FIX event queue overflowed ({} events dropped): "
                    "disconnecting to get a fresh snapshot",
                    engine_->dropped());
                engine_->disconnect("");
                fix_session(ctx, false);
                break;
        }
    }
    update_fix_health(ctx, ctx.now_ns());
}

void marketdata_node::fix_session(runtime::context& ctx, bool up) {
    if (!up) {
        logged_on_ = false;
        update_fix_health(ctx, ctx.now_ns());
        return;
    }
    logged_on_ = true;
    ++logons_;
    reject_reason_.clear();
    book_->reset(ctx.now_ns());  // the snapshot after this request is the full state
    // Unique per request, also across restarts of the node.
    req_id_ = fmt::format("md-{}-{}", ctx.now_ns(), ++md_requests_);
    std::string error;
    if (fix_send_ && fix_send_("V", book_->request_body(req_id_), error)) {
        spdlog::info("marketdata: FIX logon {}: subscribed {} symbols (MDReqID {})", logons_,
                     book_->symbols().size(), req_id_);
    } else {
        spdlog::error("marketdata: FIX MarketDataRequest {} not sent: {}", req_id_, error);
        reject_reason_ = "request not sent: " + error;
    }
    update_fix_health(ctx, ctx.now_ns());
}

void marketdata_node::fix_message(runtime::context& ctx, const std::string& raw) {
    std::string error;
    const auto m = fix::message::parse(raw, error);
    if (!m) {
        if (const auto n = fix_problem_log_.hit()) {
            spdlog::warn("marketdata: unreadable FIX message ({} since the last line): {}: {}", n,
                         error, fix::printable(raw));
        }
        return;
    }
    const std::int64_t now = ctx.now_ns();
    const bool md = m->type() == "W" || m->type() == "X" || m->type() == "Y";
    if (!md) {
        spdlog::debug("marketdata: FIX message of type {} ignored", m->type());
        return;
    }
    // Old news: a resend (after a reconnect, before the new snapshot) or the answer to an
    // earlier request would put past prices on the bus as current ones.
    const auto req = m->get(fix::tag::md_req_id);
    if (m->poss_dup() || (req && *req != req_id_)) {
        ++md_dropped_;
        if (const auto n = fix_problem_log_.hit()) {
            spdlog::warn("marketdata: FIX {} dropped ({} since the last line): {}", m->type(), n,
                         m->poss_dup() ? std::string("resent (PossDupFlag = Y)")
                                       : "MDReqID " + fix::printable(*req, 64) +
                                             " is not the current request's (" + req_id_ + ")");
        }
        return;
    }
    if (m->type() == "Y") {
        ++md_rejects_;
        const auto code = m->get(fix::tag::md_req_rej_reason);
        const auto text = m->get(fix::tag::text);
        reject_reason_ =
            code ? fmt::format("{} ({})", md_reject_reason(*code), *code) : "no reason";
        if (text) reject_reason_ += ": " + fix::printable(*text, 200);
        spdlog::error("marketdata: FIX MarketDataRequest {} rejected: {}", req_id_, reject_reason_);
        update_fix_health(ctx, now);
        return;
    }
    auto r = book_->apply(*m, now);
    if (!r.problems.empty()) {
        if (const auto n = fix_problem_log_.hit()) {
            spdlog::warn("marketdata: FIX market data refused ({} since the last line): {}", n,
                         r.problems.front());
        }
    }
    if (!r.ticks.empty()) {
        bars_agg_.close_until(now, closed_);
        publish_bars(ctx);
        for (const auto& t : r.ticks) {
            const std::uint64_t trace = ctx.new_trace_id();
            ctx.publish(topics::for_symbol(topics::md_tick, t.symbol), t, trace);
            ++ticks_;
            // Bars run on the node's clock (the venue's may differ) and take two-sided quotes
            // only: a side deleted would put a meaningless mid into them.
            if (t.bid_px > 0 && t.ask_px > 0) {
                schema::tick timed = t;
                timed.exch_ts_ns = now;
                bars_agg_.add(timed, trace, closed_);
            }
        }
        publish_bars(ctx);
    }
    update_fix_health(ctx, now);
}

std::int64_t marketdata_node::run_fix(runtime::context& ctx, std::int64_t now) {
    bars_agg_.close_until(now, closed_);
    publish_bars(ctx);
    update_fix_health(ctx, now);
    // Staleness is checked a few times per stale_after_ms (10 ms..500 ms apart).
    const std::int64_t check_ms = std::clamp<std::int64_t>(cfg_.fix.stale_after_ms / 4, 10, 500);
    std::int64_t next = now + check_ms * ns_per_ms;
    if (const auto c = bars_agg_.next_close_ns(); c != 0) next = std::min(next, c);
    return next;
}

void marketdata_node::update_fix_health(runtime::context& ctx, std::int64_t now) {
    if (!book_) return;
    schema::health state = schema::health::healthy;
    std::string key, reason;
    if (!logged_on_) {
        state = schema::health::degraded;
        key = reason = "venue disconnected";
    } else if (!reject_reason_.empty()) {
        state = schema::health::degraded;
        key = reason = "market data request rejected: " + reject_reason_;
    } else if (const auto stale = book_->stale(now, cfg_.fix.stale_after_ms * ns_per_ms);
               !stale.empty()) {
        state = schema::health::degraded;
        key = "stale:";
        reason = "market data stale: ";
        constexpr std::size_t shown = 4;
        for (std::size_t i = 0; i < stale.size(); ++i) {
            key += " " + stale[i].first;
            if (i < shown) {
                reason += fmt::format("{}{} for {:.1f} s", i == 0 ? "" : ", ", stale[i].first,
                                      static_cast<double>(stale[i].second) / 1e9);
            }
        }
        if (stale.size() > shown) reason += fmt::format(" and {} more", stale.size() - shown);
    }
    // Reported when what is wrong changes (not the seconds of a stale feed: each report logs).
    if (health_key_ == key) return;
    health_key_ = key;
    ctx.report_health(state, std::move(reason));
}

std::unique_ptr<runtime::node_logic> make_marketdata(common::section& own) {
    return std::make_unique<marketdata_node>(read_config(own));
}

}  // namespace tradebus::marketdata
