#include "tradebus/fix/sim/venue_sim.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>

#include "tradebus/common/process.hpp"
#include "tradebus/fix/sim/control.hpp"
#include "tradebus/marketdata/synthetic_source.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::fix::sim {

namespace {

constexpr std::int64_t day_ns = 86'400'000'000'000LL;
constexpr std::size_t max_md_symbols_per_request = 100;
constexpr std::string_view none_id = "NONE";

char ord_status_code(order_state s) {
    switch (s) {
        case order_state::new_order:
            return '0';
        case order_state::partially_filled:
            return '1';
        case order_state::filled:
            return '2';
        case order_state::cancelled:
            return '4';
        case order_state::expired:
            return 'C';
        case order_state::rejected:
            return '8';
    }
    return '8';
}

char exec_type_code(report::kind k) {
    switch (k) {
        case report::kind::accepted:
            return '0';
        case report::kind::rejected:
            return '8';
        case report::kind::trade:
            return 'F';
        case report::kind::cancelled:
            return '4';
        case report::kind::expired:
            return 'C';
        case report::kind::cancel_rejected:
            return '8';
    }
    return '8';
}

std::string_view state_name(order_state s) {
    switch (s) {
        case order_state::new_order:
            return "NEW";
        case order_state::partially_filled:
            return "PARTIALLY_FILLED";
        case order_state::filled:
            return "FILLED";
        case order_state::cancelled:
            return "CANCELLED";
        case order_state::expired:
            return "EXPIRED";
        case order_state::rejected:
            return "REJECTED";
    }
    return "REJECTED";
}

std::string one(char c) { return std::string(1, c); }

std::string or_none(const std::string& s) { return s.empty() ? std::string(none_id) : s; }

void json_key(std::string& out, std::string_view key) {
    append_json_string(out, key);
    out.push_back(':');
}

std::string order_json(const order_status& o) {
    std::string out = "{";
    json_key(out, "cl_ord_id");
    append_json_string(out, o.id);
    out += ",";
    json_key(out, "order_id");
    append_json_string(out, o.order_id);
    out += ",";
    json_key(out, "symbol");
    append_json_string(out, o.symbol);
    out += ",";
    json_key(out, "side");
    append_json_string(out, schema::to_string(o.dir));
    out += ",";
    json_key(out, "ord_type");
    append_json_string(out, schema::to_string(o.kind));
    out += ",";
    json_key(out, "tif");
    append_json_string(out, schema::to_string(o.tif));
    out += ",\"qty\":" + std::to_string(o.order_qty) + ",\"limit_px\":";
    append_json_string(out, schema::format_fixed(o.limit_px));
    out += ",\"cum_qty\":" + std::to_string(o.cum_qty) +
           ",\"leaves_qty\":" + std::to_string(o.leaves_qty) + ",\"avg_px\":";
    append_json_string(out, schema::format_fixed(o.avg_px));
    out += ",\"expire_ts_ns\":" + std::to_string(o.expire_ts_ns) + ",\"status\":";
    append_json_string(out, state_name(o.state));
    out += "}";
    return out;
}

}  // namespace

venue::venue(sim_config cfg, zmq::context_t& ctx)
    : cfg_(std::move(cfg)),
      ctx_(ctx),
      book_(engine_limits{static_cast<std::size_t>(cfg_.max_orders_per_client), 1'000, 64, 100'000,
                          1'000'000}) {
    exec_prefix_ = std::to_string(common::now_ns() / 1'000'000) + "-";
    session_settings s;
    s.acceptor = true;
    s.sender_comp_id = cfg_.sender_comp_id;
    s.target_comp_id = cfg_.clients.at(0);
    for (std::size_t i = 1; i < cfg_.clients.size(); ++i) {
        s.more_sessions.emplace_back(cfg_.sender_comp_id, cfg_.clients[i]);
    }
    s.port = cfg_.port;
    s.data_dictionary = cfg_.data_dictionary;
    s.store_dir = cfg_.store_dir;
    std::error_code ec;
    std::filesystem::create_directories(cfg_.store_dir, ec);
    if (ec) throw std::runtime_error("store_dir " + cfg_.store_dir + ": " + ec.message());
    for (const auto& c : cfg_.clients) {
        client_by_session_[session_name(cfg_.sender_comp_id, c)] = c;
    }
    fix_ = std::make_unique<engine>(s);

    for (const auto& sym : cfg_.symbols) md_[sym.symbol];
    if (cfg_.source == "synthetic" && !cfg_.symbols.empty()) {
        marketdata::synthetic_config sc;
        for (const auto& sym : cfg_.symbols) {
            marketdata::synthetic_symbol p;
            p.symbol = sym.symbol;
            p.start_px = sym.start_px;
            p.volatility_bps = sym.volatility_bps;
            p.spread_bps = sym.spread_bps;
            p.min_qty = sym.min_qty;
            p.max_qty = sym.max_qty;
            sc.symbols.push_back(std::move(p));
        }
        sc.rate_per_sec = static_cast<double>(cfg_.symbols.size()) * 1000.0 /
                          static_cast<double>(cfg_.interval_ms);
        sc.trade_probability = 0.0;
        sc.tick_size = cfg_.tick_size;
        walk_ = std::make_unique<marketdata::synthetic_source>(
            std::move(sc), cfg_.seed != 0 ? cfg_.seed : common::random_id());
    }

    if (!cfg_.control.empty()) {
        control_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::rep);
        control_->set(zmq::sockopt::linger, 0);
        control_->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(64 * 1024));
        control_->bind(cfg_.control);
    }
    const std::int64_t now = common::now_ns();
    next_midnight_ns_ = (now / day_ns + 1) * day_ns;
}

venue::~venue() = default;

int venue::run() {
    fix_->start();
    std::string clients;
    for (const auto& c : cfg_.clients) clients += (clients.empty() ? "" : ", ") + c;
    spdlog::info("tradebus-venue-sim {} listening on port {} (all interfaces) for {}; control {}",
                 cfg_.sender_comp_id, cfg_.port, clients,
                 cfg_.control.empty() ? std::string("off") : cfg_.control);
    common::notify_ready("listening");
    if (walk_) walk();
    next_walk_ms_ = common::mono_ms() + cfg_.interval_ms;
    common::run_loop(*this, 100);
    common::notify_stopping();
    spdlog::info("tradebus-venue-sim stopping: logging out");
    fix_->stop();
    for (const auto& e : fix_->drain()) {
        if (e.kind == event::logout) spdlog::info("{} logged out", e.session);
    }
    spdlog::info("tradebus-venue-sim stopped");
    return 0;
}

common::loop_owner::wait venue::prepare() {
    items_.clear();
    items_.push_back(zmq_pollitem_t{nullptr, fix_->event_fd(), ZMQ_POLLIN, 0});
    if (control_) items_.push_back(zmq_pollitem_t{control_->handle(), 0, ZMQ_POLLIN, 0});
    std::int64_t timeout = 50;  // GTD expiries are checked at least this often
    if (walk_) timeout = std::clamp<std::int64_t>(next_walk_ms_ - common::mono_ms(), 0, timeout);
    return wait{std::span<zmq_pollitem_t>(items_), timeout};
}

void venue::dispatch() {
    if ((items_[0].revents & ZMQ_POLLIN) != 0) {
        for (const auto& e : fix_->drain()) on_event(e);
    }
    if (control_ && (items_[1].revents & ZMQ_POLLIN) != 0) {
        try {
            for (int i = 0; i < 16; ++i) {
                zmq::message_t req;
                if (!control_->recv(req, zmq::recv_flags::dontwait)) break;
                ++control_requests_;
                std::string reply;
                if (req.size() > max_request_bytes) {
                    reply = json_error("request longer than " + std::to_string(max_request_bytes) +
                                       " bytes");
                } else {
                    reply = control(req.to_string_view());
                }
                publish_md();
                // A requester gone meanwhile: REP drops the reply.
                (void)control_->send(zmq::buffer(reply), zmq::send_flags::dontwait);
            }
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {  // a stop signal: the loop ends
                // EFSM (a reply that could not be sent): a fresh socket.
                spdlog::error("control endpoint: {}; binding it again", e.what());
                control_.reset();
                try {
                    control_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::rep);
                    control_->set(zmq::sockopt::linger, 0);
                    control_->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(64 * 1024));
                    control_->bind(cfg_.control);
                } catch (const zmq::error_t& again) {
                    control_.reset();
                    spdlog::error("control endpoint {} off: {}", cfg_.control, again.what());
                }
            }
        }
    }
    publish_md();
}

void venue::before_sleep() {
    run_timers();
    publish_md();
}

void venue::run_timers() {
    const std::int64_t now = common::now_ns();
    if (walk_ && common::mono_ms() >= next_walk_ms_) {
        walk();
        next_walk_ms_ += cfg_.interval_ms;
        if (next_walk_ms_ < common::mono_ms()) next_walk_ms_ = common::mono_ms() + cfg_.interval_ms;
    }
    send_reports(book_.expire(now));
    if (now >= next_midnight_ns_) {
        auto reports = book_.expire_day_orders(now);
        if (!reports.empty()) spdlog::info("UTC day ended: {} DAY orders expired", reports.size());
        send_reports(reports);
        next_midnight_ns_ = (now / day_ns + 1) * day_ns;
    }
}

void venue::walk() {
    const std::int64_t now = common::now_ns();
    for (std::size_t i = 0; i < cfg_.symbols.size(); ++i) {
        const auto t = walk_->next(now);
        if (frozen_.contains(t.symbol)) continue;
        try {
            house_quote(t.symbol, t.bid_px, t.bid_qty, t.ask_px, t.ask_qty);
        } catch (const std::exception& e) {
            spdlog::error("house quote {}: {}", t.symbol, e.what());
        }
    }
}

void venue::house_quote(const std::string& symbol, std::int64_t bid_px, std::int64_t bid_qty,
                        std::int64_t ask_px, std::int64_t ask_qty) {
    auto reports =
        book_.set_house_quote(symbol, bid_px, bid_qty, ask_px, ask_qty, common::now_ns());
    md_[symbol];
    send_reports(reports);
    touched(symbol);
}

// ---- FIX events ----

void venue::on_event(const event& e) {
    switch (e.kind) {
        case event::logon:
            spdlog::info("{} logged on", e.session);
            break;
        case event::logout:
            spdlog::info("{} logged out{}{}", e.session, e.text.empty() ? "" : ": ", e.text);
            subs_.erase(e.session);
            break;
        case event::app_message: {
            const std::string client = client_of(e.session);
            std::string error;
            auto m = message::parse(e.raw, error);
            if (!m) {
                ++malformed_;
                spdlog::warn("{}: unreadable message ({}): {}", e.session, error, printable(e.raw));
                break;
            }
            if (client.empty()) break;
            try {
                on_app(e.session, client, *m);
            } catch (const std::exception& ex) {
                ++malformed_;
                spdlog::error("{}: {} handling {}", e.session, ex.what(), printable(e.raw));
            }
            break;
        }
        case event::admin_message:
            spdlog::debug("{} admin: {}", e.session, printable(e.raw));
            break;
        case event::reject_sent:
            spdlog::warn("{} rejected a message: {}", e.session, printable(e.raw));
            break;
        case event::log:
            if (e.session.empty() && (e.text.find("not found") != std::string::npos ||
                                      e.text.find("nknown session") != std::string::npos)) {
                ++refused_logons_;
                spdlog::warn("refused a logon: {}", printable(e.text));
            } else {
                spdlog::debug("{}: {}", e.session.empty() ? "quickfix" : e.session,
                              printable(e.text));
            }
            break;
        case event::overflow:
            spdlog::error("{}: {}; disconnecting it", e.session, e.text);
            fix_->disconnect(e.session);
            break;
    }
}

void venue::on_app(const std::string& session, const std::string& client, const message& m) {
    const auto type = m.type();
    if (type == "D") {
        new_order(client, m);
    } else if (type == "F") {
        cancel(client, m);
    } else if (type == "G") {
        replace(client, m);
    } else if (type == "H") {
        status_request(client, m);
    } else if (type == "AF") {
        mass_status_request(client, m);
    } else if (type == "V") {
        md_request(session, m);
    } else {
        business_reject(session, m, 3, "unsupported message type " + std::string(type));
    }
}

void venue::send(const std::string& session, std::string_view type, const body& b) {
    std::string error;
    if (!fix_->send(session, std::string(type), b.str(), error)) {
        spdlog::error("{}: cannot send {}: {}", session, type, error);
    }
}

void venue::business_reject(const std::string& session, const message& m, int reason,
                            std::string_view text) {
    spdlog::warn("{}: business reject: {}", session, text);
    body b;
    b.add(tag::ref_seq_num, std::string(m.get(tag::msg_seq_num).value_or("0")));
    b.add(tag::ref_msg_type, m.type());
    b.add(tag::business_reject_reason, static_cast<std::int64_t>(reason));
    b.add(tag::text, safe_value(text));
    send(session, "j", b);
}

std::string venue::session_of(const std::string& client) const {
    return session_name(cfg_.sender_comp_id, client);
}

std::string venue::client_of(const std::string& session) const {
    auto it = client_by_session_.find(session);
    return it == client_by_session_.end() ? std::string() : it->second;
}

std::string venue::next_status_id() { return exec_prefix_ + "S" + std::to_string(++status_ids_); }

body venue::order_fields(const order_status& o) const {
    body b;
    b.add(tag::order_id, or_none(o.order_id));
    b.add(tag::symbol, o.symbol.empty() ? std::string("NA") : o.symbol);
    b.add(tag::side, one(side_code(o.dir)));
    b.add(tag::order_qty, o.order_qty);
    b.add(tag::ord_type, one(ord_type_code(o.kind)));
    if (o.kind == schema::order_type::limit && o.limit_px > 0) b.add_price(tag::price, o.limit_px);
    b.add(tag::time_in_force, one(tif_code(o.tif)));
    if (o.expire_ts_ns > 0) b.add(tag::expire_time, utc_timestamp(o.expire_ts_ns));
    b.add(tag::ord_status, one(ord_status_code(o.state)));
    b.add(tag::cum_qty, o.cum_qty);
    b.add(tag::leaves_qty, o.leaves_qty);
    b.add_price(tag::avg_px, o.avg_px);
    return b;
}

void venue::send_reports(const std::vector<report>& reports) {
    for (const auto& r : reports) send_report(r);
}

void venue::send_report(const report& r, std::string_view cancel_cl_ord_id) {
    if (r.order.owner.empty()) return;  // the house
    if (r.what == report::kind::trade) {
        traded_[r.order.owner].insert(r.order.symbol);
        auto& st = md_[r.order.symbol];
        if (st.last_match != r.match_id) {
            st.last_match = r.match_id;
            st.last_px = r.last_px;
            st.last_qty = r.last_qty;
            ++st.trade_seq;
        }
        spdlog::info("{} {} {} {} {} @ {} (leaves {})", r.order.owner, r.order.id,
                     schema::to_string(r.order.dir), r.order.symbol, r.last_qty,
                     schema::format_fixed(r.last_px), r.order.leaves_qty);
    } else if (r.what == report::kind::rejected) {
        spdlog::info("{} order {} rejected: {}", r.order.owner, r.order.id, r.text);
    }
    touched(r.order.symbol);
    body b = order_fields(r.order);
    if (!cancel_cl_ord_id.empty()) {
        b.add(tag::cl_ord_id, cancel_cl_ord_id);
        b.add(tag::orig_cl_ord_id, r.order.id);
    } else {
        b.add(tag::cl_ord_id, r.order.id);
    }
    b.add(tag::exec_id, exec_prefix_ + r.exec_id);
    b.add(tag::exec_type, one(exec_type_code(r.what)));
    if (r.what == report::kind::trade) {
        b.add(tag::last_qty, r.last_qty);
        b.add_price(tag::last_px, r.last_px);
    }
    if (r.what == report::kind::rejected) {
        b.add(tag::ord_rej_reason,
              static_cast<std::int64_t>(r.text == "duplicate ClOrdID"           ? 6
                                        : r.text == "quantity must be positive" ? 13
                                                                                : 99));
    }
    if (!r.text.empty()) b.add(tag::text, safe_value(r.text));
    b.add(tag::transact_time, utc_timestamp(r.ts_ns));
    send(session_of(r.order.owner), "8", b);
}

void venue::reject_order(const std::string& client, const message& m, int reason,
                         const std::string& text) {
    spdlog::info("{} order {} rejected: {}", client, m.get(tag::cl_ord_id).value_or("?"), text);
    body b;
    b.add(tag::order_id, none_id);
    if (auto id = m.get(tag::cl_ord_id)) b.add(tag::cl_ord_id, safe_value(*id, 64));
    b.add(tag::exec_id, next_status_id());
    b.add(tag::exec_type, "8");
    b.add(tag::ord_status, "8");
    b.add(tag::ord_rej_reason, static_cast<std::int64_t>(reason));
    auto sym = m.get(tag::symbol);
    b.add(tag::symbol, sym && !sym->empty() ? safe_value(*sym, 64) : std::string("NA"));
    b.add(tag::side, side_from(m.get(tag::side).value_or("")).has_value()
                         ? std::string(*m.get(tag::side))
                         : std::string("1"));
    if (auto q = m.get_qty(tag::order_qty)) b.add(tag::order_qty, *q);
    b.add(tag::cum_qty, static_cast<std::int64_t>(0));
    b.add(tag::leaves_qty, static_cast<std::int64_t>(0));
    b.add(tag::avg_px, "0");
    b.add(tag::text, safe_value(text));
    b.add(tag::transact_time, utc_timestamp(common::now_ns()));
    send(session_of(client), "8", b);
}

void venue::new_order(const std::string& client, const message& m) {
    order_spec spec;
    spec.owner = client;
    auto id = m.get(tag::cl_ord_id);
    if (!id || id->empty()) return reject_order(client, m, 99, "missing ClOrdID (11)");
    spec.id = std::string(*id);
    auto sym = m.get(tag::symbol);
    if (!sym || sym->empty()) return reject_order(client, m, 99, "missing Symbol (55)");
    spec.symbol = std::string(*sym);
    if (!md_.contains(spec.symbol)) {
        return reject_order(client, m, 1, "unknown symbol " + safe_value(spec.symbol, 64));
    }
    auto dir = side_from(m.get(tag::side).value_or(""));
    if (!dir || *dir == schema::side::flat) {
        return reject_order(client, m, 99, "missing or bad Side (54): 1 or 2");
    }
    spec.dir = *dir;
    auto qty = m.get_qty(tag::order_qty);
    if (!qty || *qty <= 0) {
        return reject_order(client, m, 13, "missing or bad OrderQty (38): a whole number > 0");
    }
    spec.qty = *qty;
    auto kind = ord_type_from(m.get(tag::ord_type).value_or(""));
    if (!kind) return reject_order(client, m, 99, "missing or bad OrdType (40): 1 or 2");
    spec.kind = *kind;
    if (spec.kind == schema::order_type::limit) {
        auto px = m.get_price(tag::price);
        if (!px || *px <= 0) {
            return reject_order(client, m, 99, "missing or bad Price (44) of a LIMIT order");
        }
        spec.limit_px = *px;
    }
    if (auto exp = m.get(tag::expire_time)) {
        auto ts = parse_utc_timestamp(*exp);
        if (!ts) return reject_order(client, m, 99, "bad ExpireTime (126)");
        spec.expire_ts_ns = *ts;
    }
    if (auto tif = m.get(tag::time_in_force)) {
        if (*tif == "6") {  // GTD: a DAY order with its ExpireTime
            if (spec.expire_ts_ns == 0) {
                return reject_order(client, m, 99, "TimeInForce 6 (GTD) without ExpireTime (126)");
            }
            spec.tif = schema::time_in_force::day;
        } else {
            auto t = tif_from(*tif);
            if (!t)
                return reject_order(client, m, 99, "unsupported TimeInForce (59): 0, 1, 3, 4, 6");
            spec.tif = *t;
        }
    }
    send_reports(book_.submit(spec, common::now_ns()));
}

void venue::cancel(const std::string& client, const message& m) {
    auto orig = m.get(tag::orig_cl_ord_id);
    auto id = m.get(tag::cl_ord_id);
    body b;
    if (!orig || !id || orig->empty() || id->empty()) {
        b.add(tag::order_id, none_id);
        b.add(tag::cl_ord_id, id && !id->empty() ? safe_value(*id, 64) : std::string("NONE"));
        b.add(tag::orig_cl_ord_id,
              orig && !orig->empty() ? safe_value(*orig, 64) : std::string("NONE"));
        b.add(tag::ord_status, "8");
        b.add(tag::cxl_rej_response_to, "1");
        b.add(tag::cxl_rej_reason, static_cast<std::int64_t>(99));
        b.add(tag::text, "missing OrigClOrdID (41) or ClOrdID (11)");
        send(session_of(client), "9", b);
        return;
    }
    const report r = book_.cancel(client, std::string(*orig), common::now_ns());
    if (r.what == report::kind::cancelled) {
        spdlog::info("{} order {} cancelled", client, *orig);
        send_report(r, *id);
        return;
    }
    spdlog::info("{} cancel of {} refused: {}", client, *orig, r.text);
    b.add(tag::order_id, or_none(r.order.order_id));
    b.add(tag::cl_ord_id, safe_value(*id, 64));
    b.add(tag::orig_cl_ord_id, safe_value(*orig, 64));
    b.add(tag::ord_status, one(ord_status_code(r.order.state)));
    b.add(tag::cxl_rej_response_to, "1");
    b.add(tag::cxl_rej_reason, static_cast<std::int64_t>(r.text == "unknown_order" ? 1 : 0));
    b.add(tag::text, r.text == "unknown_order" ? "unknown order" : "order already terminal");
    send(session_of(client), "9", b);
}

void venue::replace(const std::string& client, const message& m) {
    auto orig = m.get(tag::orig_cl_ord_id);
    auto id = m.get(tag::cl_ord_id);
    std::optional<sim::order_status> st;
    if (orig && !orig->empty()) st = book_.status(client, std::string(*orig));
    body b;
    b.add(tag::order_id, st ? or_none(st->order_id) : std::string(none_id));
    b.add(tag::cl_ord_id, id && !id->empty() ? safe_value(*id, 64) : std::string("NONE"));
    b.add(tag::orig_cl_ord_id,
          orig && !orig->empty() ? safe_value(*orig, 64) : std::string("NONE"));
    b.add(tag::ord_status, one(st ? ord_status_code(st->state) : '8'));
    b.add(tag::cxl_rej_response_to, "2");
    b.add(tag::cxl_rej_reason, static_cast<std::int64_t>(99));
    b.add(tag::text, "cancel/replace not supported");
    send(session_of(client), "9", b);
}

void venue::status_request(const std::string& client, const message& m) {
    auto id = m.get(tag::cl_ord_id);
    std::optional<sim::order_status> st;
    if (id && !id->empty()) st = book_.status(client, std::string(*id));
    body b;
    if (st) {
        b = order_fields(*st);
        b.add(tag::cl_ord_id, st->id);
    } else {
        b.add(tag::order_id, none_id);
        if (id && !id->empty()) b.add(tag::cl_ord_id, safe_value(*id, 64));
        auto sym = m.get(tag::symbol);
        b.add(tag::symbol, sym && !sym->empty() ? safe_value(*sym, 64) : std::string("NA"));
        b.add(tag::side, side_from(m.get(tag::side).value_or("")).has_value()
                             ? std::string(*m.get(tag::side))
                             : std::string("1"));
        b.add(tag::ord_status, "8");
        b.add(tag::cum_qty, static_cast<std::int64_t>(0));
        b.add(tag::leaves_qty, static_cast<std::int64_t>(0));
        b.add(tag::avg_px, "0");
        b.add(tag::text, "unknown order");
    }
    if (auto req = m.get(790)) b.add(790, safe_value(*req, 64));  // OrdStatusReqID
    b.add(tag::exec_id, next_status_id());
    b.add(tag::exec_type, "I");
    b.add(tag::transact_time, utc_timestamp(common::now_ns()));
    send(session_of(client), "8", b);
}

void venue::mass_status_request(const std::string& client, const message& m) {
    auto req = m.get(tag::mass_status_req_id);
    if (!req || req->empty()) {
        return business_reject(session_of(client), m, 5, "missing MassStatusReqID (584)");
    }
    auto orders = book_.open_orders(client);
    // MassStatusReqType 1 (one security) with a Symbol: only that symbol's orders.
    if (m.get(tag::mass_status_req_type) == "1") {
        if (auto sym = m.get(tag::symbol)) {
            std::erase_if(orders, [&](const sim::order_status& o) { return o.symbol != *sym; });
        }
    }
    const std::string req_id = safe_value(*req, 64);
    const auto now = utc_timestamp(common::now_ns());
    if (orders.empty()) {
        body b;
        b.add(tag::order_id, none_id);
        b.add(tag::exec_id, next_status_id());
        b.add(tag::exec_type, "I");
        b.add(tag::ord_status, "8");
        b.add(tag::symbol, "NA");
        b.add(tag::side, "1");
        b.add(tag::cum_qty, static_cast<std::int64_t>(0));
        b.add(tag::leaves_qty, static_cast<std::int64_t>(0));
        b.add(tag::avg_px, "0");
        b.add(tag::mass_status_req_id, req_id);
        b.add(tag::tot_num_reports, static_cast<std::int64_t>(0));
        b.add(tag::last_rpt_requested, "Y");
        b.add(tag::text, "no open orders");
        b.add(tag::transact_time, now);
        send(session_of(client), "8", b);
        return;
    }
    for (std::size_t i = 0; i < orders.size(); ++i) {
        body b = order_fields(orders[i]);
        b.add(tag::cl_ord_id, orders[i].id);
        b.add(tag::exec_id, next_status_id());
        b.add(tag::exec_type, "I");
        b.add(tag::mass_status_req_id, req_id);
        b.add(tag::tot_num_reports, static_cast<std::int64_t>(orders.size()));
        if (i + 1 == orders.size()) b.add(tag::last_rpt_requested, "Y");
        b.add(tag::transact_time, now);
        send(session_of(client), "8", b);
    }
}

// ---- market data ----

void venue::md_request(const std::string& session, const message& m) {
    auto req = m.get(tag::md_req_id);
    if (!req || req->empty()) {
        return business_reject(session, m, 5, "missing MDReqID (262)");
    }
    const std::string req_id = safe_value(*req, 64);
    auto reject = [&](char reason, const std::string& text) {
        spdlog::info("{}: market data request {} refused: {}", session, req_id, text);
        body b;
        b.add(tag::md_req_id, req_id);
        b.add(tag::md_req_rej_reason, one(reason));
        b.add(tag::text, safe_value(text));
        send(session, "Y", b);
    };
    const auto type = m.get(tag::subscription_request_type).value_or("");
    auto& subs = subs_[session];
    if (type == "2") {
        std::erase_if(subs, [&](const subscription& s) { return s.req_id == req_id; });
        return;
    }
    if (type != "0" && type != "1") {
        return reject('4', "SubscriptionRequestType (263) must be 0, 1 or 2");
    }
    subscription sub;
    sub.req_id = req_id;
    if (auto entries =
            m.group(tag::no_md_entry_types, tag::md_entry_type, {tag::md_entry_type}, 16)) {
        sub.bid = sub.offer = sub.trade = false;
        for (const auto& e : *entries) {
            const auto t = m.get(e, tag::md_entry_type).value_or("");
            if (t == "0") {
                sub.bid = true;
            } else if (t == "1") {
                sub.offer = true;
            } else if (t == "2") {
                sub.trade = true;
            } else {
                return reject('8', "MDEntryType (269) " + safe_value(t, 8) +
                                       " not supported (0 bid, 1 offer, 2 trade)");
            }
        }
    }
    auto syms = m.group(tag::no_related_sym, tag::symbol,
                        {tag::symbol, 65, 48, 22, 460, 461, 167, 200, 541, 207, 107, 15},
                        max_md_symbols_per_request);
    if (!syms || syms->empty()) {
        return reject('0', "NoRelatedSym (146) unreadable, empty or over " +
                               std::to_string(max_md_symbols_per_request) + " symbols");
    }
    for (const auto& e : *syms) {
        const std::string sym(m.get(e, tag::symbol).value_or(""));
        if (!md_.contains(sym)) return reject('0', "unknown symbol " + safe_value(sym, 64));
        if (std::find(sub.symbols.begin(), sub.symbols.end(), sym) == sub.symbols.end()) {
            sub.symbols.push_back(sym);
        }
    }
    if (type == "1") {
        for (const auto& s : subs) {
            if (s.req_id == req_id) return reject('1', "MDReqID " + req_id + " already subscribed");
        }
        if (subs.size() >= static_cast<std::size_t>(cfg_.max_md_subscriptions)) {
            return reject('2', "too many subscriptions (limit " +
                                   std::to_string(cfg_.max_md_subscriptions) + ")");
        }
    }
    publish_md();  // the snapshot and later increments start from the same state
    for (const auto& sym : sub.symbols) md_snapshot(session, sub, sym);
    spdlog::info("{}: market data {} {} for {} symbols", session, req_id,
                 type == "1" ? "subscribed" : "snapshot", sub.symbols.size());
    if (type == "1") subs.push_back(std::move(sub));
}

void venue::md_snapshot(const std::string& session, const subscription& s, const std::string& sym) {
    const auto& st = md_[sym];
    const bool bid = s.bid && st.sent_top.bid_qty > 0;
    const bool ask = s.offer && st.sent_top.ask_qty > 0;
    const bool trade = s.trade && st.trade_seq > 0;
    body b;
    b.add(tag::md_req_id, s.req_id);
    b.add(tag::symbol, sym);
    b.add(tag::no_md_entries, static_cast<std::int64_t>(int(bid) + int(ask) + int(trade)));
    if (bid) {
        b.add(tag::md_entry_type, "0").add_price(tag::md_entry_px, st.sent_top.bid_px);
        b.add(tag::md_entry_size, st.sent_top.bid_qty);
    }
    if (ask) {
        b.add(tag::md_entry_type, "1").add_price(tag::md_entry_px, st.sent_top.ask_px);
        b.add(tag::md_entry_size, st.sent_top.ask_qty);
    }
    if (trade) {
        b.add(tag::md_entry_type, "2").add_price(tag::md_entry_px, st.last_px);
        b.add(tag::md_entry_size, st.last_qty);
    }
    send(session, "W", b);
}

void venue::touched(const std::string& symbol) {
    if (md_.contains(symbol)) dirty_.insert(symbol);
}

void venue::publish_md() {
    for (const auto& sym : dirty_) {
        auto& st = md_[sym];
        st.top = book_.top_of_book(sym);
        struct change {
            char action, type;
            std::int64_t px, qty;
        };
        std::vector<change> changes;
        auto side = [&](char type, std::int64_t old_px, std::int64_t old_qty, std::int64_t px,
                        std::int64_t qty) {
            if (old_px == px && old_qty == qty) return;
            if (qty == 0) {
                if (old_qty != 0) changes.push_back({'2', type, old_px, 0});
            } else {
                changes.push_back({old_qty == 0 ? '0' : '1', type, px, qty});
            }
        };
        side('0', st.sent_top.bid_px, st.sent_top.bid_qty, st.top.bid_px, st.top.bid_qty);
        side('1', st.sent_top.ask_px, st.sent_top.ask_qty, st.top.ask_px, st.top.ask_qty);
        if (st.trade_seq != st.sent_trade_seq)
            changes.push_back({'0', '2', st.last_px, st.last_qty});
        st.sent_top = st.top;
        st.sent_trade_seq = st.trade_seq;
        if (changes.empty()) continue;
        for (const auto& [session, subs] : subs_) {
            for (const auto& s : subs) {
                if (std::find(s.symbols.begin(), s.symbols.end(), sym) == s.symbols.end()) continue;
                std::vector<change> mine;
                for (const auto& c : changes) {
                    if ((c.type == '0' && s.bid) || (c.type == '1' && s.offer) ||
                        (c.type == '2' && s.trade)) {
                        mine.push_back(c);
                    }
                }
                if (mine.empty()) continue;
                body b;
                b.add(tag::md_req_id, s.req_id);
                b.add(tag::no_md_entries, static_cast<std::int64_t>(mine.size()));
                for (const auto& c : mine) {
                    b.add(tag::md_update_action, one(c.action));
                    b.add(tag::md_entry_type, one(c.type));
                    b.add(tag::symbol, sym);
                    b.add_price(tag::md_entry_px, c.px);
                    if (c.action != '2') b.add(tag::md_entry_size, c.qty);
                }
                send(session, "X", b);
            }
        }
    }
    dirty_.clear();
}

// ---- control ----

std::string venue::control(std::string_view request) {
    std::string error;
    auto req = flat_object::parse(request, error);
    if (!req) return json_error(error);
    const auto cmd = req->string("cmd");
    if (!cmd) return json_error("expected \"cmd\": a string");
    auto known_client = [&](std::string& client) -> std::optional<std::string> {
        auto c = req->string("client");
        if (!c) return "expected \"client\": a string";
        if (std::find(cfg_.clients.begin(), cfg_.clients.end(), *c) == cfg_.clients.end()) {
            return "unknown client \"" + safe_value(*c, 64) + "\"";
        }
        client = *c;
        return std::nullopt;
    };
    try {
        if (*cmd == "quote") {
            auto sym = req->string("symbol");
            if (!sym || !schema::topics::valid_symbol(*sym)) {
                return json_error("expected \"symbol\": 1..32 of [A-Za-z0-9_-/:]");
            }
            const auto bid_qty = req->find("bid_qty") ? req->integer("bid_qty") : 100;
            const auto ask_qty = req->find("ask_qty") ? req->integer("ask_qty") : 100;
            if (!bid_qty || !ask_qty || *bid_qty < 0 || *ask_qty < 0 || *bid_qty > 1'000'000'000 ||
                *ask_qty > 1'000'000'000) {
                return json_error("bid_qty and ask_qty: whole numbers 0..1e9");
            }
            std::int64_t bid = 0, ask = 0;
            if (*bid_qty > 0) {
                auto t = req->decimal("bid");
                auto v = t ? schema::parse_fixed(*t) : std::nullopt;
                if (!v || *v <= 0) return json_error("expected \"bid\": a decimal price > 0");
                bid = *v;
            }
            if (*ask_qty > 0) {
                auto t = req->decimal("ask");
                auto v = t ? schema::parse_fixed(*t) : std::nullopt;
                if (!v || *v <= 0) return json_error("expected \"ask\": a decimal price > 0");
                ask = *v;
            }
            if (!md_.contains(*sym) && md_.size() >= 1000) {
                return json_error("too many symbols (limit 1000)");
            }
            const auto before = book_.counters().matches;
            house_quote(*sym, bid, *bid_qty, ask, *ask_qty);
            frozen_.insert(*sym);
            spdlog::info("control: quote {} {} x {} (walk paused)", *sym, schema::format_fixed(bid),
                         schema::format_fixed(ask));
            return "{\"ok\":true,\"matches\":" + std::to_string(book_.counters().matches - before) +
                   "}";
        }
        if (*cmd == "walk") {
            auto sym = req->string("symbol");
            if (!sym) return json_error("expected \"symbol\": a string");
            const bool walked =
                walk_ && std::any_of(cfg_.symbols.begin(), cfg_.symbols.end(),
                                     [&](const sim_symbol& s) { return s.symbol == *sym; });
            if (!walked) return json_error("symbol \"" + safe_value(*sym, 64) + "\" is not walked");
            frozen_.erase(*sym);
            return "{\"ok\":true}";
        }
        if (*cmd == "positions") {
            std::string out = "{\"positions\":{";
            bool first = true;
            for (const auto& c : cfg_.clients) {
                if (!first) out += ",";
                first = false;
                json_key(out, c);
                out += "{";
                bool first_sym = true;
                if (auto it = traded_.find(c); it != traded_.end()) {
                    for (const auto& sym : it->second) {
                        if (!first_sym) out += ",";
                        first_sym = false;
                        json_key(out, sym);
                        out += std::to_string(book_.position(c, sym));
                    }
                }
                out += "}";
            }
            return out + "}}";
        }
        if (*cmd == "executions") {
            const auto& ex = book_.executions();
            const auto from = req->find("from") ? req->integer("from") : 0;
            if (!from || *from < 0) return json_error("\"from\": a whole number >= 0");
            const std::size_t start = std::min(static_cast<std::size_t>(*from), ex.size());
            const std::size_t end = std::min(ex.size(), start + 100'000);
            std::string out = "{\"executions\":[";
            for (std::size_t i = start; i < end; ++i) {
                const auto& e = ex[i];
                if (i != start) out += ",";
                out += "{";
                json_key(out, "exec_id");
                append_json_string(out, exec_prefix_ + e.exec_id);
                out += ",\"match_id\":" + std::to_string(e.match_id) + ",";
                json_key(out, "owner");
                append_json_string(out, e.owner);
                out += ",";
                json_key(out, "cl_ord_id");
                append_json_string(out, e.id);
                out += ",";
                json_key(out, "order_id");
                append_json_string(out, e.order_id);
                out += ",";
                json_key(out, "symbol");
                append_json_string(out, e.symbol);
                out += ",";
                json_key(out, "side");
                append_json_string(out, schema::to_string(e.dir));
                out += ",\"qty\":" + std::to_string(e.qty) + ",";
                json_key(out, "px");
                append_json_string(out, schema::format_fixed(e.px));
                out += ",\"ts_ns\":" + std::to_string(e.ts_ns) +
                       ",\"aggressor\":" + (e.aggressor ? "true" : "false") + "}";
            }
            out += "],\"next\":" + std::to_string(end) +
                   ",\"dropped\":" + std::to_string(book_.counters().executions_dropped) + "}";
            return out;
        }
        if (*cmd == "orders") {
            std::string client;
            if (auto why = known_client(client)) return json_error(*why);
            std::string out = "{\"orders\":[";
            bool first = true;
            for (const auto& o : book_.open_orders(client)) {
                if (!first) out += ",";
                first = false;
                out += order_json(o);
            }
            return out + "]}";
        }
        if (*cmd == "drop") {
            std::string client;
            if (auto why = known_client(client)) return json_error(*why);
            const bool was = fix_->logged_on(session_of(client));
            fix_->disconnect(session_of(client));
            spdlog::warn("control: dropped the connection of {} (was {})", client,
                         was ? "logged on" : "not logged on");
            return std::string("{\"ok\":true,\"was_logged_on\":") + (was ? "true" : "false") + "}";
        }
        if (*cmd == "status") {
            std::string out = "{";
            json_key(out, "sender_comp_id");
            append_json_string(out, cfg_.sender_comp_id);
            out += ",\"port\":" + std::to_string(cfg_.port) + ",\"sessions\":{";
            bool first = true;
            for (const auto& c : cfg_.clients) {
                const auto s = session_of(c);
                if (!first) out += ",";
                first = false;
                json_key(out, c);
                auto it = subs_.find(s);
                out += std::string("{\"logged_on\":") + (fix_->logged_on(s) ? "true" : "false") +
                       ",\"next_sender_seq\":" + std::to_string(fix_->next_sender_seq(s)) +
                       ",\"next_target_seq\":" + std::to_string(fix_->next_target_seq(s)) +
                       ",\"open_orders\":" + std::to_string(book_.open_orders(c).size()) +
                       ",\"md_subscriptions\":" +
                       std::to_string(it == subs_.end() ? 0 : it->second.size()) + "}";
            }
            const auto& k = book_.counters();
            out += "},\"counters\":{\"accepted\":" + std::to_string(k.accepted) +
                   ",\"rejected\":" + std::to_string(k.rejected) +
                   ",\"matches\":" + std::to_string(k.matches) +
                   ",\"executions\":" + std::to_string(book_.executions().size()) +
                   ",\"refused_logons\":" + std::to_string(refused_logons_) +
                   ",\"malformed\":" + std::to_string(malformed_) +
                   ",\"control_requests\":" + std::to_string(control_requests_) + "},\"symbols\":{";
            first = true;
            for (const auto& [sym, st] : md_) {
                if (!first) out += ",";
                first = false;
                const auto top = book_.top_of_book(sym);
                json_key(out, sym);
                out += "{";
                json_key(out, "bid");
                append_json_string(out, schema::format_fixed(top.bid_px));
                out += ",\"bid_qty\":" + std::to_string(top.bid_qty) + ",";
                json_key(out, "ask");
                append_json_string(out, schema::format_fixed(top.ask_px));
                out += ",\"ask_qty\":" + std::to_string(top.ask_qty) +
                       ",\"frozen\":" + (frozen_.contains(sym) || !walk_ ? "true" : "false") + "}";
            }
            return out + "}}";
        }
    } catch (const std::exception& e) {
        return json_error(e.what());
    }
    return json_error("unknown cmd \"" + safe_value(*cmd, 64) +
                      "\" (quote, walk, positions, executions, orders, drop, status)");
}

}  // namespace tradebus::fix::sim
