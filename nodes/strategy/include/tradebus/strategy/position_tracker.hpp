// The strategy's own view of what it holds, so it does not stack signals. It follows only its
// own order flow: signals it sent (until risk answers), orders risk approved for it
// (risk.approved.* with signal_src == this node), and the fills and rejects of those orders
// (exec.fill.* / exec.reject.*, matched by order_id). Another strategy's fills on the same
// symbol never change this node's position.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "tradebus/schema/events.hpp"

namespace tradebus::strategy {

class position_tracker {
  public:
    /// A signal was published; `delta` is the signed position change it asks for
    /// (+qty BUY, -qty SELL, -exposure for FLAT).
    void on_signal_sent(std::uint64_t signal_id, const std::string& symbol, std::int64_t delta,
                        std::int64_t now_ns);
    /// Risk approved one of our signals: the order replaces the signal (its side and
    /// possibly reduced qty are what can now fill).
    void on_approved(const schema::order& o, std::int64_t now_ns);
    /// Risk rejected one of our signals: it will never fill.
    void on_rejected(std::uint64_t signal_id);
    /// A fill. Returns true when it belonged to one of our orders (and moved the position).
    /// A repeated fill_id is ignored; a fill beyond the order's qty counts only up to it.
    bool on_fill(const schema::fill& f, std::int64_t now_ns);
    /// Execution refused, cancelled or expired one of our orders: it will never (again) fill.
    void on_exec_reject(const std::string& order_id);
    /// Forgets signals and orders with no news for `timeout_ns` (a lost message, risk or
    /// execution down, a resting limit order), so the strategy does not freeze forever.
    /// Returns how many were dropped.
    std::size_t expire(std::int64_t now_ns, std::int64_t timeout_ns);

    /// Filled position, signed lots.
    [[nodiscard]] std::int64_t position(const std::string& symbol) const;
    /// Position plus everything in flight (unanswered signals, open order remainders).
    [[nodiscard]] std::int64_t exposure(const std::string& symbol) const;
    [[nodiscard]] std::size_t in_flight() const noexcept {
        return pending_.size() + orders_.size();
    }

  private:
    struct pending_signal {
        std::string symbol;
        std::int64_t delta;
        std::int64_t since_ns;
    };
    struct open_order {
        std::string symbol;
        std::int64_t signed_left;  // +buy / -sell, still to fill
        std::int64_t since_ns;
        std::set<std::string> fill_ids;
    };
    // Moves `lots` into or out of the in-flight sum of `symbol`.
    void in_flight_add(const std::string& symbol, std::int64_t lots);

    std::map<std::uint64_t, pending_signal> pending_;
    std::map<std::string, open_order> orders_;
    std::map<std::string, std::int64_t> positions_;
    // Per symbol, the pending deltas plus the orders' signed remainders, kept in step with
    // pending_ and orders_: exposure() is two lookups however much is in flight (a walk over
    // everything in flight on every quote made the strategy slower the more it lagged).
    std::map<std::string, std::int64_t> in_flight_;
};

}  // namespace tradebus::strategy
