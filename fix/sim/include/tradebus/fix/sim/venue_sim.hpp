// tradebus-venue-sim: a FIX 4.4 venue (a QuickFIX acceptor through fix::engine) around the
// matching engine of order_book.hpp, a house market that moves (a synthetic random walk, or
// quotes set through the control endpoint) and a ZeroMQ REP control endpoint for tests and
// people. fix/sim/README.md describes the FIX messages it answers and the control commands.
//
// One thread: the loop (common::run_loop) waits on the engine's event fd and the control
// socket, and runs the timers (the walk, GTD and DAY expiries) between.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/loop.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/sim/order_book.hpp"
#include "tradebus/fix/sim/sim_config.hpp"
#include "tradebus/fix/wire.hpp"

namespace tradebus::marketdata {
class synthetic_source;
}

namespace tradebus::fix::sim {

class venue : public common::loop_owner {
  public:
    /// Builds the acceptor (not started) and binds the control endpoint. Throws
    /// std::runtime_error (a dictionary that does not load, an endpoint in use).
    venue(sim_config cfg, zmq::context_t& ctx);
    ~venue() override;
    venue(const venue&) = delete;
    venue& operator=(const venue&) = delete;

    /// Starts listening and runs until a stop signal; logs out every session. Returns 0.
    int run();

    // common::loop_owner
    wait prepare() override;
    void dispatch() override;
    void before_sleep() override;

    /// One control request (JSON text) -> its JSON reply. Public for tests.
    std::string control(std::string_view request);

  private:
    struct subscription {
        std::string req_id;
        std::vector<std::string> symbols;
        bool bid = true, offer = true, trade = true;
    };
    struct md_state {
        book_top top;
        std::int64_t last_px = 0, last_qty = 0;
        std::uint64_t trade_seq = 0, last_match = 0;
        // what the subscribers last got
        book_top sent_top;
        std::uint64_t sent_trade_seq = 0;
    };

    void on_event(const event& e);
    void on_app(const std::string& session, const std::string& client, const message& m);
    void new_order(const std::string& client, const message& m);
    void cancel(const std::string& client, const message& m);
    void replace(const std::string& client, const message& m);
    void status_request(const std::string& client, const message& m);
    void mass_status_request(const std::string& client, const message& m);
    void md_request(const std::string& session, const message& m);
    void business_reject(const std::string& session, const message& m, int reason,
                         std::string_view text);

    void send(const std::string& session, std::string_view type, const body& b);
    void send_reports(const std::vector<report>& reports);
    void send_report(const report& r, std::string_view cancel_cl_ord_id = {});
    body order_fields(const order_status& o) const;
    void reject_order(const std::string& client, const message& m, int reason,
                      const std::string& text);

    void touched(const std::string& symbol);
    void publish_md();
    void md_snapshot(const std::string& session, const subscription& s, const std::string& sym);
    void house_quote(const std::string& symbol, std::int64_t bid_px, std::int64_t bid_qty,
                     std::int64_t ask_px, std::int64_t ask_qty);
    void walk();
    void run_timers();

    [[nodiscard]] std::string session_of(const std::string& client) const;
    [[nodiscard]] std::string client_of(const std::string& session) const;
    std::string next_status_id();

    sim_config cfg_;
    zmq::context_t& ctx_;
    std::unique_ptr<engine> fix_;
    std::unique_ptr<zmq::socket_t> control_;
    std::unique_ptr<marketdata::synthetic_source> walk_;
    matching_engine book_;

    std::map<std::string, std::string> client_by_session_;
    std::map<std::string, std::vector<subscription>> subs_;  // by session
    std::map<std::string, md_state> md_;                     // symbols the venue knows
    std::set<std::string> dirty_;                            // symbols to publish
    std::set<std::string> frozen_;                           // walk paused (control quote)
    std::map<std::string, std::set<std::string>> traded_;    // client -> symbols traded

    std::string exec_prefix_;  // "<start ms>-": ExecIDs unique across restarts
    std::vector<zmq_pollitem_t> items_;
    std::int64_t next_walk_ms_ = 0;
    std::int64_t next_midnight_ns_ = 0;
    std::uint64_t status_ids_ = 0;
    std::uint64_t refused_logons_ = 0, malformed_ = 0, control_requests_ = 0;
};

}  // namespace tradebus::fix::sim
