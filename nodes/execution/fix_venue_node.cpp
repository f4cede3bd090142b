#include "tradebus/execution/fix_venue_node.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <algorithm>
#include <cmath>

#include "tradebus/execution/execution_node.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/utf8.hpp"

namespace tradebus::execution {

namespace topics = schema::topics;
namespace tag = fix::tag;

namespace {

constexpr std::int64_t max_retry_ns = 60'000'000'000;

// Text from the venue, fit for the bus: valid UTF-8 (invalid bytes become '?'), cut at a
// character boundary to `max` bytes.
std::string clean(std::string_view text, std::size_t max = 512) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = schema::utf8_sequence(text, i);
        if (out.size() + std::max<std::size_t>(n, 1) > max) break;
        if (n == 0 || (n == 1 && static_cast<unsigned char>(text[i]) < 0x20)) {
            out.push_back('?');
            i += 1;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::string text_of(const fix::message& m) { return clean(m.get(tag::text).value_or("")); }

// An id from the venue we may use as an order id on the bus: 1..64 printable ASCII.
bool usable_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c <= '~'; });
}

std::string status_name(std::string_view s) {
    if (s == "0") return "new";
    if (s == "1") return "partially filled";
    if (s == "2") return "filled";
    if (s == "4") return "cancelled";
    if (s == "8") return "rejected or unknown";
    if (s == "C") return "expired";
    return "status " + clean(s, 8);
}

}  // namespace

fix_venue_node::fix_venue_node(exchange_config cfg, fix::session_settings fix)
    : cfg_(cfg),
      fix_cfg_(std::move(fix)),
      seen_(static_cast<std::size_t>(cfg.max_remembered_orders)) {
    // An order or cancel the venue missed is never delivered late (see the header).
    fix_cfg_.resend_app_messages = false;
}

fix_venue_node::~fix_venue_node() = default;

void fix_venue_node::configure(const std::string& node_name,
                               const runtime::trading_session& session) {
    name_ = node_name;
    session_ = session;
}

std::vector<std::string> fix_venue_node::subscriptions() const {
    return {std::string(topics::approved), std::string(topics::trading),
            std::string(topics::risk_state), std::string(topics::cancel)};
}

std::vector<std::string> fix_venue_node::publications() const { return exec_publications(name_); }

std::optional<runtime::recovery_request> fix_venue_node::recovery(std::int64_t now_ns) const {
    return exec_recovery(name_, session_, cfg_.max_order_age_ms, now_ns);
}

void fix_venue_node::on_recover(runtime::context& ctx, const runtime::inbound& in) {
    if (in.ev.env.src != ctx.node_name()) return;
    const auto& body = in.ev.body;
    if (const auto* snap = std::get_if<schema::exec_snapshot>(&body)) {
        if (in.topic != topics::for_symbol(topics::exec_snapshot, name_)) return;
        live_.clear();  // the snapshot is the book at its time; events after it follow
        for (const auto& r : snap->resting) {
            (void)seen_.insert(r.order_id);
            working w;
            w.o.order_id = r.order_id, w.o.symbol = r.symbol, w.o.dir = r.dir, w.o.qty = r.qty;
            w.o.kind = r.kind, w.o.limit_px = r.limit_px, w.o.tif = r.tif;
            w.o.signal_src = r.signal_src;
            w.trace_id = r.trace_id, w.acked = true, w.cum_qty = r.qty - r.leaves_qty;
            w.notional_known = w.cum_qty == 0;  // a snapshot carries no average price
            w.expire_ts_ns = r.expire_ts_ns;
            live_[r.order_id] = std::move(w);
        }
        return;
    }
    if (const auto* a = std::get_if<schema::order_ack>(&body)) {
        (void)seen_.insert(a->order_id);
        if (!topics::matches(topics::exec_ack, in.topic)) return;
        working w;
        w.o.order_id = a->order_id, w.o.symbol = a->symbol, w.o.dir = a->dir, w.o.qty = a->qty;
        w.o.kind = a->kind, w.o.limit_px = a->limit_px, w.o.tif = a->tif;
        w.o.signal_src = a->signal_src;
        w.trace_id = in.ev.env.trace_id, w.acked = true, w.expire_ts_ns = a->expire_ts_ns;
        live_.try_emplace(a->order_id, std::move(w));
    } else if (const auto* f = std::get_if<schema::fill>(&body)) {
        (void)seen_.insert(f->order_id);
        if (auto it = live_.find(f->order_id); it != live_.end()) {
            working& w = it->second;
            const std::int64_t cum = w.o.qty - f->leaves_qty;
            if (cum > w.cum_qty) {
                w.notional += static_cast<long double>(cum - w.cum_qty) * f->px;
                w.cum_qty = cum;
            }
            if (f->leaves_qty <= 0) live_.erase(it);
        }
    } else {
        std::visit(
            [&](const auto& b) {
                using T = std::decay_t<decltype(b)>;
                if constexpr (std::is_same_v<T, schema::exec_reject> ||
                              std::is_same_v<T, schema::order_cancelled> ||
                              std::is_same_v<T, schema::order_expired>) {
                    (void)seen_.insert(b.order_id);
                    live_.erase(b.order_id);
                }
            },
            body);
    }
}

void fix_venue_node::adopt_sent_orders() {
    std::size_t adopted = 0;
    for (auto& raw : engine_->sent_messages("")) {
        std::string error;
        const auto m = fix::message::parse(std::move(raw), error);
        if (!m || m->type() != "D") continue;
        const std::string id(m->get(tag::cl_ord_id).value_or(""));
        if (!usable_id(id) || seen_.contains(id) || live_.contains(id)) continue;
        const auto dir = fix::side_from(m->get(tag::side).value_or(""));
        const auto kind = fix::ord_type_from(m->get(tag::ord_type).value_or(""));
        const auto qty = m->get_qty(tag::order_qty);
        const std::string symbol(m->get(tag::symbol).value_or(""));
        if (!dir || !kind || !qty || *qty <= 0 || !topics::valid_symbol(symbol)) continue;
        (void)seen_.insert(id);  // never executed again, whatever the venue says
        working w;
        w.o.order_id = id, w.o.symbol = symbol, w.o.dir = *dir, w.o.qty = *qty, w.o.kind = *kind;
        w.o.limit_px = m->get_price(tag::price).value_or(0);
        w.o.tif = fix::tif_from(m->get(tag::time_in_force).value_or("0"))
                      .value_or(schema::time_in_force::day);
        live_.emplace(id, std::move(w));
        ++adopted;
    }
    if (adopted > 0) {
        spdlog::warn(
            "execution: {} order(s) sent to the venue before the restart have no "
            "outcome in the journal; asking the venue for their status at the logon",
            adopted);
    }
}

void fix_venue_node::on_start(runtime::context& ctx) {
    ctx_ = &ctx;
    engine_ = std::make_unique<fix::engine>(fix_cfg_);
    adopt_sent_orders();
    if (!live_.empty()) {
        spdlog::info(
            "execution: {} order(s) working at the FIX venue after recovery; their "
            "status is asked at the next logon",
            live_.size());
    }
    ctx.watch_fd(engine_->event_fd(), ZMQ_POLLIN, [this, &ctx](short) { on_fix_events(ctx); });
    try {
        engine_->start();
    } catch (...) {
        ctx.unwatch_fd(engine_->event_fd());
        throw;
    }
    spdlog::info("execution: FIX venue {}:{} as {} -> {} (store {})", fix_cfg_.host, fix_cfg_.port,
                 fix_cfg_.sender_comp_id, fix_cfg_.target_comp_id, fix_cfg_.store_dir);
    publish_snapshot(ctx, ctx.now_ns());
    update_health(ctx);
}

void fix_venue_node::on_stop(runtime::context& ctx) {
    if (engine_) {
        engine_->stop();  // logs out; reports that arrive meanwhile are still handled below
        ctx.unwatch_fd(engine_->event_fd());
        for (auto& e : engine_->drain()) handle(ctx, e);
        publish(ctx);
    }
    spdlog::info(
        "execution: stopping (FIX venue): {} order(s) sent, {} fill(s) ({} from reconciliation), "
        "{} venue reject(s), {} duplicate report(s) ignored, {} report(s) for unknown orders, {} "
        "malformed report(s), {} session reject(s), {} logon(s); {} order(s) still working",
        n_.orders_sent, n_.fills, n_.reconciled_fills, n_.venue_rejects, n_.duplicate_reports,
        n_.unknown_reports, n_.bad_reports, n_.session_rejects, n_.logons, live_.size());
}

std::string fix_venue_node::refusal_reason() const {
    if (!logged_on_) {
        return "venue disconnected: " +
               (last_logout_.empty() ? std::string("not logged on") : last_logout_);
    }
    if (!status_refused_.empty()) return "venue reconciling: " + status_refused_;
    return "venue reconciling: waiting for its order status after the logon";
}

void fix_venue_node::update_health(runtime::context& ctx) {
    schema::health h = schema::health::healthy;
    std::string why;
    if (!logged_on_ || !reconciled_) {
        h = schema::health::degraded;
        why = refusal_reason();
    } else {
        std::size_t lost = 0;
        for (const auto& [id, w] : live_) lost += w.unaccounted ? 1 : 0;
        if (lost > 0) {
            h = schema::health::degraded;
            why = std::to_string(lost) +
                  " order(s) the venue cannot account for (see the log; tradebus cancel them "
                  "or restart with start_fresh once settled)";
        }
    }
    if (h == health_ && why == health_reason_) return;
    health_ = h;
    health_reason_ = why;
    ctx.report_health(h, why);
}

bool fix_venue_node::send(std::string_view type, const fix::body& b) {
    std::string error;
    if (engine_->send("", std::string(type), b.str(), error)) return true;
    spdlog::error("execution: FIX {} not sent: {}", type, error);
    return false;
}

void fix_venue_node::on_fix_events(runtime::context& ctx) {
    for (auto& e : engine_->drain()) handle(ctx, e);
    publish(ctx);
    update_health(ctx);
}

void fix_venue_node::handle(runtime::context& ctx, fix::event& e) {
    switch (e.kind) {
        case fix::event::logon:
            logged_on_ = true;
            ever_logged_on_ = true;
            last_logout_.clear();
            ++n_.logons;
            reconcile_wait_ns_ = reconcile_timeout_ns;
            spdlog::info(
                "execution: FIX session logged on; asking the venue for {} working "
                "order(s)",
                live_.size());
            request_status(ctx);
            break;
        case fix::event::logout:
            if (logged_on_) {
                spdlog::warn("execution: FIX session {} logged out{}", e.session,
                             last_logout_.empty() ? "" : ": " + last_logout_);
            } else if (!ever_logged_on_) {
                spdlog::error(
                    "execution: FIX logon to {}:{} as {} -> {} not accepted{} (check "
                    "sender_comp_id, target_comp_id and the password)",
                    fix_cfg_.host, fix_cfg_.port, fix_cfg_.sender_comp_id, fix_cfg_.target_comp_id,
                    last_logout_.empty() ? "" : ": " + last_logout_);
            }
            logged_on_ = false;
            reconciled_ = false;
            for (auto& [id, w] : live_) w.cancel_sent = false;  // asked again after the logon
            break;
        case fix::event::app_message:
        case fix::event::admin_message: {
            std::string error;
            auto m = fix::message::parse(std::move(e.raw), error);
            if (!m) {
                ++n_.bad_reports;
                if (const auto n = bad_log_.hit()) {
                    spdlog::warn(
                        "execution: unreadable FIX message from the venue: {} ({} in "
                        "the last period)",
                        error, n);
                }
                break;
            }
            on_message(ctx, *m);
            break;
        }
        case fix::event::reject_sent: {
            ++n_.bad_reports;
            if (const auto n = refused_log_.hit()) {
                spdlog::warn(
                    "execution: refused a malformed FIX message from the venue: {} ({} "
                    "in the last period)",
                    fix::printable(e.raw), n);
            }
            // A refused ExecutionReport may have carried a fill: ask for every order's status.
            std::string error;
            const auto r = fix::message::parse(e.raw, error);
            if (r && r->get(tag::ref_msg_type) == "8" && logged_on_) request_status(ctx);
            break;
        }
        case fix::event::log:
            // Resends and sequence resets say the session recovered messages: worth a line at
            // info; the rest of QuickFIX's chatter at debug.
            if (e.text.find("Resend") != std::string::npos ||
                e.text.find("SequenceReset") != std::string::npos ||
                e.text.find("not resending") != std::string::npos) {
                spdlog::info("execution: FIX {}: {}", e.session, e.text);
            } else {
                spdlog::debug("execution: FIX {}: {}", e.session, e.text);
            }
            break;
        case fix::event::overflow:
            spdlog::error("execution: FIX {}: {}; reconnecting to reconcile", e.session, e.text);
            engine_->disconnect("");
            break;
    }
}

void fix_venue_node::on_message(runtime::context& ctx, const fix::message& m) {
    const auto type = m.type();
    if (type == "8") {
        on_execution_report(ctx, m);
    } else if (type == "9") {
        on_cancel_reject(ctx, m);
    } else if (type == "5") {
        last_logout_ = text_of(m);
    } else if (type == "3" || type == "j") {
        ++n_.session_rejects;
        const auto ref = m.get(tag::ref_msg_type).value_or("");
        spdlog::warn("execution: the venue refused our message (type {}, seq {}): {}",
                     clean(ref, 8), clean(m.get(tag::ref_seq_num).value_or("?"), 16), text_of(m));
        if ((ref == "H" || ref == "AF") && !reconciled_) {
            status_refused_ = "the venue refused the status request (" + text_of(m) + ")";
        }
    }
}

void fix_venue_node::request_order_status(const working& w) {
    fix::body b;
    b.add(tag::cl_ord_id, w.o.order_id).add(tag::symbol, w.o.symbol);
    b.add(tag::side, std::string(1, fix::side_code(w.o.dir)));
    if (send("H", b)) status_pending_.insert(w.o.order_id);
}

void fix_venue_node::request_status(runtime::context& ctx) {
    reconciled_ = false;
    status_refused_.clear();
    status_pending_.clear();
    for (const auto& [id, w] : live_) request_order_status(w);
    mass_id_ = name_ + "-mass-" + std::to_string(ctx.now_ns() / 1'000'000) + "-" +
               std::to_string(next_req_++);
    fix::body b;
    b.add(tag::mass_status_req_id, mass_id_).add(tag::mass_status_req_type, "7");
    mass_pending_ = send("AF", b);
    reconcile_deadline_ns_ = ctx.now_ns() + reconcile_wait_ns_;
    maybe_reconciled(ctx);
}

void fix_venue_node::maybe_reconciled(runtime::context& ctx) {
    if (!logged_on_ || reconciled_ || !status_pending_.empty() || mass_pending_) return;
    reconciled_ = true;
    status_refused_.clear();
    reconcile_wait_ns_ = reconcile_timeout_ns;
    spdlog::info("execution: reconciled with the venue: {} order(s) working", live_.size());
    // What the node owes since before the logon (a halt, a scope halt, an expiry) goes now.
    for (auto& [id, w] : live_) {
        if (cancel_wanted(w)) send_cancel(w, w.cancel_by, w.cancel_reason);
    }
    publish(ctx);  // the events the snapshot already reflects go first
    publish_snapshot(ctx, ctx.now_ns());
}

void fix_venue_node::ack(working& w) {
    if (w.acked) return;
    w.acked = true;
    if (w.expire_ts_ns == 0 && w.o.tif == schema::time_in_force::day && ctx_ != nullptr) {
        w.expire_ts_ns = session_.next_start(ctx_->now_ns());
    }
    schema::order_ack a;
    a.order_id = w.o.order_id, a.symbol = w.o.symbol, a.dir = w.o.dir, a.qty = w.o.qty;
    a.kind = w.o.kind, a.limit_px = w.o.limit_px, a.tif = w.o.tif;
    a.expire_ts_ns = w.expire_ts_ns, a.signal_src = w.o.signal_src;
    out_.push_back({a, w.trace_id});
}

void fix_venue_node::unaccounted(working& w, const std::string& why) {
    if (!w.unaccounted) {
        spdlog::error("execution: order {} ({} {} {}): {}; left working for the operator",
                      w.o.order_id, w.o.symbol, schema::to_string(w.o.dir), w.o.qty, why);
    }
    w.unaccounted = true;
}

bool fix_venue_node::apply_cum(working& w, std::int64_t cum_qty, std::int64_t avg_px,
                               std::int64_t last_qty, std::int64_t last_px) {
    const std::int64_t delta = cum_qty - w.cum_qty;
    if (delta <= 0) return true;
    if (cum_qty > w.o.qty) {
        ++n_.bad_reports;
        unaccounted(w, "the venue reports " + std::to_string(cum_qty) + " filled of " +
                           std::to_string(w.o.qty));
        return false;
    }
    // The price of these `delta` lots: the trade's own price when the report is that one
    // trade, else what the average over the whole order leaves for them.
    std::int64_t px = 0;
    if (last_px > 0 && last_qty == delta) {
        px = last_px;
    } else if (avg_px > 0 && w.notional_known) {
        const long double total = static_cast<long double>(avg_px) * cum_qty;
        px = static_cast<std::int64_t>(std::llround((total - w.notional) / delta));
        if (px <= 0) px = avg_px;
    } else if (avg_px > 0) {
        px = avg_px;
        spdlog::warn(
            "execution: order {}: {} lot(s) priced at the venue's average {} (the "
            "earlier fills' prices are not known here)",
            w.o.order_id, delta, schema::format_fixed(avg_px));
    }
    if (px <= 0) {
        ++n_.bad_reports;
        unaccounted(w, "the venue reports " + std::to_string(cum_qty) +
                           " filled without a price for the " + std::to_string(delta) +
                           " lot(s) not published yet");
        return false;
    }
    ack(w);
    schema::fill f;
    f.order_id = w.o.order_id, f.symbol = w.o.symbol, f.dir = w.o.dir, f.qty = delta, f.px = px;
    f.fill_id = name_ + "-" + w.o.order_id + "-" + std::to_string(cum_qty);
    f.leaves_qty = w.o.qty - cum_qty;
    w.cum_qty = cum_qty;
    w.notional += static_cast<long double>(delta) * px;
    ++n_.fills;
    out_.push_back({f, w.trace_id});
    return true;
}

void fix_venue_node::finish(const std::string& order_id, bool cancelled) {
    auto it = live_.find(order_id);
    if (it == live_.end()) return;
    const std::set<std::uint64_t> requests = it->second.requests;
    live_.erase(it);
    status_pending_.erase(order_id);
    for (const auto request : requests) {
        auto job = cancels_.find(request);
        if (job == cancels_.end()) continue;
        job->second.outstanding.erase(order_id);
        if (cancelled) ++job->second.cancelled;
        if (job->second.outstanding.empty()) {
            out_.push_back({schema::cancel_done{job->first, job->second.cancelled}, 0});
            cancels_.erase(job);
        }
    }
}

void fix_venue_node::on_status(runtime::context& ctx, const fix::message& m,
                               const std::string& id) {
    const bool mass = m.get(tag::mass_status_req_id) == mass_id_;
    status_pending_.erase(id);
    const std::string status(m.get(tag::ord_status).value_or(""));
    auto it = live_.find(id);
    if (it == live_.end() && mass && usable_id(id) && !seen_.contains(id) &&
        (status == "0" || status == "1")) {
        // Open at the venue, unknown here (QuickFIX's store was reset, or another client of
        // the same account): acknowledged from the venue's own report.
        const auto dir = fix::side_from(m.get(tag::side).value_or(""));
        const auto kind = fix::ord_type_from(m.get(tag::ord_type).value_or(""));
        const auto qty = m.get_qty(tag::order_qty);
        const std::string symbol(m.get(tag::symbol).value_or(""));
        if (dir && kind && qty && *qty > 0 && topics::valid_symbol(symbol)) {
            (void)seen_.insert(id);
            working w;
            w.o.order_id = id, w.o.symbol = symbol, w.o.dir = *dir, w.o.qty = *qty;
            w.o.kind = *kind, w.o.limit_px = m.get_price(tag::price).value_or(0);
            w.o.tif = fix::tif_from(m.get(tag::time_in_force).value_or("0"))
                          .value_or(schema::time_in_force::day);
            spdlog::warn(
                "execution: the venue holds order {} ({} {} {}) the journal never "
                "acknowledged; acknowledging it now",
                id, w.o.symbol, schema::to_string(w.o.dir), w.o.qty);
            it = live_.emplace(id, std::move(w)).first;
        }
    }
    if (it != live_.end()) {
        working& w = it->second;
        const auto cum = m.get_qty(tag::cum_qty);
        if (status == "8") {
            if (!w.acked && w.cum_qty == 0) {
                out_.push_back(
                    {schema::exec_reject{id, w.o.symbol, std::string(reject_code::invalid),
                                         "the venue does not have the order (" + text_of(m) + ")"},
                     w.trace_id});
                finish(id, false);
            } else {
                unaccounted(
                    w, "the venue reports it " + status_name(status) + " (" + text_of(m) + ")");
            }
        } else if (status != "A" && !status.empty()) {  // accepted by the venue
            ack(w);
            const std::int64_t before = w.cum_qty;
            const bool priced =
                !cum || apply_cum(w, *cum, m.get_price(tag::avg_px).value_or(0), 0, 0);
            if (w.cum_qty > before) ++n_.reconciled_fills;
            if (priced && w.cum_qty >= w.o.qty) {
                finish(id, false);
            } else if (priced && (status == "4" || status == "C")) {
                const std::int64_t leaves = w.o.qty - w.cum_qty;
                if (status == "C" || w.expiring) {
                    out_.push_back({schema::order_expired{id, w.o.symbol, w.o.dir, w.o.qty, leaves,
                                                          w.expire_ts_ns},
                                    w.trace_id});
                    finish(id, false);
                } else {
                    out_.push_back(
                        {schema::order_cancelled{id, w.o.symbol, w.o.dir, w.o.qty, leaves,
                                                 w.cancel_sent ? w.cancel_by : std::string("venue"),
                                                 w.cancel_sent && !w.cancel_reason.empty()
                                                     ? w.cancel_reason
                                                     : "cancelled at the venue",
                                                 w.requests.empty() ? 0 : *w.requests.begin()},
                         w.trace_id});
                    finish(id, true);
                }
            } else if (priced && status == "2") {
                unaccounted(w, "the venue reports it filled but " + std::to_string(w.cum_qty) +
                                   " of " + std::to_string(w.o.qty));
            }
        }
    } else if (!mass && !id.empty() && !seen_.contains(id)) {
        ++n_.unknown_reports;
    }
    if (mass && (m.get(tag::last_rpt_requested) == "Y" || m.get_int(tag::tot_num_reports) == 0)) {
        mass_pending_ = false;
    }
    maybe_reconciled(ctx);
}

void fix_venue_node::on_execution_report(runtime::context& ctx, const fix::message& m) {
    const auto exec_type = m.get(tag::exec_type).value_or("");
    // A cancel's report names the order in OrigClOrdID, its own request in ClOrdID.
    std::string id(m.get(tag::orig_cl_ord_id).value_or(""));
    if (!live_.contains(id)) id = std::string(m.get(tag::cl_ord_id).value_or(""));
    if (exec_type == "I") {
        on_status(ctx, m, id);
        return;
    }
    auto it = live_.find(id);
    if (it == live_.end()) {
        if (seen_.contains(id)) {
            ++n_.duplicate_reports;  // about an order that has ended here
        } else {
            ++n_.unknown_reports;
            if (const auto n = unknown_log_.hit()) {
                spdlog::warn(
                    "execution: ExecutionReport for unknown ClOrdID \"{}\" ignored ({} "
                    "in the last period)",
                    fix::printable(id, 64), n);
            }
        }
        return;
    }
    working& w = it->second;
    const std::string text = text_of(m);
    const auto cum = m.get_qty(tag::cum_qty);
    const std::int64_t avg = m.get_price(tag::avg_px).value_or(0);
    if (exec_type == "0") {
        ack(w);
    } else if (exec_type == "F" || exec_type == "1" || exec_type == "2") {
        const auto last_qty = m.get_qty(tag::last_qty);
        const auto last_px = m.get_price(tag::last_px);
        if (!m.get(tag::exec_id) || !cum || !last_qty || *last_qty <= 0 || !last_px ||
            *last_px <= 0) {
            ++n_.bad_reports;
            if (const auto n = bad_log_.hit()) {
                spdlog::error(
                    "execution: malformed fill report for {} not applied ({} in the "
                    "last period): {}",
                    id, n, fix::printable(m.text()));
            }
            if (logged_on_) request_order_status(w);  // learn the fill from the status
            return;
        }
        if (*cum <= w.cum_qty) {
            ++n_.duplicate_reports;  // a resend, or already reconciled
            return;
        }
        if (apply_cum(w, *cum, avg, *last_qty, *last_px) && w.cum_qty >= w.o.qty) finish(id, false);
    } else if (exec_type == "4" || exec_type == "C") {
        // A trade the node missed shows in the terminal report's CumQty: published first.
        if (cum && !apply_cum(w, *cum, avg, 0, 0)) return;  // unaccounted: never ended by guess
        if (w.cum_qty >= w.o.qty) {
            finish(id, false);
            return;
        }
        ack(w);
        const std::int64_t leaves = w.o.qty - w.cum_qty;
        if (exec_type == "C" || w.expiring) {
            out_.push_back(
                {schema::order_expired{id, w.o.symbol, w.o.dir, w.o.qty, leaves,
                                       w.expire_ts_ns > 0 ? w.expire_ts_ns : ctx.now_ns()},
                 w.trace_id});
            finish(id, false);
            return;
        }
        const bool immediate =
            w.o.tif == schema::time_in_force::ioc || w.o.tif == schema::time_in_force::fok;
        std::string by =
            w.cancel_sent ? w.cancel_by : std::string(immediate ? "execution" : "venue");
        std::string reason = w.cancel_sent && !w.cancel_reason.empty() ? w.cancel_reason
                             : immediate ? std::string(schema::to_string(w.o.tif)) +
                                               " remainder cancelled at the venue"
                             : text.empty() ? std::string("cancelled at the venue")
                                            : "venue: " + text;
        out_.push_back({schema::order_cancelled{id, w.o.symbol, w.o.dir, w.o.qty, leaves,
                                                std::move(by), std::move(reason),
                                                w.requests.empty() ? 0 : *w.requests.begin()},
                        w.trace_id});
        finish(id, true);
    } else if (exec_type == "8") {
        ++n_.venue_rejects;
        if (!w.acked && w.cum_qty == 0) {
            out_.push_back(
                {schema::exec_reject{id, w.o.symbol, std::string(reject_code::invalid),
                                     "venue rejected: " + (text.empty() ? "no reason" : text)},
                 w.trace_id});
            finish(id, false);
        } else {
            // About another message (a duplicate ClOrdID, say), not the working order: ask.
            spdlog::warn(
                "execution: the venue rejected a message about working order {}: {}; "
                "asking for its status",
                id, text);
            if (logged_on_) request_order_status(w);
        }
    }
    // Pending new/cancel/replace, restated, done for day: no change on the bus.
}

void fix_venue_node::on_cancel_reject(runtime::context& ctx, const fix::message& m) {
    const std::string id(m.get(tag::orig_cl_ord_id).value_or(""));
    auto it = live_.find(id);
    if (it == live_.end()) return;  // it ended meanwhile: its terminal event ended the jobs
    working& w = it->second;
    spdlog::warn("execution: the venue refused to cancel {}: {}; asking for its status", id,
                 text_of(m));
    w.cancel_sent = false;
    // Retried (a halt's or expiry's) with a backoff; the state is asked for meanwhile.
    w.cancel_backoff_ns =
        std::min(max_retry_ns, w.cancel_backoff_ns == 0 ? 1'000'000'000 : w.cancel_backoff_ns * 2);
    w.cancel_retry_ns = ctx.now_ns() + w.cancel_backoff_ns;
    const std::set<std::uint64_t> requests = std::move(w.requests);
    w.requests.clear();
    for (const auto request : requests) {
        auto job = cancels_.find(request);
        if (job == cancels_.end()) continue;
        job->second.outstanding.erase(id);
        if (job->second.outstanding.empty()) {
            out_.push_back({schema::cancel_done{job->first, job->second.cancelled}, 0});
            cancels_.erase(job);
        }
    }
    if (logged_on_) request_order_status(w);
}

bool fix_venue_node::cancel_wanted(const working& w) const {
    if (w.expiring) return true;
    if (!cfg_.cancel_on_halt) return false;
    return operator_halt_ || risk_halt_ || halted_symbols_.contains(w.o.symbol) ||
           (!w.o.signal_src.empty() && halted_strategies_.contains(w.o.signal_src));
}

void fix_venue_node::send_cancel(working& w, std::string by, std::string reason) {
    w.cancel_by = std::move(by);
    w.cancel_reason = std::move(reason);
    if (w.cancel_sent || !logged_on_ || !reconciled_) return;  // in flight, or after the logon
    fix::body b;
    b.add(tag::orig_cl_ord_id, w.o.order_id)
        .add(tag::cl_ord_id, w.o.order_id + "-c" + std::to_string(next_cancel_++))
        .add(tag::symbol, w.o.symbol)
        .add(tag::side, std::string(1, fix::side_code(w.o.dir)))
        .add(tag::transact_time, fix::utc_timestamp(ctx_->now_ns()))
        .add(tag::order_qty, w.o.qty);
    w.cancel_sent = send("F", b);
}

void fix_venue_node::cancel_where(const std::string& symbol, const std::string& strategy,
                                  const std::string& reason) {
    if (!cfg_.cancel_on_halt) return;
    for (auto& [id, w] : live_) {
        if (!symbol.empty() && w.o.symbol != symbol) continue;
        if (!strategy.empty() && w.o.signal_src != strategy) continue;
        send_cancel(w, "execution", reason);
    }
}

void fix_venue_node::on_cancel_request(runtime::context& ctx, const schema::cancel_request& r) {
    const auto reject = [&](std::string_view code, std::string reason) {
        out_.push_back({schema::cancel_reject{r.request_id, r.order_id, r.symbol, std::string(code),
                                              std::move(reason)},
                        0});
    };
    if (auto error = schema::cancel_scope_error(r.request_id, r.order_id, r.symbol, r.all)) {
        reject(schema::cancel_code::invalid, *error);
        return;
    }
    if (!r.order_id.empty() && !live_.contains(r.order_id)) {
        if (seen_.contains(r.order_id)) {
            reject(schema::cancel_code::already_terminal, "order " + r.order_id + " has ended");
        } else {
            reject(schema::cancel_code::unknown_order,
                   "order " + r.order_id + " was never received here");
        }
        return;
    }
    if (!logged_on_ || !reconciled_) {
        reject(schema::cancel_code::invalid, refusal_reason() + ": no cancel sent");
        return;
    }
    if (cancels_.contains(r.request_id)) {
        reject(schema::cancel_code::invalid,
               "request " + std::to_string(r.request_id) + " is already being answered");
        return;
    }
    cancel_job job;
    job.deadline_ns = ctx.now_ns() + cancel_job_timeout_ns;
    for (auto& [id, w] : live_) {
        if (!r.order_id.empty() && id != r.order_id) continue;
        if (!r.symbol.empty() && w.o.symbol != r.symbol) continue;
        job.outstanding.insert(id);
    }
    if (job.outstanding.empty()) {
        out_.push_back({schema::cancel_done{r.request_id, 0}, 0});
        return;
    }
    for (const auto& id : job.outstanding) {
        working& w = live_.at(id);
        w.requests.insert(r.request_id);
        if (!w.cancel_sent) send_cancel(w, r.by, r.reason.empty() ? "operator cancel" : r.reason);
    }
    cancels_[r.request_id] = std::move(job);
}

void fix_venue_node::on_order(runtime::context& ctx, const runtime::inbound& in,
                              const schema::order& o) {
    const std::int64_t now = ctx.now_ns();
    auto refusal = check_order(in.ev.env, o, now, seen_, operator_halt_ || risk_halt_,
                               !operator_halt_, cfg_.max_order_age_ms);
    if (!refusal && !(logged_on_ && reconciled_)) {
        refusal = order_refusal{reject_code::halted, refusal_reason()};
    }
    if (refusal) {
        out_.push_back({schema::exec_reject{o.order_id, o.symbol, std::string(refusal->code),
                                            std::move(refusal->reason)},
                        in.ev.env.trace_id});
        return;
    }
    working w;
    w.o = o;
    w.trace_id = in.ev.env.trace_id;
    w.expire_ts_ns = o.expire_ts_ns;
    fix::body b;
    b.add(tag::cl_ord_id, o.order_id)
        .add(tag::handl_inst, "1")
        .add(tag::symbol, o.symbol)
        .add(tag::side, std::string(1, fix::side_code(o.dir)))
        .add(tag::transact_time, fix::utc_timestamp(now))
        .add(tag::order_qty, o.qty)
        .add(tag::ord_type, std::string(1, fix::ord_type_code(o.kind)));
    if (o.kind == schema::order_type::limit) b.add_price(tag::price, o.limit_px);
    b.add(tag::time_in_force, std::string(1, fix::tif_code(o.tif)));
    if (o.expire_ts_ns > 0) b.add(tag::expire_time, fix::utc_timestamp(o.expire_ts_ns));
    if (!send("D", b)) {
        out_.push_back({schema::exec_reject{o.order_id, o.symbol, std::string(reject_code::invalid),
                                            "the FIX engine refused the order"},
                        w.trace_id});
        return;
    }
    ++n_.orders_sent;
    live_.emplace(o.order_id, std::move(w));
}

void fix_venue_node::on_event(runtime::context& ctx, const runtime::inbound& in) {
    const auto& body = in.ev.body;
    if (const auto* o = std::get_if<schema::order>(&body)) {
        if (topics::matches(topics::approved, in.topic)) on_order(ctx, in, *o);
    } else if (const auto* s = std::get_if<schema::trading_state_changed>(&body)) {
        if (in.topic.starts_with(topics::trading_scopes)) {
            if (in.topic != topics::for_trading_scope(s->symbol, s->strategy) ||
                schema::trading_scope_error(s->symbol, s->strategy)) {
                return;
            }
            const bool halt = s->state == schema::trading_state::halted;
            auto& scopes = s->symbol.empty() ? halted_strategies_ : halted_symbols_;
            const std::string& key = s->symbol.empty() ? s->strategy : s->symbol;
            if (halt) {
                scopes.insert(key);
                cancel_where(
                    s->symbol, s->strategy,
                    "trading halted for " + schema::trading_scope_name(s->symbol, s->strategy));
            } else {
                scopes.erase(key);
            }
        } else if (in.topic == topics::trading) {
            set_state(true, s->state, s->reason);
        } else if (in.topic == topics::risk_state) {
            set_state(false, s->state, s->reason);
        }
    } else if (const auto* c = std::get_if<schema::cancel_request>(&body)) {
        if (in.topic == topics::cancel) on_cancel_request(ctx, *c);
    }
    publish(ctx);
}

void fix_venue_node::set_state(bool from_operator, schema::trading_state state,
                               const std::string& reason) {
    bool& flag = from_operator ? operator_halt_ : risk_halt_;
    const bool halt = state == schema::trading_state::halted;
    if (flag == halt) return;
    const bool was = operator_halt_ || risk_halt_;
    flag = halt;
    const bool now_halted = operator_halt_ || risk_halt_;
    if (now_halted && !was) {
        const std::string why = std::string(from_operator ? "operator" : "risk") +
                                (reason.empty() ? "" : ": " + reason);
        spdlog::warn("execution: halted ({}); {} {} working order(s) at the venue", why,
                     cfg_.cancel_on_halt ? "cancelling" : "keeping (cancel_on_halt false)",
                     live_.size());
        cancel_where("", "", "trading halted (" + why + ")");
    } else if (!now_halted && was) {
        spdlog::info("execution: trading resumed");
    }
}

void fix_venue_node::on_trading_state(runtime::context& ctx, schema::trading_state state,
                                      const std::string& reason) {
    set_state(true, state, reason);
    publish(ctx);
}

std::int64_t fix_venue_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (logged_on_ && reconciled_) {
        for (auto& [id, w] : live_) {
            if (w.acked && w.expire_ts_ns > 0 && w.expire_ts_ns <= now_ns && !w.expiring) {
                w.expiring = true;
                w.cancel_by = "execution";
                w.cancel_reason = "expired";
            }
            // A halt's or an expiry's cancel the venue refused, retried with its backoff.
            if (cancel_wanted(w) && !w.cancel_sent && now_ns >= w.cancel_retry_ns) {
                send_cancel(w, w.cancel_by,
                            w.cancel_reason.empty() ? "trading halted" : w.cancel_reason);
            }
        }
    }
    if (logged_on_ && !reconciled_ && now_ns >= reconcile_deadline_ns_) {
        spdlog::warn(
            "execution: the venue has not answered {} status request(s){} in {} s; "
            "asking again",
            status_pending_.size(), mass_pending_ ? " and the mass status" : "",
            reconcile_wait_ns_ / 1'000'000'000);
        reconcile_wait_ns_ = std::min(max_retry_ns, reconcile_wait_ns_ * 2);
        request_status(ctx);
    }
    for (auto job = cancels_.begin(); job != cancels_.end();) {
        if (now_ns < job->second.deadline_ns) {
            ++job;
            continue;
        }
        spdlog::warn(
            "execution: cancel request {}: {} order(s) not confirmed by the venue in "
            "{} s; answering with the {} cancelled so far",
            job->first, job->second.outstanding.size(), cancel_job_timeout_ns / 1'000'000'000,
            job->second.cancelled);
        for (const auto& id : job->second.outstanding) {
            if (auto it = live_.find(id); it != live_.end()) it->second.requests.erase(job->first);
        }
        out_.push_back({schema::cancel_done{job->first, job->second.cancelled}, 0});
        job = cancels_.erase(job);
    }
    if (next_session_ns_ > 0 && now_ns >= next_session_ns_) {
        publish(ctx);
        publish_snapshot(ctx, now_ns);
    }
    publish(ctx);
    update_health(ctx);
    return now_ns + 250'000'000;
}

void fix_venue_node::publish_snapshot(runtime::context& ctx, std::int64_t now_ns) {
    next_session_ns_ = session_.next_start(now_ns);
    schema::exec_snapshot snap;
    snap.session_start_ns = session_.start_of(now_ns);
    for (const auto& [id, w] : live_) {
        if (!w.acked || w.cum_qty >= w.o.qty) continue;
        snap.resting.push_back(schema::resting_order{
            id, w.o.symbol, w.o.dir, w.o.qty, w.o.qty - w.cum_qty, w.o.kind, w.o.limit_px, w.o.tif,
            w.expire_ts_ns, w.o.signal_src, w.trace_id});
    }
    if (snap.resting.size() > schema::limits::max_array_items) {
        spdlog::error("execution: {} working orders exceed a snapshot's {}: not journaled",
                      snap.resting.size(), schema::limits::max_array_items);
        return;
    }
    ctx.publish(topics::for_symbol(topics::exec_snapshot, ctx.node_name()), snap, 0);
}

void fix_venue_node::publish(runtime::context& ctx) { publish_outputs(ctx, out_, reject_log_); }

}  // namespace tradebus::execution
